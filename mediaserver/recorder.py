"""Individual participant recording, as IVS does it, for the local stack: each publisher of a
recorded stage is written into the recordings bucket (moto's S3 under `make run`) in the layout
IVS uses (docs/recording.md "What IVS writes"), so the app's landing, mixing, clipping and
transcription code runs on real audio locally.

    <stage id>/<session id>/<participant id>/<recording start, epoch ms>/
        events/recording-started.json      written when the first frame arrives
        media/hls/multivariant.m3u8        -> high/playlist.m3u8 (+ seg<n>.ts), AAC mono 48 kHz
        events/recording-ended.json        written last, once every media file is up

One recording per publishing connection (IVS with no reconnect window). The HLS is encoded to a
temporary directory while the publisher speaks and uploaded when their track ends (IVS uploads
as it goes; the app only reads a recording once its end marker is there, so this is the same to
it). A gap in the publisher's frames (their RTP clock jumped) is written as silence, so time in
the recording stays true.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import tempfile
import time
from datetime import datetime, timezone
from typing import Callable, Optional, Protocol

from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

log = logging.getLogger("mediaserver")

RATE = 48_000
SEGMENT_SECONDS = 6  # IVS's default target segment duration
SESSION_ID = "st-local"


class Store(Protocol):
    def put_bytes(self, key: str, data: bytes, content_type: str) -> None: ...


class S3Store:
    """The recordings bucket through boto3 (AWS_ENDPOINT_URL points it at moto under `make run`)."""

    def __init__(self, bucket: str, client=None):
        self.bucket = bucket
        self._client = client

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        if self._client is None:
            import boto3

            self._client = boto3.session.Session().client("s3", region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
        self._client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)


class Recorder:
    """Records the publishers of the stages it is told to record (the control API)."""

    def __init__(self, store_factory: Callable[[], Store], clock: Callable[[], float] = time.time):
        self._store_factory = store_factory
        self._store: Optional[Store] = None
        self._clock = clock
        self.recorded: set[str] = set()  # stage ids
        self.finished: list[str] = []  # prefixes of recordings uploaded, in order
        self._taps: dict[str, Callable] = {}
        self._tasks: set[asyncio.Future] = set()

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = self._store_factory()
        return self._store

    def watch(self, rooms, stage_id: str) -> None:
        """Record every publisher who connects to the stage from now on (a tap on its
        publishers, as the overflow mixer has)."""
        if stage_id in self.recorded:
            return
        self.recorded.add(stage_id)

        def tap(slot: int, track: MediaStreamTrack) -> None:
            publisher = rooms.stage(stage_id).publishers[slot]
            participant_id = publisher.who.participant_id if publisher is not None else f"slot{slot}"
            task = asyncio.ensure_future(self.record(stage_id, participant_id, track))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        self._taps[stage_id] = tap
        rooms.taps.setdefault(stage_id, []).append(tap)

    def forget(self, rooms, stage_id: str) -> None:
        """The stage is gone: no more recordings start on it (those running finish)."""
        self.recorded.discard(stage_id)
        tap = self._taps.pop(stage_id, None)
        if tap is not None and tap in rooms.taps.get(stage_id, []):
            rooms.taps[stage_id].remove(tap)
            if not rooms.taps[stage_id]:
                del rooms.taps[stage_id]

    async def drain(self) -> None:
        """Wait for the recordings whose tracks ended to be uploaded."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def record(self, stage_id: str, participant_id: str, track: MediaStreamTrack) -> Optional[str]:
        """Record `track` until it ends; the recording's prefix (None if no frame ever came)."""
        work = tempfile.mkdtemp(prefix="rec-")
        writer: Optional[HlsWriter] = None
        prefix = None
        try:
            while True:
                try:
                    frame = await track.recv()
                except MediaStreamError:
                    break
                if writer is None:
                    started = self._clock()
                    prefix = f"{stage_id}/{SESSION_ID}/{participant_id}/{int(started * 1000)}"
                    await self._put_json(f"{prefix}/events/recording-started.json", {
                        "version": "v1",
                        "recording_started_at": _iso(started),
                        "participant_id": participant_id,
                        "media": {"hls": {"path": "media/hls", "playlist": "multivariant.m3u8"}},
                    })
                    writer = HlsWriter(os.path.join(work, "high"))
                writer.write(frame)
            if writer is None:
                return None
            duration_ms = writer.close()
            await self._upload(prefix, work, duration_ms)
            self.finished.append(prefix)
            log.info("recording uploaded prefix=%s duration_ms=%d", prefix, duration_ms)
            return prefix
        finally:
            track.stop()
            shutil.rmtree(work, ignore_errors=True)

    async def _upload(self, prefix: str, work: str, duration_ms: int) -> None:
        high = os.path.join(work, "high")
        for name in sorted(os.listdir(high)):
            with open(os.path.join(high, name), "rb") as handle:
                data = handle.read()
            kind = "application/vnd.apple.mpegurl" if name.endswith(".m3u8") else "video/mp2t"
            await asyncio.to_thread(self.store.put_bytes, f"{prefix}/media/hls/high/{name}", data, kind)
        multivariant = '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=64000,CODECS="mp4a.40.2"\nhigh/playlist.m3u8\n'
        await asyncio.to_thread(
            self.store.put_bytes, f"{prefix}/media/hls/multivariant.m3u8", multivariant.encode(), "application/vnd.apple.mpegurl"
        )
        # Last: its presence says the recording is complete.
        await self._put_json(f"{prefix}/events/recording-ended.json", {
            "version": "v1",
            "recording_ended_at": _iso(self._clock()),
            "media": {"hls": {"path": "media/hls", "playlist": "multivariant.m3u8", "duration_ms": duration_ms}},
        })

    async def _put_json(self, key: str, document: dict) -> None:
        await asyncio.to_thread(self.store.put_bytes, key, json.dumps(document).encode(), "application/json")


class HlsWriter:
    """AAC mono 48 kHz into HLS (MPEG-TS segments), silence filling gaps in the source's time.
    `write` takes aiortc's frames; `write_samples` 48 kHz mono float samples (the tests' tones)."""

    def __init__(self, directory: str, segment_seconds: int = SEGMENT_SECONDS):
        import av

        os.makedirs(directory, exist_ok=True)
        self._container = av.open(
            os.path.join(directory, "playlist.m3u8"),
            "w",
            format="hls",
            options={
                "hls_time": str(segment_seconds),
                "hls_playlist_type": "vod",
                "hls_segment_filename": os.path.join(directory, "seg%d.ts"),
            },
        )
        self._stream = self._container.add_stream("aac", rate=RATE, layout="mono")
        self._resampler = av.AudioResampler(format="fltp", layout="mono", rate=RATE)
        self._written = 0  # samples
        self._first_time: Optional[float] = None

    def write(self, frame) -> None:
        import numpy as np

        if frame.pts is not None and frame.time_base is not None:
            at = float(frame.pts * frame.time_base)
            if self._first_time is None:
                self._first_time = at
            due = round((at - self._first_time) * RATE)
            if due - self._written > RATE // 50:  # more than 20 ms missing: the source went quiet
                self._encode(np.zeros(due - self._written, dtype=np.float32))
        for out in self._resampler.resample(frame):
            self._encode(out.to_ndarray().reshape(-1).astype(np.float32))

    def write_samples(self, samples) -> None:
        self._encode(samples)

    def _encode(self, samples) -> None:
        import av

        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = RATE, self._written
        self._written += len(samples)
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def close(self) -> int:
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._container.close()
        return round(self._written * 1000 / RATE)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
