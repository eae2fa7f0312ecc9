// /dashboard: the five most recent jobs, each linking to the page that shows it.
import { api, credits } from "./hub-api.js";

const list = document.getElementById("recent-jobs");
const LABELS = { chat: "Chat", video: "Video", embedding: "Embedding" };
const BADGES = { succeeded: "text-bg-success", failed: "text-bg-danger", canceled: "text-bg-secondary",
                 running: "text-bg-primary", queued: "text-bg-info" };

function item(job) {
  const li = document.createElement("li");
  li.className = "list-group-item px-0 d-flex flex-wrap align-items-center gap-2";
  // an embedding (from /v1/embeddings) has no page of its own: its line is not a link
  const link = document.createElement(job.type === "embedding" ? "span" : "a");
  if (job.type !== "embedding") {
    link.href = `/${job.type === "video" ? "video" : "chat"}?job=${encodeURIComponent(job.id)}`;
  }
  link.className = "text-break";
  link.textContent = `${LABELS[job.type] || "Chat"} · ${job.model}`;
  const badge = document.createElement("span");
  badge.className = `badge ${BADGES[job.status] || "text-bg-light"}`;
  badge.textContent = job.status;
  const cost = document.createElement("span");
  cost.className = "ms-auto small text-body-secondary text-nowrap";
  cost.textContent = job.cost_credits === null ? `holding ${credits(job.hold_credits)}` : credits(job.cost_credits);
  const when = document.createElement("time");
  when.className = "small text-body-secondary w-100";
  when.dateTime = job.created_at;
  when.textContent = new Date(job.created_at).toLocaleString();
  li.append(link, badge, cost, when);
  return li;
}

function note(text) {
  const li = document.createElement("li");
  li.className = "list-group-item px-0 text-body-secondary small";
  li.textContent = text;
  return li;
}

api("GET", "/api/jobs?limit=5").then((page) => {
  list.replaceChildren(...(page.items.length ? page.items.map(item) : [note("No jobs yet. Start a chat or a video.")]));
}, (error) => { list.replaceChildren(note(error.message)); });
