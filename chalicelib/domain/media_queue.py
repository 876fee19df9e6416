"""The media queue (docs/capacity.md): IVS control-plane calls that can wait, queued so requests
never compete with them for IVS's 5 calls a second. No AWS in here."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class QueuedCall:
    """An IVS call waiting in the media queue (docs/capacity.md)."""

    seq: str
    operation: str
    args: list[Any]
    attempts: int
    enqueued_ms: int
