// What the page hears, measured on the audio it actually plays: one WebAudio AnalyserNode per
// remote track (or per HLS player). Drives the speaking indicator and the page's test probe
// (`window.spacesAudioProbe`, media.js).

// 4096 bins at 48 kHz: 11.7 Hz apart, fine enough to tell 440 Hz from 660 Hz.
const FFT_SIZE = 4096;
// Below this the strongest bin is noise (or the silence a muted microphone sends), not a tone.
const TONE_FLOOR_DB = -65;
// RMS of the samples above which a track counts as someone speaking.
const SPEAKING_RMS = 0.01;

let context = null;

// One AudioContext for the page. Browsers start it suspended without a user gesture: resume it
// on the first click or key press.
export function audioContext() {
  if (!context) {
    context = new AudioContext();
    const resume = () => { if (context.state === "suspended") context.resume().catch(() => {}); };
    for (const name of ["click", "keydown"]) document.addEventListener(name, resume, { capture: true });
  }
  if (context.state === "suspended") context.resume().catch(() => {});
  return context;
}

export class Meter {
  // `source`: an AudioNode (a MediaStream source or a media element source).
  constructor(source) {
    const ctx = source.context;
    this.analyser = ctx.createAnalyser();
    this.analyser.fftSize = FFT_SIZE;
    this.analyser.smoothingTimeConstant = 0.2;
    this.source = source;
    source.connect(this.analyser);
    this.spectrum = new Float32Array(this.analyser.frequencyBinCount);
    this.samples = new Float32Array(this.analyser.fftSize);
  }

  // {frequency: the dominant frequency in Hz, or null when nothing stands out; level: RMS}.
  reading() {
    this.analyser.getFloatFrequencyData(this.spectrum);
    let best = -1;
    for (let i = 1; i < this.spectrum.length; i += 1) {
      if (best < 0 || this.spectrum[i] > this.spectrum[best]) best = i;
    }
    this.analyser.getFloatTimeDomainData(this.samples);
    let sum = 0;
    for (const s of this.samples) sum += s * s;
    const level = Math.sqrt(sum / this.samples.length);
    const peak = best > 0 ? this.spectrum[best] : -Infinity;
    const hz = this.source.context.sampleRate / this.analyser.fftSize;
    return { frequency: peak > TONE_FLOOR_DB ? Math.round(best * hz) : null, level };
  }

  speaking() {
    return this.reading().level > SPEAKING_RMS;
  }

  close() {
    try { this.source.disconnect(this.analyser); } catch { /* already disconnected */ }
  }
}

// Play an element, saying so when the browser's autoplay policy blocks it until a gesture.
export function play(element, onStatus) {
  const started = element.play();
  if (started && started.catch) {
    started.catch((err) => {
      if (err.name !== "NotAllowedError") return;
      onStatus("Audio: the browser blocks playback until you click on the page.");
      const retry = () => { element.play().then(() => onStatus("Audio: playing.")).catch(() => {}); };
      document.addEventListener("click", retry, { once: true, capture: true });
    });
  }
}
