"""Commands: moderation acts' reasons, appeals and reports (api/bodies/moderation.py)."""
from __future__ import annotations

from msgspec import Struct



class GiveReason(Struct, frozen=True):
    """A moderation act's optional body: why (kept in the moderation ledger)."""

    reason: str | None = None


class AppealRemoval(Struct, frozen=True):
    """A removed user's appeal against their removal."""

    text: str  # 1 to 500 characters, newlines allowed


class ReportAbuse(Struct, frozen=True):
    """A report of a Space, or of a person in it."""

    reason: str  # one of domain/moderation.py REPORT_REASONS
    text: str | None = None
    user_id: str | None = None  # None: the Space itself is reported
