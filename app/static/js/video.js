// /video: model, prompt and the model's choices from the catalog (length, size or aspect ratio,
// resolution, negative prompt, audio, first frame; what a model lacks is hidden), the hold, then
// live progress and the clip.
import { api, credits, debounce, jobFromQuery, JobStream, loadModels, number, showError } from "./hub-api.js";

const $ = (id) => document.getElementById(id);
const form = $("video-form"), modelSelect = $("model"), prompt = $("prompt");
const secondsSelect = $("seconds"), sizeSelect = $("size"), quoteLine = $("quote");
const errorBox = $("video-error"), createButton = $("create"), stopButton = $("stop");
const aspectSelect = $("aspect-ratio"), resolutionSelect = $("resolution");
const negativePrompt = $("negative-prompt"), audioToggle = $("audio"), firstFrame = $("first-frame");
const TERMINAL = new Set(["succeeded", "failed", "canceled"]);
const MAX_FIRST_FRAME_BYTES = 10 * 1024 * 1024;

let models = [];
let stream = null;
let quoteSerial = 0;
let frameUrl = null; // the chosen first frame, as the data URL the API takes

function selectedModel() { return models.find((m) => m.id === modelSelect.value); }

function fillChoices() {
  const model = selectedModel();
  if (!model) { return; }
  const options = new Set(model.video_options || []);
  const audioRate = model.price.per_second_audio_credits;
  $("model-price").textContent = `${number(model.price.per_second_credits)} credits per second of video` +
    (options.has("audio") && audioRate !== model.price.per_second_credits
      ? ` (${number(audioRate)} with audio)` : "");
  secondsSelect.replaceChildren(...(model.video_seconds || []).map((s) => new Option(`${s} s`, s)));
  fillSelect(sizeSelect, "size-field", model.video_sizes, (s) => s.replace("x", " × "));
  fillSelect(aspectSelect, "aspect-ratio-field", model.video_aspect_ratios, (r) => r);
  fillSelect(resolutionSelect, "resolution-field", model.video_resolutions, (r) => r);
  $("negative-prompt-field").hidden = !options.has("negative_prompt");
  $("audio-field").hidden = !options.has("audio");
  $("first-frame-field").hidden = !options.has("first_frame");
}

function fillSelect(select, fieldId, values, label) {
  select.replaceChildren(...(values || []).map((v) => new Option(label(v), v)));
  $(fieldId).hidden = !(values && values.length);
}

function spec() {
  const body = { type: "video", model: modelSelect.value, prompt: prompt.value.trim(),
                 seconds: parseInt(secondsSelect.value, 10) };
  // only what the model offers: a hidden field is never sent
  if (!$("size-field").hidden) { body.size = sizeSelect.value; }
  if (!$("aspect-ratio-field").hidden) { body.aspect_ratio = aspectSelect.value; }
  if (!$("resolution-field").hidden) { body.resolution = resolutionSelect.value; }
  if (!$("negative-prompt-field").hidden && negativePrompt.value.trim()) {
    body.negative_prompt = negativePrompt.value.trim();
  }
  if (!$("audio-field").hidden) { body.audio = audioToggle.checked; }
  if (!$("first-frame-field").hidden && frameUrl) { body.first_frame = frameUrl; }
  return body;
}

function readFrame() {
  frameUrl = null;
  showError(errorBox, null);
  const file = firstFrame.files && firstFrame.files[0];
  if (!file) { quoteSoon(); return; }
  if (file.size > MAX_FIRST_FRAME_BYTES) {
    showError(errorBox, { message: "The first frame must be at most 10 MB." });
    firstFrame.value = "";
    return;
  }
  const reader = new FileReader();
  reader.onload = () => { frameUrl = reader.result; quoteSoon(); };
  reader.onerror = () => showError(errorBox, { message: "The first frame could not be read." });
  reader.readAsDataURL(file);
}

async function refreshQuote() {
  const body = spec();
  const serial = ++quoteSerial;
  if (!body.prompt || !body.model) {
    quoteLine.textContent = "Describe the video to see what it would hold.";
    return;
  }
  try {
    const quote = await api("POST", "/api/jobs/quote", body);
    if (serial === quoteSerial) {
      quoteLine.textContent = `Holds ${credits(quote.hold_credits)} while it renders ` +
        `(${body.seconds} s at ${credits(quote.price.per_second_credits)} per second` +
        `${quote.price.audio ? ", with audio" : ""}).`;
    }
  } catch (error) {
    if (serial === quoteSerial) { quoteLine.textContent = `No quote: ${error.message}`; }
  }
}
const quoteSoon = debounce(refreshQuote, 300);

