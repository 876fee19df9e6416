"""Captions: segments sent live by people on stage, and the replay's WebVTT built from them
(docs/recording.md). No AWS in here."""
from __future__ import annotations

import re
from datetime import datetime

from msgspec import Struct

from chalicelib.domain.recording import MAX_OFFSET_MS

CAPTION_MAX_TEXT = 500
CAPTION_MAX_OFFSET_MS = MAX_OFFSET_MS
# BCP 47 as the apps send it: a 2-3 letter language, then optional script / region / variant
# subtags ("en", "en-US", "zh-Hant-TW", "es-419").
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?(-[A-Za-z0-9]{5,8})*$")


class Caption(Struct, frozen=True):
    """One caption segment a person on stage sent, at its offsets in the Space."""

    space_id: str
    seq: str  # the sort key: "<start_ms, 11 digits>#<ULID>", so segments read back in time order
    user_id: str
    text: str
    language: str
    start_ms: int
    end_ms: int
    created_at: datetime

    @property
    def caption_id(self) -> str:
        return self.seq.split("#", 1)[1]


def caption_seq(start_ms: int, ulid: str) -> str:
    return f"{start_ms:011d}#{ulid}"



def is_language_tag(value: str) -> bool:
    """A BCP 47 tag such as "en", "en-US", "zh-Hant-TW" or "es-419"."""
    return _LANGUAGE.match(value) is not None



# ---------------------------------------------------------------------------------- WebVTT


def vtt_timestamp(ms: int) -> str:
    hours, rest = divmod(int(ms), 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def _cue_text(text: str) -> str:
    # WebVTT cue payloads escape &, < and > ("-->" cannot appear once ">" is escaped).
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def build_webvtt(captions: list[Caption]) -> str:
    """A WebVTT file of caption segments, in time order, one cue per segment. A cue's end is
    moved past its start when both are equal (WebVTT wants end > start)."""
    lines = ["WEBVTT", ""]
    for index, caption in enumerate(sorted(captions, key=lambda c: c.seq), start=1):
        end_ms = max(caption.end_ms, caption.start_ms + 1)
        lines += [
            str(index),
            f"{vtt_timestamp(caption.start_ms)} --> {vtt_timestamp(end_ms)}",
            f"<v {_cue_text(caption.user_id)}>{_cue_text(caption.text)}",
            "",
        ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------- the replay
