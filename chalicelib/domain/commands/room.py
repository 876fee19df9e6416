"""Commands: what people send to a live Space's room: reactions and the pinned post (api/bodies/room.py)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SendReaction:
    """A reaction sent to a live Space's room."""

    emoji: str


@dataclass(frozen=True)
class PinPost:
    """A link to pin to a live Space: https, bounded, clean one-line text (domain/pinned.py)."""

    url: str
    text: str
