"""Room events: the room each live Space has, the server events sent to it, chat credentials,
the local event log, and reactions.

- The room is created with the stage, before the write that makes a Space live, and deleted when
  it ends (after `space_ended` went out); the stage's clean-up rules apply (services/spaces.py).
- `emit` is the one way a use case sends an event: AFTER its database write succeeded, once per
  real change. A failed send never fails the request (the change already happened): it is
  logged and counted (`RoomEventFailed`), and clients re-sync with GET /participants.
- The join never calls the room's service: it only says how to reach the room (`join_events`);
  chat credentials come from POST /spaces/{id}/events/token, once per chat session. Minting them
  is an API call (CreateChatToken), and the join must stay at zero IVS calls.
"""
from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools import Logger

from chalicelib.config import SERVICE_NAME
from chalicelib.domain import room_events as ev
from chalicelib.domain.room_events import ChatAccess, ChatMessage, ChatVerdict, Reaction, RoomWay
from chalicelib.domain.errors import BadRequest, Conflict, DependencyFailed, Forbidden, NotFound, Throttled
from chalicelib.domain.events.counted import ReactionSent
from chalicelib.domain.ids import new_ulid
from chalicelib.domain.spaces import LIVE, Space, require_live
from chalicelib.ports import FIRST_PAGE, PageCursor, Participant, RoomEvent
from chalicelib.services import orphans
from chalicelib.services.context import Deps
from chalicelib.services.stage_pool import resolve_pooled

if TYPE_CHECKING:  # annotations only: a join loads none of the events these reactions take
    from chalicelib.domain.commands.room import SendReaction
    from chalicelib.domain.events.lifecycle import SpaceEdited, SpaceEnded
    from chalicelib.domain.events.stage import SpeakerAdded, SpeakerRemoved
    from chalicelib.port_protocols import RoomEventLog

logger = Logger(child=True, service=SERVICE_NAME)

ROOM_DELETE_ATTEMPTS = 3
MAX_WAIT_SECONDS = 20
LATEST = "latest"


def transport(deps: Deps) -> str:
    """How clients of this stage receive room events: "ivs-chat" or "local" (the event log)."""
    return "ivs-chat" if deps.settings.room_events_over_ivs_chat else "local"


# --------------------------------------------------------------------------- the room's life


def release_room(deps: Deps, space_id: str, room: str | None) -> bool:
    """Delete a room, retrying a few times. False when it is still there (the caller keeps
    `release_pending`, and `release_pending_media` tries again later)."""
    if room is None or deps.room_events is None:
        return True
    for attempt in range(1, ROOM_DELETE_ATTEMPTS + 1):
        try:
            deps.room_events.delete_room(room)
            return True
        except DependencyFailed:
            logger.warning("room delete failed", space_id=space_id, room=room, attempt=attempt)
    deps.telemetry.count("RoomReleaseDeferred")
    return False


def reconcile_rooms(deps: Deps, grace_seconds: int = orphans.ORPHAN_GRACE_SECONDS) -> int:
    """Delete chat rooms no live Space uses (services/orphans.py). Returns how many."""
    if deps.room_events is None:
        return 0
    # Pooled rooms are tagged with a pool id, not a Space: a ready one is not an orphan.
    return orphans.sweep(
        deps,
        resolve_pooled(deps.room_pool, deps.room_events.list_rooms()),
        in_use=lambda space, room: space.room_arn == room,
        delete=deps.room_events.delete_room,
        what="room",
        metric="OrphanRoomDeleted",
        grace_seconds=grace_seconds,
    )


# --------------------------------------------------------------------------- sending events


def emit(deps: Deps, space: Space, name: str, **attributes: Any) -> bool:
    """Send one server event to the Space's room, best effort. True when it went out."""
    room = space.room_arn
    if room is None or deps.room_events is None or space.state != LIVE:
        # A Space from before rooms existed, an app wired without room events, or a Space that
        # is not live (as read before the change; ending passes the live Space it ends).
        return False
    try:
        deps.room_events.send_event(room, name, ev.event_attributes(**attributes))
    except Exception as exc:  # noqa: BLE001 - the state change is done; an event must not undo it
        if isinstance(exc, DependencyFailed):
            logger.warning("room event not sent", space_id=space.id, event=name, error=exc.message)
        else:
            logger.exception("room event not sent", space_id=space.id, event=name)
        deps.telemetry.count("RoomEventFailed")
        return False
    return True


def emit_to(deps: Deps, space_id: str, name: str, **attributes: Any) -> bool:
    """`emit` for a caller that holds only the Space's id (a job): the read is best effort too."""
    try:
        space = deps.spaces.get(space_id, with_count=False)
    except (DependencyFailed, NotFound):
        logger.warning("room event not sent: Space unreadable", space_id=space_id, event=name)
        deps.telemetry.count("RoomEventFailed")
        return False
    return emit(deps, space, name, **attributes)


