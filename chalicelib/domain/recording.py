"""Recording with consent, replays, clips and captions: the rules, with no AWS in them.

A recorded Space (docs/recording.md):

- the host turns recording on when creating the Space or when starting a scheduled one, and
  consents by doing so; everyone else publishes audio only after consenting (accepting an
  invitation with `recording_consent: true`, or a co-host joining with it). Consent is kept per
  user with its time, on the Space; a consent can be withdrawn (`withdrawals`, user -> when);
- its stage is created with IVS individual participant recording (audio only): IVS writes each
  publisher's audio, one recording per (re)connection, under `<stage id>/` in the bucket
  (the layout: docs/recording.md "What IVS writes");
- once the Space ended and the recordings landed, one job mixes them at their true offsets into
  one audio file (`replays/<space id>/replay-<version>.m4a`); a withdrawal makes a new version
  without the one who withdrew;
- a landed replay is served to the Space's own audience until `ended_at + retention`; clips are
  cut from it and die with it;
- captions are segments sent live by people on stage; the replay's WebVTT is built from them, or
  from an Amazon Transcribe job when nobody captioned.

Replay states, kept on the Space item:

    (live, recording)  --end-->  processing  --recordings landed, mix claimed-->  mixing  --file written-->  available
    processing --no recording after the deadline--> failed
    mixing --the claim is older than the mix timeout--> mixing (claimed again)
    mixing | available --a consent is withdrawn--> processing (the next version)
    processing | mixing | available --host deletes--> deleted
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from chalicelib.domain.errors import BadRequest, RuleViolation

PROCESSING, MIXING, AVAILABLE, FAILED, DELETED = "processing", "mixing", "available", "failed", "deleted"
# Captions of a replay: from the live segments, from a Transcribe job, or none yet.
TRANSCRIPT_LIVE, TRANSCRIPT_RUNNING, TRANSCRIPT_READY, TRANSCRIPT_FAILED, TRANSCRIPT_NONE = (
    "live",
    "running",
    "ready",
    "failed",
    "none",
)

CAPTION_MAX_TEXT = 500
# A Space (an IVS session) lasts at most 24 hours: no caption starts later than that.
CAPTION_MAX_OFFSET_MS = 24 * 3600 * 1000
# BCP 47 as the apps send it: a 2-3 letter language, then optional script / region / variant
# subtags ("en", "en-US", "zh-Hant-TW", "es-419").
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?(-[A-Za-z0-9]{5,8})*$")


@dataclass(frozen=True)
class RecordingInfo:
    """What the Space item keeps of its recording and replay."""

    started_at: datetime | None = None  # when the Space went live recorded: offset 0 of the replay
    # Where IVS writes this Space's participant recordings: the stage's resource id, the first
    # level of its layout in the bucket.
    prefix: str | None = None
    stopped_at: datetime | None = None
    replay_state: str | None = None  # None while recording; then PROCESSING, MIXING, AVAILABLE ...
    media_key: str | None = None  # the object a replay URL points at (the mixed audio file)
    # Each mix writes a new version of the file (a withdrawal asks for the next one); the claim
    # of the job mixing it and since when.
    mix_version: int = 1
    mix_started_at: datetime | None = None
    mix_attempts: int = 0  # how many runs claimed this version's mix
    duration_ms: int | None = None
    transcript_state: str | None = None
    transcription_job: str | None = None
    transcript_key: str | None = None  # the replay's WebVTT in the bucket
    withdrawals: dict[str, str] = field(default_factory=dict)  # user id -> when they withdrew
    clipping: bool = True  # the host may turn clipping off


@dataclass(frozen=True)
class Caption:
    space_id: str
    seq: str  # the sort key: "<start_ms, 11 digits>#<ULID>", so segments read back in time order
    user_id: str
    text: str
    language: str
    start_ms: int
    end_ms: int
    created_at: datetime

    @property
    def caption_id(self) -> str:
        return self.seq.split("#", 1)[1]


def caption_seq(start_ms: int, ulid: str) -> str:
    return f"{start_ms:011d}#{ulid}"


def consent_required(space_id: str) -> RuleViolation:
    return RuleViolation(
        f"Space {space_id} is recorded: coming on stage needs your consent; send "
        '{"recording_consent": true} to be recorded',
        code="recording_consent_required",
        details={"recording": True},
    )


def is_language_tag(value: str) -> bool:
    """A BCP 47 tag such as "en", "en-US", "zh-Hant-TW" or "es-419"."""
    return _LANGUAGE.match(value) is not None


def available_until(ended_at: datetime | None, retention_days: int) -> datetime | None:
    """Until when a replay is served. Computed from the end on every read, so an expired replay
    is gone from the API at once (S3's lifecycle rule deletes the objects a day later)."""
    if ended_at is None:
        return None
    # Whole seconds, as the API shows it: the replay is refused from the second it names.
    return (ended_at + timedelta(days=retention_days)).replace(microsecond=0)


# ---------------------------------------------------------------------------------- WebVTT


def vtt_timestamp(ms: int) -> str:
    hours, rest = divmod(int(ms), 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def _cue_text(text: str) -> str:
    # WebVTT cue payloads escape &, < and > ("-->" cannot appear once ">" is escaped).
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def build_webvtt(captions: list[Caption]) -> str:
    """A WebVTT file of caption segments, in time order, one cue per segment. A cue's end is
    moved past its start when both are equal (WebVTT wants end > start)."""
    lines = ["WEBVTT", ""]
    for index, caption in enumerate(sorted(captions, key=lambda c: c.seq), start=1):
        end_ms = max(caption.end_ms, caption.start_ms + 1)
        lines += [
            str(index),
            f"{vtt_timestamp(caption.start_ms)} --> {vtt_timestamp(end_ms)}",
            f"<v {_cue_text(caption.user_id)}>{_cue_text(caption.text)}",
            "",
        ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------- the replay


def replay_files_prefix(space_id: str) -> str:
    """A Space's own prefix for its replay files: outside IVS's (`<stage id>/`)."""
    return f"replays/{space_id}"


def replay_file_key(space_id: str, version: int) -> str:
    """Where version `version` of a replay's single audio file (AAC in MP4, .m4a) is written.
    Every mix writes a new version, so a withdrawal never has to overwrite a file a URL names."""
    return f"{replay_files_prefix(space_id)}/replay-{version}.m4a"


# ---------------------------------------------------------------------------------- speakers

# A participant id the app mints is `<speaker tag>-<random>`: the tag (16 hex characters of a
# hash of the Space and the user) lets the mixing job tell whose a recording is from its S3
# prefix alone, without storing one item per join. 16 + 1 + 22 characters: within IVS's 64.
SPEAKER_TAG_LENGTH = 16


def speaker_tag(space_id: str, user_id: str) -> str:
    return hashlib.sha256(f"spaces-speaker:{space_id}:{user_id}".encode()).hexdigest()[:SPEAKER_TAG_LENGTH]


def tagged_participant_id(space_id: str, user_id: str, random_part: str) -> str:
    return f"{speaker_tag(space_id, user_id)}-{random_part}"


def speaker_of(participant_id: str, space_id: str, candidates: list[str]) -> str | None:
    """Which of `candidates` (user ids) the participant id was minted for, or None."""
    tag = participant_id.split("-", 1)[0]
    return next((user for user in candidates if speaker_tag(space_id, user) == tag), None)


# ------------------------------------------------------------------- what IVS writes, landed

STARTED_MARKER = "events/recording-started.json"
ENDED_MARKER = "events/recording-ended.json"
FAILED_MARKER = "events/recording-failed.json"
DEFAULT_PLAYLIST = "media/hls/multivariant.m3u8"


@dataclass(frozen=True)
class ParticipantRecording:
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


@dataclass(frozen=True)
class Track:
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


# ---------------------------------------------------------------------------------- clips

CLIP_MAX_MS = 30_000


@dataclass(frozen=True)
class Clip:
    clip_id: str
    space_id: str
    user_id: str
    start_ms: int
    duration_ms: int
    created_at: datetime
    # The replay version the clip's audio was cut from (None until it is cut).
    cut_from: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "clip_id": self.clip_id,
            "space_id": self.space_id,
            "user_id": self.user_id,
            "start_ms": self.start_ms,
            "duration_ms": self.duration_ms,
            "created_at": self.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "cut_from": self.cut_from,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "Clip":
        return cls(
            clip_id=doc["clip_id"],
            space_id=doc["space_id"],
            user_id=doc["user_id"],
            start_ms=int(doc["start_ms"]),
            duration_ms=int(doc["duration_ms"]),
            created_at=datetime.strptime(doc["created_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc),
            cut_from=doc.get("cut_from"),
        )


def new_clip_id(space_id: str, ulid: str) -> str:
    """A clip id names its Space (so `GET /clips/{id}` needs no index): `<space id>-<ULID>`."""
    return f"{space_id}-{ulid}"


CLIP_ID_PATTERN = re.compile(r"^([0-9A-Za-z]{1,64})-([0-9A-Za-z]{26})$")


def space_of_clip(clip_id: str) -> str | None:
    match = CLIP_ID_PATTERN.match(clip_id or "")
    return match.group(1) if match else None


def clip_keys(space_id: str, clip_id: str) -> tuple[str, str]:
    """(its description, its audio) in the bucket."""
    base = f"clips/{space_id}/{clip_id}"
    return f"{base}.json", f"{base}.m4a"


def check_clip(start_ms: int, duration_ms: int) -> None:
    """The rules of a clip's window: at least 1 ms, at most 30 s, within the Space's 24 hours."""
    if duration_ms == 0:
        raise RuleViolation("a clip lasts at least 1 ms", code="clip_empty")
    if duration_ms > CLIP_MAX_MS:
        raise RuleViolation(f"a clip is at most {CLIP_MAX_MS // 1000} seconds", code="clip_too_long")
    if start_ms > CAPTION_MAX_OFFSET_MS:
        raise RuleViolation("a clip starts within the Space's 24 hours", code="clip_out_of_range")


def withdrawal_window_open(ended_at: datetime | None, now: datetime, retention_days: int) -> bool:
    """A consent may be withdrawn while live and until the replay expires."""
    until = available_until(ended_at, retention_days)
    return until is None or now < until


# ------------------------------------------------------------------ what the use cases answer
# (shown on the wire by chalicelib/api/recording.py)


@dataclass(frozen=True)
class Withdrawal:
    """A consent withdrawn: whose, in which Space, and when."""

    space_id: str
    user_id: str
    withdrawn_at: datetime


@dataclass(frozen=True)
class ServedClip:
    """A cut clip and the short-lived link to its audio."""

    clip: Clip
    url: str
    expires_at: datetime


@dataclass(frozen=True)
class ClipPage:
    """A page of a Space's clips, oldest first; `next_cursor` the last clip id when more follow."""

    space_id: str
    clips: list[Clip]
    next_cursor: str | None


@dataclass(frozen=True)
class ClippingChange:
    """Clipping turned on or off; `changed` False when it already was so."""

    space_id: str
    enabled: bool
    changed: bool


@dataclass(frozen=True)
class Replay:
    """A replay handed to someone of its audience: the media link (short-lived), how long it is,
    until when it is kept, its captions, and for the host only (else None) who withdrew."""

    space_id: str
    url: str
    expires_at: datetime
    duration_ms: int | None
    available_until: datetime
    captions_url: str | None
    captions: str
    clipping: bool
    withdrawals: list[Withdrawal] | None = None


@dataclass(frozen=True)
class ReplayDeletion:
    """A replay deleted by its host, and how many stored objects went with it."""

    space_id: str
    objects_deleted: int
