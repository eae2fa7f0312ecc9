// /video: model, prompt, length and size from the catalog, the hold, then live progress and the clip.
import { api, credits, debounce, jobFromQuery, JobStream, loadModels, number, showError } from "./hub-api.js";

const $ = (id) => document.getElementById(id);
const form = $("video-form"), modelSelect = $("model"), prompt = $("prompt");
const secondsSelect = $("seconds"), sizeSelect = $("size"), quoteLine = $("quote");
const errorBox = $("video-error"), createButton = $("create"), stopButton = $("stop");
const TERMINAL = new Set(["succeeded", "failed", "canceled"]);

let models = [];
let stream = null;
let quoteSerial = 0;

function selectedModel() { return models.find((m) => m.id === modelSelect.value); }

function fillChoices() {
  const model = selectedModel();
  if (!model) { return; }
  $("model-price").textContent = `${number(model.price.per_second_credits)} credits per second of video`;
  secondsSelect.replaceChildren(...(model.video_seconds || []).map((s) => new Option(`${s} s`, s)));
  sizeSelect.replaceChildren(...(model.video_sizes || []).map((s) => new Option(s.replace("x", " × "), s)));
}

function spec() {
  return { type: "video", model: modelSelect.value, prompt: prompt.value.trim(),
           seconds: parseInt(secondsSelect.value, 10), size: sizeSelect.value };
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
        `(${body.seconds} s at ${credits(selectedModel().price.per_second_credits)} per second).`;
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
    $("video-cost").textContent = `${job.usage.seconds || 0} s · charged ${credits(job.cost_credits || 0)}` +
      ` (held ${credits(job.hold_credits)})`;
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
[prompt, secondsSelect, sizeSelect].forEach((field) => field.addEventListener("input", quoteSoon));
secondsSelect.addEventListener("change", quoteSoon);
sizeSelect.addEventListener("change", quoteSoon);
form.addEventListener("submit", create);
stopButton.addEventListener("click", stop);
init();
