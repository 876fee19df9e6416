// Live updates of one Space: the ONE place that knows how the page learns what changed.
//
// Today it polls GET /spaces/{id} and GET /spaces/{id}/participants every `intervalMs`. The
// room-events transport (GET /spaces/{id}/events?after=, a long-poll being built on another
// branch) will replace the inside of watchSpace: callers only see onUpdate({space,
// participants, askedAt}), onError(err), and the returned {stop, refresh}. `askedAt`
// (performance.now() when the request left) lets the page drop an answer older than a change it
// made itself meanwhile.
export function watchSpace(api, spaceId, { onUpdate, onError }, { intervalMs = 2000 } = {}) {
  let stopped = false;
  let timer = null;
  let inFlight = false;
  let again = false;

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
    timer = setTimeout(tick, intervalMs);
  }

  tick();
  return {
    stop() { stopped = true; clearTimeout(timer); },
    // After the page itself changed something: fetch now instead of at the next tick.
    refresh() { tick(); },
  };
}
