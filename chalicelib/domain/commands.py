"""What a caller asks a use case to do, as typed values: the routes (chalicelib/api/bodies.py)
read them from JSON bodies, services take them, tests and jobs build them directly. No wire
knowledge here: field names on the wire, their checks and their error codes live in api/."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chalicelib.domain.tickets import TicketOffer


@dataclass(frozen=True)
class CreateSpace:
    """A new Space as its host describes it: live now, or scheduled for `scheduled_start`."""

    title: str
    topics: tuple[str, ...] = ()
    scheduled_start: datetime | None = None
    access: str = "public"  # domain/spaces.py ACCESS_MODES
    ticket: TicketOffer | None = None  # with access "ticketed" only
    cohost_ids: tuple[str, ...] = ()
    speaker_ids: tuple[str, ...] = ()
    recording: bool = False
    # Listeners may join incognito (counted, not listed); the host may turn it off.
    allow_incognito: bool = True


@dataclass(frozen=True)
class EditSpace:
    """What a host changes in a Space; None leaves a field as it is."""

    title: str | None = None
    topics: tuple[str, ...] | None = None  # () clears them
    scheduled_start: datetime | None = None
    allow_incognito: bool | None = None


@dataclass(frozen=True)
class StartSpace:
    # True / False: the host turns recording on or off now; None keeps the choice made at creation.
    recording: bool | None = None


@dataclass(frozen=True)
class JoinSpace:
    # A co-host of a recorded Space consents to being recorded (else they only listen).
    recording_consent: bool = False
    # Listen without being shown in any list of people (still counted), when the Space allows it.
    incognito: bool = False


@dataclass(frozen=True)
class AcceptInvitation:
    # Needed to come on stage in a recorded Space.
    recording_consent: bool = False


@dataclass(frozen=True)
class InviteSpeaker:
    user_id: str


@dataclass(frozen=True)
class NameCohost:
    user_id: str


@dataclass(frozen=True)
class SendReaction:
    emoji: str


@dataclass(frozen=True)
class PostCaption:
    text: str  # one line, at most CAPTION_MAX_TEXT characters (domain/captions.py)
    language: str  # a BCP 47 tag
    start_ms: int  # offsets within the Space, start_ms <= end_ms
    end_ms: int


@dataclass(frozen=True)
class RegisterDevice:
    platform: str  # "ios" | "android"
    token: str  # the APNs or FCM device token


@dataclass(frozen=True)
class BuyTicket:
    payment_method: str | None = None  # a saved or test method to confirm at once; else pay later


@dataclass(frozen=True)
class Subscribe:
    tier: str | None = None  # None: tier_1 for a new subscription, the current tier for a past-due one
    payment_method: str | None = None


@dataclass(frozen=True)
class LocalSignIn:
    user_id: str


@dataclass(frozen=True)
class MakeClip:
    start_ms: int  # where the clip starts in the replay
    duration_ms: int  # 1 ms to 30 s (domain/clips.py CLIP_MAX_MS)


@dataclass(frozen=True)
class SetClipping:
    enabled: bool


@dataclass(frozen=True)
class PinPost:
    """A link to pin to a live Space: https, bounded, clean one-line text (domain/pinned.py)."""

    url: str
    text: str


@dataclass(frozen=True)
class GiveReason:
    """A moderation act's optional body: why (kept in the moderation ledger)."""

    reason: str | None = None


@dataclass(frozen=True)
class AppealRemoval:
    text: str  # 1 to 500 characters, newlines allowed


@dataclass(frozen=True)
class ReportAbuse:
    reason: str  # one of domain/moderation.py REPORT_REASONS
    text: str | None = None
    user_id: str | None = None  # None: the Space itself is reported


@dataclass(frozen=True)
class EditProfile:
    """PATCH /me: what the user shows others; None leaves a field as it is, "" clears it."""

    display_name: str | None = None
    avatar_url: str | None = None
