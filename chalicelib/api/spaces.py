from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.api.http import command, current_user_id, endpoint
from chalicelib.api.idempotency import idempotent
from chalicelib.api.pages import RequestPage
from chalicelib.api.views import space_view, spaces_page_view
from chalicelib.domain.spaces import validate_space_id
from chalicelib.lazy import bodies, service

body = bodies("spaces")
discovery = service("discovery")
spaces = service("spaces")

bp = Blueprint(__name__)


@bp.route("/spaces", methods=["POST"])
@idempotent(bp)
@endpoint(status=201)
def create_space():
    request = bp.current_request
    create = command(request, body.create_space, authorize=None)  # anyone signed in may try to host
    space = spaces.create_space(bootstrap.deps(), current_user_id(request), create)
    return space_view(space)


@bp.route("/spaces/{space_id}", methods=["GET"])
@endpoint()
def get_space(space_id):
    return space_view(spaces.get_space(bootstrap.deps(), validate_space_id(space_id)))


@bp.route("/spaces/{space_id}", methods=["PATCH"])
@endpoint()
def patch_space(space_id):
    request = bp.current_request
    deps, user_id, space_id = bootstrap.deps(), current_user_id(request), validate_space_id(space_id)
    edit = command(request, body.edit_space, authorize=lambda: spaces.may_edit(deps, user_id, space_id))
    return space_view(spaces.patch_space(deps, user_id, space_id, edit))


@bp.route("/spaces/{space_id}/start", methods=["POST"])
@idempotent(bp)
@endpoint()
def start_space(space_id):
    request = bp.current_request
    deps, user_id, space_id = bootstrap.deps(), current_user_id(request), validate_space_id(space_id)
    # optional: {"recording": true|false}
    start = command(request, body.start_space, authorize=lambda: spaces.may_start(deps, user_id, space_id), required=False)
    return space_view(spaces.start_space(deps, user_id, space_id, start))


@bp.route("/spaces/{space_id}/end", methods=["POST"])
@endpoint()
def end_space(space_id):
    user_id = current_user_id(bp.current_request)
    return space_view(spaces.end_space(bootstrap.deps(), user_id, validate_space_id(space_id)))


@bp.route("/spaces/{space_id}/cancel", methods=["POST"])
@idempotent(bp)
@endpoint()
def cancel_space(space_id):
    user_id = current_user_id(bp.current_request)
    return space_view(spaces.cancel_space(bootstrap.deps(), user_id, validate_space_id(space_id)))


@bp.route("/spaces", methods=["GET"])
@endpoint()
def list_spaces():
    from chalicelib.domain.discovery import list_request  # with the discovery service, on first use

    request = bp.current_request
    return spaces_page_view(
        discovery.list_spaces(
            bootstrap.deps(), current_user_id(request), list_request(request.query_params or {}), RequestPage(request)
        )
    )
