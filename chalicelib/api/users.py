from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.api.http import current_user_id, endpoint
from chalicelib.lazy import service

users = service("users")

bp = Blueprint(__name__)


@bp.route("/users/{user_id}", methods=["GET"])
@endpoint()
def get_user(user_id):
    return users.get_profile(bootstrap.deps(), user_id)


@bp.route("/users/{user_id}/follow", methods=["POST"])
@endpoint()
def follow(user_id):
    return users.follow(bootstrap.deps(), current_user_id(bp.current_request), user_id)


@bp.route("/users/{user_id}/follow", methods=["DELETE"])
@endpoint()
def unfollow(user_id):
    return users.unfollow(bootstrap.deps(), current_user_id(bp.current_request), user_id)


@bp.route("/users/{user_id}/block", methods=["POST"])
@endpoint()
def block(user_id):
    return users.block(bootstrap.deps(), current_user_id(bp.current_request), user_id)


@bp.route("/users/{user_id}/block", methods=["DELETE"])
@endpoint()
def unblock(user_id):
    return users.unblock(bootstrap.deps(), current_user_id(bp.current_request), user_id)
