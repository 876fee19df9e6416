"""Identifiers: ULIDs (time-ordered, 26 Crockford base32 characters) for Spaces; random ids for
media participants."""
from __future__ import annotations

import os
import secrets
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_ulid(now_ms: int | None = None) -> str:
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_participant_id() -> str:
    """128 random bits, URL-safe, 22 characters: a valid IVS participant id (and JWT jti)."""
    return secrets.token_urlsafe(16)
