"""The moderation ledger's reads, appeals and lifting a removal (docs/moderation.md). No route
writes, edits or deletes a ledger entry: acts write their own. The answers' shapes are here too
(a removal's answer, sent by api/stage.py, with them)."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.api.http import command, current_user_id, endpoint
from chalicelib.api.pages import RequestPage
from chalicelib.domain.spaces import validate_space_id
from chalicelib.lazy import bodies, service

if TYPE_CHECKING:  # the answers' types only
    from chalicelib.domain.appeals import Appeal, AppealPage
    from chalicelib.domain.moderation import LedgerPage, ModerationEntry
    from chalicelib.domain.reports import Report

moderation = service("moderation")
body = bodies("moderation")

bp = Blueprint(__name__)


@bp.route("/spaces/{space_id}/moderation-log", methods=["GET"])
@endpoint()
def space_log(space_id):
    request = bp.current_request
    return ledger_page_view(moderation.space_log(
        bootstrap.deps(), current_user_id(request), validate_space_id(space_id), RequestPage(request),
    ))


@bp.route("/me/moderation", methods=["GET"])
@endpoint()
def my_moderation():
    request = bp.current_request
    return ledger_page_view(moderation.my_moderation(
        bootstrap.deps(), current_user_id(request), RequestPage(request)
    ))


@bp.route("/spaces/{space_id}/appeal", methods=["POST"])
@endpoint(status=201)
def appeal(space_id):
    request = bp.current_request
    user_id, space_id = current_user_id(request), validate_space_id(space_id)
    deps = bootstrap.deps()
    made = command(request, body.appeal, authorize=lambda: moderation.check_may_appeal(deps, user_id, space_id))
    return appeal_view(moderation.appeal(deps, user_id, space_id, made))


@bp.route("/spaces/{space_id}/appeals", methods=["GET"])
@endpoint()
def appeals(space_id):
    request = bp.current_request
    return appeal_page_view(moderation.appeals(
        bootstrap.deps(), current_user_id(request), validate_space_id(space_id), RequestPage(request),
    ))


@bp.route("/spaces/{space_id}/removals/{user_id}/lift", methods=["POST"])
@endpoint()
def lift_removal(space_id, user_id):
    # Optional body: {"reason": "..."}, kept in the moderation ledger.
    request = bp.current_request
    actor, space_id = current_user_id(request), validate_space_id(space_id)
    deps = bootstrap.deps()
    why = command(request, body.reason, authorize=lambda: moderation.check_may_lift(deps, actor, space_id), required=False)
    lifted = moderation.lift_removal(deps, actor, space_id, user_id, why)
    return removed_view(lifted.space_id, lifted.target_id, removed=False)

@bp.route("/spaces/{space_id}/reports", methods=["POST"])
@endpoint(status=201)
def report(space_id):
    request = bp.current_request
    user_id, space_id = current_user_id(request), validate_space_id(space_id)
    deps = bootstrap.deps()
    made = command(request, body.report, authorize=lambda: moderation.check_may_report(deps, user_id, space_id))
    return report_view(moderation.report(deps, user_id, space_id, made))


def _at(when: datetime) -> str:
    """The ledger's times as they were always sent: ISO 8601 with the microseconds kept."""
    return when.isoformat().replace("+00:00", "Z")


def entry_view(entry: ModerationEntry) -> dict[str, Any]:
    return {
        "entry_id": entry.entry_id,
        "space_id": entry.space_id,
        "act": entry.act,
        "actor_id": entry.actor_id,
        "target_id": entry.target_id,
        "at": _at(entry.at),
        "reason": entry.reason,
    }


def ledger_page_view(page: LedgerPage) -> dict[str, Any]:
    return {"entries": [entry_view(e) for e in page.entries], "next_cursor": page.next_cursor}


def appeal_view(appeal: Appeal) -> dict[str, Any]:
    return {
        "space_id": appeal.space_id,
        "user_id": appeal.user_id,
        "text": appeal.text,
        "created_at": _at(appeal.created_at),
    }


def appeal_page_view(page: AppealPage) -> dict[str, Any]:
    return {"appeals": [appeal_view(a) for a in page.appeals], "next_cursor": page.next_cursor}


def report_view(report: Report) -> dict[str, Any]:
    """A report as filed (201) and as operators list it (scripts/reports.py adds the resolution)."""
    return {
        "space_id": report.space_id,
        "reporter_id": report.reporter_id,
        "target": report.target,
        "reason": report.reason,
        "text": report.text,
        "created_at": _at(report.created_at),
        "status": report.status,
    }


def removed_view(space_id: str, user_id: str, removed: bool = True) -> dict[str, Any]:
    """A removal's answer (POST .../participants/{user_id}/remove), and its lift's (removed false)."""
    return {"space_id": space_id, "user_id": user_id, "removed": removed}
