"""Appeals: a removed user's one appeal against their removal from a Space, which its hosts read
and may answer by lifting the removal (docs/moderation.md). Nothing here imports AWS."""
from __future__ import annotations

from datetime import datetime

from msgspec import Struct

MAX_APPEAL_CHARS = 500


class Appeal(Struct, frozen=True):
    """A removed user's one appeal against their removal from a Space."""

    space_id: str
    user_id: str
    text: str
    created_at: datetime


class AppealPage(Struct, frozen=True):
    """One page of a Space's appeals, by user id."""

    appeals: list[Appeal]
    next_cursor: str | None