# ------------------------------------------------------------------- reactions to domain events
# (services/dispatch.py): each sends its one event, best effort like every emit.


def announce_space_ended(deps: Deps, event: SpaceEnded) -> None:
    """`space_ended`, to the room of the Space as it was live (the room goes after this)."""
    emit(deps, event.space, ev.SPACE_ENDED, by=event.by)


def announce_space_updated(deps: Deps, event: SpaceEdited) -> None:
    """`space_updated` when a live Space's title or topics changed."""
    changed = event.changed_details
    if event.space.state == LIVE and changed:
        emit(deps, event.space, ev.SPACE_UPDATED, fields=",".join(changed), by=event.by)


def announce_speaker_added(deps: Deps, event: SpeakerAdded) -> None:
    emit(deps, event.space, ev.SPEAKER_ADDED, user_id=event.user_id)


def announce_speaker_removed(deps: Deps, event: SpeakerRemoved) -> None:
    attributes = {"user_id": event.user_id}
    if event.by is not None:
        attributes["by"] = event.by
    attributes["reason"] = event.reason
    if event.space is not None:
        emit(deps, event.space, ev.SPEAKER_REMOVED, **attributes)
    else:
        emit_to(deps, event.space_id, ev.SPEAKER_REMOVED, **attributes)


def recording_state_changed(deps: Deps, space: Space, *, recording: bool, by: str) -> bool:
    """One `recording_state` event with `state` "on" / "off" (services/recording.py announces
    through its own hook, which sends the same event)."""
    return emit(deps, space, ev.RECORDING_STATE, state="on" if recording else "off", by=by)


def disconnect_from_room(deps: Deps, space: Space, user_id: str, reason: str, *, best_effort: bool) -> None:
    """Close a user's chat connections (removal; a co-host losing moderation capabilities, which
    a live chat connection keeps until it reconnects with a new token)."""
    if space.room_arn is None or deps.room_events is None:
        return
    try:
        deps.room_events.disconnect_user(space.room_arn, user_id, reason)
    except DependencyFailed:
        if not best_effort:
            raise
        logger.warning("room disconnect failed", space_id=space.id, user_id=user_id)
        deps.telemetry.count("DisconnectFailed")


# --------------------------------------------------------------------------- reaching the room


def join_events(deps: Deps, space_id: str) -> RoomWay:
    """The join response's `events`: where this client gets the room's events. Costs nothing:
    no database read, no AWS call."""
    base = f"/spaces/{space_id}/events"
    if transport(deps) == "ivs-chat":
        # `url`: the messaging endpoint clients connect to instead of the region's own.
        return RoomWay("ivs-chat", f"{base}/token", region=deps.settings.region, url=deps.settings.chat_endpoint_url or None)
    return RoomWay("local", f"{base}/token", url=base)


def chat_token(deps: Deps, user_id: str, space_id: str) -> ChatAccess:
    """Chat credentials for the Space's room, with the caller's capabilities: everyone may send
    (reactions) but a listener who listens incognito; the host and co-hosts may also delete
    messages and disconnect users. A change of role (co-host added or removed) needs a new
    token: clients ask again on those events."""
    space, participant = _in_room(deps, user_id, space_id)
    require_live(space)
    room = _room_of(space)
    role = space.role_of(user_id)
    capabilities = ev.chat_capabilities(role, incognito=participant is not None and participant.incognito)
    minutes = max(1, min(deps.settings.chat_session_minutes, ev.MAX_CHAT_SESSION_MINUTES))
    token = deps.room_events.chat_token(
        room,
        user_id,
        capabilities=capabilities,
        session_minutes=minutes,
        attributes=ev.event_attributes(user_id=user_id, role=role),
    )
    where = join_events(deps, space_id)
    return ChatAccess(
        space_id, transport(deps), room, role, token.token, token.token_expires_at, token.session_expires_at,
        tuple(token.capabilities), region=where.region, url=where.url,
    )


def read_events(
    deps: Deps, user_id: str, space_id: str, page: PageCursor = FIRST_PAGE, wait: str | None = None
) -> tuple[list[RoomEvent], str | None]:
    """GET /spaces/{id}/events on the local transport: events after the cursor, oldest first,
    waiting up to `wait` seconds (the query parameter as given) for one when there are none yet
    (polling the log with a Query), and the cursor to read on from. The parameters are read
    after the caller is known to be in the room: 404 and 403 come before a 400.
    """
    if deps.room_events is None or not hasattr(deps.room_events, "read"):
        raise NotFound(
            "this stage delivers room events over IVS Chat: POST /spaces/{id}/events/token",
            code="events_not_local",
        )
    log = cast("RoomEventLog", deps.room_events)
    space, _ = _in_room(deps, user_id, space_id)
    seconds = _number(wait, "wait", 0, MAX_WAIT_SECONDS, 0)
    limit = page.limit()
    room = _room_of(space)
    mark: dict[str, Any] | str | None = page.after({"seq": int})  # `after`: a next_cursor of this route, or "latest"
    if mark == LATEST:
        after = log.latest(room)
    elif mark is None:
        after = 0
    elif isinstance(mark, dict) and mark["seq"] >= 0:
        after = mark["seq"]
    else:
        raise BadRequest("after must be a next_cursor from this route, or 'latest'", code="invalid_cursor")
    deadline = time.monotonic() + seconds
    interval = deps.settings.events_poll_interval_ms / 1000
    while True:
        events, cursor = log.read(room, after, limit)
        if events or cursor != after or time.monotonic() + interval > deadline:
            break
        time.sleep(interval)
    return events, page.seal({"seq": cursor})


