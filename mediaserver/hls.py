"""Overflow HLS: a stage's publishers mixed into one AAC stream, cut into short MPEG-TS segments
with a rolling playlist (FFmpeg's HLS muxer, through PyAV), served by the media server. The local
stand-in for IVS's server-side composition into a low-latency channel (docs/overflow.md).

One `Mixer` per stage in overflow. Each publisher reaches it through a relay proxy (buffered, so
no frame is skipped); a clock ticks every 20 ms and sums 20 ms of each publisher's audio (silence
where one has none yet), so the output runs at wall-clock pace whoever speaks.
"""
from __future__ import annotations

import asyncio
import logging
import shutil
import time
from pathlib import Path
from typing import Optional

import av
import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from mediaserver.auth import Refused, Viewer
from mediaserver.rooms import Rooms

log = logging.getLogger("mediaserver")

RATE = 48000
TICK = 960  # samples: 20 ms
PREBUFFER = 3 * TICK  # an input joins the mix once it holds 60 ms (absorbs network jitter)
MAX_BUFFER = RATE  # at most 1 s per input: a stalled mix never grows without bound
SEGMENT_SECONDS = 1
PLAYLIST_SEGMENTS = 6
PLAYLIST = "index.m3u8"
PLAYING_IDLE_SECONDS = 30.0  # a player silent that long has stopped: its expired token is done


class _Input:
    def __init__(self) -> None:
        self.samples = np.zeros(0, dtype=np.int16)
        self.primed = False

    def push(self, mono: np.ndarray) -> None:
        self.samples = np.concatenate([self.samples, mono])[-MAX_BUFFER:]
        if len(self.samples) >= PREBUFFER:
            self.primed = True

    def take(self) -> np.ndarray:
        if not self.primed:
            return np.zeros(TICK, dtype=np.int16)
        chunk, self.samples = self.samples[:TICK], self.samples[TICK:]
        if len(chunk) < TICK:
            self.primed = False  # ran dry: prebuffer again
            chunk = np.concatenate([chunk, np.zeros(TICK - len(chunk), dtype=np.int16)])
        return chunk


