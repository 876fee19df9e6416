"""Reports on DynamoDB: one per reporter and target in a Space, the operators' queue of open ones
(a sparse index), resolving them, and barring a host with its ledger entry (scripts/reports.py)."""
from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import PutError, UpdateError

from chalicelib.adapters.dynamodb.errors import dependency_failure, error_code
from chalicelib.adapters.dynamodb.models import UserModel
from chalicelib.adapters.dynamodb.models_moderation import ReportModel
from chalicelib.adapters.dynamodb.moderation import add_entry
from chalicelib.adapters.dynamodb.transactions import ConditionsFailed, transaction
from chalicelib.domain.moderation import ModerationEntry
from chalicelib.domain.reports import OPEN, RESOLVED, Report
from chalicelib.ports import Refused


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
