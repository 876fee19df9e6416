"""Recording with consent, replays and captions: the rules, with no AWS in them.

A recorded Space (docs/recording.md):

- the host turns recording on when creating the Space or when starting a scheduled one, and
  consents by doing so; everyone else publishes audio only after consenting (accepting an
  invitation with `recording_consent: true`, or a co-host joining with it). Consent is kept per
  user with its time, on the Space;
- while live, an IVS composition writes the stage's publishers to S3 (HLS); if IVS stops it on
  its own while the Space is live, another is started (a new segment, under its own S3 prefix),
  at most `recording_max_restarts` times. The last one stops when the Space ends, and the replay
  "lands" once IVS has written every segment's end marker: the segments' HLS recordings are then
  remuxed, in order, into one audio file (MediaConvert), the object a replay URL names;
- a landed replay is served to the Space's own audience until `ended_at + retention`;
- captions are segments sent live by people on stage; the replay's WebVTT is built from them, or
  from an Amazon Transcribe job when nobody captioned.

Replay states, kept on the Space item:

    (live, recording)  --end-->  processing  --recording lands-->  remuxing  --file written-->  available
    processing --no recording after the deadline--> failed
    remuxing --the remux failed `replay_remux_attempts` times--> failed
    remuxing --a remux failed, attempts left--> remuxing (a new job)
    processing | remuxing | available --host deletes--> deleted
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.errors import RuleViolation

PROCESSING, REMUXING, AVAILABLE, FAILED, DELETED = "processing", "remuxing", "available", "failed", "deleted"
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
class RecordingSegment:
    """One composition of a recording and where IVS writes it (None until IVS reported it)."""

    composition_arn: str
    prefix: str | None = None


@dataclass(frozen=True)
class RecordingInfo:
    """What the Space item keeps of its recording and replay."""

    started_at: datetime | None = None
    composition_arn: str | None = None  # the current (last) composition
    # Where IVS writes the first composition in the bucket; learned from the composition (at
    # start, or just before it is stopped).
    prefix: str | None = None
    # Every composition of the recording, in order (the first, then one per restart).
    segments: tuple[RecordingSegment, ...] = ()
    restarts: int = 0
    stopped_at: datetime | None = None
    replay_state: str | None = None  # None while recording; then PROCESSING, REMUXING, AVAILABLE ...
    media_key: str | None = None  # the object a replay URL points at (the remuxed audio file)
    # The recording as IVS wrote it (its HLS playlist), the remux job making one file of it, how
    # many jobs were started for it, and when the current one was.
    source_keys: tuple[str, ...] = ()  # one playlist per landed segment, in order
    remux_job: str | None = None
    remux_attempts: int = 0
    remux_started_at: datetime | None = None
    duration_ms: int | None = None
    transcript_state: str | None = None
    transcription_job: str | None = None
    transcript_key: str | None = None  # the replay's WebVTT in the bucket

    @property
    def source_key(self) -> str | None:
        """The first segment's playlist (the only one of a recording never restarted)."""
        return self.source_keys[0] if self.source_keys else None


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


def replay_files_prefix(space_id: str) -> str:
    """A Space's own prefix for its replay file: outside IVS's, so the role MediaConvert writes
    with is limited to `replays/`."""
    return f"replays/{space_id}"


def replay_file_key(space_id: str) -> str:
    """Where a replay's single audio file (AAC in an MP4 container, .m4a) is written."""
    return f"{replay_files_prefix(space_id)}/replay.m4a"


def restart_token(space_id: str, restart: int) -> str:
    """StartComposition's idempotency token for a recording's `restart`-th composition: two job
    runs restarting the same stopped composition get the same one from IVS. Not the overflow's
    `<space id>-restart-<n>`: a token names one request, and these request another destination."""
    return f"{space_id}-rec-restart-{restart}"


@dataclass(frozen=True)
class LandedSegment:
    segment: RecordingSegment
    source_key: str
    duration_ms: int | None


def landing_plan(
    segments: tuple[RecordingSegment, ...],
    landed: list[LandedSegment],
    waited_seconds: float,
    *,
    segment_wait_seconds: int,
    deadline_seconds: int,
) -> str:
    """What a landing does with a recording of which `landed` segments have their end marker,
    `waited_seconds` after the stop: "remux" (every segment landed, or some did and the segment
    wait is over: the missing ones are left out), "fail" (none landed by the deadline), or
    "wait"."""
    if landed and len(landed) == len(segments):
        return "remux"
    if landed and waited_seconds > min(segment_wait_seconds, deadline_seconds):
        return "remux"
    if not landed and waited_seconds > deadline_seconds:
        return "fail"
    return "wait"


def replay_duration_ms(landed: list[LandedSegment]) -> int | None:
    """The remuxed file's length: the landed segments' durations added up (the file is them, one
    after the other); None when IVS did not say one of them."""
    if not landed or any(item.duration_ms is None for item in landed):
        return None
    return sum(item.duration_ms or 0 for item in landed)


def parse_recording_end(document: dict[str, Any], prefix: str) -> tuple[str, int | None]:
    """(media key, duration ms) from the `events/recording-ended.json` IVS writes when a recording
    is complete. The fields read (`media.hls.path`, `.playlist`, `.duration_ms`) are those of IVS
    recording metadata; anything missing falls back to the documented default layout."""
    hls = ((document or {}).get("media") or {}).get("hls") or {}
    path = str(hls.get("path") or "media/hls").strip("/")
    playlist = str(hls.get("playlist") or "multivariant.m3u8")
    duration = hls.get("duration_ms")
    duration_ms = int(duration) if isinstance(duration, (int, float)) and duration >= 0 else None
    return f"{prefix.rstrip('/')}/{path}/{playlist}", duration_ms
