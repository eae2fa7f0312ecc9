// /chat: conversations kept on the server (list, open, rename, delete, new); pick a model, see
// the hold, send (with images), watch the reply stream in, stop it, see what it cost; the
// balance stays in view and is read again whenever a reply settles.
import { api, credits, debounce, jobFromQuery, JobStream, loadModels, number, showError } from "./hub-api.js";

const $ = (id) => document.getElementById(id);
const form = $("chat-form"), prompt = $("prompt"), modelSelect = $("model"), maxTokens = $("max-tokens");
const sendButton = $("send"), stopButton = $("stop"), quoteLine = $("quote"), statusLine = $("job-status");
const log = $("conversation"), errorBox = $("chat-error"), list = $("conversation-list");
const titleLine = $("conversation-title"), renameForm = $("rename-form"), renameInput = $("rename-input");
const imageInput = $("images"), previews = $("image-previews");

const TERMINAL = new Set(["succeeded", "failed", "canceled"]);
const OUTCOMES = { succeeded: "Done", canceled: "Stopped", failed: "Failed", not_sent: "Not sent" };
const MAX_IMAGES = 4;
const MAX_IMAGE_BYTES = 1024 * 1024;  // the request body is 2 MB at most, base64 included
const LIST_PAGE = 20;

let models = [];
let current = null;  // the open conversation: {id, title}; null for a new one
let messages = [];  // its messages as the API shows them (for the next turn's quote)
let images = [];  // data URLs attached to the next message
let stream = null;
let quoteSerial = 0;
let nextCursor = null;

function modelById(id) { return models.find((m) => m.id === id); }

function priceText(model) {
  return `${number(model.price.input_per_mtok_credits)} credits per 1M input tokens · ` +
         `${number(model.price.output_per_mtok_credits)} per 1M output tokens`;
}

// --- the balance ---------------------------------------------------------------------------
async function loadBalance() {
  try {
    const balance = await api("GET", "/api/credits/balance");
    $("balance-value").textContent = number(balance.balance);
    $("balance-available").textContent = number(balance.available);
  } catch (error) {
    $("balance-value").textContent = "?";
  }
}

// --- messages ------------------------------------------------------------------------------
function clearLog(text) {
  log.replaceChildren();
  const empty = document.createElement("p");
  empty.id = "chat-empty";
  empty.className = "text-body-secondary mb-0";
  empty.textContent = text;
  log.append(empty);
}

function imageParts(parts) { return (parts || []).filter((p) => p.type === "image_url"); }

function imagesBlock(parts) {
  const block = document.createElement("div");
  block.className = "chat-images d-flex flex-wrap gap-2 mb-1";
  for (const part of imageParts(parts)) {
    const url = part.image_url.url;
    if (url.startsWith("data:image/")) {
      const img = document.createElement("img");
      img.src = url;
      img.alt = "Attached image";
      img.className = "chat-image rounded border";
      block.append(img);
    } else {  // a remote image is not loaded into the page (the CSP refuses it): a link
      const a = document.createElement("a");
      a.href = url;
      a.rel = "noopener noreferrer";
      a.textContent = "Attached image";
      block.append(a);
    }
  }
  return block;
}

function partsBlock(parts) {
  const block = document.createElement("div");
  for (const part of parts || []) {
    if (part.type !== "tool_call" && part.type !== "reasoning") { continue; }
    const details = document.createElement("details");
    details.className = `chat-part chat-${part.type === "tool_call" ? "tool" : "reasoning"} small mt-2`;
    const summary = document.createElement("summary");
    const body = document.createElement("pre");
    body.className = "mb-0 mt-1 p-2 rounded bg-body-tertiary";
    if (part.type === "tool_call") {
      summary.textContent = `Tool call: ${part.name || "(unnamed)"}`;
      body.textContent = part.arguments;
    } else {
      summary.textContent = "Reasoning";
      body.textContent = part.text || (part.redacted ? "(redacted)" : "");
    }
    details.append(summary, body);
    block.append(details);
  }
  return block;
}

