"""Commands: what people send to a live Space's room: reactions and the pinned post (api/bodies/room.py)."""
from __future__ import annotations

from msgspec import Struct



class SendReaction(Struct, frozen=True):
    """A reaction sent to a live Space's room."""

    emoji: str


class PinPost(Struct, frozen=True):
    """A link to pin to a live Space: https, bounded, clean one-line text (domain/pinned.py)."""

    url: str
    text: str
