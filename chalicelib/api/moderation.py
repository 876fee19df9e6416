"""The moderation ledger's reads, appeals and lifting a removal (docs/moderation.md). No route
writes, edits or deletes a ledger entry: acts write their own."""
from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.api.http import command, current_user_id, endpoint
from chalicelib.api.pages import RequestPage
from chalicelib.domain.spaces import validate_space_id
from chalicelib.lazy import bodies, service

moderation = service("moderation")
body = bodies()

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
    deps = bootstrap.deps()
    made = command(request, body.appeal, authorize=lambda: moderation.check_may_appeal(deps, user_id, space_id))
    return moderation.appeal(deps, user_id, space_id, made)


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
    deps = bootstrap.deps()
    why = command(request, body.reason, authorize=lambda: moderation.check_may_lift(deps, actor, space_id), required=False)
    return moderation.lift_removal(deps, actor, space_id, user_id, why)



@bp.route("/spaces/{space_id}/reports", methods=["POST"])
@endpoint(status=201)
def report(space_id):
    request = bp.current_request
    user_id, space_id = current_user_id(request), validate_space_id(space_id)
    deps = bootstrap.deps()
    made = command(request, body.report, authorize=lambda: moderation.check_may_report(deps, user_id, space_id))
    return moderation.report(deps, user_id, space_id, made)
