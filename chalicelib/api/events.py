"""A live Space's room events: chat credentials, the local event log (long-poll), reactions: the
routes and their answers."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.api.http import command, current_user_id, endpoint
from chalicelib.api.pages import RequestPage
from chalicelib.domain.spaces import iso, validate_space_id
from chalicelib.lazy import bodies, service

if TYPE_CHECKING:  # the answers' types only
    from chalicelib.domain.room_events import ChatAccess, Reaction
    from chalicelib.ports import RoomEvent

body = bodies("room")
room_events = service("room_events")

bp = Blueprint(__name__)


@bp.route("/spaces/{space_id}/events", methods=["GET"])
@endpoint()
def read_events(space_id):
    request, space_id = bp.current_request, validate_space_id(space_id)
    events, next_cursor = room_events.read_events(
        bootstrap.deps(), current_user_id(request), space_id,
        RequestPage(request, names=("after",), keep=(room_events.LATEST,)), (request.query_params or {}).get("wait"),
    )
    return events_page_view(space_id, events, next_cursor)


@bp.route("/spaces/{space_id}/events/token", methods=["POST"])
@endpoint()
def chat_token(space_id):
    user_id = current_user_id(bp.current_request)
    return chat_access_view(room_events.chat_token(bootstrap.deps(), user_id, validate_space_id(space_id)))


@bp.route("/spaces/{space_id}/reactions", methods=["POST"])
@endpoint()
def send_reaction(space_id):
    request = bp.current_request
    deps, user_id, space_id = bootstrap.deps(), current_user_id(request), validate_space_id(space_id)
    reaction = command(request, body.reaction, authorize=lambda: room_events.may_react(deps, user_id, space_id))
    return reaction_view(room_events.send_reaction(deps, user_id, space_id, reaction))


def events_page_view(space_id: str, events: list[RoomEvent], next_cursor: str | None) -> dict[str, Any]:
    return {
        "space_id": space_id,
        "events": [
            {"id": str(e.seq), "name": e.name, "attributes": e.attributes, "sent_at": iso(e.sent_at)} for e in events
        ],
        "next_cursor": next_cursor,
    }


def chat_access_view(access: ChatAccess) -> dict[str, Any]:
    view: dict[str, Any] = {
        "space_id": access.space_id,
        "transport": access.transport,
        "room_arn": access.room_arn,
        "role": access.role,
        "token": access.token,
        "token_expires_at": iso(access.token_expires_at),
        "session_expires_at": iso(access.session_expires_at),
        "capabilities": list(access.capabilities),
    }
    # Where to connect: the region on IVS Chat, and a URL when the stage has an endpoint of its
    # own (or serves the local event log).
    view.update({k: v for k, v in (("region", access.region), ("url", access.url)) if v is not None})
    return view


def reaction_view(reaction: Reaction) -> dict[str, Any]:
    return {"space_id": reaction.space_id, "emoji": reaction.emoji, "sent": True}
