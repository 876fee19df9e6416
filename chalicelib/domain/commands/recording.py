"""Commands: captions and clips of a recorded Space (api/bodies/recording.py)."""
from __future__ import annotations

from msgspec import Struct



class PostCaption(Struct, frozen=True):
    """A caption segment sent by a person on stage."""

    text: str  # one line, at most CAPTION_MAX_TEXT characters (domain/captions.py)
    language: str  # a BCP 47 tag
    start_ms: int  # offsets within the Space, start_ms <= end_ms
    end_ms: int


class MakeClip(Struct, frozen=True):
    """A clip to make of a recorded Space."""

    start_ms: int  # where the clip starts in the replay
    duration_ms: int  # 1 ms to 30 s (domain/clips.py CLIP_MAX_MS)


class SetClipping(Struct, frozen=True):
    """The host turning clipping on or off."""

    enabled: bool
