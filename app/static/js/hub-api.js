// Smart AI Hub dashboard: calls to /api with the session (and its CSRF token), error messages
// people can act on, and a job's live event stream over the WebSocket with resume.

const csrfMeta = document.querySelector('meta[name="csrf-token"]');

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Call the hub's JSON API as the signed-in user; resolves to the JSON body, rejects with ApiError. */
export async function api(method, url, body) {
  const options = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (method !== "GET") { options.headers["X-CSRFToken"] = csrfMeta ? csrfMeta.content : ""; }
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, options);
  } catch (exc) {
    throw new ApiError(0, "network", "The hub could not be reached. Check your connection and try again.");
  }
  let data = null;
  if ((response.headers.get("Content-Type") || "").includes("json")) { data = await response.json(); }
  if (!response.ok) {
    const error = (data && data.error) || {};
    throw new ApiError(response.status, error.code || "error",
                       error.message || `The request failed (HTTP ${response.status}).`);
  }
  return data;
}

const numberFormat = new Intl.NumberFormat("en-US");
export function credits(amount) {
  return `${numberFormat.format(amount)} credit${amount === 1 ? "" : "s"}`;
}
export function number(amount) { return numberFormat.format(amount); }

/** Fill `box` (an alert element) with the error, with the link that fixes it when there is one. */
export function showError(box, error) {
  box.replaceChildren();
  if (!error) { box.hidden = true; return; }
  box.hidden = false;
  box.append(error.message || String(error));
  let link = null;
  if (error.status === 402) {
    link = ["/credits", "Add credits"];
  } else if (error.code === "email_not_verified") {
    link = ["/verify", "Verify your e-mail address"];
  } else if (error.status === 401) {
    link = ["/login?next=" + encodeURIComponent(location.pathname), "Sign in again"];
  }
  if (link) {
    const a = document.createElement("a");
    a.href = link[0];
    a.className = "alert-link ms-1";
    a.textContent = link[1];
    box.append(" ", a);
  }
}

/** Run `fn` once input has paused for `wait_ms`. */
export function debounce(fn, wait_ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), wait_ms);
  };
}

const RECONNECT_MAX_MS = 5000;

/**
 * A job's events over WS /ws/jobs/<id>: `onEvent({id, type, data})` for each, in order, once.
 * A dropped socket reconnects with ?last_event_id= so nothing is missed or repeated; the stream
 * ends after `done` (close 1000) or when the server refuses it (4xxx: `onClosed(code, reason)`).
 */
export class JobStream {
  constructor(jobId, { onEvent, onClosed = () => {}, onReconnecting = () => {} }) {
    this.jobId = jobId;
    this.onEvent = onEvent;
    this.onClosed = onClosed;
    this.onReconnecting = onReconnecting;
    this.lastEventId = null;
    this.finished = false;
    this.stopped = false;
    this.retryMs = 250;
    this.socket = null;
    this.connect();
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    let url = `${scheme}//${location.host}/ws/jobs/${encodeURIComponent(this.jobId)}`;
    if (this.lastEventId) { url += `?last_event_id=${encodeURIComponent(this.lastEventId)}`; }
    const socket = new WebSocket(url);
    this.socket = socket;
    socket.addEventListener("open", () => { this.retryMs = 250; });
    socket.addEventListener("message", (message) => {
      const event = JSON.parse(message.data);
      if (event.id === undefined) {  // pong, cancel_refused: not part of the stream
        if (event.type === "cancel_refused") { this.onEvent(event); }
        return;
      }
      this.lastEventId = event.id;
      if (event.type === "done") { this.finished = true; }
      this.onEvent(event);
    });
    socket.addEventListener("close", (close) => {
      if (this.finished || this.stopped) { return; }
      if (close.code >= 4000) {
        this.finished = true;
        this.onClosed(close.code, close.reason);
        return;
      }
      this.onReconnecting();
      setTimeout(() => this.connect(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, RECONNECT_MAX_MS);
    });
  }

  /** Ask the hub to stop the job: over the socket when open, else through the REST route. */
  cancel() {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({ type: "cancel" }));
      return Promise.resolve();
    }
    return api("POST", `/api/jobs/${encodeURIComponent(this.jobId)}/cancel`);
  }

  /** Stop listening (leaving the page, or starting another job). */
  close() {
    this.stopped = true;
    if (this.socket) { this.socket.close(1000); }
  }
}

/** The models of one kind from the catalog. */
export async function loadModels(kind) {
  return (await api("GET", `/api/models?kind=${kind}`)).items;
}

/** The `?job=` a dashboard link opened this page with, if any. */
export function jobFromQuery() {
  return new URLSearchParams(location.search).get("job");
}
