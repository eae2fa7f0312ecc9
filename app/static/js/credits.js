// /credits: balance, usage per day, history a page at a time, promo codes, buying credits.
import { api, credits, number, showError } from "./hub-api.js";

const $ = (id) => document.getElementById(id);
const errorBox = $("credits-error");
const KIND_LABELS = { purchase: "Purchase", promo: "Promo code", admin_adjustment: "Adjustment",
                      usage: "Usage", refund: "Refund", reversal: "Reversal" };
let nextCursor = null;

function showBalance(state) {
  $("available").textContent = credits(state.available);
  $("balance").textContent = number(state.balance);
  $("held").textContent = number(state.held);
}

async function loadBalance() {
  showBalance(await api("GET", "/api/credits/balance"));
}

async function loadUsage() {
  const days = (await api("GET", "/api/credits/usage?days=30")).items;
  const peak = Math.max(1, ...days.map((d) => d.usage_credits));
  const chart = $("usage-chart");
  chart.replaceChildren(...days.map((day) => {
    const bar = document.createElement("div");
    bar.className = "usage-bar" + (day.usage_credits ? "" : " is-zero");
    bar.style.height = `${Math.max(1, (100 * day.usage_credits) / peak)}%`;
    bar.title = `${day.day}: ${credits(day.usage_credits)}`;
    return bar;
  }));
  $("usage-rows").replaceChildren(...days.filter((d) => d.entries).reverse().map((day) => {
    const row = document.createElement("tr");
    row.append(cell(day.day), cell(number(day.usage_credits), "text-end"), cell(number(day.entries), "text-end"));
    return row;
  }));
  const total = days.reduce((sum, d) => sum + d.usage_credits, 0);
  chart.setAttribute("aria-label", `Credits spent per day: ${credits(total)} in the last 30 days`);
  $("usage-first").textContent = days.length ? days[0].day : "";
  $("usage-last").textContent = days.length ? days[days.length - 1].day : "";
  $("usage-total").textContent = `${credits(total)} in total`;
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) { td.className = className; }
  return td;
}

function historyRow(entry) {
  const row = document.createElement("tr");
  const when = entry.created_at.replace("T", " ").replace(/(\.\d+)?(Z|\+00:00)$/, "").slice(0, 16);
  const what = cell(KIND_LABELS[entry.kind] || entry.kind);
  if (entry.memo) {
    const memo = document.createElement("div");
    memo.className = "small text-body-secondary text-break";
    memo.textContent = entry.memo;
    what.append(memo);
  }
  const amount = cell((entry.amount_credits > 0 ? "+" : "") + number(entry.amount_credits),
                      "text-end text-nowrap " + (entry.amount_credits < 0 ? "text-danger" : "text-success"));
  const [day, time] = when.split(" ");
  const whenCell = cell(day);
  whenCell.append(" ", time);  // wraps to two lines on a phone
  row.append(whenCell, what, amount,
             cell(number(entry.balance_after_credits), "text-end d-none d-sm-table-cell"));
  return row;
}

async function loadHistory(reset) {
  const button = $("load-more");
  if (reset) { nextCursor = null; $("history-rows").replaceChildren(); }
  const url = "/api/credits/transactions?limit=20" + (nextCursor ? `&cursor=${encodeURIComponent(nextCursor)}` : "");
  button.disabled = true;
  try {
    const page = await api("GET", url);
    $("history-rows").append(...page.items.map(historyRow));
    nextCursor = page.next_cursor;
    $("history-empty").hidden = $("history-rows").children.length > 0;
  } finally {
    button.disabled = false;
    button.hidden = !nextCursor;
  }
}

async function loadPackages() {
  const box = $("packages");
  let packages;
  try {
    packages = (await api("GET", "/api/payments/packages")).items;
  } catch (error) {
    const note = document.createElement("p");
    note.className = "small text-body-secondary mb-0";
    note.textContent = error.status === 404
      ? "Buying credits online is not available on this hub yet. Ask your operator, or redeem a promo code."
      : error.message;
    box.replaceChildren(note);
    return;
  }
  if (!packages.length) {
    const note = document.createElement("p");
    note.className = "small text-body-secondary mb-0";
    note.textContent = "No credit packages are on sale right now.";
    box.replaceChildren(note);
    return;
  }
  const list = document.createElement("div");
  list.className = "d-grid gap-2";
  for (const item of packages) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-outline-primary d-flex justify-content-between";
    const price = new Intl.NumberFormat("en-US", { style: "currency", currency: item.currency.toUpperCase() })
      .format(item.price_cents / 100);
    const name = document.createElement("span");
    name.textContent = `${item.name}: ${credits(item.credits)}`;
    const cost = document.createElement("span");
    cost.textContent = price;
    button.append(name, cost);
    button.addEventListener("click", () => checkout(item.id, button));
    list.append(button);
  }
  box.replaceChildren(list);
}

async function checkout(packageId, button) {
  button.disabled = true;
  showError(errorBox, null);
  const here = `${location.origin}/credits`;
  try {
    const session = await api("POST", "/api/payments/checkout",
                              { package: packageId, success_url: `${here}?paid=1`, cancel_url: here });
    location.assign(session.checkout_url);
  } catch (error) {
    showError(errorBox, error);
    button.disabled = false;
  }
}

async function redeem(event) {
  event.preventDefault();
  const input = $("promo-code"), result = $("promo-result");
  const code = input.value.trim();
  result.className = "mt-2 small";
  if (!code) {
    result.textContent = "Enter a code first.";
    result.classList.add("text-danger");
    input.focus();
    return;
  }
  try {
    const redeemed = await api("POST", "/api/credits/redeem", { code });
    showBalance(redeemed);
    result.textContent = `${redeemed.code}: ${credits(redeemed.amount_credits)} added.`;
    result.classList.add("text-success");
    input.value = "";
    await loadHistory(true);
  } catch (error) {
    result.textContent = error.message;
    result.classList.add("text-danger");
    if (error.code === "email_not_verified") {
      const link = document.createElement("a");
      link.href = "/verify";
      link.textContent = "Verify your e-mail address";
      result.append(" ", link);
    }
  }
}

async function run(step) {
  try { await step(); } catch (error) { showError(errorBox, error); }
}

$("load-more").addEventListener("click", () => run(() => loadHistory(false)));
$("promo-form").addEventListener("submit", redeem);
run(loadBalance);
run(loadUsage);
run(() => loadHistory(true));
loadPackages();
