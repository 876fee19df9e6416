"""Domain events: what happened to a Space, told after the write that made it happen committed.

A use case publishes one (`deps.publish(SpaceEnded(...))`) and the dispatcher
(chalicelib/services/dispatch.py) hands it to every reaction registered for its type: recording,
room events, overflow, reminders, refunds, media release. The use case does not know who
reacts, and the reactions do not import the use case.

Plain frozen dataclasses with no AWS knowledge: the values a reaction needs, nothing more.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chalicelib.domain.spaces import OverflowInfo, Space


@dataclass(frozen=True)
class SpaceCreated:
    """A Space was written (scheduled, or live at once: then a SpaceStarted follows)."""

    space: Space
    by: str


@dataclass(frozen=True)
class SpaceEdited:
    """The host edited a Space: `space` as read before, `edited` as written. `start_moved`: the
    edit named a scheduled start (its schedules are put again, even at the same time)."""

    space: Space
    edited: Space
    by: str
    start_moved: bool

    @property
    def changed_details(self) -> list[str]:
        """The details a room hears changed: title, topics."""
        return [name for name in ("title", "topics") if getattr(self.edited, name) != getattr(self.space, name)]


@dataclass(frozen=True)
class SpaceStarted:
    """A Space went live. `from_schedule`: it was scheduled before (its reminder subscribers are
    told it is live now); False for a Space created live."""

    space: Space
    by: str
    from_schedule: bool


@dataclass(frozen=True)
class SpaceEnded:
    """A live Space ended. `space` is as read before the end (live, with its stage, room and
    recording); `ended` as read after it (None if that read failed): an overflow started while
    the end ran is on it."""

    space: Space
    ended: Space | None
    by: str

    @property
    def overflow(self) -> OverflowInfo | None:
        """The overflow to release: the latest one known."""
        return (self.ended and self.ended.overflow) or self.space.overflow


@dataclass(frozen=True)
class SpaceCanceled:
    """A scheduled Space was canceled (or a cancel was repeated: the reactions are idempotent)."""

    space: Space
    by: str


@dataclass(frozen=True)
class SpeakerAdded:
    """A listener accepted an invitation and is on stage."""

    space: Space
    user_id: str


@dataclass(frozen=True)
class SpeakerRemoved:
    """A speaker went back to listening. `reason`: "stepped_down", "demoted", "left" or
    "timed_out". `space` is None when the remover held only the Space's id (the presence sweep)."""

    space_id: str
    user_id: str
    reason: str
    by: str | None = None
    space: Space | None = None


@dataclass(frozen=True)
class BlockedWhileLive:
    """A host blocked someone who is in the host's live Space: they must be removed from it."""

    space_id: str
    host_id: str
    user_id: str


@dataclass(frozen=True)
class LiveCountsRefreshed:
    """The rank job summed every live Space's participant count. `counts`: Space id -> count;
    `overflowing`: the Spaces the live list flags as having an overflow audience."""

    counts: dict[str, int]
    overflowing: frozenset[str]


EVENT_TYPES: tuple[type, ...] = (
    SpaceCreated,
    SpaceEdited,
    SpaceStarted,
    SpaceEnded,
    SpaceCanceled,
    SpeakerAdded,
    SpeakerRemoved,
    BlockedWhileLive,
    LiveCountsRefreshed,
)


# ---------------------------------------------------------------- what host analytics count
# (docs/analytics.md). Each carries an `event_id`, so a reaction counting it twice (a retried
# dispatch) counts it once.


@dataclass(frozen=True)
class ReactionSent:
    """A reaction went out to a live Space's room."""

    space_id: str
    user_id: str
    event_id: str
    at: datetime


@dataclass(frozen=True)
class ReplayPlayed:
    """A replay's media URL was handed to someone of its audience (one play)."""

    space_id: str
    user_id: str
    event_id: str
    at: datetime


@dataclass(frozen=True)
class ClipMade:
    """Someone made a clip of a Space (`event_id` is the clip's id)."""

    space_id: str
    user_id: str
    event_id: str
    at: datetime


@dataclass(frozen=True)
class SubscriptionPaid:
    """A subscription's first payment succeeded (`event_id` is the subscription's id); host
    analytics credit it to the subscriber-only Space the creator is live in, if any."""

    creator_id: str
    subscriber_id: str
    event_id: str
    price_cents: int
    currency: str
    at: datetime


EVENT_TYPES = EVENT_TYPES + (ReactionSent, ReplayPlayed, ClipMade, SubscriptionPaid)
