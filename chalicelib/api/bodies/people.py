"""JSON bodies -> commands: PATCH /me, a device to push to, and the local sign-in. How a parser
works: `chalicelib/api/bodies/__init__.py`."""
from __future__ import annotations

from chalicelib.api.bodies import Body, only
from chalicelib.domain.commands.people import EditProfile, LocalSignIn, RegisterDevice
from chalicelib.domain.errors import BadRequest, RuleViolation
from chalicelib.domain.reminders import PLATFORMS, TOKEN_PATTERN
from chalicelib.domain.text import require_clean_text
from chalicelib.domain.users import (
    MAX_AVATAR_URL_CHARS,
    MAX_DISPLAY_NAME_CHARS,
    is_avatar_url,
    is_display_name,
    validate_user_id,
)


PROFILE_FIELDS = {"display_name", "avatar_url"}


def edit_profile(body: Body) -> EditProfile:
    """PATCH /me: `display_name` (1-50 characters of single-line text) and `avatar_url` (an
    https URL of at most 1,024 characters); "" clears either, so the token's claim shows again."""
    only(body, PROFILE_FIELDS, hint="; PATCH /me accepts display_name, avatar_url")
    if not body:
        raise BadRequest("nothing to change", code="empty_patch")
    name, avatar = body.get("display_name"), body.get("avatar_url")
    for field, value in (("display_name", name), ("avatar_url", avatar)):
        if field in body and not isinstance(value, str):
            raise BadRequest(f"{field} must be a string", code=f"invalid_{field}")
    if name:
        require_clean_text(name, "display_name", code="invalid_display_name")
        if not is_display_name(name):
            raise RuleViolation(
                f"display_name must be 1-{MAX_DISPLAY_NAME_CHARS} characters, not only spaces",
                code="invalid_display_name",
            )
    if avatar and not is_avatar_url(avatar):
        raise RuleViolation(
            f"avatar_url must be an https URL of at most {MAX_AVATAR_URL_CHARS} characters",
            code="invalid_avatar_url",
        )
    return EditProfile(display_name=name.strip() if name else name, avatar_url=avatar)


def device(body: Body) -> RegisterDevice:
    platform, token = body.get("platform"), body.get("token")
    if not isinstance(platform, str) or platform not in PLATFORMS:
        raise BadRequest("platform must be 'ios' or 'android'", code="invalid_platform")
    if not isinstance(token, str) or not TOKEN_PATTERN.match(token):
        raise BadRequest("token must be the APNs or FCM device token string", code="invalid_token_value")
    return RegisterDevice(platform=platform, token=token)


def local_sign_in(body: Body) -> LocalSignIn:
    return LocalSignIn(user_id=validate_user_id(body.get("user_id")))
