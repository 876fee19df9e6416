"""The moderation ledger's reads, appeals and lifting a removal (docs/moderation.md). Entries are
written by the acts themselves, in the same transaction (services/stage_moderation.py, and `lift_removal`
here); nothing edits or deletes one."""
from __future__ import annotations

from chalicelib.domain.errors import BadRequest, Conflict, Forbidden
from chalicelib.domain.appeals import Appeal, AppealPage
from chalicelib.domain.moderation import (
    BAR_HOST,
    LIFT,
    OPERATOR,
    OPERATOR_END,
    LedgerPage,
    ModerationEntry,
    entry_for,
)
from chalicelib.domain.reports import SPACE_TARGET, Report
from chalicelib.domain.permissions import require_can_moderate, require_creator, require_moderator
from chalicelib.domain.spaces import Space
from chalicelib.domain.users import validate_user_id
from chalicelib.domain.commands.moderation import AppealRemoval, GiveReason, ReportAbuse
from chalicelib.ports import FIRST_PAGE, PageCursor, Refused
from chalicelib.services.context import Deps


def check_may_remove(deps: Deps, user_id: str, space_id: str, target: str) -> None:
    """The removal's permission alone: a malformed body is 400 only for a caller who may remove."""
    space = deps.spaces.get(space_id, with_count=False)
    require_can_moderate(space, user_id, target, "remove")


def space_log(deps: Deps, user_id: str, space_id: str, page: PageCursor = FIRST_PAGE) -> LedgerPage:
    """`GET /spaces/{id}/moderation-log`: the Space's acts, oldest first, for its host and co-hosts."""
    space = deps.spaces.get(space_id, with_count=False)
    require_moderator(space, user_id, "read this Space's moderation log")
    limit = page.limit()
    entries, last = deps.moderation_log.for_space(space_id, limit=limit, after=page.after({"entry_id": str}))
    return LedgerPage(entries, page.seal(last))


def my_moderation(deps: Deps, user_id: str, page: PageCursor = FIRST_PAGE) -> LedgerPage:
    """`GET /me/moderation`: every act done to the caller, in any Space, oldest first."""
    limit = page.limit()
    after = page.after({"entry_id": str, "space_id": str})
    entries, last = deps.moderation_log.for_target(user_id, limit=limit, after=after)
    return LedgerPage(entries, page.seal(last))


def check_may_appeal(deps: Deps, user_id: str, space_id: str) -> None:
    deps.spaces.get(space_id, with_count=False)  # 404 for a Space that does not exist
    current = deps.participants.get_participant(space_id, user_id)
    if current is None or not current.removed:
        raise Forbidden("only a user removed from this Space may appeal", code="not_removed")


def check_may_lift(deps: Deps, user_id: str, space_id: str) -> None:
    require_creator(deps.spaces.get(space_id, with_count=False), user_id, "lift a removal")


def appeal(deps: Deps, user_id: str, space_id: str, request: AppealRemoval) -> Appeal:
    """`POST /spaces/{id}/appeal`: a removed user's one appeal in this Space (a second is 409)."""
    check_may_appeal(deps, user_id, space_id)
    made = Appeal(space_id, user_id, request.text, deps.clock.now())
    try:
        deps.appeals.appeal(made)
    except Refused as exc:
        if exc.part == "appealed":
            raise Conflict("you already appealed in this Space", code="already_appealed") from exc
        raise Conflict("your removal was lifted meanwhile: join again", code="not_removed") from exc
    deps.telemetry.count("RemovalAppealed")
    return made


def appeals(deps: Deps, user_id: str, space_id: str, page: PageCursor = FIRST_PAGE) -> AppealPage:
    """`GET /spaces/{id}/appeals`: for the host and co-hosts, by user id."""
    space = deps.spaces.get(space_id, with_count=False)
    require_moderator(space, user_id, "read this Space's appeals")
    limit = page.limit()
    found, last = deps.appeals.for_space(space_id, limit=limit, after=page.after({"user_id": str}))
    return AppealPage(found, page.seal(last))


def lift_removal(
    deps: Deps, actor_id: str, space_id: str, target: str, why: GiveReason = GiveReason()
) -> ModerationEntry:
    """`POST /spaces/{id}/removals/{user_id}/lift`: the host lets a removed user join again; the
    lift and its ledger entry are one write. Returns that entry."""
    check_may_lift(deps, actor_id, space_id)
    validate_user_id(target)
    reason = why.reason
    entry = entry_for(space_id, LIFT, actor_id, target, deps.clock.now(), reason)
    try:
        deps.appeals.lift_removal(space_id, target, entry)
    except Refused as exc:
        raise Conflict("that user is not removed from this Space", code="not_removed") from exc
    deps.telemetry.count("RemovalLifted")
    return entry


def check_may_report(deps: Deps, user_id: str, space_id: str) -> None:
    """Any participant, now or before (removed users too): someone who joined this Space."""
    deps.spaces.get(space_id, with_count=False)  # 404 for a Space that does not exist
    current = deps.participants.get_participant(space_id, user_id)
    if current is None or current.participant_id is None:
        raise Forbidden("only people who joined this Space may report it", code="not_participant")


def report(deps: Deps, user_id: str, space_id: str, request: ReportAbuse) -> Report:
    """`POST /spaces/{id}/reports`: report the Space, or a person in it (`user_id`), once per
    reporter and target (a conditional write: the second is 409)."""
    check_may_report(deps, user_id, space_id)
    reason, text, target_user = request.reason, request.text, request.user_id
    target = SPACE_TARGET if target_user is None else validate_user_id(target_user)
    if target == user_id:
        raise BadRequest("you cannot report yourself", code="invalid_user_id")
    made = Report(space_id, user_id, target, reason, text, deps.clock.now())
    try:
        deps.reports.report(made)
    except Refused as exc:
        raise Conflict("you already reported this", code="already_reported") from exc
    deps.telemetry.count("ReportFiled")
    return made


def operator_end(deps: Deps, space_id: str, reason: str) -> Space:
    """An operator ends a live Space (scripts/reports.py `end`): the same end as the host's, its
    ledger entry (actor "operator", target the host) in the end's own transaction. Returns the
    ended Space."""
    from chalicelib.services import spaces

    space = deps.spaces.get(space_id, with_count=False)
    entry = entry_for(space_id, OPERATOR_END, OPERATOR, space.creator_id, deps.clock.now(), reason)
    return spaces.end_live_space(deps, space, OPERATOR, entry)


def operator_bar_host(deps: Deps, space_id: str, user_id: str, reason: str) -> ModerationEntry:
    """An operator bars `user_id` from hosting (creating and starting Spaces are 403 from now on),
    logged in the Space the reports were about, in the same write as the flag (the entry
    returned)."""
    deps.spaces.get(space_id, with_count=False)  # the Space must exist: its log keeps the entry
    entry = entry_for(space_id, BAR_HOST, OPERATOR, validate_user_id(user_id), deps.clock.now(), reason)
    try:
        deps.reports.bar_host(user_id, entry)
    except Refused as exc:
        raise Conflict("that user is already barred from hosting", code="already_barred") from exc
    return entry
