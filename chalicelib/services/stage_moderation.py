"""Moderation acts on people in a live Space: moving them off the stage, naming and removing
co-hosts, muting, and removing someone for good. An act on someone else writes its moderation
ledger entry in the same transaction as the act (services/moderation.py reads the ledger).
"""
from __future__ import annotations

from aws_lambda_powertools import Logger

from chalicelib.config import SERVICE_NAME
from chalicelib.domain.commands.moderation import GiveReason
from chalicelib.domain.commands.stage import NameCohost
from chalicelib.domain.errors import Conflict, DependencyFailed, Forbidden
from chalicelib.domain.events.stage import BlockedWhileLive, SpeakerRemoved
from chalicelib.domain.moderation import (
    COHOST_ADDED,
    COHOST_REMOVED,
    DEMOTE,
    MUTE,
    REMOVE,
    ModerationEntry,
    entry_for,
)
from chalicelib.domain.permissions import require_can_moderate, require_creator
from chalicelib.domain.spaces import COHOST, LISTENER, SPEAKER, Space, require_cohost_room, require_live
from chalicelib.domain.users import validate_user_id
from chalicelib.domain import room_events as ev
from chalicelib.ports import Refused
from chalicelib.services import room_events, stage
from chalicelib.services.context import Deps

logger = Logger(child=True, service=SERVICE_NAME)


def remove_speaker(deps: Deps, actor_id: str, space_id: str, target: str) -> Space:
    """Back to listening: the speaker themself, or a moderator."""
    validate_user_id(target)
    space = deps.spaces.get(space_id, with_count=False)
    require_live(space)
    if actor_id != target:
        require_can_moderate(space, actor_id, target, "move off the stage")
    role = space.role_of(target)
    if role == COHOST:
        raise Conflict("that user is a co-host: remove the co-host role instead", code="target_is_cohost")
    if role != SPEAKER:
        raise Conflict("that user is not a speaker", code="not_a_speaker")
    _step_down(deps, space, target, SPEAKER, _ledger_entry(deps, space_id, DEMOTE, actor_id, target))
    deps.telemetry.count("SpeakerRemoved")
    reason = "stepped_down" if actor_id == target else "demoted"
    deps.publish(SpeakerRemoved(space_id, target, reason=reason, by=actor_id, space=space))
    return deps.spaces.get(space_id)


def may_name_cohosts(deps: Deps, actor_id: str, space_id: str) -> Space:
    """Who may name co-hosts: the host (404, 403)."""
    space = deps.spaces.get(space_id, with_count=False)
    require_creator(space, actor_id, "add co-hosts")
    return space


def add_cohost(deps: Deps, actor_id: str, space_id: str, name: NameCohost) -> Space:
    space = may_name_cohosts(deps, actor_id, space_id)
    target = name.user_id
    require_live(space)
    role = space.role_of(target)
    if role in (COHOST, "host"):
        raise Conflict("that user is already a host", code="already_cohost")
    rules = deps.space_rules
    require_cohost_room(space, rules)
    now = deps.clock.now()
    try:
        deps.stage_members.add_cohost(
            space_id,
            target,
            was_speaker=role == SPEAKER,
            now=now,
            rules=rules,
            entry=entry_for(space_id, COHOST_ADDED, actor_id, target, now),
        )
    except Refused as exc:
        if exc.part == "participant":
            stage.explain_participant(deps, space_id, target, exc)
        current = deps.spaces.get(space_id, with_count=False)
        require_live(current)
        require_cohost_room(current, rules)  # the cap, as the condition enforced it
        if current.role_of(target) != role:
            raise Conflict("that user's role changed meanwhile; try again", code="role_changed") from exc
        raise Conflict(f"the stage is full ({rules.max_on_stage} people)", code="stage_full") from exc
    deps.telemetry.count("CohostAdded")
    room_events.emit(deps, space, ev.COHOST_ADDED, user_id=target, by=actor_id, from_role=role)
    return deps.spaces.get(space_id)


def remove_cohost(deps: Deps, actor_id: str, space_id: str, target: str) -> Space:
    validate_user_id(target)
    space = deps.spaces.get(space_id, with_count=False)
    if actor_id != target:
        require_creator(space, actor_id, "remove co-hosts")
    require_live(space)
    if space.role_of(target) != COHOST:
        raise Conflict("that user is not a co-host", code="not_a_cohost")
    _step_down(deps, space, target, COHOST, _ledger_entry(deps, space_id, COHOST_REMOVED, actor_id, target))
    deps.telemetry.count("CohostRemoved")
    room_events.emit(deps, space, ev.COHOST_REMOVED, user_id=target, by=actor_id)
    # A chat connection keeps the capabilities it was opened with: close it, the app reconnects
    # with a listener's token.
    room_events.disconnect_from_room(deps, space, target, "co-host role removed", best_effort=True)
    return deps.spaces.get(space_id)


