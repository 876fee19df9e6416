"""Use cases of a Space's lifecycle: create, read, edit, start, end, cancel.

Media and database are two systems; the order of calls keeps them consistent:
- a stage is created BEFORE the conditional write that makes a Space live, and deleted again if
  that write is refused or fails, so no live Space is ever without a stage;
- ending commits `ended` first (the Space can never be stuck live), then deletes the stage; a
  failed delete leaves `release_pending` on the item and `release_pending_media` retries it.

What follows a committed transition (recording, room events, media release, reminders,
refunds) is not called from here: each use case publishes a domain event
(chalicelib/domain/events/) and services/dispatch.py lists who reacts.
"""
from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools import Logger
from msgspec.structs import replace

from chalicelib.config import SERVICE_NAME

from chalicelib.domain.commands.spaces import CreateSpace, EditSpace, StartSpace
from chalicelib.domain.errors import Conflict, DependencyFailed, DomainError, Forbidden, RuleViolation
from chalicelib.domain.events.lifecycle import (
    SpaceCanceled,
    SpaceCreated,
    SpaceEdited,
    SpaceEnded,
    SpaceStarted,
)
from chalicelib.domain.ids import new_ulid
from chalicelib.domain.listener_list import listener_shards_for
from chalicelib.domain.moderation import END, ModerationEntry, space_entry
from chalicelib.domain.permissions import require_creator
from chalicelib.domain.spaces import (
    CANCELED,
    LIVE,
    SCHEDULED,
    TICKETED,
    Space,
    apply_patch,
    new_space,
    transition_refused,
)
from chalicelib.domain.users import User, hosting_eligibility
from chalicelib.ports import Refused
from chalicelib.services import orphans, recording, reminders, room_events, stage_pool
from chalicelib.services.media_release import release_stage
from chalicelib.services.context import Deps

logger = Logger(child=True, service=SERVICE_NAME)


def create_space(deps: Deps, user_id: str, request: CreateSpace) -> Space:
    now = deps.clock.now()
    space = new_space(
        space_id=new_ulid(),
        creator_id=user_id,
        request=request,
        now=now,
        rules=deps.space_rules,
        ticket_rules=deps.ticket_rules,
    )
    # Public Spaces need only the follower count; the 30-day history is the ticketed rule's.
    ticketed = space.access == TICKETED
    user = deps.users.get(user_id, now, with_history=ticketed)
    _require_not_barred(user)
    eligibility = hosting_eligibility(user, deps.hosting_rules)
    if not eligibility.can_host:
        raise RuleViolation(eligibility.reason or "not eligible to host", code="not_eligible_to_host")
    if ticketed and not eligibility.can_host_ticketed:
        rules = deps.hosting_rules
        raise RuleViolation(
            f"selling tickets needs {rules.ticketed_min_followers} followers and "
            f"{rules.ticketed_min_spaces_30d} Spaces hosted in the last 30 days",
            code="not_eligible_to_sell_tickets",
        )
    # A famous host's Space may be joined faster than one listener index key takes: spread it.
    shards = listener_shards_for(
        user.follower_count, deps.settings.listener_shard_min_followers, deps.settings.listener_shards
    )
    space = replace(space, listener_shards=shards)

    # Outside effects first, undone if the database refuses: no live Space without a stage, no
    # scheduled Space without its reminders. A schedule left behind finds no Space and does nothing.
    if space.state == LIVE:
        space = replace(space, stage=recording.acquire_stage(deps, space))
        space = _with_room(deps, space)
        space = _start_recording_or_release(deps, space)
    else:
        reminders.schedule_moments(deps, space)
    def write(blocks: tuple[bytes | None, int | None] = (None, None)) -> None:
        deps.spaces.create(space, max_scheduled=deps.settings.max_scheduled_per_host, blocked_filter=blocks)

    try:
        if space.state == LIVE:
            _going_live(deps, user_id, write)
        else:
            write()
    except Refused as exc:
        _undo_outside_effects(deps, space)
        if exc.part == "host_busy":
            raise _host_busy(deps, user_id) from exc
        if exc.part != "too_many_scheduled":
            raise Conflict("that Space id is taken; retry", code="space_id_taken") from exc
        raise RuleViolation(
            f"a host can have at most {deps.settings.max_scheduled_per_host} scheduled Spaces",
            code="too_many_scheduled",
        ) from exc
    except DependencyFailed:
        if not _write_landed(deps, space):
            raise
    deps.telemetry.count("SpaceCreated")
    deps.publish(SpaceCreated(space, by=user_id))
    if space.state == LIVE:
        deps.telemetry.count("SpaceStarted")
        deps.publish(SpaceStarted(space, by=user_id, from_schedule=False))
    logger.info("space created", space_id=space.id, state=space.state, creator_id=user_id)
    return space


def get_space(deps: Deps, space_id: str) -> Space:
    return deps.spaces.get(space_id)


def may_edit(deps: Deps, user_id: str, space_id: str) -> Space:
    """Who may edit a Space: its creator (404, 403). Read before the edit is judged."""
    space = deps.spaces.get(space_id)  # with its count: a live Space's listings keep their rank
    require_creator(space, user_id, "edit this Space")
    return space


