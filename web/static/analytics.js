// Host analytics of one Space (GET /spaces/{id}/analytics, docs/analytics.md): a panel only the
// host and co-hosts see, read when they open it or press Refresh (never polled).
import { h, replace } from "./dom.js";

function minutes(seconds) {
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

function money(cents, currency) {
  return `${(cents / 100).toFixed(2)} ${currency}`;
}

export function analyticsRows(a) {
  const rows = [
    ["Peak concurrent listeners", a.peak_concurrent_listeners],
    ["Unique listeners", a.unique_listeners],
    ["Speakers", a.speakers],
    ["Average listening time", minutes(a.average_listening_seconds)],
    ["Median listening time", minutes(a.median_listening_seconds)],
    ["Reactions", a.reactions],
    ["Replay plays", a.replay_plays],
    ["Replay listeners", a.replay_listeners],
    ["Clips", a.clips],
  ];
  const { tickets, subscriptions } = a.revenue;
  if (tickets) rows.push(["Ticket revenue (net of refunds)", `${money(tickets.net_cents, tickets.currency)} · ${tickets.sold} sold`]);
  if (subscriptions) rows.push(["Subscriptions during the Space", `${money(subscriptions.gross_cents, subscriptions.currency)} · ${subscriptions.count}`]);
  return rows;
}

export function analyticsPanel(api, spaceId) {
  const body = h("div", { id: "analytics-body" });
  const refresh = h("button", { type: "button", id: "analytics-refresh" }, "Refresh");
  const panel = h("details", { id: "analytics", hidden: true },
    h("summary", {}, "Analytics"), refresh, body);

  async function load() {
    refresh.disabled = true;
    try {
      const a = await api.analytics(spaceId);
      const perMinute = a.listeners_per_minute.map((p) => p.listeners);
      replace(body,
        h("p", {}, a.final ? "Final numbers (the Space ended)." : `Live, as of ${a.as_of}.`),
        h("table", {}, h("tbody", {}, analyticsRows(a).map(([label, value]) =>
          h("tr", {}, h("th", { scope: "row" }, label), h("td", { dataset: { metric: label } }, value))))),
        h("p", { id: "analytics-per-minute" }, `Listeners per minute: ${perMinute.join(" · ") || "none yet"}`));
    } catch (err) {
      replace(body, h("p", { class: "error", role: "alert" }, `Analytics unavailable: ${err.message}`));
    } finally {
      refresh.disabled = false;
    }
  }

  panel.addEventListener("toggle", () => { if (panel.open) load(); });
  refresh.addEventListener("click", load);
  return panel;
}
