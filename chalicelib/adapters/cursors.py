"""Page cursors: opaque to the client, authenticated by an HMAC, every value checked on the way in.

A cursor is `<payload>.<tag>`, both base64url: the payload is the JSON object of the page's last
key as plain values (strings and whole numbers, never DynamoDB attribute values), the tag an
HMAC-SHA256 over the list it belongs to (`scope`: caller, route and filters) and the payload. A
cursor is thus good only for the list, and the caller, that received it; an edited rank, id or
filter fails the tag before any value reaches a database.

Keys rotate without breaking cursors in flight: `keys` is newest first; sealing uses the newest,
opening accepts any. Retire a key once no cursor signed with it can still be in use (a client
holds a cursor for minutes, not days). The keys come from the stage's secrets
(chalicelib/bootstrap.py: a local file made by scripts/keys.py, Secrets Manager in AWS).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Sequence

from chalicelib.domain.errors import BadRequest
from chalicelib.domain.text import is_clean_text

MAX_CURSOR_CHARS = 2048
MAX_VALUE_CHARS = 1024  # DynamoDB's limit on a key attribute, in bytes, is the bound that matters
MAX_WHOLE = 2**53  # JSON numbers every client reads exactly; ranks and sequence numbers fit
_NAME = re.compile(r"^[a-z_]{1,32}$")
_TAG_BYTES = 32


class CursorCodec:
    def __init__(self, keys: Sequence[bytes]):
        keys = [k for k in keys if k]
        if not keys or any(len(k) < 16 for k in keys):
            raise ValueError("cursor signing needs at least one key of 16 bytes or more")
        self._keys = list(keys)

    def seal(self, scope: str, values: dict | None) -> str | None:
        """The opaque cursor for `values` (the page's last key) on the list `scope`; None for none."""
        if values is None:
            return None
        if not _valid(values):
            raise ValueError(f"not a cursor's values: {values!r}")
        payload = _b64(json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode())
        return f"{payload}.{_b64(_tag(self._keys[0], scope, payload))}"

    def open(self, scope: str, cursor: str | None) -> dict | None:
        """The values a cursor of `scope` carries, or BadRequest `invalid_cursor`. No cursor, None."""
        if cursor in (None, ""):
            return None
        if not isinstance(cursor, str) or len(cursor) > MAX_CURSOR_CHARS or cursor.count(".") != 1:
            raise _invalid()
        payload, tag = cursor.split(".")
        try:
            given = _unb64(tag)
        except (binascii.Error, ValueError) as exc:
            raise _invalid() from exc
        if not any(hmac.compare_digest(_tag(key, scope, payload), given) for key in self._keys):
            raise _invalid()
        try:
            values = json.loads(_unb64(payload), parse_float=_no_number, parse_constant=_no_number)
        except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise _invalid() from exc
        # Signed by us, yet checked as if it were not: a key leaked or a bug in a page's mark must
        # not put inf, nan, a huge rank or an empty id in front of the database.
        if not _valid(values):
            raise _invalid()
        return values


def _valid(values) -> bool:
    if not isinstance(values, dict) or not 1 <= len(values) <= 8:
        return False
    for name, value in values.items():
        if not isinstance(name, str) or not _NAME.match(name):
            return False
        if isinstance(value, bool):
            return False
        if isinstance(value, int):
            if not -MAX_WHOLE <= value <= MAX_WHOLE:
                return False
        elif isinstance(value, str):
            if not value or len(value.encode("utf-8", "surrogatepass")) > MAX_VALUE_CHARS or not is_clean_text(value):
                return False
        else:
            return False
    return True


def _no_number(text: str):
    raise ValueError(f"a cursor holds whole numbers only, not {text}")


def _invalid() -> BadRequest:
    return BadRequest("cursor is not one this list returned", code="invalid_cursor")


def _tag(key: bytes, scope: str, payload: str) -> bytes:
    return hmac.new(key, f"{scope}\n{payload}".encode("utf-8", "surrogatepass"), hashlib.sha256).digest()[:_TAG_BYTES]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
