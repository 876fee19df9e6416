"""The moderation ledger on DynamoDB: entries go in with their act's transaction, pages come out.
Appeals and lifting a removal are in `appeals.py`, reports in `reports.py`; both write their
entries with `add_entry`.

There is no update or delete of an entry here, on purpose: the log is append-only
(docs/moderation.md).
"""
from __future__ import annotations

from typing import Any

from chalicelib.adapters.dynamodb.models_moderation import ModerationEntryModel
from chalicelib.adapters.dynamodb.pages import query_page
from chalicelib.domain.moderation import ModerationEntry


def add_entry(tx: Any, entry: ModerationEntry | None) -> None:
    """Put `entry` into the transaction `tx` (transactions.NamedTransaction) of the act it records.

    `attribute_not_exists` on the key: an entry is never overwritten, even by a retried request."""
    if entry is None:
        return
    tx.save(
        "ledger",
        ModerationEntryModel(
            entry.space_id,
            entry.entry_id,
            act=entry.act,
            actor_id=entry.actor_id,
            target_id=entry.target_id,
            at=entry.at,
            reason=entry.reason,
        ),
        condition=ModerationEntryModel.entry_id.does_not_exist(),
    )


def _entry(m: ModerationEntryModel) -> ModerationEntry:
    return ModerationEntry(m.space_id, m.entry_id, m.act, m.actor_id, m.target_id, m.at, m.reason)


class DynamoModerationLog:
    def for_space(self, space_id: str, *, limit: int, after: dict | None = None):
        """One page of a Space's log, oldest first: (entries, last key or None). One Query.
        Keys are plain: `{"entry_id": ...}`."""
        return query_page(ModerationEntryModel.query, "space_id", space_id, limit=limit, after=after, convert=_entry)

    def for_target(self, target_id: str, *, limit: int, after: dict | None = None):
        """One page of the acts done to `target_id`, oldest first. One Query on `by_target`.
        Keys are plain: `{"entry_id": ..., "space_id": ...}`."""
        return query_page(
            ModerationEntryModel.by_target.query, "target_id", target_id, limit=limit, after=after, convert=_entry
        )
