"""Being in a Space: join, leave, hands, invitations, the stage and moderation
(services/stage.py and services/stage_moderation.py), and how their answers look."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.api.http import command, current_user_id, endpoint
from chalicelib.api.moderation import removed_view
from chalicelib.api.views import joined_view, space_view, stage_people_view
from chalicelib.domain.spaces import validate_space_id
from chalicelib.lazy import bodies, service

if TYPE_CHECKING:  # the answers' types only
    from chalicelib.domain.people import HandChange, Invitation

body = bodies("stage")
moderation_body = bodies("moderation")
spaces = service("spaces")
stage = service("stage")
stage_moderation = service("stage_moderation")
moderation = service("moderation")

bp = Blueprint(__name__)


def _call(use_case, space_id, *args, view, parse=None, authorize=None, required=True):
    """Run a stage use case as the caller, on a validated Space id, and show its result with
    `view`. With `parse`, the body is read into the use case's command (http.command) and given
    after `args`; `authorize(deps, user_id, space_id)` is the use case's own check of the caller.
    A use case that returns nothing (leave, decline) is shown by what the route was asked."""
    deps, user_id, space_id = bootstrap.deps(), current_user_id(bp.current_request), validate_space_id(space_id)
    if parse is not None:
        check = None if authorize is None else (lambda: authorize(deps, user_id, space_id))
        args = (*args, command(bp.current_request, parse, authorize=check, required=required))
    return view(use_case(deps, user_id, space_id, *args))


def hand_view(change: HandChange) -> dict[str, Any]:
    return {"space_id": change.space_id, "hand_raised": change.hand_raised, "changed": change.changed}


def invitation_view(invitation: Invitation) -> dict[str, Any]:
    """POST /spaces/{id}/speakers: the invitation made, and the Space after it."""
    return {
        "space_id": invitation.space_id,
        "user_id": invitation.user_id,
        "status": "invited",
        "approved_request": invitation.approved_request,
        "space": space_view(invitation.space),
    }


def left_view(space_id: str) -> dict[str, Any]:
    return {"space_id": space_id, "left": True}


def declined_view(space_id: str) -> dict[str, Any]:
    return {"space_id": space_id, "declined": True}


@bp.route("/spaces/{space_id}/join", methods=["POST"])
@endpoint()
def join(space_id):
    # Optional body: {"recording_consent": true} (a co-host of a recorded Space). The join checks
    # who may join inside its one write, so the consent is judged here, before it.
    # {"incognito": true}: listen unlisted, when the host allows it (docs/people.md).
    return _call(
        stage.join_space, space_id, view=joined_view, parse=body.join, authorize=stage.check_may_join, required=False
    )


@bp.route("/spaces/{space_id}/leave", methods=["POST"])
@endpoint()
def leave(space_id):
    return _call(stage.leave_space, space_id, view=lambda _: left_view(space_id))


@bp.route("/spaces/{space_id}/participants", methods=["GET"])
@endpoint()
def participants(space_id):
    return _call(stage.participants, space_id, view=stage_people_view)


@bp.route("/spaces/{space_id}/speaker-requests", methods=["POST"])
@endpoint()
def raise_hand(space_id):
    return _call(stage.raise_hand, space_id, view=hand_view)


@bp.route("/spaces/{space_id}/speaker-requests", methods=["DELETE"])
@endpoint()
def lower_hand(space_id):
    return _call(stage.lower_hand, space_id, view=hand_view)


@bp.route("/spaces/{space_id}/speakers", methods=["POST"])
@endpoint()
def add_speaker(space_id):
    return _call(
        stage.add_speaker, space_id, view=invitation_view, parse=body.invite_speaker, authorize=stage.may_bring_on_stage
    )


@bp.route("/spaces/{space_id}/invitations/accept", methods=["POST"])
@endpoint()
def accept_invitation(space_id):
    # Optional body: {"recording_consent": true}, required when the Space is recorded.
    return _call(
        stage.accept_invitation, space_id, view=joined_view, parse=body.accept_invitation, required=False,
        authorize=lambda deps, _user_id, space_id: spaces.get_space(deps, space_id),
    )


@bp.route("/spaces/{space_id}/invitations/decline", methods=["POST"])
@endpoint()
def decline_invitation(space_id):
    return _call(stage.decline_invitation, space_id, view=lambda _: declined_view(space_id))


@bp.route("/spaces/{space_id}/speakers/{user_id}", methods=["DELETE"])
@endpoint()
def remove_speaker(space_id, user_id):
    return _call(stage_moderation.remove_speaker, space_id, user_id, view=space_view)


@bp.route("/spaces/{space_id}/cohosts", methods=["POST"])
@endpoint()
def add_cohost(space_id):
    return _call(stage_moderation.add_cohost, space_id, view=space_view, parse=body.name_cohost, authorize=stage_moderation.may_name_cohosts)


@bp.route("/spaces/{space_id}/cohosts/{user_id}", methods=["DELETE"])
@endpoint()
def remove_cohost(space_id, user_id):
    return _call(stage_moderation.remove_cohost, space_id, user_id, view=space_view)


@bp.route("/spaces/{space_id}/participants/{user_id}/mute", methods=["POST"])
@endpoint()
def mute(space_id, user_id):
    return _call(stage_moderation.mute, space_id, user_id, view=space_view)


@bp.route("/spaces/{space_id}/participants/{user_id}/unmute", methods=["POST"])
@endpoint()
def unmute(space_id, user_id):
    return _call(stage_moderation.unmute, space_id, user_id, view=space_view)


@bp.route("/spaces/{space_id}/participants/{user_id}/remove", methods=["POST"])
@endpoint()
def remove_participant(space_id, user_id):
    # Optional body: {"reason": "..."}, kept in the moderation ledger (docs/moderation.md).
    deps, actor, space_id = bootstrap.deps(), current_user_id(bp.current_request), validate_space_id(space_id)
    why = command(
        bp.current_request, moderation_body.reason, required=False,
        authorize=lambda: moderation.check_may_remove(deps, actor, space_id, user_id),
    )
    stage_moderation.remove_participant(deps, actor, space_id, user_id, why)
    return removed_view(space_id, user_id)
