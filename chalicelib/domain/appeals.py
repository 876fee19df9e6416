"""Appeals: a removed user's one appeal against their removal from a Space, which its hosts read
and may answer by lifting the removal (docs/moderation.md). Nothing here imports AWS."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

MAX_APPEAL_CHARS = 500


@dataclass(frozen=True)
class Appeal:
    """A removed user's one appeal against their removal from a Space."""

    space_id: str
    user_id: str
    text: str
    created_at: datetime


@dataclass(frozen=True)
class AppealPage:
    """One page of a Space's appeals, by user id."""

    appeals: list[Appeal]
    next_cursor: str | None
