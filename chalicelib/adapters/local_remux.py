"""RemuxPort for `make run` and the tests: no MediaConvert runs locally (and moto has none).

`start` does at once what a MediaConvert job does in minutes: it reads the recording's playlists
(one per segment) from the local S3 (a missing input fails the job, as in MediaConvert) and
writes a placeholder `.m4a` where the replay file goes, naming its inputs in the order they were
"concatenated", so replays, their URLs and transcription run end to end on a recording that is
silent (the local media adapter records no audio either).

A job's state is read back from the bucket (its id names the output), so a job started by the
API process is seen by the local worker process too. For tests: `fail_next(n)` makes the next n
jobs end in ERROR, `hold_next(n)` keeps the next n RUNNING until `finish(job_id)`; `started`
lists (name, source_keys, output_key) per start, in order.
"""
from __future__ import annotations

import base64
import threading

from chalicelib.ports import RemuxStatus

PLACEHOLDER_AUDIO = (
    "Spaces local stack: a placeholder for the replay's audio file (AAC in MP4).\n"
    "The local media server does not record, so no audio was recorded.\n"
)
_PREFIX = "local-"


class LocalRemux:
    configured = True

    def __init__(self, store):
        self._store = store  # ReplayStorePort: the local recordings bucket
        self._lock = threading.Lock()
        self._fail = 0
        self._hold = 0
        self._failed: set[str] = set()
        self._held: dict[str, tuple[tuple[str, ...], str]] = {}
        self._seq = 0
        self.started: list[tuple[str, tuple[str, ...], str]] = []

    def fail_next(self, times: int = 1) -> None:
        with self._lock:
            self._fail += times

    def hold_next(self, times: int = 1) -> None:
        with self._lock:
            self._hold += times

    def start(self, name: str, source_keys: list[str], output_key: str) -> str:
        if isinstance(source_keys, str):
            raise TypeError("source_keys is a list of playlist keys, not one key")
        if not source_keys:
            raise ValueError("a remux needs at least one input")
        sources = tuple(source_keys)
        with self._lock:
            self._seq += 1
            job_id = f"{_PREFIX}{self._seq}-{_encode(output_key)}"
            self.started.append((name, sources, output_key))
            if self._fail:
                self._fail -= 1
                self._failed.add(job_id)
                return job_id
            if self._hold:
                self._hold -= 1
                self._held[job_id] = (sources, output_key)
                return job_id
        if any(self._store.get_text(key) is None for key in sources):
            with self._lock:
                self._failed.add(job_id)  # MediaConvert: an input file cannot be read
            return job_id
        self._write(sources, output_key)
        return job_id

    def finish(self, job_id: str) -> None:
        """A held job completes now."""
        with self._lock:
            sources, output_key = self._held.pop(job_id)
        self._write(sources, output_key)

    def status(self, job_id: str) -> RemuxStatus:
        with self._lock:
            if job_id in self._failed:
                return RemuxStatus(state="ERROR", failure="local remux: injected failure or missing input")
            if job_id in self._held:
                return RemuxStatus(state="RUNNING")
        output_key = _decode(job_id)
        if output_key is None or self._store.get_text(output_key) is None:
            return RemuxStatus(state="ERROR", failure="no such local remux job")
        return RemuxStatus(state="COMPLETE")

    def _write(self, sources: tuple[str, ...], output_key: str) -> None:
        inputs = "".join(f"input {n}: {key}\n" for n, key in enumerate(sources, start=1))
        self._store.put_text(output_key, PLACEHOLDER_AUDIO + inputs, "audio/mp4")


def _encode(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def _decode(job_id: str) -> str | None:
    if not job_id.startswith(_PREFIX) or "-" not in job_id[len(_PREFIX):]:
        return None
    encoded = job_id[len(_PREFIX):].split("-", 1)[1]
    try:
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except ValueError:
        return None
