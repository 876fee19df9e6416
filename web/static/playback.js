// Overflow listening: a listener of a Space past its stage's capacity gets `media.kind:
// "playback"` and an HLS URL of the stage's mixed audio (an IVS channel in AWS, the local media
// server's HLS output locally; docs/overflow.md). hls.js (npm, copied next to this file by
// `make web`) plays it through Media Source Extensions; a browser with native HLS (Safari) plays
// the URL itself.
import { Meter, audioContext, play } from "./levels.js";

let hlsPromise = null;
function loadHls() {
  if (window.Hls) return Promise.resolve(window.Hls);
  if (!hlsPromise) {
    hlsPromise = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = new URL("./hls.min.js", import.meta.url).href;
      script.onload = () => resolve(window.Hls);
      script.onerror = () => { hlsPromise = null; reject(new Error("the HLS player could not be loaded (was `make web` run?)")); };
      document.head.append(script);
    });
  }
  return hlsPromise;
}

export class Playback {
  constructor(onStatus) {
    this.onStatus = onStatus;
    this.carriesAudio = true;
    this.hls = null;
    this.audio = null;
    this.meter = null;
    this.bytes = 0; // media bytes of the fragments loaded
    this.state = "new";
  }

  async connect(media) {
    const url = media.playback_url;
    const audio = new Audio();
    this.audio = audio;
    // The element's output goes through WebAudio (the meter, then the speakers).
    const ctx = audioContext();
    const source = ctx.createMediaElementSource(audio);
    source.connect(ctx.destination);
    this.meter = new Meter(source);
    const native = audio.canPlayType("application/vnd.apple.mpegurl");
    const Hls = await loadHls().catch((err) => { if (!native) throw err; return null; });
    if (Hls && Hls.isSupported()) {
      const hls = new Hls({ lowLatencyMode: true });
      this.hls = hls;
      hls.on(Hls.Events.FRAG_LOADED, (event, data) => {
        this.bytes += (data.frag && data.frag.stats && data.frag.stats.loaded) || 0;
        if (this.state !== "playing") { this.state = "playing"; this.onStatus("Audio: listening to the overflow stream."); }
      });
      hls.on(Hls.Events.ERROR, (event, data) => {
        if (!data.fatal) return;
        this.state = "failed";
        this.onStatus(`Audio: the overflow stream stopped (${data.details}).`);
      });
      hls.loadSource(url);
      hls.attachMedia(audio);
    } else if (native) {
      audio.src = url;
    } else {
      throw new Error("this browser cannot play the overflow stream (HLS)");
    }
    this.state = "loading";
    this.onStatus("Audio: this Space is full on stage, so you listen to its overflow stream (a few seconds behind).");
    play(audio, this.onStatus);
  }

  setMicMuted() {}

  async probe() {
    const reading = this.meter ? this.meter.reading() : { frequency: null, level: 0 };
    return {
      transport: "playback",
      slots: [{ mid: "playback", user_id: null, participant_id: null, bytes: this.bytes, ...reading }],
      connections: [{ kind: "hls", state: this.state, closed_by: null }],
    };
  }

  async disconnect() {
    if (this.hls) { this.hls.destroy(); this.hls = null; }
    if (this.meter) { this.meter.close(); this.meter = null; }
    if (this.audio) { this.audio.pause(); this.audio.removeAttribute("src"); this.audio = null; }
    this.state = "closed";
  }
}
