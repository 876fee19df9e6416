"""The recordings bucket and its transcriptions in memory (ReplayStorePort, TranscriptionPort),
with what the S3 and Transcribe adapters (adapters/s3_replays.py, adapters/transcribe.py)
promise: a missing object reads as None, and so does a JSON document that is not an object; a
write `if_absent` leaves an object already there alone; a prefix is a folder (`rec` is `rec/`,
never `record/`); deleting what is not there deletes nothing; a presigned URL lives the seconds
asked, within S3's seven days. A transcription job started twice is one job, an unknown one reads
as FAILED, and a finished one's WebVTT sits next to its output key. Transcription moves one state
a look (QUEUED, IN_PROGRESS, COMPLETED), as moto's does. tests/integration/test_outside_ports_contract.py
runs the same tests on these and on the adapters over moto; tests/integration/test_mixer_contract.py
holds `FakeMixer` to PyAvMixer.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from chalicelib.adapters.s3_replays import MAX_PRESIGN_SECONDS
from chalicelib.domain.replays import PresignedUrl, TranscriptionStatus


class FakeReplayStore:
    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str]] = {}  # key -> (data, content type)

    def presign_get(self, key: str, expires_in: int) -> PresignedUrl:
        seconds = max(1, min(int(expires_in), MAX_PRESIGN_SECONDS))
        expires_at = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=seconds)
        return PresignedUrl(url=f"https://replays.invalid/{quote(key)}?expires={int(expires_at.timestamp())}", expires_at=expires_at)

    def get_json(self, key: str) -> dict[str, Any] | None:
        text = self.get_text(key)
        try:
            document = json.loads(text) if text is not None else None
        except ValueError:
            return None
        return document if isinstance(document, dict) else None

    def get_text(self, key: str) -> str | None:
        data = self.get_bytes(key)
        return None if data is None else data.decode("utf-8")

    def put_text(self, key: str, text: str, content_type: str) -> None:
        self.put_bytes(key, text.encode("utf-8"), content_type)

    def get_bytes(self, key: str) -> bytes | None:
        kept = self.objects.get(key)
        return None if kept is None else kept[0]

    def put_bytes(self, key: str, data: bytes, content_type: str, *, if_absent: bool = False) -> bool:
        if if_absent and key in self.objects:
            return False
        self.objects[key] = (bytes(data), content_type)
        return True

    def list_keys(self, prefix: str, limit: int = 100_000) -> list[str]:
        folder = prefix.strip("/") + "/"
        return sorted(key for key in self.objects if key.startswith(folder))[:limit]

    def delete_keys(self, keys: list[str]) -> int:
        for key in keys:
            self.objects.pop(key, None)
        return len(keys)

    def delete_prefix(self, prefix: str) -> int:
        return self.delete_keys(self.list_keys(prefix))


STATES = ("QUEUED", "IN_PROGRESS", "COMPLETED")


class FakeTranscription:
    def __init__(self) -> None:
        self.jobs: dict[str, dict[str, Any]] = {}  # name -> media_key, output_key, language, looks

    def start(self, job_name: str, media_key: str, output_key: str, language: str) -> None:
        self.jobs.setdefault(job_name, {"media_key": media_key, "output_key": output_key, "language": language, "looks": 0})

    def status(self, job_name: str) -> TranscriptionStatus:
        job = self.jobs.get(job_name)
        if job is None:
            return TranscriptionStatus(state="FAILED", failure="no such transcription job")
        state = STATES[min(job["looks"], len(STATES) - 1)]
        job["looks"] += 1
        if state != "COMPLETED":
            return TranscriptionStatus(state=state)
        return TranscriptionStatus(state=state, subtitle_key=job["output_key"].rsplit(".", 1)[0] + ".vtt")


class FakeMixer:
    """MixerPort without audio: a "mix" is a small JSON document holding its length, which is
    every track's offset plus the `duration_ms` IVS wrote in that recording's recording-ended.json;
    a clip of it is the part of that length asked for. As PyAvMixer: a track whose playlist is not
    in the bucket, or a replay that is not, is DependencyFailed(mix_unavailable); a mix is written
    only if absent, a clip overwrites."""

    def __init__(self, store: FakeReplayStore) -> None:
        self._store = store

    def mix(self, tracks: list[Any], output_key: str) -> int:
        from chalicelib.domain.errors import DependencyFailed

        length = 0
        for track in tracks:
            if track.playlist_key not in self._store.list_keys(track.prefix.rstrip("/") + "/media"):
                raise DependencyFailed(f"playlist {track.playlist_key} is not in the bucket", code="mix_unavailable")
            ended = self._store.get_json(f"{track.prefix.rstrip('/')}/events/recording-ended.json") or {}
            length = max(length, track.offset_ms + int(ended.get("media", {}).get("hls", {}).get("duration_ms", 0)))
        self._store.put_bytes(output_key, json.dumps({"fake_mix_ms": length}).encode(), "audio/mp4", if_absent=True)
        return length

    def cut(self, source_key: str, start_ms: int, duration_ms: int, output_key: str) -> int:
        from chalicelib.domain.errors import DependencyFailed

        source = self._store.get_json(source_key)
        if source is None:
            raise DependencyFailed(f"replay {source_key} is not in the bucket", code="mix_unavailable")
        length = max(0, min(start_ms + duration_ms, int(source["fake_mix_ms"])) - start_ms)
        self._store.put_text(output_key, json.dumps({"fake_mix_ms": length}), "audio/mp4")
        return length
