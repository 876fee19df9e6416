"""What IVS individual participant recording leaves in the bucket, written by the tests with real
audio: a tone encoded with PyAV (AAC in MPEG-TS segments under an HLS playlist), in the layout
docs/recording.md "What IVS writes" describes, and audio read back for checking.

    <stage id>/<stage session id>/<participant id>/<recording start, epoch ms>/
        events/recording-started.json   {"recording_started_at": ...}
        media/hls/multivariant.m3u8     -> high/playlist.m3u8
        media/hls/high/playlist.m3u8, seg<n>.ts
        events/recording-ended.json     {"media": {"hls": {"path", "playlist", "duration_ms"}}}
"""
from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime, timedelta

import numpy as np

RATE = 48_000
SESSION = "st-session1"


def tone(freq: float, seconds: float, amplitude: float = 0.4) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def encode_hls(samples: np.ndarray, directory: str, segment_seconds: int = 2) -> None:
    """`samples` as the local media server's recorder encodes a publisher (AAC, MPEG-TS HLS)."""
    from mediaserver.recorder import HlsWriter

    writer = HlsWriter(directory, segment_seconds=segment_seconds)
    writer.write_samples(samples)
    writer.close()


def write_recording(
    store,
    *,
    stage_id: str,
    participant_id: str,
    started_at: datetime,
    samples: np.ndarray,
    ended: bool = True,
) -> str:
    """One participant recording of `samples` starting at `started_at`; its prefix."""
    prefix = f"{stage_id}/{SESSION}/{participant_id}/{int(started_at.timestamp() * 1000)}"
    store.put_text(
        f"{prefix}/events/recording-started.json",
        json.dumps({"version": "v1", "recording_started_at": started_at.isoformat().replace("+00:00", "Z")}),
        "application/json",
    )
    with tempfile.TemporaryDirectory() as work:
        encode_hls(samples, os.path.join(work, "high"))
        for name in sorted(os.listdir(os.path.join(work, "high"))):
            with open(os.path.join(work, "high", name), "rb") as handle:
                store.put_bytes(f"{prefix}/media/hls/high/{name}", handle.read(), "application/octet-stream")
    store.put_text(
        f"{prefix}/media/hls/multivariant.m3u8",
        '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=64000,CODECS="mp4a.40.2"\nhigh/playlist.m3u8\n',
        "application/vnd.apple.mpegurl",
    )
    if ended:
        write_ended(store, prefix, round(len(samples) * 1000 / RATE))
    return prefix


def write_ended(store, prefix: str, duration_ms: int) -> None:
    document = {"version": "v1", "media": {"hls": {"path": "media/hls", "playlist": "multivariant.m3u8", "duration_ms": duration_ms}}}
    store.put_text(f"{prefix}/events/recording-ended.json", json.dumps(document), "application/json")


def speaks(deps, space_id: str, user_id: str, *, freq: float, start_s: float, end_s: float, ended: bool = True) -> str:
    """`user_id` spoke in the recorded Space from `start_s` to `end_s` (offsets from its start):
    the recording IVS would write for them (participant id minted as the app mints it)."""
    from chalicelib.domain.recording import tagged_participant_id

    space = deps.spaces.get(space_id, with_count=False)
    info = space.recording_info
    return write_recording(
        deps.replays,
        stage_id=info.prefix,
        participant_id=tagged_participant_id(space_id, user_id, os.urandom(8).hex()),
        started_at=info.started_at + timedelta(seconds=start_s),
        samples=tone(freq, end_s - start_s),
        ended=ended,
    )


def decode(data: bytes) -> np.ndarray:
    """A file's audio as 48 kHz mono float32."""
    import av

    with tempfile.NamedTemporaryFile(suffix=".m4a") as handle:
        handle.write(data)
        handle.flush()
        with av.open(handle.name) as container:
            resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
            pieces = [f.to_ndarray().reshape(-1) for frame in container.decode(audio=0) for f in resampler.resample(frame)]
            pieces += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)


def dominant_per_second(samples: np.ndarray, silence_rms: float = 0.01) -> list[float | None]:
    """The strongest frequency (Hz) of each whole second, None for a silent one."""
    found: list[float | None] = []
    for second in range(len(samples) // RATE):
        window = samples[second * RATE : (second + 1) * RATE]
        if float(np.sqrt(np.mean(window**2))) < silence_rms:
            found.append(None)
            continue
        spectrum = np.abs(np.fft.rfft(window * np.hanning(len(window))))
        found.append(float(np.fft.rfftfreq(len(window), 1 / RATE)[int(np.argmax(spectrum))]))
    return found
