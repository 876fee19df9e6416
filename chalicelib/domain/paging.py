"""How many entries a list page holds: the `limit` query parameter every list route reads."""
from __future__ import annotations

from chalicelib.domain.errors import BadRequest

DEFAULT_LIMIT, MAX_LIMIT = 20, 100


def page_limit(raw: str | int | None) -> int:
    """`limit` as given (absent or empty: the default), a whole number from 1 to MAX_LIMIT."""
    if raw in (None, ""):
        return DEFAULT_LIMIT
    try:
        value = int(raw)
    except (TypeError, ValueError) as exc:
        raise BadRequest("limit must be a whole number", code="invalid_limit") from exc
    if not 1 <= value <= MAX_LIMIT:
        raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}", code="invalid_limit")
    return value
