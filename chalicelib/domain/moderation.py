"""The moderation ledger: what an entry says, which acts it records, and the reason's bounds.

An entry is written in the same DynamoDB transaction as the act it records (docs/moderation.md), so
the log holds exactly the acts that happened. Nothing here imports AWS. Appeals against a removal
are in `domain/appeals.py`, reports of Spaces and people in `domain/reports.py`.
"""
from __future__ import annotations

from datetime import datetime

from msgspec import Struct

from chalicelib.domain.ids import new_ulid

# The acts the ledger records, each written with its act (docs/moderation.md lists what is not yet).
REMOVE = "remove"
DEMOTE = "demote"
COHOST_REMOVED = "cohost_removed"
MUTE = "mute"
LIFT = "lift_removal"
OPERATOR_END = "operator_end"  # an operator ended the Space; the target is its host
BAR_HOST = "bar_host"  # an operator barred the target from hosting (logged in the reported Space)
OPERATOR = "operator"  # the actor of operators' acts (they act through scripts/reports.py)
INVITE = "invite"  # a moderator invited a listener who had not raised a hand
APPROVE = "approve"  # a moderator answered a raised hand (the user is invited)
COHOST_ADDED = "cohost_added"
BLOCK = "block"  # the host blocked the target while this Space was live
# Acts on the Space itself rather than on a person: their target is the Space's id (a user's own
# `GET /me/moderation` never lists them, and they do not crowd one index key).
END = "end"  # the host ended their own Space
CLIPPING_ON = "clipping_on"
CLIPPING_OFF = "clipping_off"
REPLAY_DELETED = "replay_deleted"
PIN = "pin"  # a moderator pinned a post (or replaced the pinned one)
UNPIN = "unpin"
ACTS = frozenset({
    REMOVE, DEMOTE, COHOST_REMOVED, MUTE, LIFT, OPERATOR_END, BAR_HOST,
    INVITE, APPROVE, COHOST_ADDED, BLOCK, END, CLIPPING_ON, CLIPPING_OFF, REPLAY_DELETED, PIN, UNPIN,
})

MAX_REASON_CHARS = 280


class ModerationEntry(Struct, frozen=True):
    """One act: `actor_id` did `act` to `target_id` in `space_id` at `at`, for `reason`."""

    space_id: str
    entry_id: str  # a ULID: entries of a Space sort by time
    act: str
    actor_id: str
    target_id: str
    at: datetime
    reason: str | None = None


class LedgerPage(Struct, frozen=True):
    """One page of the ledger (a Space's, or the acts done to one user), oldest first."""

    entries: list[ModerationEntry]
    next_cursor: str | None


def space_entry(space_id: str, act: str, actor_id: str, at: datetime) -> ModerationEntry:
    """The entry of an act on the Space itself (end, clipping, replay, pinned post)."""
    return entry_for(space_id, act, actor_id, space_id, at)


def entry_for(space_id: str, act: str, actor_id: str, target_id: str, at: datetime,
              reason: str | None = None) -> ModerationEntry:
    if act not in ACTS:
        raise ValueError(f"not a moderation act: {act}")
    return ModerationEntry(
        space_id, new_ulid(int(at.timestamp() * 1000)), act, actor_id, target_id, at, reason
    )
