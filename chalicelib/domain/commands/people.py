"""Commands: a user's profile, devices and the local sign-in (api/bodies/people.py)."""
from __future__ import annotations

from msgspec import Struct



class EditProfile(Struct, frozen=True):
    """PATCH /me: what the user shows others; None leaves a field as it is, "" clears it."""

    display_name: str | None = None
    avatar_url: str | None = None


class RegisterDevice(Struct, frozen=True):
    """A device to send reminder pushes to."""

    platform: str  # "ios" | "android"
    token: str  # the APNs or FCM device token


class LocalSignIn(Struct, frozen=True):
    """Signing in as a demo user on the local stack."""

    user_id: str
