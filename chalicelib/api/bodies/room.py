"""JSON bodies -> commands: a reaction and the pinned post. How a parser works:
`chalicelib/api/bodies/__init__.py`."""
from __future__ import annotations

from chalicelib.api.bodies import Body, only
from chalicelib.domain.commands.room import PinPost, SendReaction
from chalicelib.domain.errors import BadRequest
from chalicelib.domain.pinned import validate_text, validate_url
from chalicelib.domain.room_events import REACTIONS


def reaction(body: Body) -> SendReaction:
    emoji = body.get("emoji")
    if not isinstance(emoji, str) or emoji not in REACTIONS:
        raise BadRequest(f"emoji must be one of {' '.join(REACTIONS)}", code="invalid_reaction")
    return SendReaction(emoji=emoji)


def pin(body: Body) -> PinPost:
    """`PUT /spaces/{id}/pinned {"url", "text"}`: two strings (400 otherwise); https, lengths and
    clean text are the domain's rules (domain/pinned.py: 422)."""
    only(body, {"url", "text"}, hint="; a pinned post has url and text")
    url, text = body.get("url"), body.get("text")
    if not isinstance(url, str) or not isinstance(text, str):
        raise BadRequest('send {"url": "https://...", "text": "..."}', code="invalid_body")
    return PinPost(url=validate_url(url), text=validate_text(text))
