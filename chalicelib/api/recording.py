"""Replays, consent withdrawal, clips and captions of a Space (docs/recording.md)."""
from chalice import Blueprint, Response

from chalicelib import bootstrap
from chalicelib.api.http import command, current_user_id, endpoint
from chalicelib.api.idempotency import idempotent
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


@bp.route("/spaces/{space_id}/recording/consent", methods=["DELETE"])
@endpoint()
def withdraw_consent(space_id):
    return recording.withdraw_consent(bootstrap.deps(), *_caller_and_space(space_id))


@bp.route("/spaces/{space_id}/clips", methods=["POST"])
@idempotent(bp)
@endpoint(status=201)
def create_clip(space_id):
    caller, space_id = _caller_and_space(space_id)
    deps = bootstrap.deps()
    make = command(bp.current_request, body.clip, authorize=lambda: recording.may_clip(deps, caller, space_id))
    return recording.create_clip(deps, caller, space_id, make)


@bp.route("/spaces/{space_id}/clips", methods=["GET"])
@endpoint()
def list_clips(space_id):
    params = bp.current_request.query_params or {}
    return recording.list_clips(bootstrap.deps(), *_caller_and_space(space_id), params)


@bp.route("/spaces/{space_id}/clipping", methods=["PUT"])
@endpoint()
def set_clipping(space_id):
    caller, space_id = _caller_and_space(space_id)
    deps = bootstrap.deps()
    clipping = command(
        bp.current_request, body.clipping, authorize=lambda: recording.may_set_clipping(deps, caller, space_id)
    )
    return recording.set_clipping(deps, caller, space_id, clipping)


@bp.route("/clips/{clip_id}", methods=["GET"])
@endpoint()
def get_clip(clip_id):
    return recording.get_clip(bootstrap.deps(), current_user_id(bp.current_request), clip_id)