function jobMeta(meta, message) {
  meta.replaceChildren();
  const job = message.job;
  const outcome = OUTCOMES[message.status] || message.status;
  if (message.status === "pending") { return; }
  if (!job) { meta.textContent = outcome; return; }
  meta.append(`${outcome} · ${number(job.input_tokens)} in / ${number(job.output_tokens)} out tokens · ` +
              `charged ${credits(job.cost_credits || 0)} · `);
  const link = document.createElement("a");
  link.href = job.url;
  link.className = "link-secondary";
  link.textContent = `job ${job.id.slice(0, 8)}`;
  link.title = `Job ${job.id} (JSON)`;
  meta.append(link);
}

/** A message's element, from the API's view of it. */
function messageElement(message) {
  const item = document.createElement("div");
  item.className = `chat-msg chat-${message.role}`;
  if (message.id) { item.dataset.messageId = message.id; }
  const who = document.createElement("div");
  who.className = "chat-who small fw-semibold";
  who.textContent = message.role === "user" ? "You" : "Assistant";
  item.append(who);
  if (imageParts(message.parts).length) { item.append(imagesBlock(message.parts)); }
  const body = document.createElement("div");
  body.className = "chat-text";
  if (message.html !== null && message.html !== undefined) {
    body.classList.add("chat-markdown");
    body.innerHTML = message.html;  // rendered and sanitized by the hub (nh3)
  } else {
    body.textContent = message.content || "";
  }
  item.append(body, partsBlock(message.parts));
  const meta = document.createElement("div");
  meta.className = "chat-meta small text-body-secondary";
  if (message.role === "assistant") { jobMeta(meta, message); }
  item.append(meta);
  if (message.error) {
    const error = document.createElement("div");
    error.className = "chat-error small text-danger";
    error.textContent = message.error.message;
    item.append(error);
  }
  return item;
}

function append(message) {
  const empty = $("chat-empty");
  if (empty) { empty.remove(); }
  const item = messageElement(message);
  log.append(item);
  log.scrollTop = log.scrollHeight;
  return item;
}

function replaceMessage(item, message) {
  const fresh = messageElement(message);
  item.replaceWith(fresh);
  log.scrollTop = log.scrollHeight;
  return fresh;
}

// --- the quote: what the next turn would hold ----------------------------------------------
/** The conversation as the hub asks the next job (turns whose reply has text), this turn last. */
function contextWith(text, attached) {
  const records = [];
  messages.forEach((message, index) => {
    const reply = messages[index + 1];
    if (message.role !== "user" || !reply || reply.role !== "assistant" || !reply.content) { return; }
    records.push({ role: "user", content: content(message.content || "", imageParts(message.parts)) });
    records.push({ role: "assistant", content: reply.content });
  });
  records.push({ role: "user", content: content(text, attached.map((url) => ({ type: "image_url", image_url: { url } }))) });
  return records;
}

function content(text, parts) {
  if (!parts.length) { return text; }
  return [...(text ? [{ type: "text", text }] : []), ...parts];
}

function maxTokensValue() {
  const value = parseInt(maxTokens.value, 10);
  return Number.isFinite(value) && value > 0 ? value : null;
}

