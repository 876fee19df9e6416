"""A strict reader of WebVTT files, written from the W3C WebVTT spec (sections 4.1 and 6), so the
tests check the app's captions as a player would read them, not with the code that wrote them.

Checked: the "WEBVTT" signature (optionally followed by a space or tab and text) on the first
line, blocks separated by blank lines, each cue's timing line `start --> end` with timestamps
`[hh:]mm:ss.ttt` (minutes and seconds under 60), end after start, and a non-empty payload
containing no "-->". Cue payload entities (&amp; &lt; &gt;) are unescaped and a voice span
`<v name>` is read into `voice`.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass

_TIMESTAMP = r"(?:(\d{2,}):)?([0-5]\d):([0-5]\d)\.(\d{3})"
_TIMING = re.compile(rf"^{_TIMESTAMP}[ \t]+-->[ \t]+{_TIMESTAMP}(?:[ \t].*)?$")
_VOICE = re.compile(r"^<v(?:\.[^ \t>]+)*[ \t]+([^>]+)>(.*?)(?:</v>)?$", re.S)


class WebVTTError(ValueError):
    pass


@dataclass(frozen=True)
class Cue:
    identifier: str | None
    start_ms: int
    end_ms: int
    text: str
    voice: str | None


def _ms(hours, minutes, seconds, millis) -> int:
    return ((int(hours or 0) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + int(millis)


def parse(document: str) -> list[Cue]:
    if document.startswith("\ufeff"):
        document = document[1:]
    lines = document.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if not re.match(r"^WEBVTT(?:[ \t].*)?$", lines[0]):
        raise WebVTTError(f"first line must be the WEBVTT signature, got {lines[0]!r}")
    blocks, current = [], []
    for line in lines[1:]:
        if line.strip() == "":
            if current:
                blocks.append(current)
                current = []
        else:
            current.append(line)
    if current:
        blocks.append(current)
    cues = []
    for block in blocks:
        if block[0].startswith(("NOTE", "STYLE", "REGION")):
            continue
        identifier = None
        if "-->" not in block[0]:
            identifier, block = block[0], block[1:]
        if not block:
            raise WebVTTError(f"cue {identifier!r} has no timing line")
        match = _TIMING.match(block[0])
        if not match:
            raise WebVTTError(f"malformed timing line {block[0]!r}")
        start, end = _ms(*match.groups()[:4]), _ms(*match.groups()[4:])
        if end <= start:
            raise WebVTTError(f"cue ends at or before it starts: {block[0]!r}")
        payload = "\n".join(block[1:])
        if not payload or "-->" in payload:
            raise WebVTTError(f"cue payload empty or containing '-->': {payload!r}")
        voice = None
        spoken = _VOICE.match(payload)
        if spoken:
            voice, payload = spoken.group(1), spoken.group(2)
        cues.append(Cue(identifier, start, end, html.unescape(payload), voice and html.unescape(voice)))
    return cues
