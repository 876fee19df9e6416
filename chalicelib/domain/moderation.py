"""The moderation ledger: what an entry says, which acts it records, and the reason's bounds.

An entry is written in the same DynamoDB transaction as the act it records (docs/moderation.md), so
the log holds exactly the acts that happened. Nothing here imports AWS.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.domain.errors import BadRequest
from chalicelib.domain.ids import new_ulid
from chalicelib.domain.text import require_clean_text

# The acts the ledger records. Wired today (written with their act): REMOVE, DEMOTE, COHOST_REMOVED,
# MUTE. The others are named so the log's readers and the docs share one list.
REMOVE = "remove"
DEMOTE = "demote"
COHOST_REMOVED = "cohost_removed"
MUTE = "mute"
ACTS = frozenset({REMOVE, DEMOTE, COHOST_REMOVED, MUTE})

MAX_REASON_CHARS = 280


@dataclass(frozen=True)
class ModerationEntry:
    """One act: `actor_id` did `act` to `target_id` in `space_id` at `at`, for `reason`."""

    space_id: str
    entry_id: str  # a ULID: entries of a Space sort by time
    act: str
    actor_id: str
    target_id: str
    at: datetime
    reason: str | None = None

    def view(self) -> dict[str, Any]:
        return {
            "entry_id": self.entry_id,
            "space_id": self.space_id,
            "act": self.act,
            "actor_id": self.actor_id,
            "target_id": self.target_id,
            "at": self.at.isoformat().replace("+00:00", "Z"),
            "reason": self.reason,
        }


def entry_for(space_id: str, act: str, actor_id: str, target_id: str, at: datetime,
              reason: str | None = None) -> ModerationEntry:
    if act not in ACTS:
        raise ValueError(f"not a moderation act: {act}")
    return ModerationEntry(
        space_id, new_ulid(int(at.timestamp() * 1000)), act, actor_id, target_id, at, reason
    )


def validate_reason(body: dict[str, Any] | None) -> str | None:
    """The optional `reason` of a moderation act's body: one line of clean text, 1 to 280 characters."""
    if not body or body.get("reason") is None:
        return None
    reason = body["reason"]
    if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON_CHARS:
        raise BadRequest(f"reason must be text of 1 to {MAX_REASON_CHARS} characters", code="invalid_reason")
    return require_clean_text(reason.strip(), "reason", code="invalid_reason")
