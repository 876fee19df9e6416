// Audio with the local media server (`python -m mediaserver`, docs/media.md), chosen when the
// join's media carries a `whep` URL. Plain browser WebRTC, no SDK:
// - everyone subscribes by WHEP: one offer of 12 recvonly audio transceivers (the "slots", one per
//   possible publisher), non-trickle; the server fills a slot when a publisher arrives and empties
//   it when they leave, so a later speaker is heard without renegotiating;
// - people on stage (a token with PUBLISH) also publish their microphone by WHIP (RFC 9725); a
//   listener who comes on stage keeps its WHEP session and adds the WHIP publish (`promote`);
// - `GET {session}` says who is in which slot: read after connecting and every 1.5 s, to label
//   the slots and drive the speaking indicator;
// - leaving DELETEs both sessions; a connection the server closes (removed, the Space ended) is
//   shown, not retried.
import { Meter, audioContext, play } from "./levels.js";

const SLOTS = 12;
const SLOT_POLL_MS = 1500;
const LEVEL_POLL_MS = 250;
// Non-trickle: the offer is sent once ICE gathering is complete (loopback: milliseconds). Past
// this, send what was gathered.
const GATHER_MS = 5000;

export class MediaRefused extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { if (pc.iceGatheringState === "complete") { clearTimeout(timer); resolve(); } };
    const timer = setTimeout(resolve, GATHER_MS);
    pc.addEventListener("icegatheringstatechange", done);
  });
}

// POST the offer (WHIP or WHEP: the same exchange), apply the answer; returns the session URL.
async function negotiate(pc, url, token) {
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/sdp", Authorization: `Bearer ${token}` },
      body: pc.localDescription.sdp,
    });
  } catch (err) {
    throw new MediaRefused(0, "network_error", "the media server did not answer");
  }
  if (response.status !== 201) {
    let body = null;
    try { body = await response.json(); } catch { body = null; }
    throw new MediaRefused(response.status, body && body.code, body && body.message);
  }
  const location = response.headers.get("Location");
  if (!location) throw new MediaRefused(response.status, "no_location", "the media server gave no session URL");
  await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
  return new URL(location, url).href;
}

export class LocalAudio {
  constructor(onStatus, onSpeaking) {
    this.onStatus = onStatus;
    this.onSpeaking = onSpeaking;
    this.carriesAudio = true;
    this.past = []; // connections of earlier connects, for the probe
    this.reset();
  }

  reset() {
    this.token = null;
    this.participantId = null;
    this.connections = []; // {kind: "whep" | "whip", pc, location, state, closedBy}
    this.slots = new Map(); // mid -> {mid, transceiver, audio, meter, participantId, userId}
    this.mic = null;
    this.micMuted = false;
    this.timers = [];
    this.leaving = false;
    this.closedShown = false;
    this.speaking = "";
  }

  async connect(media) {
    this.token = media.token;
    this.participantId = media.participant_id || null;
    const publish = (media.capabilities || []).includes("PUBLISH");
    await this.subscribe(media.whep);
    this.timers.push(setInterval(() => this.readSlots(), SLOT_POLL_MS));
    this.timers.push(setInterval(() => this.checkSpeaking(), LEVEL_POLL_MS));
    if (publish) {
      try {
        await this.publish(media.whip);
      } catch (err) {
        this.onStatus(`Audio: listening; your microphone could not be published (${err.message}).`);
        return;
      }
    }
    this.onStatus(publish ? "Audio: connected; your microphone is live." : "Audio: connected (listening).");
  }

  // Coming on stage as the same participant: the WHEP subscription stays as it is (nothing heard
  // is interrupted, and the server never plays a participant its own audio, so the new publish is
  // not heard back) and the microphone is published by WHIP with the new token.
  canPromote(media) {
    const whep = this.connections.find((c) => c.kind === "whep");
    return Boolean(media.whep && media.whip && (media.capabilities || []).includes("PUBLISH")
      && media.participant_id && media.participant_id === this.participantId
      && whep && whep.location && !whep.closedBy && !this.connections.some((c) => c.kind === "whip"));
  }

  async promote(media) {
    this.token = media.token;
    await this.publish(media.whip);
    this.onStatus("Audio: connected; your microphone is live.");
  }

  watch(connection) {
    const { pc } = connection;
    const check = () => {
      const dtls = this.dtlsState(pc);
      connection.state = pc.connectionState;
      if (this.leaving || connection.closedBy) return;
      if (["failed", "closed"].includes(pc.connectionState) || ["failed", "closed"].includes(dtls)) {
        connection.closedBy = "server";
        this.serverClosed();
      }
    };
    pc.addEventListener("connectionstatechange", check);
    pc.addEventListener("iceconnectionstatechange", check);
    for (const transceiver of pc.getTransceivers()) {
      const transport = transceiver.receiver.transport;
      if (transport) transport.addEventListener("statechange", check);
    }
  }

  dtlsState(pc) {
    const transceiver = pc.getTransceivers()[0];
    return transceiver && transceiver.receiver.transport ? transceiver.receiver.transport.state : "none";
  }

