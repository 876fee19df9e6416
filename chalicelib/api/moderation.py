"""The moderation ledger's reads, appeals and lifting a removal (docs/moderation.md). No route
writes, edits or deletes a ledger entry: acts write their own."""
from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.api.http import current_user_id, endpoint, json_body
from chalicelib.api.pages import RequestPage
from chalicelib.domain.errors import BadRequest
from chalicelib.domain.spaces import validate_space_id
from chalicelib.lazy import service

moderation = service("moderation")

bp = Blueprint(__name__)


@bp.route("/spaces/{space_id}/moderation-log", methods=["GET"])
@endpoint()
def space_log(space_id):
    request = bp.current_request
    return moderation.space_log(
        bootstrap.deps(), current_user_id(request), validate_space_id(space_id), request.query_params or {},
        RequestPage(request),
    )


@bp.route("/me/moderation", methods=["GET"])
@endpoint()
def my_moderation():
    request = bp.current_request
    return moderation.my_moderation(
        bootstrap.deps(), current_user_id(request), request.query_params or {}, RequestPage(request)
    )


@bp.route("/spaces/{space_id}/appeal", methods=["POST"])
@endpoint(status=201)
def appeal(space_id):
    request = bp.current_request
    user_id, space_id = current_user_id(request), validate_space_id(space_id)
    try:
        body = json_body(request)
    except BadRequest:
        moderation.check_may_appeal(bootstrap.deps(), user_id, space_id)  # 404 and 403 before 400
        raise
    return moderation.appeal(bootstrap.deps(), user_id, space_id, body)


@bp.route("/spaces/{space_id}/appeals", methods=["GET"])
@endpoint()
def appeals(space_id):
    request = bp.current_request
    return moderation.appeals(
        bootstrap.deps(), current_user_id(request), validate_space_id(space_id), request.query_params or {},
        RequestPage(request),
    )


@bp.route("/spaces/{space_id}/removals/{user_id}/lift", methods=["POST"])
@endpoint()
def lift_removal(space_id, user_id):
    # Optional body: {"reason": "..."}, kept in the moderation ledger.
    request = bp.current_request
    actor, space_id = current_user_id(request), validate_space_id(space_id)
    try:
        body = json_body(request, required=False)
    except BadRequest:
        moderation.check_may_lift(bootstrap.deps(), actor, space_id)  # 404 and 403 before 400
        raise
    return moderation.lift_removal(bootstrap.deps(), actor, space_id, user_id, body)



@bp.route("/spaces/{space_id}/reports", methods=["POST"])
@endpoint(status=201)
def report(space_id):
    request = bp.current_request
    user_id, space_id = current_user_id(request), validate_space_id(space_id)
    try:
        body = json_body(request)
    except BadRequest:
        moderation.check_may_report(bootstrap.deps(), user_id, space_id)  # 404 and 403 before 400
        raise
    return moderation.report(bootstrap.deps(), user_id, space_id, body)
