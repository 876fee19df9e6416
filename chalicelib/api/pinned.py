"""A live Space's pinned post: the host and co-hosts pin one link, or take it down
(docs/moderation.md; every pin and unpin is in the moderation ledger)."""
from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.api.http import command, current_user_id, endpoint
from chalicelib.domain.spaces import validate_space_id
from chalicelib.lazy import bodies, service

pinned = service("pinned")
body = bodies()

bp = Blueprint(__name__)


@bp.route("/spaces/{space_id}/pinned", methods=["PUT"])
@endpoint()
def pin(space_id):
    request = bp.current_request
    user_id, space_id = current_user_id(request), validate_space_id(space_id)
    deps = bootstrap.deps()
    post = command(request, body.pin, authorize=lambda: pinned.may_pin(deps, user_id, space_id))
    return pinned.pin(deps, user_id, space_id, post)


@bp.route("/spaces/{space_id}/pinned", methods=["DELETE"])
@endpoint()
def unpin(space_id):
    request = bp.current_request
    return pinned.unpin(bootstrap.deps(), current_user_id(request), validate_space_id(space_id))