# --------------------------------------------------------------------------- reactions


def may_react(deps: Deps, user_id: str, space_id: str) -> tuple[Space, Participant | None]:
    """Who may react: anyone allowed in the room (404, 403); the Space and their place in it."""
    return _in_room(deps, user_id, space_id)


def send_reaction(deps: Deps, user_id: str, space_id: str, reaction: SendReaction) -> Reaction:
    """A reaction from someone in the Space, sent to the room as a `reaction` event (naming them,
    unless they listen incognito); at most one per user per `reaction_interval_ms` (429
    `reaction_rate_limited` with Retry-After)."""
    space, participant = may_react(deps, user_id, space_id)
    emoji = reaction.emoji
    require_live(space)
    if participant is None or not participant.connected:
        raise Conflict("join the Space to react", code="not_in_space")
    room = _room_of(space)
    wait_ms = deps.reactions.acquire(space_id, user_id, deps.clock.now())
    if wait_ms:
        raise Throttled(
            f"one reaction per {deps.settings.reaction_interval_ms} ms; wait {wait_ms} ms",
            code="reaction_rate_limited",
            retry_after=max(1, math.ceil(wait_ms / 1000)),
        )
    # The reaction IS the event: if it cannot be sent, say so (503) rather than pretend.
    deps.room_events.send_event(room, ev.REACTION, ev.reaction_attributes(user_id, emoji, incognito=participant.incognito))
    deps.telemetry.count("ReactionSent")
    deps.publish(ReactionSent(space_id, user_id, new_ulid(), deps.clock.now()))
    return Reaction(space_id, emoji)


# --------------------------------------------------------------------------- chat messages

MESSAGE_KEY_PREFIX = "chat:"


def review_message(deps: Deps, message: ChatMessage | None) -> ChatVerdict:
    """IVS Chat's message review (a Lambda IVS calls for every SendMessage a client makes straight
    to a room; chalicelib/jobs/chat.py, docs/room-events.md): at most one message per user per
    room every `chat_message_interval_ms`, decided by the same conditional write as reactions.
    A payload that is not a message (None) is denied, never an error. A database failure raises,
    and IVS applies the room's fallback (ALLOW: chat keeps working when the limiter cannot answer).
    """
    if message is None:
        deps.telemetry.count("ChatMessageDenied")
        return ev.INVALID_MESSAGE
    if deps.chat_limits is None:
        return ChatVerdict(True)
    wait_ms = deps.chat_limits.acquire(f"{MESSAGE_KEY_PREFIX}{message.room}", message.user_id, deps.clock.now())
    if wait_ms:
        deps.telemetry.count("ChatMessageDenied")
        return ChatVerdict(False, "rate_limited", wait_ms)
    return ChatVerdict(True)


# --------------------------------------------------------------------------- helpers


def _in_room(deps: Deps, user_id: str, space_id: str) -> tuple[Space, Participant | None]:
    """The Space and the caller's place in it, for anyone allowed in its room (404, 403)."""
    space, participant = deps.spaces.get_with_participant(space_id, user_id)
    check_allowed(deps, space, participant, user_id)
    return space, participant


def check_allowed(deps: Deps, space: Space, participant: Participant | None, user_id: str) -> None:
    """Who may be in a Space's room: anyone who may see the Space, except people removed from
    it and people the host blocked (they cannot join either)."""
    if participant is not None and participant.removed:
        raise Forbidden("you were removed from this Space", code="removed_from_space")
    if user_id != space.creator_id and deps.users.is_blocked(space.creator_id, user_id):
        raise Forbidden("the host has blocked you", code="blocked_by_host")


def _room_of(space: Space) -> str:
    if space.room_arn is None:
        if space.state != LIVE:
            require_live(space)
        raise Conflict(f"Space {space.id} has no event room", code="events_not_available")
    return space.room_arn


def _number(raw: Any, name: str, low: float, high: float, default: float) -> float:
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise BadRequest(f"{name} must be a number from {low} to {high}", code=f"invalid_{name}") from exc
    if not math.isfinite(value) or not low <= value <= high:
        raise BadRequest(f"{name} must be a number from {low} to {high}", code=f"invalid_{name}")
    return value