class Mixer:
    def __init__(self, stage_id: str, directory: Path, channel_arn: str):
        self.stage_id = stage_id
        self.directory = directory
        self.channel_arn = channel_arn  # the private channel whose playback tokens let a listener in
        self.inputs: dict[int, _Input] = {}
        self.tasks: set[asyncio.Task] = set()
        self._container = None
        self._stream = None

    def start(self) -> None:
        if self.directory.exists():
            shutil.rmtree(self.directory)
        self.directory.mkdir(parents=True)
        self._container = av.open(
            str(self.directory / PLAYLIST),
            mode="w",
            format="hls",
            options={
                "hls_time": str(SEGMENT_SECONDS),
                "hls_list_size": str(PLAYLIST_SEGMENTS),
                # Old segments are deleted (bounded disk); files appear complete (renamed into place).
                "hls_flags": "delete_segments+temp_file+omit_endlist",
                "hls_segment_filename": str(self.directory / "seg%06d.ts"),
            },
        )
        self._stream = self._container.add_stream("aac", rate=RATE, layout="mono")
        self._stream.bit_rate = 64000
        self._spawn(self._run())

    def add(self, slot: int, track: MediaStreamTrack) -> None:
        self.inputs[slot] = _Input()
        self._spawn(self._read(slot, track))

    def _spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _read(self, slot: int, track: MediaStreamTrack) -> None:
        mine = self.inputs[slot]
        try:
            while True:
                frame = await track.recv()
                data = frame.to_ndarray().reshape(-1, len(frame.layout.channels))
                mine.push(data.mean(axis=1).astype(np.int16))
        except MediaStreamError:
            pass
        finally:
            track.stop()
            if self.inputs.get(slot) is mine:
                del self.inputs[slot]

    async def _run(self) -> None:
        started, ticks = time.monotonic(), 0
        while True:
            mixed = np.zeros(TICK, dtype=np.int32)
            for source in list(self.inputs.values()):
                mixed += source.take()
            frame = av.AudioFrame.from_ndarray(
                np.clip(mixed, -32768, 32767).astype(np.int16).reshape(1, -1), format="s16", layout="mono"
            )
            frame.sample_rate = RATE
            frame.pts = ticks * TICK
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
            ticks += 1
            delay = started + ticks * TICK / RATE - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)

    async def stop(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self._container is not None:
            try:
                self._container.close()
            except av.FFmpegError:
                pass
        shutil.rmtree(self.directory, ignore_errors=True)


class Overflow:
    """The mixers of the stages in overflow, and the viewers refused for good."""

    def __init__(self, rooms: Rooms, directory: Path):
        self.rooms = rooms
        self.directory = directory
        self.mixers: dict[str, Mixer] = {}
        # channel arn -> viewer ids revoked (a removed listener): their tokens are refused from
        # then on, as IVS's StartViewerSessionRevocation does. A removed user gets no new token.
        self.revoked: dict[str, set[str]] = {}
        # Playback tokens in use: token -> when last presented (monotonic). IVS checks `exp` when
        # playback starts and lets it go on; a player here asks for the playlist every second, so
        # a token presented before its `exp` stays good while its player keeps asking.
        self.playing: dict[str, float] = {}

    def playlist_path(self, stage_id: str) -> str:
        return f"/hls/{stage_id}/{PLAYLIST}"

    def start(self, stage_id: str, channel_arn: str) -> str:
        if stage_id not in self.mixers:
            mixer = Mixer(stage_id, self.directory / stage_id, channel_arn)
            mixer.start()
            self.mixers[stage_id] = mixer
            # Publishers now on stage, then every one that connects later.
            for publisher in self.rooms.stage(stage_id).publishers:
                if publisher is not None and publisher.connected and not publisher.closed:
                    mixer.add(publisher.slot, self.rooms.relay.subscribe(publisher.track, buffered=True))
            self.rooms.taps[stage_id] = [mixer.add]
            log.info("overflow HLS started stage=%s", stage_id)
        return self.playlist_path(stage_id)

    async def stop(self, stage_id: str) -> None:
        mixer = self.mixers.pop(stage_id, None)
        self.rooms.taps.pop(stage_id, None)
        if mixer is not None:
            await mixer.stop()
            log.info("overflow HLS stopped stage=%s", stage_id)

    async def stop_all(self) -> None:
        for stage_id in list(self.mixers):
            await self.stop(stage_id)

    def revoke(self, channel_arn: str, viewer_id: str) -> None:
        self.revoked.setdefault(channel_arn, set()).add(viewer_id)

    def admit(self, stage_id: str, viewer: Viewer, token: str) -> None:
        """Refused(401) for a token past its `exp` (unless its playback started before), 403
        unless it is for this stage's channel and not revoked; a stage not in overflow lets the
        caller answer 404."""
        now = time.monotonic()
        for idle in [t for t, seen in self.playing.items() if now - seen > PLAYING_IDLE_SECONDS]:
            del self.playing[idle]
        if viewer.exp <= time.time() and token not in self.playing:
            raise Refused(401, "token_expired", "the playback token has expired")
        mixer = self.mixers.get(stage_id)
        if mixer is None:
            return
        if viewer.channel_arn != mixer.channel_arn:
            raise Refused(403, "wrong_channel", "the playback token is for another channel")
        if viewer.viewer_id in self.revoked.get(mixer.channel_arn, ()):
            raise Refused(403, "viewer_revoked", "this viewer's playback was revoked")
        self.playing[token] = now

    def running(self) -> int:
        return len(self.mixers)

    def file(self, stage_id: str, name: str) -> Optional[Path]:
        if stage_id not in self.mixers:
            return None
        path = self.directory / stage_id / name
        return path if path.is_file() else None
