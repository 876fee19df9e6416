"""MixerPort with FFmpeg's libraries through PyAV: mixes participant recordings (HLS in the
recordings bucket) into one AAC file at their offsets, and cuts clips out of a replay.

PyAV (the `av` wheel, FFmpeg inside) is imported here only, inside the methods, so no request
path pays for loading it: only the landing job mixes and cuts (bench/imports.py guards this).

Audio is handled as 48 kHz mono float samples, streamed one second at a time: a long Space's
recordings are never all in memory at once. The files are copied from the bucket to a temporary
directory first (FFmpeg's HLS reader then opens the playlist as IVS wrote it: playlist, then its
segments), and the result is written there before it is uploaded.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from typing import Any

from chalicelib.domain.errors import DependencyFailed
from chalicelib.domain.replay_landing import Track

RATE = 48_000
CHUNK = RATE  # one second per mixing step
AAC_BIT_RATE = 64_000  # mono speech
MIX_UNAVAILABLE = "mix_unavailable"


class PyAvMixer:
    def __init__(self, store):
        self._store = store  # ReplayStorePort: the recordings bucket

    # ------------------------------------------------------------------ mixing

    def mix(self, tracks: list[Track], output_key: str) -> int:
        """Mix `tracks` (each from its playlist, at its offset) into one `.m4a` at `output_key`;
        its length in ms (from offset 0 to the end of the last track). The upload is conditional:
        a file already there (another run of the same version) is kept, not overwritten."""
        import numpy as np

        with tempfile.TemporaryDirectory(prefix="mix-") as work:
            readers = []
            for index, track in enumerate(tracks):
                local = self._download_recording(track, os.path.join(work, str(index)))
                readers.append(_TrackReader(_decode(local), round(track.offset_ms * RATE / 1000)))
            out_path = os.path.join(work, "replay.m4a")
            written = 0
            with _Encoder(out_path) as encoder:
                while True:
                    chunk = np.zeros(CHUNK, dtype=np.float32)
                    valid = max((reader.add_into(chunk) for reader in readers), default=0)
                    np.clip(chunk, -1.0, 1.0, out=chunk)
                    if all(reader.done for reader in readers):
                        encoder.write(chunk[:valid])  # the last track ended inside this second
                        written += valid
                        break
                    encoder.write(chunk)
                    written += CHUNK
            with open(out_path, "rb") as handle:
                self._store.put_bytes(output_key, handle.read(), "audio/mp4", if_absent=True)
        return round(written * 1000 / RATE)

    def _download_recording(self, track: Track, into: str) -> str:
        """Copy a recording's media files (under `<prefix>/media/`), keeping their relative
        paths; the local path of its playlist."""
        media = track.prefix.rstrip("/") + "/media"
        keys = self._store.list_keys(media)
        if track.playlist_key not in keys:
            raise DependencyFailed(f"playlist {track.playlist_key} is not in the bucket", code=MIX_UNAVAILABLE)
        for key in keys:
            path = os.path.join(into, os.path.relpath(key, track.prefix))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            data = self._store.get_bytes(key)
            with open(path, "wb") as handle:
                handle.write(data or b"")
        return os.path.join(into, os.path.relpath(track.playlist_key, track.prefix))

    # ------------------------------------------------------------------ clips

    def cut(self, source_key: str, start_ms: int, duration_ms: int, output_key: str) -> int:
        """Cut [start, start + duration) out of the replay at `source_key` into a new `.m4a` at
        `output_key` (overwritten: a clip is cut again after a withdrawal); its length in ms."""
        import numpy as np

        data = self._store.get_bytes(source_key)
        if data is None:
            raise DependencyFailed(f"replay {source_key} is not in the bucket", code=MIX_UNAVAILABLE)
        first, count = round(start_ms * RATE / 1000), round(duration_ms * RATE / 1000)
        with tempfile.TemporaryDirectory(prefix="clip-") as work:
            source = os.path.join(work, "replay.m4a")
            with open(source, "wb") as handle:
                handle.write(data)
            pieces, position = [], 0
            for samples in _decode(source):
                end = position + len(samples)
                lo, hi = max(first, position), min(first + count, end)
                if hi > lo:
                    pieces.append(samples[lo - position : hi - position])
                position = end
                if position >= first + count:
                    break
            out = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
            out_path = os.path.join(work, "clip.m4a")
            with _Encoder(out_path) as encoder:
                encoder.write(out)
            with open(out_path, "rb") as handle:
                self._store.put_bytes(output_key, handle.read(), "audio/mp4")
        return round(len(out) * 1000 / RATE)


def _decode(path: str) -> Iterator[Any]:
    """The file's first audio stream as 48 kHz mono float32 arrays, in order."""
    import av

    try:
        container = av.open(path)
    except av.error.FFmpegError as exc:
        raise DependencyFailed(f"cannot read {os.path.basename(path)}: {exc}", code=MIX_UNAVAILABLE) from exc
    with container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                yield out.to_ndarray().reshape(-1)
        for out in resampler.resample(None):
            yield out.to_ndarray().reshape(-1)


class _TrackReader:
    """One track's samples, placed at its offset: adds the next CHUNK samples into a mix."""

    def __init__(self, samples: Iterator[Any], offset: int):
        import numpy as np

        self._samples = samples
        self._silence = offset  # samples before the track starts
        self._buffer = np.zeros(0, dtype=np.float32)
        self.done = False

    def add_into(self, chunk) -> int:
        """Add this track's next len(chunk) samples; how many of them are on the track's
        timeline (its leading silence counts: the track is still to come). 0 once it ended."""
        n, filled = len(chunk), 0
        if self._silence:
            filled = min(self._silence, n)
            self._silence -= filled
        while filled < n and not self.done:
            if not len(self._buffer):
                try:
                    self._buffer = next(self._samples)
                except StopIteration:
                    self.done = True
                    break
                continue
            take = min(n - filled, len(self._buffer))
            chunk[filled : filled + take] += self._buffer[:take]
            self._buffer = self._buffer[take:]
            filled += take
        return filled


class _Encoder:
    """AAC (mono, 48 kHz) in an MP4 container."""

    def __init__(self, path: str):
        self._path = path

    def __enter__(self):
        import av

        self._container = av.open(self._path, "w", format="mp4")
        self._stream = self._container.add_stream("aac", rate=RATE, layout="mono")
        self._stream.bit_rate = AAC_BIT_RATE
        self._pts = 0
        return self

    def write(self, samples) -> None:
        import av

        if not len(samples):
            return
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1).astype("float32"), format="fltp", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self._pts
        self._pts += len(samples)
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def __exit__(self, *exc):
        try:
            if exc[0] is None:
                for packet in self._stream.encode(None):
                    self._container.mux(packet)
        finally:
            self._container.close()
        return False