async function refreshQuote() {
  const text = prompt.value.trim();
  const serial = ++quoteSerial;
  if ((!text && !images.length) || !modelSelect.value) {
    quoteLine.textContent = "Type a message to see what it would hold.";
    return;
  }
  const body = { type: "chat", model: modelSelect.value, messages: contextWith(text, images) };
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

// --- following a reply ---------------------------------------------------------------------
function setBusy(busy) {
  sendButton.disabled = busy;
  stopButton.hidden = !busy;
  stopButton.disabled = false;
  modelSelect.disabled = busy || models.length === 0;
  log.setAttribute("aria-busy", busy ? "true" : "false");
  if (!busy) { prompt.focus(); }
}

function closeStream() {
  if (stream) { stream.close(); }
  stream = null;
  setBusy(false);
}

/** Follow a reply's job into its element until `done`, then show it as the hub kept it. */
function follow(conversationId, message, item) {
  const body = item.querySelector(".chat-text");
  setBusy(true);
  const mine = new JobStream(message.job_id, {
    onEvent: (event) => {
      if (stream !== mine) { return; }  // another conversation was opened meanwhile
      if (event.type === "delta") {
        // the first choice's text; tool calls and reasoning show once the reply settles
        if (typeof event.data.text === "string" && !event.data.choice) { body.textContent += event.data.text; }
        log.scrollTop = log.scrollHeight;
      } else if (event.type === "status") {
        statusLine.textContent = event.data.status === "running" ? "Writing…" : "Waiting for a worker…";
      } else if (event.type === "error") {
        showError(errorBox, { message: event.data.message, code: event.data.code });
      } else if (event.type === "cancel_refused") {
        statusLine.textContent = event.data.message;
      } else if (event.type === "done") {
        settled(conversationId, message.id, item);
      }
    },
    onReconnecting: () => { statusLine.textContent = "Connection lost, reconnecting…"; },
    onClosed: (code, reason) => {
      showError(errorBox, { message: `The live stream was refused (${reason || code}).` });
      setBusy(false);
    },
  });
  stream = mine;
}

async function settled(conversationId, messageId, item) {
  try {
    const message = await api("GET", `/api/conversations/${conversationId}/messages/${messageId}`);
    if (current && current.id === conversationId) {
      const index = messages.findIndex((m) => m.id === messageId);
      if (index >= 0) { messages[index] = message; }
      replaceMessage(item, message);
      const job = message.job || {};
      const outcome = OUTCOMES[message.status] || message.status;
      statusLine.textContent = `${outcome}. Charged ${credits(job.cost_credits || 0)} ` +
        `(held ${credits(job.hold_credits || 0)}; the rest is released).`;
    }
  } catch (error) {
    showError(errorBox, error);
  }
  stream = null;
  setBusy(false);
  loadBalance();
  loadList();
  quoteSoon();
}

// --- sending -------------------------------------------------------------------------------
async function send(event) {
  event.preventDefault();
  showError(errorBox, null);
  const text = prompt.value;
  if (!text.trim() && !images.length) {
    showError(errorBox, { message: "Type a message first." });
    prompt.focus();
    return;
  }
  const turnBody = { content: text, images: [...images] };
  const settings = { model: modelSelect.value };
  if (maxTokensValue()) { settings.max_tokens = maxTokensValue(); }
  setBusy(true);
  statusLine.textContent = "Sending…";
  let turn;
  try {
    if (current) {
      turn = await api("POST", `/api/conversations/${current.id}/messages`, { ...settings, ...turnBody });
    } else {
      const created = await api("POST", "/api/conversations", { ...settings, message: turnBody });
      turn = created.turn;
      showConversation({ id: created.id, title: created.title });
      messages = [];
      clearLog("");
    }
  } catch (error) {
    showError(errorBox, error);  // nothing was sent: the message stays in the box
    statusLine.textContent = "";
    setBusy(false);
    return;
  }
  const parts = turnBody.images.map((url) => ({ type: "image_url", image_url: { url } }));
  const userMessage = { id: turn.user_message_id, role: "user", status: "sent", content: text, parts, job_id: turn.job.id };
  const reply = { id: turn.reply_message_id, role: "assistant", status: "pending", content: null, html: null,
                  parts: [], job_id: turn.job.id, job: null, error: null };
  messages.push(userMessage, reply);
  append(userMessage);
  const item = append(reply);
  prompt.value = "";
  setImages([]);
  statusLine.textContent = `Holding ${credits(turn.job.hold_credits)}…`;
  loadBalance();
  loadList();
  follow(current.id, reply, item);
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

// --- images --------------------------------------------------------------------------------
function readAsDataUrl(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

async function attach() {
  showError(errorBox, null);
  const files = [...imageInput.files];
  imageInput.value = "";
  if (images.length + files.length > MAX_IMAGES) {
    showError(errorBox, { message: `Attach at most ${MAX_IMAGES} images to one message.` });
    return;
  }
  const tooBig = files.find((f) => f.size > MAX_IMAGE_BYTES);
  if (tooBig) {
    showError(errorBox, { message: `${tooBig.name} is larger than 1 MB.` });
    return;
  }
  setImages([...images, ...await Promise.all(files.map(readAsDataUrl))]);
}

function setImages(urls) {
  images = urls;
  previews.replaceChildren();
  previews.hidden = images.length === 0;
  images.forEach((url, index) => {
    const figure = document.createElement("div");
    figure.className = "chat-preview position-relative";
    const img = document.createElement("img");
    img.src = url;
    img.alt = `Image ${index + 1} to send`;
    img.className = "chat-image rounded border";
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "btn btn-sm btn-light border chat-preview-remove";
    remove.setAttribute("aria-label", `Remove image ${index + 1}`);
    remove.textContent = "×";
    remove.addEventListener("click", () => setImages(images.filter((_, i) => i !== index)));
    figure.append(img, remove);
    previews.append(figure);
  });
  quoteSoon();
}

function showVisionHelp() {
  const model = modelById(modelSelect.value);
  const sees = model && (model.capabilities || []).includes("vision");
  $("attach").classList.toggle("disabled", !sees);
  imageInput.disabled = !sees;
  $("images-help").textContent = sees ? "This model can read images." : "This model cannot read images.";
}

// --- conversations -------------------------------------------------------------------------
function showConversation(conversation) {
  current = conversation;
  titleLine.textContent = conversation ? conversation.title : "New conversation";
  $("rename").hidden = $("delete").hidden = !conversation;
  renameForm.hidden = true;
  const url = new URL(location.href);
  url.searchParams.delete("job");
  if (conversation) { url.searchParams.set("conversation", conversation.id); } else { url.searchParams.delete("conversation"); }
  history.replaceState(null, "", url);
  for (const button of list.querySelectorAll("button[data-id]")) {
    const active = conversation && button.dataset.id === conversation.id;
    button.classList.toggle("active", Boolean(active));
    if (active) { button.setAttribute("aria-current", "true"); } else { button.removeAttribute("aria-current"); }
  }
}

function listItem(conversation) {
  const item = document.createElement("li");
  item.className = "list-group-item p-0";
  const button = document.createElement("button");
  button.type = "button";
  button.className = "btn conversation-link text-start w-100 rounded-0";
  button.dataset.id = conversation.id;
  const title = document.createElement("span");
  title.className = "d-block text-truncate";
  title.textContent = conversation.title;
  const when = document.createElement("span");
  when.className = "d-block small text-body-secondary";
  when.textContent = new Date(conversation.updated_at).toLocaleString();
  button.append(title, when);
  if (current && current.id === conversation.id) {
    button.classList.add("active");
    button.setAttribute("aria-current", "true");
  }
  button.addEventListener("click", () => { hidePanel(); openConversation(conversation.id); });
  item.append(button);
  return item;
}

async function loadList(more = false) {
  const query = new URLSearchParams({ limit: LIST_PAGE });
  if (more && nextCursor) { query.set("cursor", nextCursor); }
  try {
    const page = await api("GET", `/api/conversations?${query}`);
    const items = page.items.map(listItem);
    if (more) { list.append(...items); } else { list.replaceChildren(...items); }
    nextCursor = page.next_cursor;
    $("more-conversations").hidden = !nextCursor;
    $("conversations-empty").hidden = list.children.length > 0;
  } catch (error) {
    showError(errorBox, error);
  }
}

function hidePanel() {
  const panel = $("conversations-panel");
  const offcanvas = window.bootstrap && window.bootstrap.Offcanvas.getInstance(panel);
  if (offcanvas) { offcanvas.hide(); }
}

async function openConversation(id) {
  closeStream();
  showError(errorBox, null);
  statusLine.textContent = "";
  let conversation;
  try {
    conversation = await api("GET", `/api/conversations/${encodeURIComponent(id)}`);
  } catch (error) {
    showError(errorBox, error);
    if (error.status === 404) { newConversation(); }
    return;
  }
  showConversation({ id: conversation.id, title: conversation.title });
  messages = conversation.messages;
  clearLog("This conversation has no messages yet.");
  let pending = null;
  for (const message of messages) {
    const item = append(message);
    if (message.role === "assistant" && message.status === "pending" && message.job_id) { pending = [message, item]; }
  }
  if (conversation.model && modelById(conversation.model)) {
    modelSelect.value = conversation.model;
    showModel();
  }
  if (pending) { follow(conversation.id, ...pending); }  // still being written: follow it live
  quoteSoon();
}

function newConversation() {
  closeStream();
  showConversation(null);
  messages = [];
  clearLog("New conversation. Replies stream in as they are written.");
  statusLine.textContent = "";
  showError(errorBox, null);
  quoteSoon();
  prompt.focus();
}

function startRename() {
  renameInput.value = current ? current.title : "";
  renameForm.hidden = false;
  renameInput.focus();
  renameInput.select();
}

async function rename(event) {
  event.preventDefault();
  if (!current) { return; }
  try {
    const renamed = await api("PATCH", `/api/conversations/${current.id}`, { title: renameInput.value });
    showConversation({ id: renamed.id, title: renamed.title });
    loadList();
  } catch (error) {
    showError(errorBox, error);
  }
}

async function remove() {
  if (!current || !window.confirm(`Delete “${current.title}” and all its messages?`)) { return; }
  try {
    await api("DELETE", `/api/conversations/${current.id}`);
  } catch (error) {
    showError(errorBox, error);
    return;
  }
  newConversation();
  loadList();
}

// --- the page ------------------------------------------------------------------------------
function showModel() {
  const model = modelById(modelSelect.value);
  $("model-price").textContent = model ? priceText(model) : "";
  if (model && model.max_output_tokens) { maxTokens.max = model.max_output_tokens; }
  showVisionHelp();
}

async function init() {
  loadBalance();
  loadList();
  try {
    models = await loadModels("chat");
  } catch (error) {
    showError(errorBox, error);
    return;
  }
  modelSelect.replaceChildren(...models.map((m) => new Option(m.label, m.id)));
  modelSelect.disabled = models.length === 0;
  modelSelect.addEventListener("change", () => { showModel(); quoteSoon(); });
  showModel();
  const params = new URLSearchParams(location.search);
  const jobId = jobFromQuery();
  if (params.get("conversation")) {
    openConversation(params.get("conversation"));
  } else if (jobId) {
    reopenJob(jobId);
  }
}

/** Opened from the dashboard: show that job's reply, following it live if it still runs. */
async function reopenJob(jobId) {
  try {
    const job = await api("GET", `/api/jobs/${encodeURIComponent(jobId)}`);
    if (modelById(job.model)) { modelSelect.value = job.model; showModel(); }
    const view = (j) => ({ role: "assistant", status: TERMINAL.has(j.status) ? j.status : "pending",
      content: j.result ? j.result.text : "", html: null, parts: [], error: j.error,
      job: { ...j.usage, id: j.id, cost_credits: j.cost_credits, hold_credits: j.hold_credits, url: `/api/jobs/${j.id}` } });
    const item = append(view(job));
    if (!TERMINAL.has(job.status)) {
      const body = item.querySelector(".chat-text");
      setBusy(true);
      stream = new JobStream(job.id, {
        onEvent: async (event) => {
          if (event.type === "delta" && typeof event.data.text === "string" && !event.data.choice) {
            body.textContent += event.data.text;
          } else if (event.type === "done") {
            replaceMessage(item, view(await api("GET", `/api/jobs/${encodeURIComponent(job.id)}`)));
            stream = null;
            setBusy(false);
            loadBalance();
          }
        },
      });
    }
  } catch (error) {
    showError(errorBox, error);
  }
}

form.addEventListener("submit", send);
stopButton.addEventListener("click", stop);
$("new-chat").addEventListener("click", newConversation);
$("rename").addEventListener("click", startRename);
$("rename-cancel").addEventListener("click", () => { renameForm.hidden = true; });
renameForm.addEventListener("submit", rename);
$("delete").addEventListener("click", remove);
$("more-conversations").addEventListener("click", () => loadList(true));
imageInput.addEventListener("change", attach);
prompt.addEventListener("input", quoteSoon);
maxTokens.addEventListener("input", quoteSoon);
prompt.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { form.requestSubmit(); }
});
init();
