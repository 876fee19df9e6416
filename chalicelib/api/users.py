"""Users: public profiles with hosting eligibility, follows and blocks (services/users.py), and
how their answers look."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.api.http import current_user_id, endpoint
from chalicelib.lazy import service

if TYPE_CHECKING:  # the answers' types only
    from chalicelib.domain.users import Relation, UserSummary

users = service("users")

bp = Blueprint(__name__)


@bp.route("/users/{user_id}", methods=["GET"])
@endpoint()
def get_user(user_id):
    return user_view(users.get_profile(bootstrap.deps(), user_id))


@bp.route("/users/{user_id}/follow", methods=["POST"])
@endpoint()
def follow(user_id):
    return follow_view(users.follow(bootstrap.deps(), current_user_id(bp.current_request), user_id))


@bp.route("/users/{user_id}/follow", methods=["DELETE"])
@endpoint()
def unfollow(user_id):
    return follow_view(users.unfollow(bootstrap.deps(), current_user_id(bp.current_request), user_id))


@bp.route("/users/{user_id}/block", methods=["POST"])
@endpoint()
def block(user_id):
    return block_view(users.block(bootstrap.deps(), current_user_id(bp.current_request), user_id))


@bp.route("/users/{user_id}/block", methods=["DELETE"])
@endpoint()
def unblock(user_id):
    return block_view(users.unblock(bootstrap.deps(), current_user_id(bp.current_request), user_id))


def user_view(summary: UserSummary) -> dict[str, Any]:
    user, eligibility = summary.user, summary.eligibility
    return {
        "id": user.id,
        "follower_count": user.follower_count,
        "following_count": user.following_count,
        "can_host": eligibility.can_host,
        "can_host_ticketed": eligibility.can_host_ticketed,
    }


def follow_view(follow: Relation) -> dict[str, Any]:
    return {"user_id": follow.user_id, "following": follow.holds, "changed": follow.changed}


def block_view(block: Relation) -> dict[str, Any]:
    return {"user_id": block.user_id, "blocked": block.holds, "changed": block.changed}
