"""Users, the follower graph's counts, and who may host."""
from __future__ import annotations

import re
from dataclasses import dataclass

from chalicelib.domain.errors import BadRequest

USER_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def validate_user_id(user_id: object) -> str:
    if not isinstance(user_id, str) or not USER_ID_PATTERN.match(user_id):
        raise BadRequest(
            "user_id must be 1-64 characters of letters, digits, '_', '.' or '-'",
            code="invalid_user_id",
        )
    return user_id


@dataclass(frozen=True)
class User:
    id: str
    follower_count: int = 0
    following_count: int = 0
    # Spaces this user hosted that ended in the last 30 days (kept by the Space lifecycle).
    spaces_hosted_30d: int = 0
    # An operator barred this user from hosting (docs/moderation.md): creating and starting are 403.
    barred_from_hosting: bool = False


@dataclass(frozen=True)
class HostingRules:
    min_followers: int
    ticketed_min_followers: int
    ticketed_min_spaces_30d: int


@dataclass(frozen=True)
class Eligibility:
    can_host: bool
    can_host_ticketed: bool
    reason: str | None = None


def hosting_eligibility(user: User, rules: HostingRules) -> Eligibility:
    """The one rule for who may host, and who may sell tickets.

    Hosting needs `min_followers` (600 on X). Selling tickets extends it: more followers and a
    record of recently hosted Spaces.
    """
    if user.follower_count < rules.min_followers:
        return Eligibility(
            False,
            False,
            f"hosting needs {rules.min_followers} followers; {user.id} has {user.follower_count}",
        )
    ticketed = (
        user.follower_count >= rules.ticketed_min_followers
        and user.spaces_hosted_30d >= rules.ticketed_min_spaces_30d
    )
    return Eligibility(True, ticketed, None)
