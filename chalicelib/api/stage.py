"""Being in a Space: join, leave, hands, invitations, the stage and moderation."""
from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.api.http import current_user_id, endpoint, json_body
from chalicelib.api.views import space_view
from chalicelib.domain.errors import BadRequest
from chalicelib.domain.spaces import validate_space_id
from chalicelib.lazy import service

stage = service("stage")
moderation = service("moderation")

bp = Blueprint(__name__)


def _call(use_case, space_id, *args):
    """Run a stage use case as the caller, on a validated Space id; Space results become views."""
    user_id = current_user_id(bp.current_request)
    result = use_case(bootstrap.deps(), user_id, validate_space_id(space_id), *args)
    if isinstance(result, dict) and "space" in result:
        result = {**result, "space": space_view(result["space"])}
    elif not isinstance(result, dict):
        result = space_view(result)
    return result


@bp.route("/spaces/{space_id}/join", methods=["POST"])
@endpoint()
def join(space_id):
    # Optional body: {"recording_consent": true} (a co-host of a recorded Space).
    try:
        body = json_body(bp.current_request, required=False)
    except BadRequest:
        # Not JSON, or over the bounds: still 403 first for a caller the Space refuses. The
        # size bound is checked before any parsing, and only a bad body pays these reads.
        stage.check_may_join(bootstrap.deps(), current_user_id(bp.current_request), validate_space_id(space_id))
        raise
    return _call(stage.join_space, space_id, body)


@bp.route("/spaces/{space_id}/leave", methods=["POST"])
@endpoint()
def leave(space_id):
    return _call(stage.leave_space, space_id)


@bp.route("/spaces/{space_id}/participants", methods=["GET"])
@endpoint()
def participants(space_id):
    return _call(stage.participants, space_id)


@bp.route("/spaces/{space_id}/speaker-requests", methods=["POST"])
@endpoint()
def raise_hand(space_id):
    return _call(stage.raise_hand, space_id)


@bp.route("/spaces/{space_id}/speaker-requests", methods=["DELETE"])
@endpoint()
def lower_hand(space_id):
    return _call(stage.lower_hand, space_id)


@bp.route("/spaces/{space_id}/speakers", methods=["POST"])
@endpoint()
def add_speaker(space_id):
    return _call(stage.add_speaker, space_id, json_body(bp.current_request))


@bp.route("/spaces/{space_id}/invitations/accept", methods=["POST"])
@endpoint()
def accept_invitation(space_id):
    # Optional body: {"recording_consent": true}, required when the Space is recorded.
    return _call(stage.accept_invitation, space_id, json_body(bp.current_request, required=False))


@bp.route("/spaces/{space_id}/invitations/decline", methods=["POST"])
@endpoint()
def decline_invitation(space_id):
    return _call(stage.decline_invitation, space_id)


@bp.route("/spaces/{space_id}/speakers/{user_id}", methods=["DELETE"])
@endpoint()
def remove_speaker(space_id, user_id):
    return _call(stage.remove_speaker, space_id, user_id)


@bp.route("/spaces/{space_id}/cohosts", methods=["POST"])
@endpoint()
def add_cohost(space_id):
    return _call(stage.add_cohost, space_id, json_body(bp.current_request))


@bp.route("/spaces/{space_id}/cohosts/{user_id}", methods=["DELETE"])
@endpoint()
def remove_cohost(space_id, user_id):
    return _call(stage.remove_cohost, space_id, user_id)


@bp.route("/spaces/{space_id}/participants/{user_id}/mute", methods=["POST"])
@endpoint()
def mute(space_id, user_id):
    return _call(stage.mute, space_id, user_id)


@bp.route("/spaces/{space_id}/participants/{user_id}/unmute", methods=["POST"])
@endpoint()
def unmute(space_id, user_id):
    return _call(stage.unmute, space_id, user_id)


@bp.route("/spaces/{space_id}/participants/{user_id}/remove", methods=["POST"])
@endpoint()
def remove_participant(space_id, user_id):
    # Optional body: {"reason": "..."}, kept in the moderation ledger (docs/moderation.md).
    try:
        body = json_body(bp.current_request, required=False)
    except BadRequest:
        # Not JSON: 403 still comes first for a caller who may not remove (as the join does).
        moderation.check_may_remove(
            bootstrap.deps(), current_user_id(bp.current_request), validate_space_id(space_id), user_id
        )
        raise
    return _call(stage.remove_participant, space_id, user_id, body)
