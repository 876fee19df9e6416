// Audio. The join (or accept) response's `media` says which transport carries it, and the page
// picks from that alone, never from the stage's name:
// - `kind: "playback"` (an overflow listener): the HLS player (playback.js);
// - a `whep` URL (the local media server, `make run`): WHIP/WHEP over plain WebRTC (webrtc.js);
// - otherwise, where config.json says the stage carries audio (an IVS stage): the IVS real-time
//   Web Broadcast SDK (from npm, copied next to this file by `make web`), subscribe-only for
//   listeners, the microphone published for people on stage;
// - otherwise nothing is heard, and the page says the join gave it no way to hear.
// `window.spacesAudioProbe()` reports what the page receives (the browser tests read it).
import { LocalAudio } from "./webrtc.js";
import { Playback } from "./playback.js";

export function createMedia(config, onStatus, onSpeaking = () => {}) {
  return new Media(config, onStatus, onSpeaking);
}

class Media {
  constructor(config, onStatus, onSpeaking) {
    this.ivsStage = Boolean(config.media && config.media.carries_audio);
    this.onStatus = onStatus;
    this.onSpeaking = onSpeaking;
    this.transport = null;
    this.micMuted = false;
    window.spacesAudioProbe = () => (this.transport && this.transport.probe ? this.transport.probe() : Promise.resolve({ transport: "none", slots: [], connections: [] }));
  }

  get carriesAudio() { return Boolean(this.transport && this.transport.carriesAudio); }

  // A new connection: the old one is left first.
  async connect(media) {
    await this.disconnect();
    if (!media) return;
    let transport;
    if (media.kind === "playback") transport = new Playback(this.onStatus);
    else if (media.whep) transport = new LocalAudio(this.onStatus, this.onSpeaking);
    else if (this.ivsStage) transport = new IvsAudio(this.onStatus);
    else transport = new NoAudio(this.onStatus);
    this.transport = transport;
    transport.setMicMuted(this.micMuted);
    await transport.connect(media);
    if (this.micMuted) transport.setMicMuted(true);
  }

  // Coming on stage (an accepted invitation): the same participant, now with a token that may
  // publish. Where the transport can take that token on its live connection, what the page hears
  // never stops: locally the WHEP subscription stays and a WHIP publish is added; on IVS the SDK
  // exchanges the token in place (self-signed tokens, SDK 1.33 and later). Otherwise (overflow
  // playback, another participant id, an SDK without the exchange) a new connection.
  async promote(media) {
    const transport = this.transport;
    if (media && transport && transport.canPromote && transport.canPromote(media)) {
      try {
        await transport.promote(media);
        if (this.micMuted) transport.setMicMuted(true);
        return;
      } catch (err) {
        this.onStatus(`Audio: reconnecting to go on stage (${err.message}).`);
      }
    }
    await this.connect(media);
  }

  setMicMuted(muted) {
    this.micMuted = muted;
    if (this.transport) this.transport.setMicMuted(muted);
  }

  async disconnect() {
    const transport = this.transport;
    if (!transport) return;
    this.onSpeaking([]);
    await transport.disconnect();
  }
}

class NoAudio {
  constructor(onStatus) { this.onStatus = onStatus; this.carriesAudio = false; }
  async connect() {
    this.onStatus("Audio: the join gave no media endpoint to connect to, so nothing is heard here.");
  }
  setMicMuted() {}
  async disconnect() {}
}

let sdkPromise = null;
function loadSdk() {
  if (window.IVSBroadcastClient) return Promise.resolve(window.IVSBroadcastClient);
  if (!sdkPromise) {
    sdkPromise = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = new URL("./amazon-ivs-web-broadcast.js", import.meta.url).href;
      script.onload = () => resolve(window.IVSBroadcastClient);
      script.onerror = () => reject(new Error("the IVS SDK could not be loaded (was `make web` run?)"));
      document.head.append(script);
    });
  }
  return sdkPromise;
}

function publishes(media) { return (media.capabilities || []).includes("PUBLISH"); }

class IvsAudio {
  constructor(onStatus) {
    this.onStatus = onStatus;
    this.carriesAudio = true;
    this.stage = null;
    this.participantId = null;
    this.publishing = false;
    this.localStreams = [];
    this.players = new Map();
  }

  async microphone() {
    const { LocalStageStream } = await loadSdk();
    const mic = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
    return mic.getAudioTracks().map((track) => new LocalStageStream(track));
  }

  async connect(media) {
    const sdk = await loadSdk();
    const { Stage, StageEvents, SubscribeType, StreamType } = sdk;
    const publish = publishes(media);
    this.participantId = media.participant_id || null;
    this.publishing = publish;
    this.localStreams = publish ? await this.microphone() : [];
    // The strategy reads the transport's state, not this call's: a token exchange changes it
    // and the SDK asks the strategy again.
    const strategy = {
      stageStreamsToPublish: () => this.localStreams,
      shouldPublishParticipant: () => this.publishing,
      shouldSubscribeToParticipant: () => SubscribeType.AUDIO_ONLY,
    };
    const stage = new Stage(media.token, strategy);
    stage.on(StageEvents.STAGE_CONNECTION_STATE_CHANGED, (state) => this.onStatus(`Audio: ${state}`));
    stage.on(StageEvents.STAGE_PARTICIPANT_STREAMS_ADDED, (participant, streams) => {
      if (participant.isLocal) return;
      for (const stream of streams) {
        if (stream.streamType !== StreamType.AUDIO) continue;
        const audio = new Audio();
        audio.autoplay = true;
        audio.srcObject = new MediaStream([stream.mediaStreamTrack]);
        this.players.set(participant.id, audio);
      }
    });
    stage.on(StageEvents.STAGE_PARTICIPANT_STREAMS_REMOVED, (participant) => this.stopPlayer(participant.id));
    stage.on(StageEvents.STAGE_PARTICIPANT_LEFT, (participant) => this.stopPlayer(participant.id));
    this.stage = stage;
    await stage.join();
    this.onStatus(publish ? "Audio: connected; your microphone is live." : "Audio: connected (listening).");
  }

  // Token exchange (Stage.exchangeToken, Web Broadcast SDK 1.33+): IVS accepts it only for
  // self-signed tokens whose jti (participant id), topic, resource, whip_url and events_url are
  // those of the token joined with, which is why the API keeps the participant id on accept.
  canPromote(media) {
    return Boolean(this.stage && typeof this.stage.exchangeToken === "function" && !media.whep
      && media.kind !== "playback" && media.participant_id && media.participant_id === this.participantId);
  }

  async promote(media) {
    const streams = publishes(media) ? await this.microphone() : [];
    this.localStreams = streams;
    this.publishing = streams.length > 0;
    try {
      await this.stage.exchangeToken(media.token);
    } catch (err) {
      for (const stream of streams) stream.mediaStreamTrack.stop();
      this.localStreams = [];
      this.publishing = false;
      throw err;
    }
    this.onStatus(this.publishing ? "Audio: connected; your microphone is live." : "Audio: connected (listening).");
  }

  stopPlayer(id) {
    const audio = this.players.get(id);
    if (audio) { audio.srcObject = null; this.players.delete(id); }
  }

  setMicMuted(muted) {
    for (const stream of this.localStreams) stream.setMuted(muted);
  }

  async disconnect() {
    if (this.stage) { this.stage.leave(); this.stage = null; }
    for (const id of [...this.players.keys()]) this.stopPlayer(id);
    for (const stream of this.localStreams) stream.mediaStreamTrack.stop();
    this.localStreams = [];
  }
}