  // The server ended a connection (a removal, a disconnect, the end of the Space): stop playing
  // and say so; nothing reconnects on its own.
  serverClosed() {
    if (this.closedShown) return;
    this.closedShown = true;
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    for (const slot of this.slots.values()) this.stopSlot(slot);
    this.onSpeakingChanged([]);
    this.onStatus("Audio: the media server closed the connection; nothing is heard any more.");
  }

  async subscribe(whep) {
    const pc = new RTCPeerConnection();
    for (let i = 0; i < SLOTS; i += 1) pc.addTransceiver("audio", { direction: "recvonly" });
    const connection = { kind: "whep", pc, location: null, state: "new", closedBy: null };
    this.connections.push(connection);
    connection.location = await negotiate(pc, whep, this.token);
    this.watch(connection);
    const ctx = audioContext();
    for (const transceiver of pc.getTransceivers()) {
      const stream = new MediaStream([transceiver.receiver.track]);
      // The element plays it (Chromium also feeds a remote track to WebAudio only while an
      // element plays it); the meter listens to the same track.
      const audio = new Audio();
      audio.autoplay = true;
      audio.srcObject = stream;
      play(audio, this.onStatus);
      const meter = new Meter(ctx.createMediaStreamSource(stream));
      this.slots.set(transceiver.mid, { mid: transceiver.mid, transceiver, audio, meter, participantId: null, userId: null });
    }
    await this.readSlots();
  }

  async publish(whip) {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
    this.mic = stream.getAudioTracks()[0];
    this.mic.enabled = !this.micMuted;
    const pc = new RTCPeerConnection();
    pc.addTransceiver(this.mic, { direction: "sendonly", streams: [stream] });
    const connection = { kind: "whip", pc, location: null, state: "new", closedBy: null };
    this.connections.push(connection);
    connection.location = await negotiate(pc, whip, this.token);
    this.watch(connection);
  }

  // Who is in which slot (GET on the WHEP session).
  async readSlots() {
    const whep = this.connections.find((c) => c.kind === "whep");
    if (!whep || !whep.location || whep.closedBy) return;
    let body;
    try {
      const response = await fetch(whep.location, { headers: { Authorization: `Bearer ${this.token}`, Accept: "application/json" } });
      if (!response.ok) return;
      body = await response.json();
    } catch {
      return;
    }
    const taken = new Map((body.slots || []).filter(Boolean).map((s) => [String(s.mid), s]));
    for (const slot of this.slots.values()) {
      const who = taken.get(slot.mid);
      slot.participantId = who ? who.participant_id : null;
      slot.userId = who ? who.user_id : null;
    }
  }

  checkSpeaking() {
    const ids = [...this.slots.values()].filter((s) => s.userId && s.meter && s.meter.speaking()).map((s) => s.userId).sort();
    this.onSpeakingChanged(ids);
  }

  onSpeakingChanged(ids) {
    const key = ids.join(",");
    if (key === this.speaking) return;
    this.speaking = key;
    this.onSpeaking(ids);
  }

  stopSlot(slot) {
    if (slot.meter) { slot.meter.close(); slot.meter = null; }
    if (slot.audio) { slot.audio.pause(); slot.audio.srcObject = null; slot.audio = null; }
  }

  setMicMuted(muted) {
    this.micMuted = muted;
    // A disabled track sends silence: the listeners stop hearing it at once.
    if (this.mic) this.mic.enabled = !muted;
  }

  // What the page receives, per slot and per connection (the browser tests read it).
  async probe() {
    const slots = [];
    for (const slot of this.slots.values()) {
      let bytes = 0;
      if (slot.transceiver.receiver) {
        const stats = await slot.transceiver.receiver.getStats();
        stats.forEach((s) => { if (s.type === "inbound-rtp") bytes += s.bytesReceived || 0; });
      }
      const reading = slot.meter ? slot.meter.reading() : { frequency: null, level: 0 };
      slots.push({ mid: slot.mid, user_id: slot.userId, participant_id: slot.participantId, bytes, ...reading });
    }
    const connections = [...this.past, ...this.connections].map((c) => ({
      kind: c.kind, state: c.pc.connectionState, dtls: this.dtlsState(c.pc), closed_by: c.closedBy, location: c.location,
    }));
    return { transport: "whep", slots, connections, mic_enabled: this.mic ? this.mic.enabled : null };
  }

  async disconnect() {
    this.leaving = true;
    for (const timer of this.timers) clearInterval(timer);
    for (const slot of this.slots.values()) this.stopSlot(slot);
    const token = this.token;
    const leaving = this.connections.map(async (connection) => {
      if (!connection.closedBy) connection.closedBy = "page";
      if (connection.location) {
        // keepalive: the DELETE still goes out when the page is being closed.
        await fetch(connection.location, { method: "DELETE", headers: { Authorization: `Bearer ${token}` }, keepalive: true })
          .catch(() => {});
      }
      connection.pc.close();
    });
    if (this.mic) this.mic.stop();
    this.past.push(...this.connections);
    this.reset();
    await Promise.all(leaving);
  }
}