def patch_space(deps: Deps, user_id: str, space_id: str, edit: EditSpace) -> Space:
    space = may_edit(deps, user_id, space_id)
    updated = apply_patch(space, edit, deps.clock.now(), deps.space_rules)
    try:
        deps.spaces.update_details(space, updated)
    except Refused as exc:
        current = deps.spaces.get(space_id, with_count=False)
        raise Conflict(f"Space {space_id} changed to {current.state}; try again", code=f"space_{current.state}") from exc
    # Schedules moved, the room told. If the scheduler fails, the PATCH answers 503 and its
    # retry moves the schedules again; a schedule left at the old time sees the new start and
    # stays quiet.
    failures = deps.publish(SpaceEdited(space, updated, by=user_id, start_moved=edit.scheduled_start is not None))
    if failures:
        raise failures[0]
    return deps.spaces.get(space_id)


def may_start(deps: Deps, user_id: str, space_id: str) -> Space:
    """Who may start a Space: its creator (404, 403). Read before the body is judged."""
    space = deps.spaces.get(space_id, with_count=False)
    require_creator(space, user_id, "start this Space")
    # One GetItem more per start. A bar landing between this read and the start's write lets that
    # one start through (docs/moderation.md); every later create and start sees it.
    _require_not_barred(deps.users.get(user_id, deps.clock.now(), with_history=False))
    return space


def start_space(deps: Deps, user_id: str, space_id: str, start: StartSpace = StartSpace()) -> Space:
    """`start.recording`: the host turns recording on or off now (None keeps it as created)."""
    space = may_start(deps, user_id, space_id)
    wanted = start.recording
    if space.state != "scheduled":
        raise transition_refused(space, "start")
    if wanted is not None:
        space = recording.with_recording(space, wanted, deps.clock.now())
    stage = recording.acquire_stage(deps, space)  # pooled (no IVS call) unless recorded
    space = _with_room(deps, replace(space, stage=stage))
    room = space.room_arn
    space = _start_recording_or_release(deps, space)
    try:
        _going_live(
            deps,
            space.creator_id,
            lambda blocks: deps.spaces.start(space, stage, deps.clock.now(), room_arn=room, blocked_filter=blocks),
        )
    except Refused as exc:
        release_stage(deps, replace(space, stage=stage))
        room_events.release_room(deps, space.id, room)
        if exc.part == "host_busy":
            raise _host_busy(deps, user_id) from exc
        raise transition_refused(deps.spaces.get(space_id, with_count=False), "start") from exc
    except DependencyFailed:
        if not _write_landed(deps, replace(space, state=LIVE, stage=stage, room_arn=room)):
            raise
    deps.telemetry.count("SpaceStarted")
    logger.info("space started", space_id=space_id)
    started = deps.spaces.get(space_id)
    deps.publish(SpaceStarted(started, by=user_id, from_schedule=True))
    return started


def _going_live(deps: Deps, host_id: str, write: Callable[[tuple[bytes | None, int | None]], None]) -> None:
    """A write that takes a Space live (a start, or a creation live), given the host's blocked
    filter to copy onto the Space (joins read it there; docs/joins.md). A block landing between
    the read and the write changes the filter, and the write is refused ("blocks"): read again."""
    for _ in range(3):
        try:
            write(deps.users.host_blocks_filter(host_id))
            return
        except Refused as exc:
            if exc.part != "blocks":
                raise
    raise DependencyFailed("the host's blocks kept changing; try again", code="write_conflict", retry_after=1)


def _require_not_barred(user: User) -> None:
    if user.barred_from_hosting:
        raise Forbidden("an operator barred this account from hosting", code="barred_from_hosting")


def end_space(deps: Deps, user_id: str, space_id: str) -> Space:
    space = deps.spaces.get(space_id, with_count=False)
    require_creator(space, user_id, "end this Space")
    # The host's own end is in the ledger too, in the end's transaction (target: the Space).
    return end_live_space(deps, space, user_id, space_entry(space_id, END, user_id, deps.clock.now()))


def end_live_space(deps: Deps, space: Space, by: str, entry: ModerationEntry | None = None) -> Space:
    """The end itself, once the caller may end `space` (its host, or an operator with `entry`)."""
    space_id = space.id
    # This container forgets the live Space first: an end whose answer was lost (503, yet the
    # write landed) must not leave warm joins here going to the write as if it were still live.
    deps.media_cache.drop(space_id)
    if space.state != LIVE:
        raise transition_refused(space, "end")
    try:
        deps.spaces.end(space, deps.clock.now(), entry)
    except Refused as exc:
        raise transition_refused(deps.spaces.get(space_id, with_count=False), "end") from exc
    deps.telemetry.count("SpaceEnded")
    logger.info("space ended", space_id=space_id, by=by)
    # Read again after the end: an overflow the job recorded while this request ran is on it.
    try:
        ended = deps.spaces.get(space_id, with_count=False)
    except DependencyFailed:
        ended = None  # release what the first read saw; the answer is read again below
    # Recording stopped, the room told, the media released (or left release_pending): each a
    # reaction that defers its own failures, so the end stands whatever they meet.
    deps.publish(SpaceEnded(space, ended, by=by))
    return ended if ended is not None else deps.spaces.get(space_id, with_count=False)


