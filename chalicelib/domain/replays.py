"""The replay of a recorded Space: where its file is written, how long it is served, who may
withdraw from it, and what a use case hands out (docs/recording.md). No AWS in here."""
from __future__ import annotations

from datetime import datetime, timedelta

from msgspec import Struct


def available_until(ended_at: datetime | None, retention_days: int) -> datetime | None:
    """Until when a replay is served. Computed from the end on every read, so an expired replay
    is gone from the API at once (S3's lifecycle rule deletes the objects a day later)."""
    if ended_at is None:
        return None
    # Whole seconds, as the API shows it: the replay is refused from the second it names.
    return (ended_at + timedelta(days=retention_days)).replace(microsecond=0)



def withdrawal_window_open(ended_at: datetime | None, now: datetime, retention_days: int) -> bool:
    """A consent may be withdrawn while live and until the replay expires."""
    until = available_until(ended_at, retention_days)
    return until is None or now < until



def replay_files_prefix(space_id: str) -> str:
    """A Space's own prefix for its replay files: outside IVS's (`<stage id>/`)."""
    return f"replays/{space_id}"


def replay_file_key(space_id: str, version: int) -> str:
    """Where version `version` of a replay's single audio file (AAC in MP4, .m4a) is written.
    Every mix writes a new version, so a withdrawal never has to overwrite a file a URL names."""
    return f"{replay_files_prefix(space_id)}/replay-{version}.m4a"



# ------------------------------------------------------------------ what the use cases answer
# (shown on the wire by chalicelib/api/recording.py)


class Withdrawal(Struct, frozen=True):
    """A consent withdrawn: whose, in which Space, and when."""

    space_id: str
    user_id: str
    withdrawn_at: datetime


class Replay(Struct, frozen=True):
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


class ReplayDeletion(Struct, frozen=True):
    """A replay deleted by its host, and how many stored objects went with it."""

    space_id: str
    objects_deleted: int


# ------------------------------------------------------------- what the storage ports answer


class PresignedUrl(Struct, frozen=True):
    """A short-lived link to an object in the recordings bucket."""

    url: str
    expires_at: datetime


class TranscriptionStatus(Struct, frozen=True):
    """Where an Amazon Transcribe job of a replay stands."""

    state: str  # "QUEUED" | "IN_PROGRESS" | "COMPLETED" | "FAILED"
    subtitle_key: str | None = None  # the WebVTT file in the bucket, once COMPLETED
    failure: str | None = None
