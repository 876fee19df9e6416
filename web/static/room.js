// One Space, open: who is there, what I may do, live updates, audio.
import { analyticsPanel } from "./analytics.js";
import { announce, alertBanner } from "./announce.js";
import { h, replace } from "./dom.js";
import { createMedia } from "./media.js";
import { watchSpace } from "./updates.js";

const ROLE_NAMES = { host: "the host", cohost: "a co-host", speaker: "a speaker", listener: "a listener" };
// The reactions the server accepts (chalicelib/domain/room_events.py REACTIONS), with names for
// screen readers.
const REACTIONS = [["❤️", "heart"], ["😂", "laughing"], ["👏", "applause"], ["🔥", "fire"], ["💯", "hundred"], ["🙏", "thanks"], ["👍", "thumbs up"], ["👎", "thumbs down"]];
const REACTION_NAMES = Object.fromEntries(REACTIONS);
const KEEP_REACTIONS = 6;
const KEEP_CAPTIONS = 4;
const SUBSCRIPTION_TIER = { tier: "tier_1", label: "2.99 USD a month" };
// The listener's choice to listen incognito (counted, in no list of people), kept across Spaces.
const INCOGNITO_KEY = "spaces.incognito";
export const wantsIncognito = () => localStorage.getItem(INCOGNITO_KEY) === "1";
export const setWantsIncognito = (on) => localStorage.setItem(INCOGNITO_KEY, on ? "1" : "0");
const isHttps = (url) => { try { return new URL(url).protocol === "https:"; } catch { return false; } };

export class Room {
  constructor({ api, config, session, spaceId, container, goHome }) {
    Object.assign(this, { api, config, session, spaceId, container, goHome });
    this.me = session.user_id;
    this.space = null;
    this.participants = null;
    this.joined = false;
    this.role = null;
    this.removed = false;
    this.over = false; // ended or canceled
    this.handRaised = false;
    this.invited = false;
    this.muted = false;
    this.myMicMuted = false;
    this.reminderSet = null; // unknown until set or cleared here
    this.reactions = []; // the latest room `reaction` events, newest last
    this.captions = []; // the latest `caption` events, in time order
    this.needsConsent = false; // a co-host of a recorded Space who has not consented yet
    this.incognito = false; // joined incognito (the join's answer says)
    this.names = new Map(); // user id -> {name, avatar_url}, from the answers that list people
    this.listeners = { items: [], next: null, count: null }; // the listener list, page by page
    this.needsSubscription = false; // a subscriber-only Space and no active subscription
    this.subscriptionStatus = "";
    this.error = "";
    this.audioStatus = "";
    this.events = null; // where room events come from: the join's `events`
    this.eventsLive = false; // room events are arriving (else updates.js polls)
    this.busy = new Set();
    this.heartbeat = null;
    this.watch = null;
    this.signature = "";
    this.changedAt = 0; // performance.now() when this page last changed something itself
    this.speaking = []; // user ids whose audio this page hears right now
    this.media = createMedia(config, (status) => { this.audioStatus = status; this.render(); },
      (userIds) => { this.speaking = userIds; this.render(); });
  }

  async open() {
    this.liveRegion = h("div", { id: "room-live" });
    this.moderation = this.moderationForm();
    this.analytics = analyticsPanel(this.api, this.spaceId);
    replace(this.container, this.liveRegion, this.moderation, this.analytics);
    try {
      this.space = await this.api.space(this.spaceId);
    } catch (err) {
      replace(this.container, h("p", { class: "error" }, `This Space cannot be opened: ${err.message}`),
        h("p", {}, h("a", { href: "#/" }, "Back to Spaces")));
      return;
    }
    if (this.space.is_ticketed) await this.loadMyTicket();
    // A ticketed Space without a paid ticket: the page offers the ticket instead of a 403.
    if (this.space.state === "live" && (!this.space.is_ticketed || this.hasTicketOrNeedsNone())) await this.join();
    this.watch = watchSpace(this.api, this.spaceId, {
      onUpdate: (update) => this.update(update),
      onError: (err) => this.onPollError(err),
      onEvents: (events) => this.onEvents(events),
      onStatus: ({ live }) => { this.eventsLive = live; this.render(); },
    }, { intervalMs: this.pollMs(), events: this.events, userId: this.me });
    this.render();
  }

  // Leaving the page (another route, sign-out): stop everything; best-effort leave.
  async close({ leave = true } = {}) {
    this.stopTimers();
    await this.media.disconnect();
    if (leave && this.joined && !this.removed && !this.over) {
      this.joined = false;
      try { await this.api.leave(this.spaceId); } catch { /* leaving anyway */ }
    }
  }

