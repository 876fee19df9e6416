"""Use cases of being in a Space: join, leave, presence, hands, invitations (the moderation acts
on people in it: services/stage_moderation.py).

The join path is the hot path (100,000 joins a minute for a famous host): it makes no IVS call
(tokens are minted in-process), never writes the Space item, and costs one DynamoDB round trip
when this container already knows the Space's stage, two when it does not.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from aws_lambda_powertools import Logger

from chalicelib.config import SERVICE_NAME

from chalicelib.domain.blocked_filter import host_may_have_blocked
from chalicelib.domain.commands.stage import AcceptInvitation, InviteSpeaker, JoinSpace
from chalicelib.domain.errors import Conflict, DependencyFailed, Forbidden, NotFound
from chalicelib.domain.events.stage import SpeakerAdded, SpeakerRemoved
from chalicelib.domain.ids import new_participant_id
from chalicelib.domain.joining import LiveJoinInfo
from chalicelib.domain.people import (
    INCOGNITO_ALREADY_CONNECTED,
    INCOGNITO_OFF,
    INCOGNITO_ON_STAGE,
    HandChange,
    Invitation,
    Joined,
    PlaybackMedia,
    StageMedia,
    Standing,
    StagePeople,
    profile_ids,
)
from chalicelib.domain.moderation import APPROVE, INVITE, entry_for
from chalicelib.domain.recording import tagged_participant_id
from chalicelib.domain.permissions import require_moderator
from chalicelib.domain.spaces import (
    COHOST,
    LISTENER,
    PUBLISHING_ROLES,
    SPEAKER,
    TICKETED,
    OverflowInfo,
    Space,
    StageInfo,
    require_live,
)
from chalicelib.domain import room_events as ev
from chalicelib.ports import JoinOutcome, Participant, Refused
from chalicelib.services import passes, recording, room_events
from chalicelib.services.context import Deps

logger = Logger(child=True, service=SERVICE_NAME)


def _new_participant_id(space_id: str, user_id: str) -> str:
    """Random, prefixed with the user's speaker tag in this Space: a recorded Space's participant
    recordings are named by participant id, and the tag tells the mixing job whose they are."""
    return tagged_participant_id(space_id, user_id, new_participant_id())


def _media(
    deps: Deps, stage: StageInfo, user_id: str, participant_id: str, role: str, *, publish: bool | None = None
) -> StageMedia:
    """`publish`: override the role's right (a co-host of a recorded Space who has not consented
    listens until they do)."""
    token = deps.tokens.mint(
        stage,
        participant_id=participant_id,
        user_id=user_id,
        publish=role in PUBLISHING_ROLES if publish is None else publish,
        now=deps.clock.now(),
        attributes={"user_id": user_id, "role": role},
    )
    return StageMedia(
        stage_arn=stage.arn,
        participant_id=participant_id,
        token=token.token,
        expires_at=token.expires_at,
        publish=token.allow_publish,
        # Where to connect: `whip` and `events` on IVS; `whip` and `whep` on the local media server.
        endpoints=deps.media.endpoints(stage),
    )


def _playback_media(deps: Deps, overflow: OverflowInfo, user_id: str, participant_id: str) -> PlaybackMedia:
    """An overflow listener's media: the private channel's playback URL (low-latency HLS) with a
    playback token signed here (no IVS call), no stage."""
    token, expires_at = deps.tokens.mint_playback(overflow.channel_arn, user_id=user_id, now=deps.clock.now())
    return PlaybackMedia(overflow.playback_url, participant_id, token, expires_at)


def _live_stage(space: Space) -> StageInfo:
    require_live(space)
    if space.stage is None:
        raise DependencyFailed(f"Space {space.id} has no media stage yet", code="media_not_ready")
    return space.stage


def join_space(deps: Deps, user_id: str, space_id: str, join: JoinSpace = JoinSpace()) -> Joined:
    """`join.recording_consent`: a co-host of a recorded Space consents to being recorded, and
    only then gets PUBLISH. `join.incognito`: a listener listens unlisted, when the host allows
    it; when not, the join still connects them as a listener everyone sees and says why
    (the client decides whether to stay: docs/people.md)."""
    consent = join.recording_consent
    live, space, known = _live_join_info(deps, space_id, user_id)
    if known is not None and known.removed:
        raise Forbidden("you were removed from this Space", code="removed_from_space")
    incognito = join.incognito and live.allow_incognito
    outcome, space, participant_id = _write_join(deps, space_id, user_id, live, space, known, incognito)
    role = outcome.participant.role
    if outcome.newly_connected:
        deps.telemetry.count("ListenerJoined" if role == LISTENER else "SpeakerJoined")
    # Recording consent: the host gave it by turning recording on, speakers when accepting; only
    # co-hosts (named by the host) may be on stage without it (one read, for a handful of people).
    publish = None
    if role == COHOST and live.recorded:
        publish = recording.cohost_may_publish(deps, space, space_id, user_id, consent)
    pid = outcome.participant.participant_id or participant_id
    media: StageMedia | PlaybackMedia
    if outcome.participant.playback and live.overflow is not None and role not in PUBLISHING_ROLES:
        media = _playback_media(deps, live.overflow, user_id, pid)
        if outcome.newly_connected:
            deps.telemetry.count("PlaybackListenerJoined")
    else:
        media = _media(deps, live.stage, user_id, pid, role, publish=publish)
    return Joined(
        space_id=space_id,
        role=role,
        media=media,
        heartbeat_interval_seconds=deps.settings.presence_timeout_seconds // 2,
        events=room_events.join_events(deps, space_id),
        recording_consent_required=publish is False,
        incognito=outcome.participant.incognito,
        incognito_refused=_incognito_refused(join, live, outcome),
    )


def _incognito_refused(join: JoinSpace, live: LiveJoinInfo, outcome: JoinOutcome) -> str | None:
    """Why a join that asked for incognito is not: the host's switch, a role on stage, or a
    connection made before without it (a heartbeat keeps the choice made when connecting)."""
    if not join.incognito or outcome.participant.incognito:
        return None
    if not live.allow_incognito:
        return INCOGNITO_OFF
    return INCOGNITO_ALREADY_CONNECTED if not outcome.newly_connected else INCOGNITO_ON_STAGE


def _live_join_info(deps: Deps, space_id: str, user_id: str) -> tuple[LiveJoinInfo, Space | None, Participant | None]:
    """What the join needs of the Space: from this container's cache (warm: no read, the Space
    and the caller's participant item unknown), or read with the participant item in one
    BatchGetItem (cold) and cached."""
    cached = deps.media_cache.get(space_id)
    if cached is not None:
        return cached, None, None
    space, known = deps.spaces.get_with_participant(space_id, user_id)
    live = LiveJoinInfo.of(space, _live_stage(space))
    deps.media_cache.put(space_id, live)
    return live, space, known


def _write_join(
    deps: Deps,
    space_id: str,
    user_id: str,
    live: LiveJoinInfo,
    space: Space | None,
    known: Participant | None,
    incognito: bool = False,
) -> tuple[JoinOutcome, Space | None, str]:
    """The join's one write, and a second only when a warm join asked a host, speaker or invitee
    for a pass (read then, once). Returns the outcome, the Space if it was read, and the
    participant id the write proposed."""
    participant_id = _new_participant_id(space_id, user_id)

    def write(needs_pass: str | None, playback: bool) -> JoinOutcome:
        return deps.participants.join(
            space_id,
            user_id,
            known=known,
            participant_id=participant_id,
            now=deps.clock.now(),
            host_id=live.creator_id,
            # Only a user the host may have blocked before going live pays a block check; a
            # block made since marks the participant item, which every join reads.
            check_block=host_may_have_blocked(live.blocked_filter, user_id),
            needs_pass=needs_pass,
            playback=playback,
            incognito=incognito,
            listener_shards=live.listener_shards,
        )

    playback = live.may_get_playback(user_id, space)
    try:
        return write(live.pass_needed(user_id, space), playback), space, participant_id
    except Refused as exc:
        if exc.part != "no_pass" or space is not None:
            raise _join_refused(exc, space) from exc
        space, known = deps.spaces.get_with_participant(space_id, user_id)
        if space.needs_pass(user_id):
            raise _no_pass(space) from exc
    try:
        return write(None, playback and live.may_get_playback(user_id, space)), space, participant_id
    except Refused as exc:
        raise _join_refused(exc, space) from exc


def _join_refused(exc: Refused, space: Space | None) -> Exception:
    """The error a refused join write means (the part of its condition that failed)."""
    if exc.part == "removed":
        return Forbidden("you were removed from this Space", code="removed_from_space")
    if exc.part == "blocked":
        return Forbidden("the host has blocked you", code="blocked_by_host")
    if exc.part == "no_pass" and space is not None:
        return _no_pass(space)
    return Conflict("your place in this Space changed while joining; try again", code="join_conflict")


def check_may_join(deps: Deps, user_id: str, space_id: str) -> None:
    """The 403 (or 404) a join would get, read before a bad body is refused: a caller the Space
    refuses (removed, blocked, without the ticket or subscription it asks for) hears that, not
    what is wrong with the body. Only a bad body pays these reads; a valid join checks all of it
    inside its one write."""
    space, known = deps.spaces.get_with_participant(space_id, user_id)
    room_events.check_allowed(deps, space, known, user_id)
    if space.needs_pass(user_id) and not passes.holds_pass(deps, space, user_id):
        raise _no_pass(space)


def _no_pass(space: Space) -> Forbidden:
    if space.access == TICKETED:
        return Forbidden(
            "this Space is ticketed: buy a ticket (POST /spaces/{id}/tickets) to listen",
            code="ticket_required",
        )
    return Forbidden(
        f"this Space is for {space.creator_id}'s subscribers: subscribe to listen",
        code="subscription_required",
    )


def sweep_live_presence(deps: Deps) -> int:
    """The presence sweep over every live Space (the scheduled job)."""
    return sweep_presence(deps, deps.listings.live_space_ids())


def sweep_presence(deps: Deps, space_ids: list[str]) -> int:
    """Stop counting participants whose client vanished (no join or heartbeat within the
    timeout). Returns how many were disconnected. A heartbeat racing the sweep wins."""
    now = deps.clock.now()
    cutoff = now - timedelta(seconds=deps.settings.presence_timeout_seconds)
    swept = 0
    for space_id in space_ids:
        for user_id, last_seen in deps.participants.stale_participants(space_id, cutoff):
            try:
                before = deps.participants.leave(space_id, user_id, now, if_last_seen=last_seen)
            except Refused:
                continue  # seen again meanwhile
            if before is not None and before.connected:
                swept += 1
                if before.role == SPEAKER:  # a speaker who vanished stepped off the stage
                    deps.publish(SpeakerRemoved(space_id, user_id, reason="timed_out"))
    if swept:
        deps.telemetry.count("ParticipantTimedOut", swept)
    return swept


def leave_space(deps: Deps, user_id: str, space_id: str) -> None:
    space = deps.spaces.get(space_id, with_count=False)
    try:
        before = deps.participants.leave(space_id, user_id, deps.clock.now())
    except Refused as exc:
        raise Conflict("your place in this Space changed while leaving; try again", code="leave_conflict") from exc
    if before is None or before.participant_id is None:  # never joined (a ban or block mark only)
        raise NotFound(f"you are not in Space {space.id}", code="not_a_participant")
    if before.connected:
        deps.telemetry.count("ParticipantLeft")
        if before.role == SPEAKER:  # a speaker who leaves steps off the stage
            deps.publish(SpeakerRemoved(space_id, user_id, reason="left", space=space))


def participants(deps: Deps, user_id: str, space_id: str) -> StagePeople:
    """Who is on stage, who asked to speak (moderators see who; others the number), the
    caller's standing, and everyone's profile: one BatchGetItem for the people named. Incognito
    listeners are in the counts only (moderators see how many: `incognito_count`)."""
    space = deps.spaces.get(space_id)
    requests = deps.stage_members.pending_requests(space_id) if space.state == "live" else []
    moderator = space.is_moderator(user_id)
    shown = sorted(requests, key=lambda r: (r[1], r[0])) if moderator else None
    named = profile_ids(space.host_ids, space.speaker_ids, space.invited_user_ids, [uid for uid, _ in shown or []])
    return StagePeople(
        space=space,
        request_count=len(requests),
        requests=shown,
        me=_my_standing(deps, space, user_id, requests),
        profiles=deps.users.profiles(named),
        moderator=moderator,
    )


def _my_standing(deps: Deps, space: Space, user_id: str, requests: list[tuple[str, datetime]]) -> Standing:
    """The caller's place in the Space: one GetItem, so a polling client learns it was removed."""
    me = deps.participants.get_participant(space.id, user_id) if space.state == "live" else None
    return Standing(
        user_id=user_id,
        role=space.role_of(user_id),
        connected=bool(me and me.connected and not me.removed),
        removed=bool(me and me.removed),
        hand_raised=any(uid == user_id for uid, _ in requests),
        invited=user_id in space.invited,
        incognito=bool(me and me.connected and me.incognito),
    )


