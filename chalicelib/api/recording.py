"""Replays and captions of a Space (docs/recording.md)."""
from chalice import Blueprint, Response

from chalicelib import bootstrap
from chalicelib.api.http import command, current_user_id, endpoint
from chalicelib.api.pages import RequestPage
from chalicelib.api.views import caption_page_view, caption_view
from chalicelib.domain.spaces import validate_space_id
from chalicelib.lazy import bodies, service

body = bodies()
captions = service("captions")
recording = service("recording")

bp = Blueprint(__name__)


def _caller_and_space(space_id):
    return current_user_id(bp.current_request), validate_space_id(space_id)


@bp.route("/spaces/{space_id}/replay", methods=["GET"])
@endpoint()
def get_replay(space_id):
    return recording.get_replay(bootstrap.deps(), *_caller_and_space(space_id))


@bp.route("/spaces/{space_id}/replay", methods=["DELETE"])
@endpoint()
def delete_replay(space_id):
    return recording.delete_replay(bootstrap.deps(), *_caller_and_space(space_id))


@bp.route("/spaces/{space_id}/replay/captions", methods=["GET"])
@endpoint()
def replay_captions(space_id):
    vtt = recording.replay_captions(bootstrap.deps(), *_caller_and_space(space_id))
    return Response(body=vtt, status_code=200, headers={"Content-Type": "text/vtt; charset=utf-8"})


@bp.route("/spaces/{space_id}/captions", methods=["POST"])
@endpoint()
def post_caption(space_id):
    deps, (user_id, space_id) = bootstrap.deps(), _caller_and_space(space_id)
    posted = command(bp.current_request, body.caption, authorize=lambda: captions.may_caption(deps, user_id, space_id))
    return caption_view(captions.post_caption(deps, user_id, space_id, posted))


@bp.route("/spaces/{space_id}/captions", methods=["GET"])
@endpoint()
def list_captions(space_id):
    request = bp.current_request
    page = RequestPage(request, names=("after", "cursor"))
    user_id, space_id = _caller_and_space(space_id)
    shown, next_cursor = captions.list_captions(bootstrap.deps(), user_id, space_id, request.query_params or {}, page)
    return caption_page_view(space_id, shown, next_cursor)
