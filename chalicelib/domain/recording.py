"""Recording with consent: the Space's recording state, consent, and whose audio a recording is.

The rest of the recording rules, each in its own module with no AWS in it: the replay a use case
hands out (`domain/replays.py`), how the participant recordings are found and mixed
(`domain/replay_landing.py`), clips (`domain/clips.py`) and captions (`domain/captions.py`).
A cold start loads only this module (the Space carries `RecordingInfo`).

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
from datetime import datetime

from msgspec import Struct, field

from chalicelib.domain.errors import RuleViolation

PROCESSING, MIXING, AVAILABLE, FAILED, DELETED = "processing", "mixing", "available", "failed", "deleted"
# Captions of a replay: from the live segments, from a Transcribe job, or none yet.
TRANSCRIPT_LIVE, TRANSCRIPT_RUNNING, TRANSCRIPT_READY, TRANSCRIPT_FAILED, TRANSCRIPT_NONE = (
    "live",
    "running",
    "ready",
    "failed",
    "none",
)

# A Space (an IVS session) lasts at most 24 hours: no caption or clip starts later than that.
MAX_OFFSET_MS = 24 * 3600 * 1000


class RecordingInfo(Struct, frozen=True):
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



def consent_required(space_id: str) -> RuleViolation:
    return RuleViolation(
        f"Space {space_id} is recorded: coming on stage needs your consent; send "
        '{"recording_consent": true} to be recorded',
        code="recording_consent_required",
        details={"recording": True},
    )



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


