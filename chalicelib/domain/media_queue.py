"""The media queue (docs/capacity.md): IVS control-plane calls that can wait, queued so requests
never compete with them for IVS's 5 calls a second. No AWS in here."""
from __future__ import annotations

from typing import Any

from msgspec import Struct


class QueuedCall(Struct, frozen=True):
    """An IVS call waiting in the media queue (docs/capacity.md)."""

    seq: str
    operation: str
    args: list[Any]
    attempts: int
    enqueued_ms: int
