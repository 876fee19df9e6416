"""Reports of a Space or of a person in it, which operators read and resolve (docs/moderation.md,
scripts/reports.py). Nothing here imports AWS."""
from __future__ import annotations

from datetime import datetime

from msgspec import Struct

REPORT_REASONS = ("spam", "harassment", "hate", "violence", "sexual_content", "misinformation", "other")
MAX_REPORT_CHARS = 500
SPACE_TARGET = "space"  # a report of the Space itself; otherwise the target is a user id
OPEN, RESOLVED = "open", "resolved"


class Report(Struct, frozen=True):
    """One report of a Space or of a person in it, and how an operator resolved it."""

    space_id: str
    reporter_id: str
    target: str  # SPACE_TARGET or the reported user's id
    reason: str
    text: str | None
    created_at: datetime
    status: str = OPEN
    resolution: str | None = None
