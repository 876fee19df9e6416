"""Appeals on DynamoDB: a removed user's one appeal, and the host lifting a removal with its
ledger entry in the same transaction (docs/moderation.md)."""
from __future__ import annotations

from typing import Any


from chalicelib.adapters.dynamodb.models import ParticipantModel
from chalicelib.adapters.dynamodb.models_moderation import AppealModel
from chalicelib.adapters.dynamodb.moderation import add_entry
from chalicelib.adapters.dynamodb.pages import query_page
from chalicelib.adapters.dynamodb.transactions import ConditionsFailed, transaction
from chalicelib.domain.appeals import Appeal
from chalicelib.domain.moderation import ModerationEntry
from chalicelib.ports import Refused


def _appeal(m: AppealModel) -> Appeal:
    return Appeal(m.space_id, m.user_id, m.text, m.created_at)


class DynamoAppeals:
    """Removed users' appeals, and the host lifting a removal (with its ledger entry)."""

    def __init__(self, connection: Any = None) -> None:
        self._connection = connection if connection is not None else ParticipantModel._get_connection().connection

    def appeal(self, appeal: Appeal) -> None:
        """Put the appeal on condition it is the user's first for this Space (Refused "appealed")
        and they are still removed (Refused "participant"), in one transaction."""
        try:
            with transaction(self._connection) as tx:
                tx.check(
                    "participant", ParticipantModel, ParticipantModel.key_for(appeal.space_id, appeal.user_id),
                    condition=ParticipantModel.removed_at.exists(),
                )
                tx.save(
                    "appealed",
                    AppealModel(appeal.space_id, appeal.user_id, text=appeal.text, created_at=appeal.created_at),
                    condition=AppealModel.user_id.does_not_exist(),
                )
        except ConditionsFailed as exc:
            raise Refused("appealed" if "appealed" in exc else "participant") from exc

    def for_space(self, space_id: str, *, limit: int, after: dict | None = None):
        """One page of a Space's appeals by user id: (appeals, last key or None). One Query."""
        return query_page(AppealModel.query, "space_id", space_id, limit=limit, after=after, convert=_appeal)

    def lift_removal(self, space_id: str, user_id: str, entry: ModerationEntry) -> None:
        """Let a removed user join again: `removed_at` goes (every join's condition reads it),
        with the ledger entry, in one transaction. Refused "participant" if they are not removed."""
        try:
            with transaction(self._connection) as tx:
                tx.update(
                    "participant",
                    ParticipantModel(ParticipantModel.key_for(space_id, user_id)),
                    actions=[ParticipantModel.removed_at.remove(), ParticipantModel.removed_by.remove()],
                    condition=ParticipantModel.removed_at.exists(),
                )
                add_entry(tx, entry)
        except ConditionsFailed as exc:
            raise Refused("participant") from exc
