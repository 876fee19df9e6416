"""How many entries a list page holds: the `limit` query parameter every list route reads, read
by one rule. A list use case asks its page for it (`PageCursor.limit`, chalicelib/ports.py) after
its permission checks, so a refusal (401, 403, 404) comes before a bad `limit` (400)."""
from __future__ import annotations

import re

from chalicelib.domain.errors import BadRequest

DEFAULT_LIMIT, MAX_LIMIT = 20, 100
_DIGITS = re.compile(r"[0-9]{1,6}")


def page_limit(raw: str | None, default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT) -> int:
    """`limit` as given (absent or empty: the list's default), digits only, from 1 to `maximum`."""
    if raw is None or raw == "":
        return default
    if not _DIGITS.fullmatch(raw):
        raise BadRequest("limit must be a whole number", code="invalid_limit")
    value = int(raw)
    if not 1 <= value <= maximum:
        raise BadRequest(f"limit must be between 1 and {maximum}", code="invalid_limit")
    return value
