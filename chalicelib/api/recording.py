"""Replays, consent withdrawal, clips and captions of a Space (docs/recording.md): the routes
and their answers."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Response

from chalicelib import bootstrap
from chalicelib.api.http import command, current_user_id, endpoint
from chalicelib.api.idempotency import idempotent
from chalicelib.api.pages import RequestPage
from chalicelib.api.views import caption_page_view, caption_view
from chalicelib.domain.spaces import iso, validate_space_id
from chalicelib.lazy import bodies, service

if TYPE_CHECKING:  # the answers' types only: a cold start does not load the recording domain
    from chalicelib.domain.clips import Clip, ClipPage, ClippingChange, ServedClip
    from chalicelib.domain.replays import Replay, ReplayDeletion, Withdrawal

body = bodies("recording")
captions = service("captions")
clips = service("clips")
replays = service("replays")

bp = Blueprint(__name__)


def _caller_and_space(space_id):
    return current_user_id(bp.current_request), validate_space_id(space_id)


@bp.route("/spaces/{space_id}/replay", methods=["GET"])
@endpoint()
def get_replay(space_id):
    return replay_view(replays.get_replay(bootstrap.deps(), *_caller_and_space(space_id)))


@bp.route("/spaces/{space_id}/replay", methods=["DELETE"])
@endpoint()
def delete_replay(space_id):
    return replay_deletion_view(replays.delete_replay(bootstrap.deps(), *_caller_and_space(space_id)))


@bp.route("/spaces/{space_id}/replay/captions", methods=["GET"])
@endpoint()
def replay_captions(space_id):
    vtt = replays.replay_captions(bootstrap.deps(), *_caller_and_space(space_id))
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
    shown, next_cursor = captions.list_captions(bootstrap.deps(), user_id, space_id, page)
    return caption_page_view(space_id, shown, next_cursor)


@bp.route("/spaces/{space_id}/recording/consent", methods=["DELETE"])
@endpoint()
def withdraw_consent(space_id):
    return withdrawal_view(replays.withdraw_consent(bootstrap.deps(), *_caller_and_space(space_id)))


@bp.route("/spaces/{space_id}/clips", methods=["POST"])
@idempotent(bp)
@endpoint(status=201)
def create_clip(space_id):
    caller, space_id = _caller_and_space(space_id)
    deps = bootstrap.deps()
    make = command(bp.current_request, body.clip, authorize=lambda: clips.may_clip(deps, caller, space_id))
    return clip_view(clips.create_clip(deps, caller, space_id, make))


@bp.route("/spaces/{space_id}/clips", methods=["GET"])
@endpoint()
def list_clips(space_id):
    request = bp.current_request
    after = (request.query_params or {}).get("after")  # a clip id: the previous page's next_cursor
    return clip_page_view(clips.list_clips(bootstrap.deps(), *_caller_and_space(space_id), RequestPage(request), after))


@bp.route("/spaces/{space_id}/clipping", methods=["PUT"])
@endpoint()
def set_clipping(space_id):
    caller, space_id = _caller_and_space(space_id)
    deps = bootstrap.deps()
    clipping = command(
        bp.current_request, body.clipping, authorize=lambda: clips.may_set_clipping(deps, caller, space_id)
    )
    return clipping_view(clips.set_clipping(deps, caller, space_id, clipping))


@bp.route("/clips/{clip_id}", methods=["GET"])
@endpoint()
def get_clip(clip_id):
    return served_clip_view(clips.get_clip(bootstrap.deps(), current_user_id(bp.current_request), clip_id))


# ------------------------------------------------------------------------ the answers


def _withdrawn(withdrawal: Withdrawal) -> dict[str, Any]:
    return {"user_id": withdrawal.user_id, "withdrawn_at": iso(withdrawal.withdrawn_at)}


def withdrawal_view(withdrawal: Withdrawal) -> dict[str, Any]:
    return {"space_id": withdrawal.space_id, **_withdrawn(withdrawal)}


def clip_view(clip: Clip, url: str | None = None, expires_at: datetime | None = None) -> dict[str, Any]:
    """A clip as the contract shows it: `ready` once cut (never which replay version it was cut
    from); the link only when it is served."""
    view = {k: v for k, v in clip.to_json().items() if k != "cut_from"}
    view["ready"] = clip.cut_from is not None
    if url is not None:
        view["url"], view["expires_at"] = url, iso(expires_at)
    return view


def served_clip_view(served: ServedClip) -> dict[str, Any]:
    return clip_view(served.clip, served.url, served.expires_at)


def clip_page_view(page: ClipPage) -> dict[str, Any]:
    return {"space_id": page.space_id, "clips": [clip_view(c) for c in page.clips], "next_cursor": page.next_cursor}


def clipping_view(change: ClippingChange) -> dict[str, Any]:
    return {"space_id": change.space_id, "clipping": change.enabled, "changed": change.changed}


def replay_view(replay: Replay) -> dict[str, Any]:
    view: dict[str, Any] = {
        "space_id": replay.space_id,
        "url": replay.url,
        "expires_at": iso(replay.expires_at),
        "duration_seconds": round(replay.duration_ms / 1000) if replay.duration_ms is not None else None,
        "available_until": iso(replay.available_until),
        "captions_url": replay.captions_url,
        "captions": replay.captions,
        "clipping": replay.clipping,
    }
    if replay.withdrawals is not None:  # the host's answer only
        view["withdrawals"] = [_withdrawn(w) for w in replay.withdrawals]
    return view


def replay_deletion_view(deletion: ReplayDeletion) -> dict[str, Any]:
    return {"space_id": deletion.space_id, "deleted": True, "objects_deleted": deletion.objects_deleted}
