"""The moderation ledger on DynamoDB: entries go in with their act's transaction, pages come out;
and appeals against a removal, and lifting one.

There is no update or delete of an entry here, on purpose: the log is append-only
(docs/moderation.md).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.exceptions import PutError, UpdateError

from chalicelib.adapters.dynamodb.errors import dependency_failure, error_code
from chalicelib.adapters.dynamodb.models import ParticipantModel, UserModel
from chalicelib.adapters.dynamodb.models_moderation import AppealModel, ModerationEntryModel, ReportModel
from chalicelib.adapters.dynamodb.pages import query_page
from chalicelib.adapters.dynamodb.transactions import ConditionsFailed, transaction
from chalicelib.domain.moderation import OPEN, RESOLVED, Appeal, ModerationEntry, Report
from chalicelib.ports import Refused


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


def _appeal(m: AppealModel) -> Appeal:
    return Appeal(m.space_id, m.user_id, m.text, m.created_at)


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


def _report(m: ReportModel) -> Report:
    return Report(m.space_id, m.reporter_id, m.target, m.reason, m.text, m.created_at, m.status, m.resolution)


class DynamoReports:
    """Reports of a Space or a person in it; operators read and resolve them, and bar hosts
    (scripts/reports.py)."""

    def bar_host(self, user_id: str, entry: ModerationEntry) -> None:
        try:
            with transaction(UserModel._get_connection().connection) as tx:
                tx.update(
                    "user", UserModel(user_id), actions=[UserModel.hosting_barred_at.set(entry.at)],
                    condition=UserModel.hosting_barred_at.does_not_exist(),
                )
                add_entry(tx, entry)
        except ConditionsFailed as exc:
            raise Refused("user") from exc

    def report(self, report: Report) -> None:
        """One report per reporter and target in a Space: Refused "reported" for a second."""
        key = f"{report.target}#{report.reporter_id}"
        try:
            ReportModel(
                report.space_id, key, reporter_id=report.reporter_id, target=report.target,
                reason=report.reason, text=report.text, created_at=report.created_at,
                created_key=f"{report.created_at.isoformat()}#{report.space_id}#{key}",
                status=OPEN, open_queue=OPEN,
            ).save(condition=ReportModel.target_reporter.does_not_exist())
        except PutError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise Refused("reported") from exc
            raise dependency_failure(exc) from exc

    def open_reports(self, limit: int = 100) -> list[Report]:
        """The oldest open reports: one Query on the sparse `open_reports` index."""
        try:
            return [_report(m) for m in ReportModel.open_reports.query(OPEN, limit=limit)]
        except Exception as exc:
            raise dependency_failure(exc) from exc

    def for_space(self, space_id: str) -> list[Report]:
        try:
            return [_report(m) for m in ReportModel.query(space_id)]
        except Exception as exc:
            raise dependency_failure(exc) from exc

    def resolve(self, space_id: str, target: str, reporter_id: str, resolution: str, now: datetime) -> None:
        """Close an open report (Refused "report" if it is not open)."""
        try:
            ReportModel(space_id, f"{target}#{reporter_id}").update(
                actions=[
                    ReportModel.status.set(RESOLVED), ReportModel.open_queue.remove(),
                    ReportModel.resolution.set(resolution), ReportModel.resolved_at.set(now),
                ],
                condition=ReportModel.status == OPEN,
            )
        except UpdateError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise Refused("report") from exc
            raise dependency_failure(exc) from exc
