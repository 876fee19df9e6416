// Audio. Only a real IVS stage carries it (config.media.carries_audio): then the IVS real-time
// Web Broadcast SDK (from npm, copied next to this file by `make web`) is loaded and used,
// subscribe-only for listeners, with the microphone published for people on stage. In the local
// stage the media stage is a stand-in with no server behind it: the page says so and never
// pretends to play.
export function createMedia(config, onStatus) {
  return config.media && config.media.carries_audio ? new IvsAudio(onStatus) : new NoAudio(onStatus);
}

class NoAudio {
  constructor(onStatus) { this.onStatus = onStatus; this.carriesAudio = false; }
  async connect() {
    this.onStatus("Audio is not carried in the local stage: there is no media server here, so nobody is heard. Everything else works.");
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

class IvsAudio {
  constructor(onStatus) {
    this.onStatus = onStatus;
    this.carriesAudio = true;
    this.stage = null;
    this.localStreams = [];
    this.players = new Map();
  }

  // `media` is the join (or accept) response's media: a new token means a new connection (IVS
  // cannot change a live participant's capabilities).
  async connect(media) {
    await this.disconnect();
    if (media.kind === "playback") {
      // The Space is past its stage's capacity: this listener got the overflow channel (HLS),
      // which needs a player this page does not ship yet. Say so rather than pretend.
      this.onStatus("This Space is full on stage: overflow listening (HLS) is not available in the web client yet; listen in the app.");
      return;
    }
    const sdk = await loadSdk();
    const { Stage, StageEvents, SubscribeType, LocalStageStream, StreamType } = sdk;
    const publish = (media.capabilities || []).includes("PUBLISH");
    this.localStreams = [];
    if (publish) {
      const mic = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
      this.localStreams = mic.getAudioTracks().map((track) => new LocalStageStream(track));
    }
    const strategy = {
      stageStreamsToPublish: () => this.localStreams,
      shouldPublishParticipant: () => publish,
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