def raise_hand(deps: Deps, user_id: str, space_id: str) -> HandChange:
    space = deps.spaces.get(space_id, with_count=False)
    require_live(space)
    if space.role_of(user_id) != LISTENER:
        raise Conflict("you are already on stage", code="already_on_stage")
    if user_id in space.invited:
        raise Conflict("you are already invited to speak: accept the invitation", code="already_invited")
    try:
        raised = deps.stage_members.raise_hand(
            space_id, user_id, deps.clock.now(), listener_shards=space.listener_shards
        )
    except Refused as exc:
        if exc.part == "participant":
            explain_participant(deps, space_id, user_id, exc)
        current = deps.spaces.get(space_id, with_count=False)
        require_live(current)
        raise Conflict("you were invited to speak meanwhile: accept the invitation", code="already_invited") from exc
    if raised:
        deps.telemetry.count("HandRaised")
        room_events.emit(deps, space, ev.HAND_RAISED, user_id=user_id)
    return HandChange(space_id, hand_raised=True, changed=raised)


def lower_hand(deps: Deps, user_id: str, space_id: str) -> HandChange:
    space = deps.spaces.get(space_id, with_count=False)
    lowered = deps.stage_members.lower_hand(space_id, user_id)
    if lowered:
        room_events.emit(deps, space, ev.HAND_LOWERED, user_id=user_id)
    return HandChange(space_id, hand_raised=False, changed=lowered)


