"""Landing a recorded Space's replay: finding the participant recordings IVS wrote under the
stage's prefix, deciding when to mix, and whose recordings are heard (docs/recording.md "What IVS
writes"). No AWS in here: `services/replay_landing.py` reads the bucket and calls these."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from msgspec import Struct

from chalicelib.domain.recording import speaker_of

STARTED_MARKER = "events/recording-started.json"
ENDED_MARKER = "events/recording-ended.json"
FAILED_MARKER = "events/recording-failed.json"
DEFAULT_PLAYLIST = "media/hls/multivariant.m3u8"


class ParticipantRecording(Struct, frozen=True):
    """One participant recording (one publishing connection) under a stage's prefix."""

    prefix: str  # <stage id>/<stage session id>/<participant id>/<recording id>
    participant_id: str
    ended: bool = False
    failed: bool = False


def participant_recordings(stage_prefix: str, keys: list[str]) -> list[ParticipantRecording]:
    """The recordings found among the object keys under `<stage id>/`: one per directory holding
    a `recording-started.json`, ended (or failed) when its end marker is there too, in key order."""
    stage_prefix = stage_prefix.strip("/")
    markers: dict[str, set[str]] = {}
    for key in keys:
        for marker in (STARTED_MARKER, ENDED_MARKER, FAILED_MARKER):
            if key.endswith("/" + marker):
                markers.setdefault(key[: -len(marker) - 1], set()).add(marker)
    found = []
    for prefix in sorted(markers):
        parts = prefix[len(stage_prefix) + 1 :].split("/") if prefix.startswith(stage_prefix + "/") else []
        if STARTED_MARKER not in markers[prefix] or len(parts) < 2:
            continue
        found.append(
            ParticipantRecording(
                prefix=prefix,
                participant_id=parts[1],  # <stage session id>/<participant id>/...
                ended=ENDED_MARKER in markers[prefix],
                failed=FAILED_MARKER in markers[prefix],
            )
        )
    return found


def recording_started_at(document: dict[str, Any] | None, prefix: str) -> datetime | None:
    """When a participant recording started: `recording_started_at` of its started marker, else
    the epoch milliseconds IVS names its recording directory with."""
    value = (document or {}).get("recording_started_at")
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)
        except ValueError:
            pass
    last = prefix.rsplit("/", 1)[-1]
    if last.isdigit():
        return datetime.fromtimestamp(int(last) / 1000, timezone.utc)
    return None


def playlist_key(document: dict[str, Any] | None, prefix: str) -> str:
    """The HLS playlist a recording's ended marker names (`media.hls.path` / `.playlist`), else
    the default layout's."""
    hls = ((document or {}).get("media") or {}).get("hls") or {}
    path, playlist = hls.get("path"), hls.get("playlist")
    if isinstance(path, str) and isinstance(playlist, str) and path and playlist:
        return f"{prefix}/{path.strip('/')}/{playlist}"
    return f"{prefix}/{DEFAULT_PLAYLIST}"


def landing_plan(
    recordings: list[ParticipantRecording],
    waited_seconds: float,
    *,
    segment_wait_seconds: int,
    deadline_seconds: int,
) -> str:
    """What a landing does `waited_seconds` after the end: "mix" (every recording ended, or some
    did and the wait for the others is over: those are left out), "fail" (none by the deadline),
    or "wait"."""
    done = [r for r in recordings if r.ended or r.failed]
    ended = [r for r in done if r.ended]
    if ended and len(done) == len(recordings):
        return "mix"
    if ended and waited_seconds > min(segment_wait_seconds, deadline_seconds):
        return "mix"
    if waited_seconds > deadline_seconds:
        return "fail"
    return "wait"


class Track(Struct, frozen=True):
    """One recording placed in the replay: whose, from which playlist, at which offset."""

    user_id: str
    prefix: str
    playlist_key: str
    offset_ms: int


def mix_members(
    space_id: str, recordings: list[ParticipantRecording], consents: dict[str, Any], withdrawals: dict[str, Any]
) -> tuple[list[tuple[str, ParticipantRecording]], list[ParticipantRecording]]:
    """(the ended recordings that go into the replay with their user, the recordings whose raw
    files must go): only users who consented and did not withdraw are heard; a recording nobody
    consented for (it should not exist: only consenting users publish) is never mixed either."""
    heard = [user for user in consents if user not in withdrawals]
    kept, dropped = [], []
    for rec in recordings:
        user = speaker_of(rec.participant_id, space_id, heard)
        if user is None:
            dropped.append(rec)
        elif rec.ended:
            kept.append((user, rec))
    return kept, dropped


def offset_ms(space_started_at: datetime | None, recording_started: datetime | None) -> int:
    if space_started_at is None or recording_started is None:
        return 0
    return max(0, round((recording_started - space_started_at).total_seconds() * 1000))


