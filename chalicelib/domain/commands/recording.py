"""Commands: captions and clips of a recorded Space (api/bodies/recording.py)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PostCaption:
    text: str  # one line, at most CAPTION_MAX_TEXT characters (domain/captions.py)
    language: str  # a BCP 47 tag
    start_ms: int  # offsets within the Space, start_ms <= end_ms
    end_ms: int


@dataclass(frozen=True)
class MakeClip:
    start_ms: int  # where the clip starts in the replay
    duration_ms: int  # 1 ms to 30 s (domain/clips.py CLIP_MAX_MS)


@dataclass(frozen=True)
class SetClipping:
    enabled: bool
