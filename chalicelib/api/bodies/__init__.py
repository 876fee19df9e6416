"""JSON bodies -> the use cases' commands (chalicelib/domain/commands/): every body field's name,
kind and error code, as openapi.yaml documents them. Each parser takes the JSON object
`http.json_body` read and returns its command, or raises the documented 400 (422 for a value of
the right kind against a rule). Routes hand these to `http.command`, which judges the caller
first.

One module per area (spaces, stage, people, room, recording, commerce, moderation), each with the
commands of its area: routes import theirs lazily (`lazy.bodies("stage")`, on their first body),
so a cold start pays for no command class and a join's first request only for the stage's. The
helpers every area shares are here.
"""
from __future__ import annotations

from typing import Any

from chalicelib.domain.errors import BadRequest

Body = dict[str, Any]


def flag(body: Body, name: str, *, default: bool = False) -> bool:
    """A true / false field; absent is `default`, anything else (null too) a 400."""
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise BadRequest(f"{name} must be true or false", code=f"invalid_{name}")
    return value


def only(body: Body, fields: set[str], hint: str = "") -> None:
    unknown = set(body) - fields
    if unknown:
        raise BadRequest(f"unknown fields: {', '.join(sorted(unknown))}{hint}", code="invalid_body")