  pollMs() {
    return (this.config.updates && this.config.updates.interval_ms) || 2000;
  }

  stopTimers() {
    if (this.watch) this.watch.stop();
    clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  // --- joining and the heartbeat -----------------------------------------------------------

  async join(body) {
    try {
      // The first join asks for incognito when the listener chose it; heartbeats keep the choice.
      if (!this.joined && wantsIncognito()) body = { ...(body || {}), incognito: true };
      const joined = await this.api.join(this.spaceId, body);
      this.changedAt = performance.now();
      const first = !this.joined;
      this.joined = true;
      this.needsSubscription = false;
      this.role = joined.role;
      if (joined.events) {
        this.events = joined.events;
        if (this.watch) this.watch.useEvents(joined.events);
      }
      this.needsConsent = Boolean(joined.recording_consent_required);
      this.incognito = Boolean(joined.incognito);
      if (joined.incognito_refused === "incognito_off" && first) {
        // The host turned incognito off: we are in as a listener everyone sees. Say so; Leave is there.
        announce("Incognito listening is off in this Space: you joined as a listener everyone can see.");
      }
      if (this.needsConsent && first) {
        announce("This Space is recorded: you listen until you agree to be recorded.");
      }
      if (first) {
        announce(`You joined as ${ROLE_NAMES[joined.role] || joined.role}.`);
        await this.media.connect(joined.media).catch((err) => { this.audioStatus = `Audio unavailable: ${err.message}`; });
        // Presence: join again within the interval the server asks for, or stop being counted.
        const every = Math.max(5, joined.heartbeat_interval_seconds || 150) * 1000;
        clearInterval(this.heartbeat);
        this.heartbeat = setInterval(() => this.beat(), every);
      }
      return joined;
    } catch (err) {
      this.handleActionError(err);
      return null;
    }
  }

  async beat() {
    if (this.removed || this.over) return;
    try {
      await this.api.join(this.spaceId);
    } catch (err) {
      this.handleActionError(err);
    }
  }

  // --- updates --------------------------------------------------------------------------

  async update({ space, participants, askedAt = Infinity }) {
    // An answer to a request sent before this page's own last change may predate it (a hand
    // still down, an invitation already accepted): skip it; a fresh one was asked for.
    if (askedAt < this.changedAt) return;
    this.space = space;
    this.participants = participants;
    this.rememberNames(participants);
    const me = participants.me || {};
    this.incognito = Boolean(me.incognito);
    if (space.state === "ended" || space.state === "canceled") {
      if (!this.over) this.becomeOver(space.state);
    } else if (me.removed && !this.removed) {
      this.becomeRemoved();
    } else if (this.joined && !this.removed && !this.over) {
      await this.followMyRole(space, participants, me);
    }
    // Who listens changed (the count, the stage, the hands): read the list's first page again.
    const head = [participants.participant_count, participants.speaker_ids, participants.speaker_requests.count].join("|");
    if (this.joined && space.state === "live" && !this.removed && head !== this.listenersHead) {
      this.listenersHead = head;
      await this.loadListeners();
    }
    this.render();
  }

  async followMyRole(space, participants, me) {
    const role = me.role || "listener";
    if (this.role && role !== this.role) {
      const before = this.role;
      this.role = role;
      if (role === "listener") {
        announce("You are now a listener.");
        this.muted = false;
        // A listener's token must not publish: join again for subscribe-only media.
        const joined = await this.join();
        if (joined) await this.media.connect(joined.media).catch(() => {});
      } else if (before !== role) {
        announce(`You are now ${ROLE_NAMES[role] || role}.`);
      }
    }
    this.role = role;
    const wasInvited = this.invited;
    this.invited = Boolean(me.invited);
    if (this.invited && !wasInvited) {
      if (this.handRaised && !space.recording) {
        // I asked to speak and a host approved: take the stage.
        announce("A host approved your request to speak.");
        await this.acceptInvitation();
      } else if (space.recording) {
        announce("A host invited you to speak. This Space is recorded: accepting means you agree to be recorded.");
      } else {
        announce("A host invited you to speak. Use the Accept invitation button to go on stage.");
      }
    }
    if (!this.busy.has("hand")) this.handRaised = Boolean(me.hand_raised);
    const muted = (participants.muted_user_ids || []).includes(this.me);
    if (muted && !this.muted) {
      announce("A host muted your microphone.");
      this.myMicMuted = true; // the microphone button then turns it on again
      this.media.setMicMuted(true);
    }
    this.muted = muted;
  }

  becomeOver(state) {
    this.over = true;
    this.stopTimers();
    this.media.disconnect();
    const message = state === "ended" ? "The Space has ended." : "The Space was canceled.";
    announce(message);
    alertBanner(this.removed ? `You were removed from this Space. ${message}` : message);
  }

  // Removed: no more heartbeats nor audio, but the page keeps watching the Space (reading it is
  // still allowed), so it can say when the Space ends.
  becomeRemoved() {
    this.removed = true;
    this.joined = false;
    clearInterval(this.heartbeat);
    this.heartbeat = null;
    this.media.disconnect();
    const message = "You were removed from this Space.";
    announce(message);
    alertBanner(message);
  }

  // Room events carry what the Space's state does not: reactions and live captions. (The rest
  // of the events only make updates.js re-sync the Space.)
  onEvents(events) {
    for (const event of events) {
      const a = event.attributes || {};
      if (event.name === "reaction") {
        this.reactions = [...this.reactions, { id: event.id, user: a.user_id, emoji: a.emoji }].slice(-KEEP_REACTIONS);
      } else if (event.name === "caption" && a.text) {
        this.captions = [...this.captions, { id: a.id || event.id, user: a.user_id, text: a.text, start: Number(a.start_ms) || 0 }]
          .sort((x, y) => x.start - y.start).slice(-KEEP_CAPTIONS);
      }
    }
    this.render();
  }

  react(emoji) {
    return this.act("react", () => this.api.react(this.spaceId, emoji),
      { success: `You reacted with ${REACTION_NAMES[emoji] || emoji}.` });
  }

  // A subscriber-only Space: subscribe to its creator with the sandbox provider (locally), then
  // join once the provider's webhook made the subscription active.
  async subscribe() {
    const creator = this.space.creator_id;
    const started = await this.api.subscribe(creator, crypto.randomUUID(), { tier: SUBSCRIPTION_TIER.tier });
    if (started.payment && started.payment.provider === "stripe") {
      this.subscriptionStatus = "Card payments are not available in this web client yet: subscribe in the app.";
      announce(this.subscriptionStatus);
      return;
    }
    this.subscriptionStatus = "Payment pending…";
    this.render();
    for (let i = 0; i < 30 && !this.joined; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      try {
        await this.api.join(this.spaceId); // a probe: 403 subscription_required until it is active
      } catch (err) {
        if (err.code !== "subscription_required") { this.handleActionError(err); return; }
        continue;
      }
      await this.join();
    }
    this.subscriptionStatus = this.joined ? `You subscribed to ${creator}.` : "The subscription is not active yet; try again in a moment.";
    announce(this.subscriptionStatus);
  }

  onPollError(err) {
    if (err.status === 401) { this.error = "Your sign-in has expired: sign in again."; }
    else if (err.status === 404) { this.error = "This Space no longer exists."; }
    else { this.error = `Updates paused: ${err.message}. Retrying.`; }
    this.render();
  }

  handleActionError(err) {
    if (err.code === "removed_from_space") { this.becomeRemoved(); this.render(); return; }
    if (err.code === "subscription_required") {
      this.needsSubscription = true;
      this.error = "";
      this.render();
      return;
    }
    if (err.code === "space_not_live" || err.code === "space_ended") {
      if (this.watch) this.watch.refresh();
    }
    this.error = err.message;
    announce(`Error: ${err.message}`);
    this.render();
  }

  // --- actions --------------------------------------------------------------------------

  async act(key, fn, { success } = {}) {
    if (this.busy.has(key)) return;
    this.busy.add(key);
    this.error = "";
    this.render();
    try {
      await fn();
      if (success) announce(success);
    } catch (err) {
      this.handleActionError(err);
    } finally {
      this.changedAt = performance.now();
      this.busy.delete(key);
      this.render();
      if (this.watch) this.watch.refresh();
    }
  }

  // In a recorded Space, accepting to speak (or a co-host joining to speak) carries the consent
  // to be recorded: the buttons that send it say so.
  consentBody() { return this.space && this.space.recording ? { recording_consent: true } : undefined; }

  async acceptInvitation() {
    await this.act("accept", async () => {
      const accepted = await this.api.acceptInvitation(this.spaceId, this.consentBody());
      this.invited = false;
      this.handRaised = false;
      this.role = accepted.role;
      announce("You are now a speaker.");
      // The same connection where the transport allows it: listening goes on while the
      // microphone starts publishing (media.js promote).
      await this.media.promote(accepted.media).catch((err) => { this.audioStatus = `Audio unavailable: ${err.message}`; });
    });
  }

  raiseHand() {
    return this.act("hand", async () => { await this.api.raiseHand(this.spaceId); this.handRaised = true; },
      { success: "Your hand is raised: the hosts see your request to speak." });
  }

  lowerHand() {
    return this.act("hand", async () => { await this.api.lowerHand(this.spaceId); this.handRaised = false; },
      { success: "Your hand is lowered." });
  }

  async leave() {
    await this.act("leave", async () => {
      this.stopTimers();
      await this.media.disconnect();
      if (this.joined) await this.api.leave(this.spaceId);
      this.joined = false;
    }, { success: "You left the Space." });
    this.goHome();
  }

  toggleMic() {
    this.myMicMuted = !this.myMicMuted;
    this.media.setMicMuted(this.myMicMuted);
    announce(this.myMicMuted ? "Your microphone is off." : "Your microphone is on.");
    this.render();
  }

  moderationForm() {
    const input = h("input", { id: "moderate-user", name: "user_id", autocomplete: "off", required: true, pattern: "[A-Za-z0-9_.\\-]{1,64}" });
    const run = (what) => (event) => {
      event.preventDefault();
      const userId = input.value.trim();
      if (!userId) { input.focus(); return; }
      if (what === "invite") {
        this.act(`invite:${userId}`, () => this.api.addSpeaker(this.spaceId, userId), { success: `${userId} is invited to speak.` });
      } else {
        this.act(`remove:${userId}`, () => this.api.remove(this.spaceId, userId), { success: `${userId} was removed from the Space.` });
      }
      input.value = "";
    };
    return h("section", { id: "moderation", "aria-labelledby": "moderation-title", hidden: true },
      h("h2", { id: "moderation-title" }, "Moderate"),
      h("p", { class: "muted" }, "Pick a person in the lists above, or name anyone by their user id."),
      h("form", { class: "row", onsubmit: run("invite") },
        h("label", { for: "moderate-user" }, "User id", input),
        h("button", { type: "submit" }, "Invite to speak"),
        h("button", { type: "button", class: "danger", onclick: run("remove") }, "Remove from Space")),
      this.pinForm());
  }

  // Hosts and co-hosts pin one https link with a short text; everyone in the Space sees it.
  pinForm() {
    const url = h("input", { id: "pin-url", name: "url", type: "url", required: true, maxlength: 400, pattern: "https://.+", placeholder: "https://" });
    const text = h("input", { id: "pin-text", name: "text", required: true, maxlength: 120, autocomplete: "off" });
    const pin = (event) => {
      event.preventDefault();
      this.act("pin", () => this.api.pin(this.spaceId, url.value.trim(), text.value.trim()), { success: "The link is pinned." })
        .then(() => { if (!this.error) { url.value = ""; text.value = ""; } });
    };
    return h("form", { class: "row", id: "pin-form", "aria-label": "Pin a link", onsubmit: pin },
      h("label", { for: "pin-url" }, "Link", url),
      h("label", { for: "pin-text" }, "Text", text),
      h("button", { type: "submit" }, "Pin"),
      h("button", { type: "button", id: "unpin", onclick: () => this.act("unpin", () => this.api.unpin(this.spaceId), { success: "The pinned link is gone." }) }, "Unpin"));
  }

  // The pinned post, built from text nodes and one attribute: nothing in it is parsed as HTML.
  // The server only pins https links; a link that is not one is shown as text, not followed.
  pinnedPanel(pinned) {
    const safe = typeof pinned.url === "string" && pinned.url.startsWith("https://");
    return h("section", { id: "pinned", "aria-label": "Pinned link" },
      h("p", {}, "📌 ", safe
        ? h("a", { href: pinned.url, target: "_blank", rel: "noopener noreferrer", id: "pinned-link" }, pinned.text)
        : h("span", { id: "pinned-link" }, pinned.text),
        h("span", { class: "muted" }, ` · pinned by ${pinned.pinned_by}`)));
  }

  // --- rendering --------------------------------------------------------------------------

  render() {
    if (!this.liveRegion) return;
    const state = {
      space: this.space, participants: this.participants, joined: this.joined, role: this.role,
      removed: this.removed, over: this.over, hand: this.handRaised, invited: this.invited,
      muted: this.muted, mic: this.myMicMuted, reminder: this.reminderSet, error: this.error,
      audio: this.audioStatus, speaking: this.speaking, updates: this.eventsLive, busy: [...this.busy], reactions: this.reactions, captions: this.captions,
      consent: this.needsConsent, subscription: [this.needsSubscription, this.subscriptionStatus],
      ticket: [this.myTicket && this.myTicket.status, this.ticketStatus],
    };
    const signature = JSON.stringify(state);
    if (signature === this.signature) return; // nothing changed: keep the DOM (and focus) as is
    this.signature = signature;
    const focusedKey = document.activeElement && document.activeElement.dataset && document.activeElement.dataset.key;
    replace(this.liveRegion, ...this.view());
    const moderator = this.space && this.space.state === "live" && this.joined && ["host", "cohost"].includes(this.role);
    this.moderation.hidden = !moderator;
    // Host analytics: the host and co-hosts, live or after the end (docs/analytics.md).
    this.analytics.hidden = !(this.space && (this.space.host_ids || []).includes(this.me));
    if (focusedKey) {
      const again = this.liveRegion.querySelector(`[data-key="${CSS.escape(focusedKey)}"]`);
      if (again) again.focus();
    }
  }

  button(key, label, onclick, { primary = false, danger = false, describedBy } = {}) {
    return h("button", {
      type: "button", class: primary ? "primary" : danger ? "danger" : undefined, dataset: { key },
      disabled: this.busy.has(key), "aria-describedby": describedBy, onclick,
    }, label);
  }

  view() {
    const space = this.space;
    if (!space) return [h("p", {}, "Loading…")];
    const p = this.participants;
    const hosts = (p && p.host_ids) || space.host_ids || [];
    const onStage = ((p && p.speaker_ids) || space.speaker_ids || []).filter((id) => !hosts.includes(id));
    const muted = new Set((p && p.muted_user_ids) || space.muted_user_ids || []);
    const isModerator = this.joined && ["host", "cohost"].includes(this.role) && space.state === "live";
    const speaking = new Set(this.speaking);
    const who = (id) => [this.displayName(id), id === this.me ? " (you)" : "", muted.has(id) ? " · muted" : ""].join("");
    // The speaking indicator: this page hears that person's audio now (webrtc.js measures it).
    const name = (id) => h("span", { class: speaking.has(id) ? "speaking" : undefined, dataset: { user: id } },
      this.avatar(id), who(id), speaking.has(id) ? " · speaking" : "");

    const header = h("section", { "aria-labelledby": "space-title" },
      h("h2", { id: "space-title" }, space.title, " ",
        h("span", { class: `badge ${space.state === "live" ? "live" : ""}` }, space.state),
        space.recording && space.state === "live"
          ? [" ", h("span", { class: "badge recording", id: "recording-badge", role: "img", "aria-label": "This Space is being recorded" }, "● Recording")]
          : null),
      h("p", { class: "muted" },
        space.topics && space.topics.length ? `Topics: ${space.topics.join(", ")} · ` : "",
        `Host: ${space.creator_id}`,
        space.scheduled_start && space.state === "scheduled" ? ` · Starts ${new Date(space.scheduled_start).toLocaleString()}` : ""));

    const status = h("section", { "aria-label": "Your status" },
      h("p", { id: "my-status" }, this.statusText()),
      this.audioStatus && !this.removed && !this.over ? h("p", { id: "audio-status", class: "notice" }, this.audioStatus) : null,
      space.state === "live" && !this.removed && !this.over
        ? h("p", { id: "updates-status", class: "muted" }, this.eventsLive
          ? "Live updates: on."
          : `Live updates: paused; checking every ${Math.round(this.pollMs() / 1000)} s.`)
        : null,
      this.error ? h("p", { class: "error", id: "room-error" }, this.error) : null);

    const people = space.state === "live" && p ? h("section", { "aria-labelledby": "people-title" },
      h("h2", { id: "people-title" }, "In this Space"),
      h("h3", {}, "Hosts"),
      h("ul", { class: "plain", id: "hosts" }, hosts.map((id) => h("li", {}, name(id),
        isModerator && id !== this.me && id !== space.creator_id ? this.modButtons(id) : null))),
      h("h3", {}, "Speakers"),
      onStage.length
        ? h("ul", { class: "plain", id: "speakers" }, onStage.map((id) => h("li", {}, name(id),
          isModerator && id !== this.me ? this.modButtons(id, { speaker: true, muted: muted.has(id) }) : null)))
        : h("p", { class: "muted", id: "speakers" }, "Nobody else is on stage."),
      h("p", { id: "listener-count" }, `Listeners: ${p.listener_count}`),
      isModerator && p.incognito_count ? h("p", { id: "incognito-count", class: "muted" },
        `${p.incognito_count} of them listening incognito (counted, not shown).`) : null,
      this.listenersPanel(isModerator),
      h("p", { id: "hand-count" }, `Raised hands: ${p.speaker_requests.count}`),
      isModerator && p.speaker_requests.requests && p.speaker_requests.requests.length
        ? h("ul", { class: "plain", id: "hands", "aria-label": "Raised hands" }, p.speaker_requests.requests.map((r) => h("li", {},
          h("span", {}, this.avatar(r.user_id), `${this.displayName(r.user_id)} raised a hand`),
          this.button(`approve:${r.user_id}`, `Approve ${r.user_id}`, () => this.act(`approve:${r.user_id}`,
            () => this.api.addSpeaker(this.spaceId, r.user_id), { success: `${r.user_id} is invited on stage.` }), { primary: true }),
          this.button(`remove:${r.user_id}`, `Remove ${r.user_id}`, () => this.act(`remove:${r.user_id}`,
            () => this.api.remove(this.spaceId, r.user_id), { success: `${r.user_id} was removed from the Space.` }), { danger: true }))))
        : null) : null;

    const tickets = space.is_ticketed ? this.ticketsPanel(space) : null;
    const subscription = space.access === "subscribers" && (this.needsSubscription || this.subscriptionStatus)
      ? this.subscriptionPanel(space) : null;
    const live = space.state === "live" && this.joined && !this.removed && !this.over;

    const pinned = space.state === "live" && space.pinned ? this.pinnedPanel(space.pinned) : null;
    return [header, pinned, status, h("section", { "aria-label": "Actions", class: "row", id: "actions" }, this.actions()),
      live ? this.reactionsPanel() : null, live ? this.captionsPanel() : null, people, tickets, subscription];
  }

  reactionsPanel() {
    // A reaction from a listener listening incognito names nobody (docs/people.md).
    const who = (r, you, someone) => (r.user === undefined ? someone : r.user === this.me ? you : r.user);
    const name = (r) => `${who(r, "You", "Someone")} reacted ${REACTION_NAMES[r.emoji] || ""}`.trim();
    return h("section", { id: "reactions", "aria-labelledby": "reactions-title" },
      h("h2", { id: "reactions-title" }, "Reactions"),
      h("div", { class: "row", role: "group", "aria-label": "Send a reaction" },
        REACTIONS.map(([emoji, label]) => h("button", {
          type: "button", class: "reaction", dataset: { key: `react:${label}` }, disabled: this.busy.has("react"),
          "aria-label": `React with ${label}`, onclick: () => this.react(emoji),
        }, emoji))),
      this.reactions.length
        ? h("ul", { class: "plain", id: "reaction-feed", "aria-live": "polite" },
          this.reactions.map((r) => h("li", { "aria-label": name(r) }, `${r.emoji} ${who(r, "you", "someone")}`)))
        : h("p", { class: "muted", id: "reaction-feed" }, "No reactions yet."));
  }

  // Live captions (sent by the speakers' apps): the latest lines, read out politely.
  captionsPanel() {
    return h("section", { id: "captions", "aria-labelledby": "captions-title" },
      h("h2", { id: "captions-title" }, "Captions"),
      this.captions.length
        ? h("ol", { class: "plain", id: "caption-lines", "aria-live": "polite" },
          this.captions.map((c) => h("li", {}, h("strong", {}, `${c.user}: `), c.text)))
        : h("p", { class: "muted", id: "caption-lines" }, "No captions yet: speakers' apps send them when they caption."));
  }

  subscriptionPanel(space) {
    const parts = [h("h2", { id: "subscription-title" }, "Subscribers only"),
      h("p", {}, `Only subscribers of ${space.creator_id} can join this Space.`)];
    if (this.subscriptionStatus) parts.push(h("p", { id: "subscription-status" }, this.subscriptionStatus));
    if (this.needsSubscription && !this.joined) {
      parts.push(this.button("subscribe", `Subscribe to ${space.creator_id} (${SUBSCRIPTION_TIER.label})`,
        () => this.act("subscribe", () => this.subscribe()), { primary: true }));
    }
    return h("section", { id: "subscription", "aria-labelledby": "subscription-title" }, ...parts);
  }

  // --- tickets (docs/tickets.md) -------------------------------------------------------------

  async loadMyTicket() {
    try {
      const page = await this.api.myTickets();
      this.myTicket = page.tickets.find((t) => t.space_id === this.spaceId) || null;
    } catch (err) {
      this.myTicket = null;
    }
  }

  hasTicketOrNeedsNone() {
    const s = this.space;
    const onStageOrInvited = [s.creator_id, ...(s.host_ids || []), ...(s.speaker_ids || []), ...(s.invited_user_ids || [])];
    return (this.myTicket && this.myTicket.status === "paid") || onStageOrInvited.includes(this.me);
  }

  ticketsPanel(space) {
    const t = space.ticket || {};
    const price = `${(t.price_cents / 100).toFixed(2)} ${t.currency}`;
    const parts = [h("h2", {}, "Tickets"), h("p", { id: "ticket-offer" }, `${price} · ${t.remaining} of ${t.capacity} left`)];
    if (this.ticketStatus) parts.push(h("p", { id: "ticket-status" }, this.ticketStatus));
    const mine = this.myTicket && this.myTicket.status;
    const onSale = space.state === "scheduled" || space.state === "live";
    if (onSale && !this.hasTicketOrNeedsNone() && mine !== "held") {
      parts.push(this.button("buy", `Buy a ticket (${price})`, () => this.act("buy", () => this.buyTicket()), { primary: true }));
    }
    return h("section", { id: "tickets", "aria-labelledby": "tickets-title" }, ...parts);
  }

  // The provider confirms the payment asynchronously (its webhook): the page reads the ticket
  // until it is paid or failed. Stripe needs its own client SDK to confirm a card payment, which
  // this page does not have: it says so rather than pretend.
  async buyTicket() {
    const bought = await this.api.buyTicket(this.spaceId, crypto.randomUUID());
    this.myTicket = bought.ticket;
    if (bought.payment.provider === "stripe") {
      this.ticketStatus = "Card payments are not available in this web client yet: buy the ticket in the app.";
      announce(this.ticketStatus);
      return;
    }
    this.ticketStatus = "Payment pending…";
    this.render();
    for (let i = 0; i < 30 && this.myTicket.status === "held"; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await this.loadMyTicket();
      if (!this.myTicket) break;
    }
    const status = this.myTicket && this.myTicket.status;
    this.ticketStatus = status === "paid" ? "You have a ticket."
      : status === "failed" ? "The payment was declined; no money was taken."
        : "The payment is still pending.";
    announce(this.ticketStatus);
    if (status === "paid" && this.space.state === "live" && !this.joined) await this.join();
  }

  modButtons(id, { speaker = false, muted = false } = {}) {
    return [
      speaker && !muted ? this.button(`mute:${id}`, `Mute ${id}`, () => this.act(`mute:${id}`,
        () => this.api.mute(this.spaceId, id), { success: `${id} is muted.` })) : null,
      speaker ? this.button(`demote:${id}`, `Move ${id} to listeners`, () => this.act(`demote:${id}`,
        () => this.api.removeSpeaker(this.spaceId, id), { success: `${id} is a listener again.` })) : null,
      this.button(`remove:${id}`, `Remove ${id}`, () => this.act(`remove:${id}`,
        () => this.api.remove(this.spaceId, id), { success: `${id} was removed from the Space.` }), { danger: true }),
    ];
  }

  // --- people: names, avatars, the listener list (docs/people.md) -----------------------------

  rememberNames(participants) {
    const lists = [participants.hosts, participants.speakers, participants.invited,
      participants.speaker_requests && participants.speaker_requests.requests];
    for (const person of lists.flat().filter(Boolean)) this.names.set(person.user_id, person);
  }

  displayName(id) {
    const person = this.names.get(id);
    return person && person.name ? `${person.name} (${id})` : id;
  }

  avatar(id) {
    const person = this.names.get(id);
    // The API holds avatars to https URLs; the page shows nothing else.
    if (!person || !person.avatar_url || !isHttps(person.avatar_url)) return null;
    return h("img", { class: "avatar", src: person.avatar_url, alt: "", width: 24, height: 24, referrerpolicy: "no-referrer" });
  }

  // The first page again (after a change in who is there), or the next one (`more`).
  async loadListeners({ more = false } = {}) {
    try {
      const page = await this.api.listeners(this.spaceId, more ? this.listeners.next : undefined);
      for (const person of page.listeners) this.names.set(person.user_id, person);
      const ids = page.listeners.map((person) => person.user_id);
      const items = more ? [...this.listeners.items, ...ids.filter((id) => !this.listeners.items.includes(id))] : ids;
      this.listeners = { items, next: page.next_cursor, count: page.participant_count };
    } catch (err) {
      this.listeners = { items: this.listeners.items, next: this.listeners.next, count: null };
    }
    this.render();
  }

  listenersPanel(isModerator) {
    const { items, next } = this.listeners;
    return h("section", { id: "listeners-section", "aria-labelledby": "listeners-title" },
      h("h3", { id: "listeners-title" }, "Listening now"),
      items.length
        ? h("ul", { class: "plain", id: "listeners" }, items.map((id) => h("li", {}, this.avatar(id),
          h("span", { dataset: { user: id } }, this.displayName(id), id === this.me ? " (you)" : ""),
          isModerator && id !== this.me ? [
            this.button(`invite:${id}`, `Invite ${id} to speak`, () => this.act(`invite:${id}`,
              () => this.api.addSpeaker(this.spaceId, id), { success: `${id} is invited to speak.` }), { primary: true }),
            this.button(`remove:${id}`, `Remove ${id}`, () => this.act(`remove:${id}`,
              () => this.api.remove(this.spaceId, id), { success: `${id} was removed from the Space.` }), { danger: true }),
          ] : null)))
        : h("p", { class: "muted", id: "listeners" }, "Nobody else is listening (incognito listeners are not shown)."),
      next ? this.button("more-listeners", "More listeners", () => this.loadListeners({ more: true })) : null);
  }

  statusText() {
    if (this.removed) return `You were removed from this Space and cannot rejoin it.${this.over ? " The Space has ended." : ""}`;
    if (this.over) return this.space.state === "ended" ? "The Space has ended." : "The Space was canceled.";
    if (this.space.state === "scheduled") {
      return `This Space has not started yet.${this.reminderSet ? " You will be reminded when it starts." : ""}`;
    }
    if (!this.joined) return "You are not in this Space.";
    const parts = [`You are ${ROLE_NAMES[this.role] || this.role}.`];
    if (this.incognito) parts.push("You listen incognito: counted, not shown.");
    if (this.handRaised) parts.push("Your hand is raised.");
    if (this.invited) parts.push("You are invited to speak.");
    if (this.muted) parts.push("A host muted you.");
    return parts.join(" ");
  }

  actions() {
    const space = this.space;
    const isCreator = space.creator_id === this.me;
    const out = [];
    if (this.removed || this.over) {
      out.push(h("a", { href: "#/" }, "Back to Spaces"));
      return out;
    }
    if (space.state === "scheduled") {
      if (isCreator) {
        out.push(this.button("start", "Start now", () => this.act("start", async () => {
          this.space = await this.api.start(this.spaceId);
          await this.join();
        }, { success: "Your Space is live." }), { primary: true }));
        out.push(this.button("cancel", "Cancel Space", () => this.act("cancel", () => this.api.cancel(this.spaceId)), { danger: true }));
      }
      out.push(this.reminderSet
        ? this.button("reminder", "Clear reminder", () => this.act("reminder", async () => {
          await this.api.clearReminder(this.spaceId); this.reminderSet = false;
        }, { success: "Reminder cleared." }))
        : this.button("reminder", "Set reminder", () => this.act("reminder", async () => {
          await this.api.setReminder(this.spaceId); this.reminderSet = true;
        }, { success: "Reminder set: you will be notified when it starts." })));
      return out;
    }
    if (!this.joined) {
      if (this.needsSubscription) return out; // the subscription panel offers the way in
      out.push(this.button("join", "Join", () => this.act("join", () => this.join()), { primary: true }));
      return out;
    }
    if (this.role === "listener") {
      if (this.invited) {
        const label = space.recording ? "Accept invitation and agree to be recorded" : "Accept invitation and speak";
        out.push(this.button("accept", label, () => this.acceptInvitation(), { primary: true }));
      } else if (this.handRaised) {
        out.push(this.button("hand", "Lower hand", () => this.lowerHand()));
      } else {
        out.push(this.button("hand", "Raise hand", () => this.raiseHand(), { primary: true }));
      }
    } else if (this.needsConsent) {
      out.push(this.button("consent", "Agree to be recorded and speak", () => this.act("consent", async () => {
        const joined = await this.join({ recording_consent: true });
        if (joined) await this.media.promote(joined.media).catch(() => {});
      }, { success: "You agreed to be recorded: your microphone can publish." }), { primary: true }));
    } else {
      if (this.media.carriesAudio) {
        out.push(this.button("mic", this.myMicMuted || this.muted ? "Turn microphone on" : "Turn microphone off", () => this.toggleMic()));
      }
      if (this.role === "speaker") {
        out.push(this.button("step-down", "Leave the stage", () => this.act("step-down",
          () => this.api.removeSpeaker(this.spaceId, this.me))));
      }
    }
    if (isCreator) {
      out.push(this.button("end", "End Space", () => this.act("end", async () => {
        this.space = await this.api.end(this.spaceId);
        this.becomeOver("ended");
      }), { danger: true }));
    } else {
      out.push(this.button("leave", "Leave", () => this.leave()));
    }
    return out;
  }
}
