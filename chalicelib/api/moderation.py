"""The moderation ledger's reads (docs/moderation.md). No route writes, edits or deletes an entry."""
from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.api.http import current_user_id, endpoint
from chalicelib.api.pages import RequestPage
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
