// /dashboard: keeps the server-rendered figures (balance, charts, recent jobs, models used
// most) current without a reload. Every few seconds while the page is visible, and at once
// when it becomes visible again, it asks /dashboard/panels with If-None-Match: the server
// answers a bodiless 304 unless the balance, what is held, the newest job or the day changed,
// and then the new fragment, whose panels replace the old ones in place.
const POLL_MS = 5000;

const root = document.getElementById("dashboard-panels");
let days = Number(root.dataset.days);
let etag = root.dataset.etag;
let pending = null;
let stopped = false;

function localizeTimes(scope) {
  scope.querySelectorAll("time[data-local]").forEach((time) => {
    time.textContent = new Date(time.dateTime).toLocaleString();
  });
}

function swapPanels(html) {
  const fresh = new DOMParser().parseFromString(html, "text/html");
  fresh.querySelectorAll("[data-panel]").forEach((panel) => {
    const current = root.querySelector(`[data-panel="${panel.dataset.panel}"]`);
    if (current) { current.replaceChildren(...Array.from(panel.childNodes)); }
  });
  localizeTimes(root);
}

function stop(message) {
  stopped = true;
  const note = document.createElement("div");
  note.className = "alert alert-warning";
  note.setAttribute("role", "status");
  note.append(message + " ");
  const link = document.createElement("a");
  link.href = location.pathname + location.search;
  link.className = "alert-link";
  link.textContent = "Reload the page";
  note.append(link);
  root.prepend(note);
}

/** Ask whether the figures changed; `fresh` skips the conditional header (a new period). */
function refresh(fresh = false) {
  if (stopped) { return Promise.resolve(); }
  if (pending && !fresh) { return pending; }
  const headers = { Accept: "text/html" };
  if (!fresh && etag) { headers["If-None-Match"] = etag; }
  const url = `/dashboard/panels?days=${days}`;
  root.setAttribute("aria-busy", String(fresh));
  const request = fetch(url, { headers, credentials: "same-origin", cache: "no-store", redirect: "manual" })
    .then(async (response) => {
      if (response.type === "opaqueredirect" || response.status === 401 || response.status === 403) {
        stop("You are signed out: the figures below are no longer updated.");
        return;
      }
      if (response.status === 304 || !response.ok) { return; }  // unchanged, or try again later
      const html = await response.text();
      if (request !== pending) { return; }  // a newer request (another period) was sent since
      etag = response.headers.get("ETag") || "";
      swapPanels(html);
    })
    .catch(() => {})  // offline for a moment: the next tick tries again
    .finally(() => {
      if (request === pending) { pending = null; root.setAttribute("aria-busy", "false"); }
    });
  pending = request;
  return request;
}

root.addEventListener("click", (event) => {
  const choice = event.target.closest("a[data-days]");
  if (!choice || event.ctrlKey || event.metaKey || event.shiftKey) { return; }
  event.preventDefault();
  days = Number(choice.dataset.days);
  history.replaceState(null, "", `?days=${days}`);
  refresh(true);
});

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") { refresh(); }
});
setInterval(() => {
  if (document.visibilityState === "visible") { refresh(); }
}, POLL_MS);
localizeTimes(root);
