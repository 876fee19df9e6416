"""Domain events: a Space created, edited, started, ended or canceled, and the live counts the rank job summed."""
from __future__ import annotations

from msgspec import Struct

from chalicelib.domain.spaces import OverflowInfo, Space


class SpaceCreated(Struct, frozen=True):
    """A Space was written (scheduled, or live at once: then a SpaceStarted follows)."""

    space: Space
    by: str


class SpaceEdited(Struct, frozen=True):
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


class SpaceStarted(Struct, frozen=True):
    """A Space went live. `from_schedule`: it was scheduled before (its reminder subscribers are
    told it is live now); False for a Space created live."""

    space: Space
    by: str
    from_schedule: bool


class SpaceEnded(Struct, frozen=True):
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


class SpaceCanceled(Struct, frozen=True):
    """A scheduled Space was canceled (or a cancel was repeated: the reactions are idempotent)."""

    space: Space
    by: str


class LiveCountsRefreshed(Struct, frozen=True):
    """The rank job summed every live Space's participant count. `counts`: Space id -> count;
    `overflowing`: the Spaces the live list flags as having an overflow audience."""

    counts: dict[str, int]
    overflowing: frozenset[str]
