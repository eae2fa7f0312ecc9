// /chat: pick a model, see the hold, send, watch the reply stream in, stop it, see the cost.
import { api, credits, debounce, jobFromQuery, JobStream, loadModels, number, showError } from "./hub-api.js";

const $ = (id) => document.getElementById(id);
const form = $("chat-form"), prompt = $("prompt"), modelSelect = $("model"), maxTokens = $("max-tokens");
const sendButton = $("send"), stopButton = $("stop"), quoteLine = $("quote"), statusLine = $("job-status");
const log = $("conversation"), errorBox = $("chat-error");

const conversation = [];  // {role, content}: kept in the page, sent whole with each turn
let models = [];
let stream = null;
let quoteSerial = 0;
const TERMINAL = new Set(["succeeded", "failed", "canceled"]);

function modelById(id) { return models.find((m) => m.id === id); }

function priceText(model) {
  return `${number(model.price.input_per_mtok_credits)} credits per 1M input tokens · ` +
         `${number(model.price.output_per_mtok_credits)} per 1M output tokens`;
}

function bubble(role, text) {
  const empty = $("chat-empty");
  if (empty) { empty.remove(); }
  const item = document.createElement("div");
  item.className = `chat-msg chat-${role}`;
  const who = document.createElement("div");
  who.className = "chat-who small fw-semibold";
  who.textContent = role === "user" ? "You" : "Assistant";
  const body = document.createElement("div");
  body.className = "chat-text";
  body.textContent = text;
  const meta = document.createElement("div");
  meta.className = "chat-meta small text-body-secondary";
  item.append(who, body, meta);
  log.append(item);
  log.scrollTop = log.scrollHeight;
  return { item, body, meta };
}

function pendingMessages() {
  const text = prompt.value.trim();
  return text ? [...conversation, { role: "user", content: text }] : null;
}

function maxTokensValue() {
  const value = parseInt(maxTokens.value, 10);
  return Number.isFinite(value) && value > 0 ? value : null;
}

async function refreshQuote() {
  const messages = pendingMessages();
  const serial = ++quoteSerial;
  if (!messages || !modelSelect.value) {
    quoteLine.textContent = "Type a message to see what it would hold.";
    return;
  }
  const body = { type: "chat", model: modelSelect.value, messages };
  if (maxTokensValue()) { body.max_tokens = maxTokensValue(); }
  try {
    const quote = await api("POST", "/api/jobs/quote", body);
    if (serial !== quoteSerial) { return; }  // a newer quote is on its way
    quoteLine.textContent = `Holds ${credits(quote.hold_credits)} while it runs ` +
      `(${number(quote.input_tokens)} prompt tokens + up to ${number(quote.max_tokens)} reply tokens).`;
  } catch (error) {
    if (serial === quoteSerial) { quoteLine.textContent = `No quote: ${error.message}`; }
  }
}
const quoteSoon = debounce(refreshQuote, 300);

function setBusy(busy) {
  sendButton.disabled = busy;
  stopButton.hidden = !busy;
  stopButton.disabled = false;
  modelSelect.disabled = busy || models.length === 0;
  log.setAttribute("aria-busy", busy ? "true" : "false");
  if (!busy) { prompt.focus(); }
}

/** Follow a job's events into `target` (a bubble); resolve with the settled job. */
function follow(jobId, target, onSettled) {
  stream = new JobStream(jobId, {
    onEvent: (event) => {
      if (event.type === "delta") {
        // the first choice's text; other pieces (tool calls, reasoning) are not shown here yet
        if (typeof event.data.text === "string" && !event.data.choice) target.body.textContent += event.data.text;
        log.scrollTop = log.scrollHeight;
      } else if (event.type === "status") {
        statusLine.textContent = event.data.status === "running" ? "Writing…" : "Waiting for a worker…";
      } else if (event.type === "error") {
        showError(errorBox, { message: event.data.message, code: event.data.code });
      } else if (event.type === "cancel_refused") {
        statusLine.textContent = event.data.message;
      } else if (event.type === "done") {
        finish(jobId, target, onSettled);
      }
    },
    onReconnecting: () => { statusLine.textContent = "Connection lost, reconnecting…"; },
    onClosed: (code, reason) => {
      showError(errorBox, { message: `The live stream was refused (${reason || code}).` });
      setBusy(false);
    },
  });
}

