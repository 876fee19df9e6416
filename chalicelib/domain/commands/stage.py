"""Commands: joining a Space and coming on stage (api/bodies/stage.py)."""
from __future__ import annotations

from msgspec import Struct



class JoinSpace(Struct, frozen=True):
    # A co-host of a recorded Space consents to being recorded (else they only listen).
    """Joining a Space as a listener (or a host or co-host coming back)."""

    recording_consent: bool = False
    # Listen without being shown in any list of people (still counted), when the Space allows it.
    incognito: bool = False


class AcceptInvitation(Struct, frozen=True):
    # Needed to come on stage in a recorded Space.
    """Accepting an invitation to speak."""

    recording_consent: bool = False


class InviteSpeaker(Struct, frozen=True):
    """A moderator inviting a listener to speak."""

    user_id: str


class NameCohost(Struct, frozen=True):
    """The host naming a co-host."""

    user_id: str