def cancel_space(deps: Deps, user_id: str, space_id: str) -> Space:
    """scheduled -> canceled, and reminder subscribers are told.

    Canceling a canceled Space again succeeds and re-sends the news: that is how a client retries
    after a 503, and pushes are deduplicated per device, so nobody hears twice.
    """
    space = deps.spaces.get(space_id, with_count=False)
    require_creator(space, user_id, "cancel this Space")
    if space.state not in (SCHEDULED, CANCELED):
        raise transition_refused(space, "cancel")
    if space.state == SCHEDULED:
        try:
            deps.spaces.cancel(space, deps.clock.now())
        except Refused as exc:
            current = deps.spaces.get(space_id, with_count=False)
            if current.state != CANCELED:
                raise transition_refused(current, "cancel") from exc
        deps.telemetry.count("SpaceCanceled")
        logger.info("space canceled", space_id=space_id)
    canceled = deps.spaces.get(space_id)
    # Schedules dropped, refunds queued, subscribers told. A failure to queue the refunds or to
    # tell is a 503 after the others ran: the client retries the cancel, which queues and
    # announces again (both idempotent).
    failures = deps.publish(SpaceCanceled(canceled, by=user_id))
    if failures:
        raise failures[0]
    return canceled


def release_pending_media(deps: Deps, limit: int = 50) -> int:
    """Retry deleting the stages and rooms of ended Spaces whose first delete failed. Returns
    how many Spaces were cleared."""
    released = 0
    overflows = deps.overflow_claims.release_pending_overflows(limit)
    for space_id, stage_arn, room_arn in deps.spaces.release_pending_media(limit):
        try:
            if space_id in overflows:  # before the stage: the composition reads from it
                deps.media.stop_overflow(overflows[space_id])
            if stage_arn:
                deps.media.delete_stage(stage_arn)
            if room_arn and deps.room_events is not None:
                deps.room_events.delete_room(room_arn)
        except DependencyFailed:
            logger.warning("stage release still failing", space_id=space_id, stage_arn=stage_arn, room=room_arn)
            continue
        deps.spaces.mark_media_released(space_id)
        released += 1
    return released


def _host_busy(deps: Deps, user_id: str) -> Conflict:
    live_id = deps.users.live_space_of(user_id)
    return Conflict(
        f"you are already hosting a live Space ({live_id}); end it first",
        code="host_already_live",
        details={"space_id": live_id} if live_id else None,
    )


def reconcile_stages(deps: Deps, grace_seconds: int = orphans.ORPHAN_GRACE_SECONDS) -> int:
    """Delete stages no live Space uses (services/orphans.py). Returns how many."""
    return orphans.sweep(
        deps,
        stage_pool.resolve_pooled(deps.stage_pool, deps.media.list_stages()),
        in_use=lambda space, arn: space.stage is not None and space.stage.arn == arn,
        delete=deps.media.delete_stage,
        what="stage",
        metric="OrphanStageDeleted",
        grace_seconds=grace_seconds,
    )


def _write_landed(deps: Deps, intended: Space) -> bool:
    """A write failed: find out whether it committed anyway (its answer may have been lost).

    True: it did, carry on as a success. False: it did not, so undo the outside effects made for
    it (the caller then reports the failure). Unknown: leave everything as it is, since undoing a
    write that did commit would leave a live Space without its stage; a stage left over is
    logged and counted instead.
    """
    landed = deps.spaces.landed(intended)
    if landed is True:
        logger.info("write committed despite the error", space_id=intended.id)
        return True
    if landed is False:
        _undo_outside_effects(deps, intended)
    else:
        logger.warning("outcome unknown; outside effects kept", space_id=intended.id)
        deps.telemetry.count("OutcomeUnknown")
    return False


def _undo_outside_effects(deps: Deps, space: Space) -> None:
    if space.state == LIVE:
        release_stage(deps, space)
        room_events.release_room(deps, space.id, space.room_arn)
    else:
        reminders.unschedule_or_log(deps, space.id)


def _start_recording_or_release(deps: Deps, space: Space) -> Space:
    """A recorded Space's recording is noted before the Space is written live; if that fails,
    the stage goes again and the request fails with nothing changed."""
    try:
        return recording.start_for(deps, space)
    except DomainError:
        release_stage(deps, space)
        room_events.release_room(deps, space.id, space.room_arn)
        raise


def _with_room(deps: Deps, space: Space) -> Space:
    """The Space with its new event room, created next to its stage (before the database write,
    undone like the stage if the write fails). If the room cannot be made, the stage just made
    is released and the request fails: no live Space without its room."""
    try:
        return replace(space, room_arn=stage_pool.acquire_room(deps, space.id))
    except DependencyFailed:
        release_stage(deps, space)
        raise
