"""Commands: joining a Space and coming on stage (api/bodies/stage.py)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class JoinSpace:
    # A co-host of a recorded Space consents to being recorded (else they only listen).
    """Joining a Space as a listener (or a host or co-host coming back)."""

    recording_consent: bool = False
    # Listen without being shown in any list of people (still counted), when the Space allows it.
    incognito: bool = False


@dataclass(frozen=True)
class AcceptInvitation:
    # Needed to come on stage in a recorded Space.
    """Accepting an invitation to speak."""

    recording_consent: bool = False


@dataclass(frozen=True)
class InviteSpeaker:
    """A moderator inviting a listener to speak."""

    user_id: str


@dataclass(frozen=True)
class NameCohost:
    """The host naming a co-host."""

    user_id: str