def may_bring_on_stage(deps: Deps, actor_id: str, space_id: str) -> Space:
    """Who may invite speakers: the host and co-hosts (404, 403)."""
    space = deps.spaces.get(space_id, with_count=False)
    require_moderator(space, actor_id, "bring people on stage")
    return space


def add_speaker(deps: Deps, actor_id: str, space_id: str, invite: InviteSpeaker) -> Invitation:
    """Approve a raised hand, or invite a listener who did not raise one. Either way the user
    gets an invitation and comes on stage by accepting it."""
    space = may_bring_on_stage(deps, actor_id, space_id)
    target = invite.user_id
    require_live(space)
    now = deps.clock.now()
    approved = True
    # Each attempt carries its own ledger entry in its own transaction: only the one that lands
    # is logged ("approve" for a raised hand, "invite" otherwise).
    try:
        deps.stage_members.approve_request(space_id, target, now, entry_for(space_id, APPROVE, actor_id, target, now))
    except Refused as exc:
        if exc.part != "request":
            _explain_invite_refusal(deps, space_id, target, exc)
        approved = False
    if not approved:
        try:
            deps.stage_members.invite(space_id, target, now, entry_for(space_id, INVITE, actor_id, target, now))
        except Refused as exc:
            _explain_invite_refusal(deps, space_id, target, exc)
    deps.telemetry.count("SpeakerRequestApproved" if approved else "SpeakerInvited")
    logger.info("speaker invited", space_id=space_id, user_id=target, by=actor_id, approved_request=approved)
    # One event: an approved request is also no longer a raised hand (approved_request says so).
    room_events.emit(deps, space, ev.SPEAKER_INVITED, user_id=target, by=actor_id, approved_request=approved)
    return Invitation(space_id, target, approved_request=approved, space=deps.spaces.get(space_id))


