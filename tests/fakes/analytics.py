"""Host analytics in memory (the AnalyticsRepository port), held to the DynamoDB adapter by
tests/integration/test_analytics_contract.py.

The stream records are Lambda's DynamoDB record shape whichever store folds them, so the fake
reads them with the adapter's own parser (`session_changes`) and keeps what the table keeps:
one session per (Space, user, start), merged the same way, and totals counted once per id.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from chalicelib.adapters.dynamodb.analytics import event_marker, session_changes
from chalicelib.domain.analytics import COUNTED, ListeningSession


class FakeAnalytics:
    def __init__(self, shards: int = 10) -> None:
        self._shards = shards
        # (space, user, start ms) -> [end ms | None, spoke]
        self.sessions_kept: dict[tuple[str, str, int], list[Any]] = {}
        self._markers: set[tuple[str, str]] = set()
        self._totals: dict[str, dict[str, int]] = {}

    def fold_participant_records(self, records: list[dict[str, Any]], retention_days: int) -> int:
        changes = session_changes(records, self._shards)
        for c in changes:
            kept = self.sessions_kept.setdefault((c.space_id, c.user_id, c.start_ms), [None, False])
            if c.end_ms is not None:
                kept[0] = c.end_ms
            kept[1] = kept[1] or c.spoke
        return len(changes)

    def sessions(self, space_id: str) -> list[ListeningSession]:
        def at(ms: int) -> datetime:
            return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)

        return [
            ListeningSession(user, at(start), at(end) if end is not None else None, spoke)
            for (space, user, start), (end, spoke) in self.sessions_kept.items()
            if space == space_id
        ]

    def count_event(
        self, space_id: str, event_id: str, user_id: str, expires_at: datetime, amounts: dict[str, int]
    ) -> bool:
        marker = (space_id, event_marker(amounts, event_id))
        if marker in self._markers:
            return False
        self._markers.add(marker)
        totals = self._totals.setdefault(space_id, dict.fromkeys(COUNTED, 0))
        for kind, amount in amounts.items():
            totals[kind] += amount
        return True

    def totals(self, space_id: str) -> dict[str, int]:
        return dict(self._totals.get(space_id, dict.fromkeys(COUNTED, 0)))
