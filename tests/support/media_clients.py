"""aiortc clients of the local media server, for its tests and benchmarks: a WHIP publisher of a
generated tone and a WHEP subscriber that decodes what it receives and says which frequency
dominates it (numpy FFT)."""
from __future__ import annotations

import asyncio
import fractions
import time
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from aiohttp import ClientSession
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame

RATE = 48000
FRAME_SAMPLES = 960  # 20 ms
SLOTS = 12


class ToneTrack(MediaStreamTrack):
    """A sine at `frequency` Hz, paced in real time; `on` gates it (silence when False), and
    `onsets` records the monotonic time of each frame that starts the tone after silence."""

    kind = "audio"

    def __init__(self, frequency: float, amplitude: float = 0.4, on: bool = True):
        super().__init__()
        self.frequency = frequency
        self.amplitude = amplitude
        self.on = on
        self.onsets: list[float] = []
        self._was_on = False
        self._sample = 0
        self._start: Optional[float] = None

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self._sample / RATE
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        t = (np.arange(FRAME_SAMPLES) + self._sample) / RATE
        if self.on:
            wave = self.amplitude * np.sin(2 * np.pi * self.frequency * t)
            if not self._was_on:
                self.onsets.append(time.monotonic())
        else:
            wave = np.zeros(FRAME_SAMPLES)
        self._was_on = self.on
        samples = (wave * 32767).astype(np.int16).reshape(1, -1)
        frame = AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self._sample
        frame.time_base = fractions.Fraction(1, RATE)
        self._sample += FRAME_SAMPLES
        return frame


def dominant_frequency(samples: np.ndarray, rate: int = RATE) -> Optional[float]:
    """The strongest frequency of `samples` (mono floats), or None for silence."""
    if len(samples) < rate // 10 or float(np.max(np.abs(samples))) < 1e-3:
        return None
    windowed = samples * np.hanning(len(samples))
    spectrum = np.abs(np.fft.rfft(windowed))
    spectrum[0] = 0.0
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


async def _post_offer(url: str, token: str, pc: RTCPeerConnection) -> tuple[int, str, Optional[str]]:
    await pc.setLocalDescription(await pc.createOffer())  # aiortc gathers every candidate here
    async with ClientSession() as http:
        async with http.post(
            url,
            data=pc.localDescription.sdp,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/sdp"},
        ) as response:
            return response.status, await response.text(), response.headers.get("Location")


class Refused(Exception):
    def __init__(self, status: int, body: str):
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


@dataclass
class Publisher:
    pc: RTCPeerConnection
    track: ToneTrack
    location: str


async def publish(base_url: str, stage_id: str, token: str, track: ToneTrack) -> Publisher:
    pc = RTCPeerConnection()
    pc.addTransceiver(track, direction="sendonly")
    status, body, location = await _post_offer(f"{base_url}/stages/{stage_id}/whip", token, pc)
    if status != 201:
        await pc.close()
        raise Refused(status, body)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=body, type="answer"))
    return Publisher(pc=pc, track=track, location=base_url + location)


@dataclass
class Listener:
    """A WHEP subscriber keeping the last `keep_seconds` of decoded audio per slot."""

    pc: RTCPeerConnection
    location: str
    keep_seconds: float = 2.0
    audio: dict[int, list[np.ndarray]] = field(default_factory=dict)
    frames: dict[int, int] = field(default_factory=dict)
    # Per slot: the last frame's timestamp (samples, from the RTP timestamps as aiortc unwraps
    # them) and the largest step between two frames, backwards steps included (aiortc reads an RTP
    # timestamp that goes back as a wrap: a step of about 2**32).
    last_pts: dict[int, int] = field(default_factory=dict)
    largest_pts_step: dict[int, int] = field(default_factory=dict)
    tasks: list[asyncio.Task] = field(default_factory=list)
    # (monotonic time, slot, dominant frequency of the last 40 ms): filled when `watch` is set.
    watch: Optional[float] = None
    detections: list[tuple[float, int]] = field(default_factory=list)

    def samples(self, slot: Optional[int] = None, seconds: float = 1.0) -> np.ndarray:
        """The last `seconds` of one slot, or of every slot mixed."""
        slots = [slot] if slot is not None else list(self.audio)
        held = [sum(len(c) for c in self.audio.get(s, [])) for s in slots]
        n = min(int(seconds * RATE), max(held, default=0))
        mixed = np.zeros(n)
        for s in slots:
            chunks = self.audio.get(s, [])
            if chunks and n:
                data = np.concatenate(chunks)[-n:]
                mixed[n - len(data):] += data
        return mixed

    def hears(self, seconds: float = 1.0) -> Optional[float]:
        return dominant_frequency(self.samples(seconds=seconds))

    def total_frames(self) -> int:
        return sum(self.frames.values())

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await self.pc.close()


async def subscribe(base_url: str, stage_id: str, token: str, keep_seconds: float = 2.0) -> Listener:
    pc = RTCPeerConnection()
    for _ in range(SLOTS):
        pc.addTransceiver("audio", direction="recvonly")
    listener = Listener(pc=pc, location="", keep_seconds=keep_seconds)

    @pc.on("track")
    def on_track(track) -> None:
        slot = next(i for i, t in enumerate(pc.getTransceivers()) if t.receiver.track is track)
        listener.tasks.append(asyncio.ensure_future(_consume(listener, slot, track)))

    status, body, location = await _post_offer(f"{base_url}/stages/{stage_id}/whep", token, pc)
    if status != 201:
        await pc.close()
        raise Refused(status, body)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=body, type="answer"))
    listener.location = base_url + location
    return listener


async def _consume(listener: Listener, slot: int, track) -> None:
    keep = int(listener.keep_seconds * RATE / FRAME_SAMPLES) + 1
    try:
        while True:
            frame = await track.recv()
            data = frame.to_ndarray().astype(np.float64) / 32768.0
            channels = len(frame.layout.channels)
            mono = data.reshape(-1, channels).mean(axis=1) if channels > 1 else data.reshape(-1)
            chunks = listener.audio.setdefault(slot, [])
            chunks.append(mono)
            del chunks[:-keep]
            listener.frames[slot] = listener.frames.get(slot, 0) + 1
            if frame.pts is not None:
                if slot in listener.last_pts:
                    step = abs(frame.pts - listener.last_pts[slot])
                    listener.largest_pts_step[slot] = max(step, listener.largest_pts_step.get(slot, 0))
                listener.last_pts[slot] = frame.pts
            if listener.watch is not None and float(np.sqrt(np.mean(mono ** 2))) > listener.watch:
                listener.detections.append((time.monotonic(), slot))
    except MediaStreamError:
        pass


async def wait_until(predicate, timeout: float = 10.0, step: float = 0.1) -> bool:
    """Poll `predicate` (sync) until true or `timeout` seconds pass; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(step)
