"""A live Space's pinned post: one https link with a short text, pinned by the host or a co-host
(X's pinned posts). Nothing here imports AWS.

The bounds keep the whole post inside one room event (IVS Chat allows 1 KB of attributes, see
domain/room_events.py): a URL of at most MAX_URL_CHARS printable ASCII characters (a browser
percent-encodes anything else), a text of at most MAX_TEXT_CHARS characters (4 bytes each at
most), and the pinner's id (64 at most) fit with room to spare.
"""
from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urlsplit

from msgspec import Struct

from chalicelib.domain.errors import RuleViolation
from chalicelib.domain.text import is_clean_text

MAX_URL_CHARS = 400
MAX_TEXT_CHARS = 120
# Printable ASCII but space, quotes, angle brackets and backslash: what a link needs, nothing a
# page could be tricked with if a client ever put it in markup.
_URL_CHARS = re.compile(r"^[!#-&(-;=?-\[\]-~]+$")


class PinnedPost(Struct, frozen=True):
    """The link a host or co-host pinned to a live Space, and who pinned it when."""

    url: str
    text: str
    pinned_by: str
    pinned_at: datetime

    def event_attributes(self) -> dict[str, str]:
        """What the room hears (`post_pinned`): the post as the Space's view shows it."""
        return {"url": self.url, "text": self.text, "by": self.pinned_by}


class PinChange(Struct, frozen=True):
    """What a pin or an unpin did: the post pinned now (None after an unpin) and, for an unpin,
    whether anything was taken down (None for a pin, which always writes)."""

    space_id: str
    pinned: PinnedPost | None
    changed: bool | None = None


def validate_url(url: str) -> str:
    """An absolute https URL with a host, no credentials, within MAX_URL_CHARS (422 otherwise)."""
    if not 1 <= len(url) <= MAX_URL_CHARS or not _URL_CHARS.match(url):
        raise RuleViolation(
            f"url must be 1 to {MAX_URL_CHARS} characters of printable ASCII with no spaces, quotes, "
            "angle brackets or backslashes (percent-encode the rest)",
            code="invalid_pinned_url",
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        parts = None
    # The scheme as written, not as urlsplit lowercases it: clients check for "https://" too.
    if parts is None or not url.startswith("https://") or not parts.hostname or "@" in parts.netloc:
        raise RuleViolation(
            "url must be an https link to a host (https://host/...), with no user name",
            code="invalid_pinned_url",
        )
    return url


def validate_text(text: str) -> str:
    """One line of clean text, 1 to MAX_TEXT_CHARS characters after trimming (422 otherwise)."""
    trimmed = text.strip()
    if not 1 <= len(trimmed) <= MAX_TEXT_CHARS or not is_clean_text(trimmed):
        raise RuleViolation(
            f"text must be one line of 1 to {MAX_TEXT_CHARS} characters with no control characters",
            code="invalid_pinned_text",
        )
    return trimmed
