"""A live Space's room events: chat credentials, the local event log (long-poll), reactions."""
from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.api.http import command, current_user_id, endpoint
from chalicelib.api.pages import RequestPage
from chalicelib.domain.spaces import validate_space_id
from chalicelib.lazy import bodies, service

body = bodies()
room_events = service("room_events")

bp = Blueprint(__name__)


@bp.route("/spaces/{space_id}/events", methods=["GET"])
@endpoint()
def read_events(space_id):
    request = bp.current_request
    return room_events.read_events(
        bootstrap.deps(), current_user_id(request), validate_space_id(space_id), request.query_params or {},
        RequestPage(request, names=("after",), keep=(room_events.LATEST,)),
    )


@bp.route("/spaces/{space_id}/events/token", methods=["POST"])
@endpoint()
def chat_token(space_id):
    user_id = current_user_id(bp.current_request)
    return room_events.chat_token(bootstrap.deps(), user_id, validate_space_id(space_id))


@bp.route("/spaces/{space_id}/reactions", methods=["POST"])
@endpoint()
def send_reaction(space_id):
    request = bp.current_request
    deps, user_id, space_id = bootstrap.deps(), current_user_id(request), validate_space_id(space_id)
    reaction = command(request, body.reaction, authorize=lambda: room_events.may_react(deps, user_id, space_id))
    return room_events.send_reaction(deps, user_id, space_id, reaction)
