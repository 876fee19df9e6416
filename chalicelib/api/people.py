"""People: the caller's profile (GET / PATCH /me) and a Space's listener list
(services/people.py, docs/people.md)."""
from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.api.http import command, current_user_id, endpoint
from chalicelib.api.pages import RequestPage
from chalicelib.api.views import listener_page_view, profile_view
from chalicelib.domain.spaces import validate_space_id
from chalicelib.lazy import bodies, service

body = bodies("people")
people = service("people")

bp = Blueprint(__name__)


@bp.route("/me", methods=["GET"])
@endpoint()
def my_profile():
    # The token's `name` / `picture` claims (the auth middleware kept them) are stored here, only
    # when they differ from the stored ones: GET /me is what an app calls once a session.
    request = bp.current_request
    claims = request.context["authorizer"]
    return profile_view(
        people.my_profile(bootstrap.deps(), current_user_id(request), claims.get("name"), claims.get("picture"))
    )


@bp.route("/me", methods=["PATCH"])
@endpoint()
def edit_my_profile():
    request = bp.current_request
    edit = command(request, body.edit_profile, authorize=None)
    return profile_view(people.edit_my_profile(bootstrap.deps(), current_user_id(request), edit))


@bp.route("/spaces/{space_id}/listeners", methods=["GET"])
@endpoint()
def listeners(space_id):
    request = bp.current_request
    return listener_page_view(
        people.listeners(
            bootstrap.deps(), current_user_id(request), validate_space_id(space_id), RequestPage(request),
        )
    )
