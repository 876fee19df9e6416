"""The values that cross the ports: dataclasses and exceptions, real classes every layer uses.

The ports themselves (the Protocol classes services depend on and adapters implement) are in
`chalicelib/port_protocols.py`, which imports these values: the dependency goes one way only, so
a Lambda that needs just these values never builds the Protocol classes."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.domain.people import Listener as Listener  # noqa: F401 (a value the participants port returns)


class Refused(Exception):
    """A repository's conditional write was refused. `part` names the condition that failed
    (e.g. "state", "space", "participant", "request"); the service turns it into the precise
    domain error, re-reading only on this failure path."""

    def __init__(self, part: str):
        super().__init__(part)
        self.part = part
        # What the refused write found, when the caller needs it (a ticket purchase refused
        # because the buyer holds one: that ticket).
        self.ticket: Any = None


@dataclass(frozen=True)
class MediaToken:
    token: str
    participant_id: str
    expires_at: datetime
    allow_publish: bool
    allow_subscribe: bool


@dataclass(frozen=True)
class ChatToken:
    """Credentials for one user's connection to a Space's chat room (IVS Chat CreateChatToken)."""

    token: str
    token_expires_at: datetime  # connect before this
    session_expires_at: datetime  # the connection ends at this time; ask for a new token
    capabilities: tuple[str, ...]


@dataclass(frozen=True)
class RoomEvent:
    """One event as the local event log stores it (GET /spaces/{id}/events)."""

    seq: int
    name: str
    attributes: dict[str, str]
    sent_at: datetime


@dataclass(frozen=True)
class Participant:
    space_id: str
    user_id: str
    role: str
    connected: bool
    participant_id: str | None = None
    removed: bool = False
    hand_raised_at: datetime | None = None
    # Connected to the overflow channel (a playback URL), not to the stage.
    playback: bool = False
    # The host blocked this user while the Space was live (joins refused while set).
    blocked: bool = False
    # Joined incognito: counted, in no list of people, until they raise a hand or go on stage.
    incognito: bool = False


@dataclass(frozen=True)
class QueuedCall:
    """An IVS call waiting in the media queue (docs/capacity.md)."""

    seq: str
    operation: str
    args: list[Any]
    attempts: int
    enqueued_ms: int


@dataclass(frozen=True)
class JoinOutcome:
    participant: Participant
    newly_connected: bool


# --------------------------------------------------------------------------- reminders and pushes


class EndpointGone(Exception):
    """The push service says this device endpoint is disabled or deleted: forget the device."""


# --------------------------------------------------------------------------- payments


class PaymentDeclined(Exception):
    """The provider refused the payment outright (a declined card on a server-side confirm)."""

    def __init__(self, message: str, decline_code: str | None = None):
        super().__init__(message)
        self.decline_code = decline_code


class InvalidWebhook(Exception):
    """A webhook whose signature is missing, wrong or too old, or whose body is not an event."""


@dataclass(frozen=True)
class RenewalHandle:
    """What the provider saved at a first payment to charge later without the payer (a Stripe
    Customer and its PaymentMethod). The method may be unknown until the payment succeeds."""

    customer_id: str
    payment_method_id: str | None = None


@dataclass(frozen=True)
class Payment:
    """A payment as the provider created it: what the app needs to complete it."""

    provider: str  # "stripe" | "sandbox"
    payment_id: str  # the provider's id (a PaymentIntent id on Stripe)
    status: str  # "pending" (waiting for the client or the provider) | "succeeded"
    amount_cents: int
    currency: str  # ISO 4217, upper case
    client_secret: str | None = None  # for the app's provider SDK to confirm the payment
    renewal: RenewalHandle | None = None  # with save_for_renewal


@dataclass(frozen=True)
class PaymentEvent:
    """A verified webhook event, reduced to what the app acts on."""

    event_id: str  # the provider's event id: deliveries of one event share it
    kind: str  # "payment_succeeded" | "payment_failed" | "payment_canceled" | "refunded"
    payment_id: str
    reference: str  # what the app passed as `reference` when it created the payment (a ticket id)
    amount_cents: int
    currency: str
    renewal: RenewalHandle | None = None  # a payment that saved its method for renewals
    decline_code: str | None = None  # on payment_failed, when the provider says why


# --------------------------------------------------------------------------- replays and captions


@dataclass(frozen=True)
class PresignedUrl:
    url: str
    expires_at: datetime


@dataclass(frozen=True)
class TranscriptionStatus:
    state: str  # "QUEUED" | "IN_PROGRESS" | "COMPLETED" | "FAILED"
    subtitle_key: str | None = None  # the WebVTT file in the bucket, once COMPLETED
    failure: str | None = None



# A list page's last key as plain values (strings, whole numbers): what a repository returns and
# takes back, and what the API seals into an opaque cursor (chalicelib/api/pages.py).
PageKey = dict[str, Any]


class PageCursor:
    """Where a list page starts and how its `next_cursor` is written, for a use case that lists.

    The cursor is opaque on the wire (chalicelib/api/pages.py signs and checks it); a use case
    sees only plain values: `after(shape)` the previous page's last key, a dict with exactly
    `shape`'s names and types (str or int; None on the first page), called after the use case's permission checks so a refusal
    comes before a bad cursor; `seal(values)` the cursor for the page's last key (None: no more).
    This base class is the first page with no way on, for callers that want only that."""

    def after(self, shape: dict[str, type]) -> dict[str, Any] | None:
        return None

    def seal(self, values: dict[str, Any] | None) -> str | None:
        return None


FIRST_PAGE = PageCursor()