async function finish(jobId, target, onSettled) {
  try {
    const job = await api("GET", `/api/jobs/${encodeURIComponent(jobId)}`);
    if (job.result && job.result.text !== undefined && target.body.textContent === "") {
      target.body.textContent = job.result.text;
    }
    const usage = job.usage || {};
    const outcome = { succeeded: "Done", canceled: "Stopped", failed: "Failed" }[job.status] || job.status;
    target.meta.textContent = `${outcome} · ${number(usage.input_tokens || 0)} in / ` +
      `${number(usage.output_tokens || 0)} out tokens · charged ${credits(job.cost_credits || 0)}`;
    statusLine.textContent = `${outcome}. Charged ${credits(job.cost_credits || 0)} ` +
      `(held ${credits(job.hold_credits)}; the rest is released).`;
    if (onSettled) { onSettled(job, target.body.textContent); }
  } catch (error) {
    showError(errorBox, error);
  }
  stream = null;
  setBusy(false);
  quoteSoon();
}

async function send(event) {
  event.preventDefault();
  showError(errorBox, null);
  const messages = pendingMessages();
  if (!messages) {
    showError(errorBox, { message: "Type a message first." });
    prompt.focus();
    return;
  }
  const body = { type: "chat", model: modelSelect.value, messages };
  if (maxTokensValue()) { body.max_tokens = maxTokensValue(); }
  setBusy(true);
  statusLine.textContent = "Sending…";
  let job;
  try {
    job = await api("POST", "/api/jobs", body);
  } catch (error) {
    showError(errorBox, error);
    statusLine.textContent = "";
    setBusy(false);
    return;
  }
  const userText = messages[messages.length - 1].content;
  bubble("user", userText);
  prompt.value = "";
  const target = bubble("assistant", "");
  statusLine.textContent = `Holding ${credits(job.hold_credits)}…`;
  follow(job.id, target, (settled, reply) => {
    if (reply) {  // a reply (even a stopped one) becomes context for the next turn
      conversation.push({ role: "user", content: userText }, { role: "assistant", content: reply });
    } else {
      target.item.remove();
      prompt.value = userText;
    }
  });
}

async function stop() {
  if (!stream) { return; }
  stopButton.disabled = true;
  statusLine.textContent = "Stopping…";
  try {
    await stream.cancel();
  } catch (error) {
    showError(errorBox, error);
  }
}

function newConversation() {
  if (stream) { return; }
  conversation.length = 0;
  log.replaceChildren();
  const empty = document.createElement("p");
  empty.id = "chat-empty";
  empty.className = "text-body-secondary mb-0";
  empty.textContent = "New conversation. Replies stream in as they are written.";
  log.append(empty);
  statusLine.textContent = "";
  showError(errorBox, null);
  quoteSoon();
  prompt.focus();
}

async function init() {
  try {
    models = await loadModels("chat");
  } catch (error) {
    showError(errorBox, error);
    return;
  }
  modelSelect.replaceChildren(...models.map((m) => new Option(m.label, m.id)));
  modelSelect.disabled = models.length === 0;
  const showPrice = () => {
    const model = modelById(modelSelect.value);
    $("model-price").textContent = model ? priceText(model) : "";
    if (model && model.max_output_tokens) { maxTokens.max = model.max_output_tokens; }
  };
  modelSelect.addEventListener("change", () => { showPrice(); quoteSoon(); });
  showPrice();
  const jobId = jobFromQuery();
  if (jobId) { reopen(jobId); }
}

/** Opened from the dashboard: show that job's reply, following it live if it still runs. */
async function reopen(jobId) {
  try {
    const job = await api("GET", `/api/jobs/${encodeURIComponent(jobId)}`);
    if (modelById(job.model)) { modelSelect.value = job.model; }
    const target = bubble("assistant", "");
    if (TERMINAL.has(job.status)) {
      finish(job.id, target, null);
    } else {
      setBusy(true);
      follow(job.id, target, null);
    }
  } catch (error) {
    showError(errorBox, error);
  }
}

form.addEventListener("submit", send);
stopButton.addEventListener("click", stop);
$("new-chat").addEventListener("click", newConversation);
prompt.addEventListener("input", quoteSoon);
maxTokens.addEventListener("input", quoteSoon);
prompt.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { form.requestSubmit(); }
});
init();