function setProgress(percent) {
  const value = Math.max(0, Math.min(100, Math.round(percent)));
  $("video-bar").style.width = `${value}%`;
  $("video-progress").setAttribute("aria-valuenow", String(value));
  $("video-percent").textContent = `${value} %`;
}

function setBusy(busy) {
  createButton.disabled = busy;
  stopButton.hidden = !busy;
  stopButton.disabled = false;
  $("video-bar").classList.toggle("progress-bar-animated", busy);
  $("video-bar").classList.toggle("progress-bar-striped", busy);
}

function showJob() {
  $("video-idle").hidden = true;
  $("video-job").hidden = false;
  $("video-result").hidden = true;
  $("video-player").removeAttribute("src");
  setProgress(0);
}

function follow(jobId) {
  setBusy(true);
  stream = new JobStream(jobId, {
    onEvent: (event) => {
      if (event.type === "status") {
        $("video-status").textContent = event.data.status === "running" ? "Rendering…" : "Waiting for a worker…";
      } else if (event.type === "progress") {
        setProgress(event.data.percent);
      } else if (event.type === "error") {
        showError(errorBox, { message: event.data.message, code: event.data.code });
      } else if (event.type === "cancel_refused") {
        $("video-status").textContent = event.data.message;
      } else if (event.type === "done") {
        finish(jobId);
      }
    },
    onReconnecting: () => { $("video-status").textContent = "Connection lost, reconnecting…"; },
    onClosed: (code, reason) => {
      showError(errorBox, { message: `The live stream was refused (${reason || code}).` });
      setBusy(false);
    },
  });
}

async function finish(jobId) {
  stream = null;
  setBusy(false);
  try {
    const job = await api("GET", `/api/jobs/${encodeURIComponent(jobId)}`);
    const outcome = { succeeded: "Ready", canceled: "Canceled", failed: "Failed" }[job.status] || job.status;
    $("video-status").textContent = outcome;
    if (job.status === "succeeded") { setProgress(100); }
    if (job.error) { showError(errorBox, job.error); }
    // a finished video is charged the seconds it lasts, never more than held
    $("video-cost").textContent = `${job.status === "succeeded" ? job.usage.seconds || 0 : 0} s` +
      ` · charged ${credits(job.cost_credits || 0)} (held ${credits(job.hold_credits)})`;
    if (job.result && job.result.content_url) {
      $("video-player").src = job.result.content_url;
      $("video-download").href = job.result.content_url;
    }
    const playable = Boolean(job.result && job.result.content_url);
    $("video-player").hidden = !playable;
    $("video-download").hidden = !playable;
    $("video-result").hidden = false;
  } catch (error) {
    showError(errorBox, error);
  }
}

async function create(event) {
  event.preventDefault();
  showError(errorBox, null);
  const body = spec();
  if (!body.prompt) {
    showError(errorBox, { message: "Describe the video first." });
    prompt.focus();
    return;
  }
  createButton.disabled = true;
  try {
    const job = await api("POST", "/api/jobs", body);
    showJob();
    $("video-status").textContent = `Queued · holding ${credits(job.hold_credits)}`;
    follow(job.id);
  } catch (error) {
    showError(errorBox, error);
    createButton.disabled = false;
  }
}

async function stop() {
  if (!stream) { return; }
  stopButton.disabled = true;
  $("video-status").textContent = "Canceling…";
  try {
    await stream.cancel();
  } catch (error) {
    showError(errorBox, error);
  }
}

async function reopen(jobId) {
  try {
    const job = await api("GET", `/api/jobs/${encodeURIComponent(jobId)}`);
    showJob();
    if (TERMINAL.has(job.status)) { finish(job.id); } else { follow(job.id); }
  } catch (error) {
    showError(errorBox, error);
  }
}

async function init() {
  try {
    models = await loadModels("video");
  } catch (error) {
    showError(errorBox, error);
    return;
  }
  modelSelect.replaceChildren(...models.map((m) => new Option(m.label, m.id)));
  modelSelect.disabled = models.length === 0;
  fillChoices();
  const jobId = jobFromQuery();
  if (jobId) { reopen(jobId); }
}

modelSelect.addEventListener("change", () => { fillChoices(); quoteSoon(); });
[prompt, secondsSelect, sizeSelect, negativePrompt].forEach((field) => field.addEventListener("input", quoteSoon));
[secondsSelect, sizeSelect, aspectSelect, resolutionSelect, audioToggle].forEach(
  (field) => field.addEventListener("change", quoteSoon));
firstFrame.addEventListener("change", readFrame);
form.addEventListener("submit", create);
stopButton.addEventListener("click", stop);
init();