def mute(deps: Deps, actor_id: str, space_id: str, target: str) -> Space:
    validate_user_id(target)
    space = deps.spaces.get(space_id, with_count=False)
    require_live(space)
    if actor_id != target:
        require_can_moderate(space, actor_id, target, "mute")
    if space.role_of(target) == LISTENER:
        raise Conflict("only people on stage can be muted", code="not_on_stage")
    try:
        entry = _ledger_entry(deps, space_id, MUTE, actor_id, target)
        muted = deps.stage_members.set_muted(space_id, target, True, deps.clock.now(), entry)
    except Refused as exc:
        raise Conflict("that user left the stage meanwhile", code="not_on_stage") from exc
    if muted:  # muting someone already muted changes nothing and announces nothing
        deps.telemetry.count("SpeakerMuted")
        room_events.emit(deps, space, ev.MUTED, user_id=target, by=actor_id)
    return deps.spaces.get(space_id)


def unmute(deps: Deps, actor_id: str, space_id: str, target: str) -> Space:
    """Only the muted speaker unmutes: a moderator can silence, never open someone's mic."""
    validate_user_id(target)
    space = deps.spaces.get(space_id, with_count=False)
    require_live(space)
    if actor_id != target:
        raise Forbidden("only the speaker can unmute themself", code="self_only")
    try:
        unmuted = deps.stage_members.set_muted(space_id, target, False, deps.clock.now())
    except Refused as exc:
        raise Conflict("the Space is no longer live", code="space_not_live") from exc
    if unmuted:
        room_events.emit(deps, space, ev.UNMUTED, user_id=target)
    return deps.spaces.get(space_id)


def remove_participant(
    deps: Deps, actor_id: str, space_id: str, target: str, why: GiveReason = GiveReason()
) -> None:
    """Disconnect someone and bar them from rejoining this Space.

    The ban is written first, with its moderation ledger entry in the same transaction, so no
    new join can slip in; then the media connection is cut. If IVS fails, the ban stands and the
    client gets 503: repeating the request retries the cut (and logs nothing more: already removed).
    """
    validate_user_id(target)
    space = deps.spaces.get(space_id, with_count=False)
    require_can_moderate(space, actor_id, target, "remove")
    if space.state not in ("live", "scheduled"):
        require_live(space)
    reason = why.reason
    current = deps.participants.get_participant(space_id, target)
    if current is None or not current.removed:
        entry = _ledger_entry(deps, space_id, REMOVE, actor_id, target, reason)
        try:
            deps.participants.remove_participant(space_id, target, actor_id, current, deps.clock.now(), entry)
        except Refused as exc:
            raise Conflict("that user's place changed meanwhile; try again", code="participant_changed") from exc
        deps.telemetry.count("ParticipantRemoved")
        logger.info("participant removed", space_id=space_id, user_id=target, by=actor_id)
        room_events.emit(deps, space, ev.PARTICIPANT_REMOVED, user_id=target, by=actor_id)
    if current is not None and current.playback and space.overflow is not None:
        # An overflow listener is not on the stage: revoke their playback of the private channel.
        deps.media.revoke_playback(space.overflow.channel_arn, target)
    elif current is not None and current.participant_id and space.stage is not None:
        deps.media.disconnect_participant(space.stage.arn, current.participant_id, "removed by a moderator")
    # Their chat connection too (they may hold a chat token without having joined the stage).
    room_events.disconnect_from_room(deps, space, target, "removed by a moderator", best_effort=False)


def remove_blocked_user(deps: Deps, event: BlockedWhileLive) -> None:
    """Reaction to a host blocking someone in their live Space (services/users.py block)."""
    remove_participant(deps, event.host_id, event.space_id, event.user_id)


def _step_down(deps: Deps, space: Space, target: str, from_role: str, entry: ModerationEntry | None) -> None:
    current = deps.participants.get_participant(space.id, target)
    try:
        deps.stage_members.step_down(space.id, target, from_role, deps.clock.now(), entry)
    except Refused as exc:
        raise Conflict("that user's role changed meanwhile; try again", code="role_changed") from exc
    # Their publish token must stop working: cut the connection, the app rejoins as a listener.
    if current is not None and current.participant_id and space.stage is not None:
        try:
            deps.media.disconnect_participant(space.stage.arn, current.participant_id, "moved off the stage")
        except DependencyFailed:
            logger.warning("disconnect after step-down failed", space_id=space.id, user_id=target)
            deps.telemetry.count("DisconnectFailed")


def _ledger_entry(
    deps: Deps, space_id: str, act: str, actor_id: str, target: str, reason: str | None = None
) -> ModerationEntry | None:
    """The ledger entry of a moderator's act on someone else; None when users act on themselves
    (stepping down, muting oneself), which is not moderation."""
    if actor_id == target:
        return None
    return entry_for(space_id, act, actor_id, target, deps.clock.now(), reason)
