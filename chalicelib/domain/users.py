"""Users, the follower graph's counts, and who may host."""
from __future__ import annotations

import re

from msgspec import Struct

from chalicelib.domain.errors import BadRequest
from chalicelib.domain.text import is_clean_text

USER_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def validate_user_id(user_id: object) -> str:
    if not isinstance(user_id, str) or not USER_ID_PATTERN.match(user_id):
        raise BadRequest(
            "user_id must be 1-64 characters of letters, digits, '_', '.' or '-'",
            code="invalid_user_id",
        )
    return user_id


class User(Struct, frozen=True):
    """A user's counts, as the users table keeps them."""

    id: str
    follower_count: int = 0
    following_count: int = 0
    # Spaces this user hosted that ended in the last 30 days (kept by the Space lifecycle).
    spaces_hosted_30d: int = 0
    # An operator barred this user from hosting (docs/moderation.md): creating and starting are 403.
    barred_from_hosting: bool = False


class HostingRules(Struct, frozen=True):
    """Who may host (settings): followers for any Space, and more for a ticketed one."""

    min_followers: int
    ticketed_min_followers: int
    ticketed_min_spaces_30d: int


class Eligibility(Struct, frozen=True):
    """Whether a user may host, and a ticketed Space; `reason` says why not."""

    can_host: bool
    can_host_ticketed: bool
    reason: str | None = None


class UserSummary(Struct, frozen=True):
    """What anyone may read of a user (GET /users/{id}): their counts and whether they may host."""

    user: User
    eligibility: Eligibility


class Relation(Struct, frozen=True):
    """One user's follow or block of another after a call: the other user, whether the follow
    (or block) holds now, and whether this call changed it."""

    user_id: str
    holds: bool
    changed: bool


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


# What a user shows others (docs/people.md): a display name and an avatar, from the token's
# standard claims `name` / `picture` until the user edits them with PATCH /me.
MAX_DISPLAY_NAME_CHARS = 50
MAX_AVATAR_URL_CHARS = 1024


class Profile(Struct, frozen=True):
    """`display_name` / `avatar_url`: the user's own (PATCH /me), else the token's claims last
    seen; None when neither was ever given. `claimed_*`: the claims as stored, compared with
    each token's on GET /me so an unchanged token costs no write."""

    user_id: str
    display_name: str | None = None
    avatar_url: str | None = None
    claimed_name: str | None = None
    claimed_picture: str | None = None

    @property
    def name(self) -> str | None:
        return self.display_name or self.claimed_name

    @property
    def avatar(self) -> str | None:
        return self.avatar_url or self.claimed_picture


def is_display_name(value: str) -> bool:
    """1-50 characters of single-line text, not only spaces (control characters: domain/text.py)."""
    return 0 < len(value.strip()) and len(value) <= MAX_DISPLAY_NAME_CHARS


def is_avatar_url(value: str) -> bool:
    """An https URL with a host, at most 1,024 characters, no spaces: anything else could load
    over plain http into every listener's page or carry a script (javascript:, data:)."""
    if len(value) > MAX_AVATAR_URL_CHARS or any(c.isspace() for c in value):
        return False
    scheme, sep, rest = value.partition("://")
    host = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    return sep == "://" and scheme.lower() == "https" and bool(host) and "@" not in host


def claims_of(name: object, picture: object) -> tuple[str | None, str | None]:
    """A token's `name` / `picture` as a profile may hold them: a claim that breaks the rules of
    PATCH /me is dropped (the token is still good; its claim is just not shown)."""
    clean_name = name.strip() if isinstance(name, str) and is_clean_text(name) and is_display_name(name) else None
    clean_picture = picture if isinstance(picture, str) and is_clean_text(picture) and is_avatar_url(picture) else None
    return clean_name, clean_picture
