"""Clips: up to 30 seconds cut from a replay by its audience, living and dying with it
(docs/recording.md). No AWS in here."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from msgspec import Struct

from chalicelib.domain.errors import RuleViolation
from chalicelib.domain.recording import MAX_OFFSET_MS

CLIP_MAX_MS = 30_000
# A page of `GET /spaces/{id}/clips` when no `limit` is given (at most MAX_LIMIT, domain/paging.py).
CLIPS_PER_PAGE = 50


class Clip(Struct, frozen=True):
    """A clip of a recorded Space: its window in the replay, and the version cut from."""

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
    if start_ms > MAX_OFFSET_MS:
        raise RuleViolation("a clip starts within the Space's 24 hours", code="clip_out_of_range")


# ------------------------------------------------------------------ what the use cases answer
# (shown on the wire by chalicelib/api/recording.py)


class ServedClip(Struct, frozen=True):
    """A cut clip and the short-lived link to its audio."""

    clip: Clip
    url: str
    expires_at: datetime


class ClipPage(Struct, frozen=True):
    """A page of a Space's clips, oldest first; `next_cursor` the last clip id when more follow."""

    space_id: str
    clips: list[Clip]
    next_cursor: str | None


class ClippingChange(Struct, frozen=True):
    """Clipping turned on or off; `changed` False when it already was so."""

    space_id: str
    enabled: bool
    changed: bool
