"""A live Space's pinned post: the host and co-hosts pin one link, or take it down
(docs/moderation.md; every pin and unpin is in the moderation ledger)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.api.http import command, current_user_id, endpoint
from chalicelib.api.views import pinned_post_view
from chalicelib.domain.spaces import validate_space_id
from chalicelib.lazy import bodies, service

pinned = service("pinned")
body = bodies("room")

if TYPE_CHECKING:
    from chalicelib.domain.pinned import PinChange

bp = Blueprint(__name__)


@bp.route("/spaces/{space_id}/pinned", methods=["PUT"])
@endpoint()
def pin(space_id):
    request = bp.current_request
    user_id, space_id = current_user_id(request), validate_space_id(space_id)
    deps = bootstrap.deps()
    post = command(request, body.pin, authorize=lambda: pinned.may_pin(deps, user_id, space_id))
    return pin_change_view(pinned.pin(deps, user_id, space_id, post))


@bp.route("/spaces/{space_id}/pinned", methods=["DELETE"])
@endpoint()
def unpin(space_id):
    request = bp.current_request
    return pin_change_view(pinned.unpin(bootstrap.deps(), current_user_id(request), validate_space_id(space_id)))


def pin_change_view(change: PinChange) -> dict[str, Any]:
    """PUT: the post now pinned; DELETE: null, and whether anything was taken down."""
    view: dict[str, Any] = {"space_id": change.space_id, "pinned": pinned_post_view(change.pinned)}
    if change.changed is not None:
        view["changed"] = change.changed
    return view