def accept_invitation(
    deps: Deps, user_id: str, space_id: str, accept: AcceptInvitation = AcceptInvitation()
) -> Joined:
    """In a recorded Space the user must consent (`accept.recording_consent`, stored with its
    time, in the same write that puts the user on stage); else 422 and no token."""
    space, listening = deps.spaces.get_with_participant(space_id, user_id)
    stage = _live_stage(space)
    if space.role_of(user_id) == SPEAKER:
        # Accepted already (perhaps the answer was lost): hand out speaker media again.
        return join_space(deps, user_id, space_id)
    if user_id not in space.invited:
        raise Conflict("you have no invitation to speak in this Space", code="no_invitation")
    consent_at = recording.consent_for_stage(deps, space, user_id, accept.recording_consent)
    # The listener keeps its participant id: the publish token names the participant already
    # connected, so the client can go on stage on its live connection (IVS exchanges a token in
    # place only for the same participant; the local media server keeps the WHEP subscription
    # and never plays a participant its own audio). The write is conditional on that id, so a
    # leave and rejoin in between (a new id) is refused rather than handed a stale one.
    kept = listening.participant_id if listening is not None and listening.connected else None
    participant_id = kept or _new_participant_id(space_id, user_id)
    try:
        deps.stage_members.accept_invitation(
            space_id,
            user_id,
            participant_id,
            deps.clock.now(),
            rules=deps.space_rules,
            consent_at=consent_at,
            participant_was=kept,
            listener_shards=space.listener_shards,
        )
    except Refused as exc:
        if exc.part == "participant":
            explain_participant(deps, space_id, user_id, exc)
        current = deps.spaces.get(space_id, with_count=False)
        require_live(current)
        if user_id not in current.invited:
            raise Conflict("you have no invitation to speak in this Space", code="no_invitation") from exc
        recording.consent_for_stage(deps, current, user_id, accept.recording_consent)
        raise Conflict(
            f"the stage is full ({deps.settings.max_on_stage} people)", code="stage_full"
        ) from exc
    deps.telemetry.count("SpeakerAdded")
    deps.publish(SpeakerAdded(space, user_id))
    if consent_at is not None:
        deps.telemetry.count("RecordingConsentGiven")
    return Joined(
        space_id=space_id,
        role=SPEAKER,
        media=_media(deps, stage, user_id, participant_id, SPEAKER),
        # JoinResponse (openapi.yaml) requires these: the speaker keeps heartbeating by joining,
        # and reads the room's events where a join says.
        heartbeat_interval_seconds=deps.settings.presence_timeout_seconds // 2,
        events=room_events.join_events(deps, space_id),
        recording=space.recording,
    )


