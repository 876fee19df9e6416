"""The bounds every input of the API is held to, in one place (openapi.yaml documents them).

- Text: Unicode scalar values only (no lone surrogates, which strict JSON decoders on phones
  reject), no control characters but a newline where a field allows several lines, no
  noncharacters. Every string of every JSON body (keys too) is held to the multi-line rule here;
  single-line fields (titles, ids, query strings) to the stricter one by their validators.
- JSON bodies: at most MAX_BODY_BYTES, nested at most MAX_BODY_DEPTH deep (checked before
  parsing, so a body nested 100,000 levels costs a scan, not a RecursionError).
- Query strings: each value at most MAX_QUERY_VALUE_CHARS (room for a cursor), single-line text.
  Title search (`q=`) is shorter still: MAX_SEARCH_CHARS, which keeps its DynamoDB key far from
  the 1,024-byte limit.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
import re

from chalicelib.domain.errors import BadRequest

MAX_BODY_BYTES = 64 * 1024
MAX_BODY_DEPTH = 16
MAX_QUERY_VALUE_CHARS = 2048
MAX_SEARCH_CHARS = 100

# Lone surrogates, C0/C1 controls and DEL, the noncharacters U+FDD0..U+FDEF and U+FFFE/U+FFFF.
# A multi-line field allows \n (U+000A) and nothing else of the C0 range.
_OTHERS = "\\ud800-\\udfff\\x7f-\\x9f\\ufdd0-\\ufdef\\ufffe\\uffff"
_SINGLE_LINE = re.compile(f"[\\x00-\\x1f{_OTHERS}]")
_MULTI_LINE = re.compile(f"[\\x00-\\x09\\x0b-\\x1f{_OTHERS}]")


def is_clean_text(value: str, *, multiline: bool = False) -> bool:
    """True when `value` is valid Unicode text with no control character (but `\\n` if multiline)."""
    return (_MULTI_LINE if multiline else _SINGLE_LINE).search(value) is None


def require_clean_text(value: str, field: str, *, code: str, multiline: bool = False) -> str:
    if not is_clean_text(value, multiline=multiline):
        allowed = " (newlines allowed)" if multiline else ""
        raise BadRequest(
            f"{field} must be valid Unicode text with no control characters{allowed}", code=code
        )
    return value


def parse_json_body(raw: bytes | str) -> object:
    """A request body parsed as JSON within the bounds above, or BadRequest saying which."""
    size = len(raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw)
    if size > MAX_BODY_BYTES:
        raise BadRequest(f"the body is over {MAX_BODY_BYTES} bytes", code="body_too_large")
    text = raw if isinstance(raw, str) else raw.decode("utf-8")  # UnicodeDecodeError: the caller's 400
    if _depth(text) > MAX_BODY_DEPTH:
        raise BadRequest(f"the body nests deeper than {MAX_BODY_DEPTH} levels", code="body_too_deep")
    body = json.loads(text)
    if not all(is_clean_text(s, multiline=True) for s in _strings(body)):
        raise BadRequest(
            "every string in the body must be valid Unicode text with no control characters but newlines",
            code="invalid_text",
        )
    return body


def check_query(params: dict[str, str] | None) -> None:
    """Every query string value within the bounds above."""
    for name, value in (params or {}).items():
        if len(name) > 64 or not is_clean_text(name) or len(value) > MAX_QUERY_VALUE_CHARS or not is_clean_text(value):
            raise BadRequest(
                f"query parameter {name[:64]!r} must be at most {MAX_QUERY_VALUE_CHARS} characters of text "
                "with no control characters",
                code="invalid_query_parameter",
            )


def _depth(text: str) -> int:
    """How deep the JSON text's arrays and objects nest (strings skipped), without parsing it."""
    deepest = depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _strings(value: object) -> Iterator[str]:
    """Every string in a parsed JSON value, object keys included (depth is already bounded)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
