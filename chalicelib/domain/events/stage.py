"""Domain events: who came on or left the stage, and a block while live."""
from __future__ import annotations

from msgspec import Struct

from chalicelib.domain.spaces import Space


class SpeakerAdded(Struct, frozen=True):
    """A listener accepted an invitation and is on stage."""

    space: Space
    user_id: str


class SpeakerRemoved(Struct, frozen=True):
    """A speaker went back to listening. `reason`: "stepped_down", "demoted", "left" or
    "timed_out". `space` is None when the remover held only the Space's id (the presence sweep)."""

    space_id: str
    user_id: str
    reason: str
    by: str | None = None
    space: Space | None = None


class BlockedWhileLive(Struct, frozen=True):
    """A host blocked someone who is in the host's live Space: they must be removed from it."""

    space_id: str
    host_id: str
    user_id: str
