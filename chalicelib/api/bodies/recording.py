"""JSON bodies -> commands: a caption segment, a clip, and turning clipping on or off. How a parser
works: `chalicelib/api/bodies/__init__.py`."""
from __future__ import annotations

from chalicelib.api.bodies import Body
from chalicelib.domain.commands.recording import MakeClip, PostCaption, SetClipping
from chalicelib.domain.errors import BadRequest, RuleViolation
from chalicelib.domain.captions import CAPTION_MAX_OFFSET_MS, CAPTION_MAX_TEXT, is_language_tag
from chalicelib.domain.clips import check_clip


CAPTION_FIELDS = {"text", "language", "start_ms", "end_ms"}


def caption(body: Body) -> PostCaption:
    """A caption segment; its text collapsed to one line (WebVTT cue text must not carry a blank
    line) before its length is checked."""
    unknown = set(body) - CAPTION_FIELDS
    if unknown:
        raise BadRequest(f"unknown caption fields: {', '.join(sorted(unknown))}", code="invalid_caption")
    text, language = body.get("text"), body.get("language")
    if not isinstance(text, str) or not text.strip():
        raise BadRequest("text is required: 1 to 500 characters", code="invalid_caption")
    text = " ".join(text.split())
    if len(text) > CAPTION_MAX_TEXT:
        raise RuleViolation(f"a caption is at most {CAPTION_MAX_TEXT} characters", code="caption_too_long")
    if not isinstance(language, str) or not is_language_tag(language):
        raise BadRequest('language must be a BCP 47 tag such as "en" or "en-US"', code="invalid_language")
    start_ms, end_ms = _offset_ms(body, "start_ms"), _offset_ms(body, "end_ms")
    if end_ms < start_ms:
        raise RuleViolation("end_ms must not be before start_ms", code="caption_ends_before_start")
    if end_ms > CAPTION_MAX_OFFSET_MS:
        raise RuleViolation("captions are offsets within a Space's 24 hours", code="caption_out_of_range")
    return PostCaption(text=text, language=language, start_ms=start_ms, end_ms=end_ms)


def _offset_ms(body: Body, name: str) -> int:
    value = body.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise BadRequest(f"{name} must be a non-negative integer (milliseconds)", code="invalid_caption")
    return value


def clip(body: Body) -> MakeClip:
    """`POST /spaces/{id}/clips`: two non-negative whole milliseconds; the window's rules are the
    domain's (domain/clips.py check_clip: 422)."""
    unknown = set(body) - {"start_ms", "duration_ms"}
    if unknown:
        raise BadRequest(f"unknown clip fields: {', '.join(sorted(unknown))}", code="invalid_clip")
    values = []
    for name in ("start_ms", "duration_ms"):
        value = body.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise BadRequest(f"{name} must be a non-negative integer (milliseconds)", code="invalid_clip")
        values.append(value)
    check_clip(*values)
    return MakeClip(start_ms=values[0], duration_ms=values[1])


def clipping(body: Body) -> SetClipping:
    """`PUT /spaces/{id}/clipping {"enabled": true|false}`."""
    if set(body) - {"enabled"} or not isinstance(body.get("enabled"), bool):
        raise BadRequest('send {"enabled": true|false}', code="invalid_body")
    return SetClipping(enabled=body["enabled"])
