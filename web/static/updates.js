// Live updates of one Space: the ONE place that knows how the page learns what changed.
//
// The Space's room events tell it when something changed (docs/room-events.md), over one of two
// transports, as the join's `events` says:
// - "local" (`make run`): a long-poll of GET /spaces/{id}/events?after=<cursor>&wait=20;
// - "ivs-chat" (AWS stages): an Amazon IVS Chat room, through the official
//   amazon-ivs-chat-messaging SDK (bundled next to this file by `make web`, loaded only then),
//   with a token from POST /spaces/{id}/events/token; the backend's events arrive as chat events.
// Each batch of events triggers one re-sync of GET /spaces/{id} and GET /spaces/{id}/participants,
// and a slow safety re-sync runs anyway (events are best effort). Whenever the events cannot be
// read (the Space is not live yet, the user was removed, the chat connection dropped) it polls
// every `intervalMs` instead and tries the events again (the chat with a growing back-off).
// Callers only see onUpdate({space, participants, askedAt}), onError(err), onEvents(events) (each
// batch of room events, oldest first, as {id, name, attributes, sent_at} whatever the transport:
// reactions and captions are shown from these), onStatus({live, transport}) (whether events are
// arriving), and the returned {stop, refresh, useEvents}. `askedAt` (performance.now() when the
// request left) lets the page drop an answer older than a change it made itself meanwhile.
// Events that change nothing GET /spaces/{id} or /participants would show: no re-sync for them.
const PASSING = new Set(["reaction", "caption"]);
// A chat token keeps the capabilities it was made with: a new role needs a new one.
const ROLE_CHANGES = new Set(["cohost_added", "cohost_removed"]);
const CHAT_BACKOFF_MAX_MS = 30000;

export function watchSpace(api, spaceId, { onUpdate, onError, onEvents = () => {}, onStatus = () => {} },
  { intervalMs = 2000, safetyMs = 5000, events = null, userId = null, loadChat = loadChatSdk } = {}) {
  let stopped = false;
  let timer = null;
  let inFlight = false;
  let again = false;
  let listening = false; // events are arriving: poll slowly
  let transport = null; // "local" | "ivs-chat", from the join's `events`; null: not known yet
  let localLoop = null; // the running long-poll, if any
  let chat = null; // the IVS Chat connection, if any

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

  // Events arriving again re-sync what was missed; events stopping means polling fast again.
  function setListening(now) {
    if (stopped || now === listening) return;
    listening = now;
    tick();
    onStatus({ live: listening, transport });
  }

  function deliver(batch, { resync = true } = {}) {
    if (!batch.length) return;
    try { onEvents(batch); } catch (err) { console.error(err); }
    if (resync && batch.some((e) => !PASSING.has(e.name))) tick();
  }

  async function listenLocal() {
    let cursor = "latest";
    while (!stopped && transport !== "ivs-chat") {
      try {
        const page = await api.events(spaceId, cursor, 20);
        if (stopped || transport === "ivs-chat") return;
        cursor = page.next_cursor;
        const reconnected = !listening;
        setListening(true); // (re)connected: that re-syncs, so the batch need not
        deliver(page.events, { resync: !reconnected });
      } catch (err) {
        if (stopped || transport === "ivs-chat") return;
        setListening(false);
        // A stage whose events go over IVS Chat: nothing to long-poll; wait for the join to say so.
        if (err.code === "events_not_local") return;
        cursor = "latest";
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
      }
    }
  }

  function useEvents(descriptor) {
    const wanted = descriptor && descriptor.transport === "ivs-chat" ? "ivs-chat" : "local";
    if (stopped || wanted === transport) return;
    transport = wanted;
    if (chat) { chat.stop(); chat = null; }
    if (wanted === "ivs-chat") {
      chat = new ChatListener(api, spaceId, descriptor, { userId, loadChat, deliver, setListening, isStopped: () => stopped });
      chat.start();
    } else if (!localLoop) {
      localLoop = listenLocal().finally(() => { localLoop = null; });
    }
  }

  tick();
  useEvents(events);
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      if (chat) chat.stop();
    },
    // After the page itself changed something: fetch now instead of at the next tick.
    refresh() { tick(); },
    // The join said where events come from (a page that joined after it started watching).
    useEvents,
  };
}