def decline_invitation(deps: Deps, user_id: str, space_id: str) -> None:
    space = deps.spaces.get(space_id, with_count=False)
    changed = deps.stage_members.decline_invitation(space_id, user_id, deps.clock.now())
    if not changed:
        raise Conflict("you have no invitation to speak in this Space", code="no_invitation")
    room_events.emit(deps, space, ev.INVITATION_DECLINED, user_id=user_id)


def explain_participant(deps: Deps, space_id: str, user_id: str, exc: Exception) -> None:
    """Raise the error a refused write about `user_id`'s participant item means (also read by
    services/stage_moderation.py when naming a co-host)."""
    current = deps.participants.get_participant(space_id, user_id)
    if current is not None and current.removed:
        raise Forbidden("that user was removed from this Space", code="removed_from_space") from exc
    if current is None or not current.connected:
        raise Conflict("that user is not in this Space right now: join first", code="not_in_space") from exc
    if current.role != LISTENER:
        raise Conflict("that user is already on stage", code="already_on_stage") from exc
    raise Conflict("that user's place in this Space changed meanwhile; try again", code="participant_changed") from exc


def _explain_invite_refusal(deps: Deps, space_id: str, target: str, exc: Refused) -> None:
    if exc.part == "participant":
        explain_participant(deps, space_id, target, exc)
    current = deps.spaces.get(space_id, with_count=False)
    require_live(current)
    if target in current.invited:
        raise Conflict("that user is already invited (another moderator answered first)", code="already_invited") from exc
    if current.role_of(target) != LISTENER:
        raise Conflict("that user is already on stage", code="already_on_stage") from exc
    raise Conflict("the Space changed meanwhile; try again", code="space_changed") from exc
