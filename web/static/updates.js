// Live updates of one Space: the ONE place that knows how the page learns what changed.
//
// The Space's room events tell it when something changed: on the local stage a long-poll of
// GET /spaces/{id}/events?after=<cursor>&wait=20 (docs/room-events.md). Each batch of events
// triggers one re-sync of GET /spaces/{id} and GET /spaces/{id}/participants, and a slow safety
// re-sync runs anyway (events are best effort). Where the room cannot be read (the Space is not
// live yet, the user was removed, or an AWS stage where events come over IVS Chat, which this
// page does not speak yet), it polls every `intervalMs` instead, and tries the events again.
// Callers only see onUpdate({space, participants, askedAt}), onError(err), onEvents(events) (each
// batch of room events as read, oldest first: reactions and captions are shown from these), and
// the returned {stop, refresh}. `askedAt` (performance.now() when the request left) lets the page drop an
// answer older than a change it made itself meanwhile.
// Events that change nothing GET /spaces/{id} or /participants would show: no re-sync for them.
const PASSING = new Set(["reaction", "caption"]);

export function watchSpace(api, spaceId, { onUpdate, onError, onEvents = () => {} }, { intervalMs = 2000, safetyMs = 5000 } = {}) {
  let stopped = false;
  let timer = null;
  let inFlight = false;
  let again = false;
  let listening = false; // the events long-poll answers: poll slowly

  async function tick() {
    clearTimeout(timer);
    timer = null;
    if (stopped) return;
    if (inFlight) { again = true; return; }
    inFlight = true;
    try {
      const askedAt = performance.now();
      const [space, participants] = await Promise.all([api.space(spaceId), api.participants(spaceId)]);
      if (!stopped) await onUpdate({ space, participants, askedAt });
    } catch (err) {
      if (!stopped) onError(err);
    } finally {
      inFlight = false;
    }
    if (stopped) return;
    if (again) { again = false; tick(); return; }
    timer = setTimeout(tick, listening ? safetyMs : intervalMs);
  }

  async function listen() {
    let cursor = "latest";
    while (!stopped) {
      try {
        const page = await api.events(spaceId, cursor, 20);
        if (stopped) return;
        cursor = page.next_cursor;
        if (page.events.length) {
          try { onEvents(page.events); } catch (err) { console.error(err); }
        }
        if (!listening) { listening = true; tick(); } // (re)connected: re-sync what was missed
        else if (page.events.some((e) => !PASSING.has(e.name))) tick();
      } catch (err) {
        if (stopped) return;
        if (listening) { listening = false; tick(); }
        cursor = "latest";
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
      }
    }
  }

  tick();
  listen();
  return {
    stop() { stopped = true; clearTimeout(timer); },
    // After the page itself changed something: fetch now instead of at the next tick.
    refresh() { tick(); },
  };
}