// The "ivs-chat" transport: one ChatRoom of the SDK, connected again (new token) with a growing
// back-off whenever it ends, and renewed when this user's role changes.
class ChatListener {
  constructor(api, spaceId, descriptor, { userId, loadChat, deliver, setListening, isStopped }) {
    Object.assign(this, { api, spaceId, userId, loadChat, deliver, setListening });
    this.isStopped = () => this.stopped || isStopped();
    this.stopped = false;
    // A stage may name its messaging endpoint (`url`); otherwise the SDK's for the region.
    this.regionOrUrl = descriptor.url || descriptor.region;
    this.room = null;
    this.failures = 0;
    this.retry = null;
    this.refused = false;
  }

  async start() {
    let ChatRoom;
    try {
      ({ ChatRoom } = await this.loadChat());
    } catch (err) {
      // Without the SDK the page keeps polling (every intervalMs), as before it spoke IVS Chat.
      console.error("IVS Chat SDK unavailable (was `make web` run?)", err);
      return;
    }
    if (this.isStopped()) return;
    // The SDK asks for a fresh token for every connection: each token is accepted once.
    const tokenProvider = async () => {
      let answer;
      try {
        answer = await this.api.chatToken(this.spaceId);
      } catch (err) {
        // Removed or blocked: the room is closed to this user for good; polling shows the rest.
        if (err.status === 403) this.refused = true;
        throw err;
      }
      return {
        token: answer.token,
        tokenExpirationTime: new Date(answer.token_expires_at),
        sessionExpirationTime: new Date(answer.session_expires_at),
      };
    };
    this.room = new ChatRoom({ regionOrUrl: this.regionOrUrl, tokenProvider });
    this.room.logLevel = "error"; // the SDK logs every frame at its default, "debug"
    this.room.addListener("connect", () => {
      this.failures = 0;
      this.setListening(true);
    });
    // The SDK reconnecting by itself (a broken socket, an expired token): poll meanwhile.
    this.room.addListener("connecting", () => this.setListening(false));
    this.room.addListener("disconnect", (reason) => {
      this.setListening(false);
      if (reason !== "clientDisconnect" && !this.refused) this.connectLater();
    });
    this.room.addListener("event", (event) => this.onChatEvent(event));
    this.connect();
  }

  connect() {
    clearTimeout(this.retry);
    this.retry = null;
    if (this.isStopped() || !this.room || this.room.state !== "disconnected") return;
    try {
      this.room.connect();
    } catch (err) {
      console.error(err);
      this.connectLater();
    }
  }

  connectLater() {
    if (this.isStopped() || this.retry) return;
    this.failures += 1;
    const ceiling = Math.min(CHAT_BACKOFF_MAX_MS, 1000 * 2 ** (this.failures - 1));
    this.retry = setTimeout(() => this.connect(), ceiling / 2 + Math.random() * (ceiling / 2));
  }

  onChatEvent(event) {
    const converted = {
      id: event.id,
      name: event.eventName,
      attributes: event.attributes || {},
      sent_at: event.sendTime instanceof Date ? event.sendTime.toISOString() : String(event.sendTime),
    };
    this.deliver([converted]);
    if (ROLE_CHANGES.has(converted.name) && this.userId && converted.attributes.user_id === this.userId) {
      // The capabilities a token carries follow the role: reconnect with a new token. (A co-host
      // who lost the role is also disconnected by the backend; either way one new connection.)
      this.room.disconnect();
      this.connect();
    }
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retry);
    if (this.room) this.room.disconnect();
  }
}

function loadChatSdk() {
  return import("./amazon-ivs-chat-messaging.js");
}
