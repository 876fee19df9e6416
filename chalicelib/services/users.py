"""Use cases on users: profiles with hosting eligibility, follow and unfollow."""
from __future__ import annotations

from chalicelib.domain.errors import RuleViolation
from chalicelib.domain.users import hosting_eligibility, validate_user_id
from chalicelib.services.context import Deps


def get_profile(deps: Deps, user_id: str) -> dict:
    user = deps.users.get(validate_user_id(user_id), deps.clock.now())
    eligibility = hosting_eligibility(user, deps.hosting_rules)
    return {
        "id": user.id,
        "follower_count": user.follower_count,
        "following_count": user.following_count,
        "can_host": eligibility.can_host,
        "can_host_ticketed": eligibility.can_host_ticketed,
    }


def follow(deps: Deps, follower_id: str, followee_id: str) -> dict:
    validate_user_id(followee_id)
    if follower_id == followee_id:
        raise RuleViolation("you cannot follow yourself", code="cannot_follow_self")
    created = deps.users.follow(follower_id, followee_id, deps.clock.now())
    if created:
        deps.telemetry.count("UserFollowed")
    return {"user_id": followee_id, "following": True, "changed": created}


def unfollow(deps: Deps, follower_id: str, followee_id: str) -> dict:
    validate_user_id(followee_id)
    if follower_id == followee_id:
        return {"user_id": followee_id, "following": False, "changed": False}
    removed = deps.users.unfollow(follower_id, followee_id)
    if removed:
        deps.telemetry.count("UserUnfollowed")
    return {"user_id": followee_id, "following": False, "changed": removed}
