"""Payments as the app sees them, whichever provider takes the money (Stripe, or the sandbox
where nothing is real): what a created payment and a verified webhook event carry, and how the
provider refuses. The values and errors of the payments port (`port_protocols.PaymentsPort`);
no provider SDK in here."""
from __future__ import annotations

from typing import TYPE_CHECKING

from msgspec import Struct

if TYPE_CHECKING:  # annotations only
    from chalicelib.domain.subscriptions import Subscription
    from chalicelib.domain.tickets import Ticket


class PaymentDeclined(Exception):
    """The provider refused the payment outright (a declined card on a server-side confirm)."""

    def __init__(self, message: str, decline_code: str | None = None):
        super().__init__(message)
        self.decline_code = decline_code


class InvalidWebhook(Exception):
    """A webhook whose signature is missing, wrong or too old, or whose body is not an event."""


class RenewalHandle(Struct, frozen=True):
    """What the provider saved at a first payment to charge later without the payer (a Stripe
    Customer and its PaymentMethod). The method may be unknown until the payment succeeds."""

    customer_id: str
    payment_method_id: str | None = None


class Payment(Struct, frozen=True):
    """A payment as the provider created it: what the app needs to complete it."""

    provider: str  # "stripe" | "sandbox"
    payment_id: str  # the provider's id (a PaymentIntent id on Stripe)
    status: str  # "pending" (waiting for the client or the provider) | "succeeded"
    amount_cents: int
    currency: str  # ISO 4217, upper case
    client_secret: str | None = None  # for the app's provider SDK to confirm the payment
    renewal: RenewalHandle | None = None  # with save_for_renewal


class PaymentEvent(Struct, frozen=True):
    """A verified webhook event, reduced to what the app acts on."""

    event_id: str  # the provider's event id: deliveries of one event share it
    kind: str  # "payment_succeeded" | "payment_failed" | "payment_canceled" | "refunded"
    payment_id: str
    reference: str  # what the app passed as `reference` when it created the payment (a ticket id)
    amount_cents: int
    currency: str
    renewal: RenewalHandle | None = None  # a payment that saved its method for renewals
    decline_code: str | None = None  # on payment_failed, when the provider says why


# References tie a provider's payment back to what it pays for (set at creation, echoed by the
# provider's webhooks): "ticket:<space_id>:<buyer_id>:<ticket_id>", "sub:<creator>:<subscriber>:<id>",
# for the renewal of period n, attempt k: "renew:<creator>:<subscriber>:<id>.<n>.<k>", and for
# the subscriber's k-th card update paying period n: "update:<creator>:<subscriber>:<id>.<n>.<k>".
def ticket_reference(ticket: Ticket) -> str:
    return f"ticket:{ticket.space_id}:{ticket.buyer_id}:{ticket.ticket_id}"


def subscription_reference(sub: Subscription) -> str:
    return f"sub:{sub.creator_id}:{sub.subscriber_id}:{sub.subscription_id}"


def renewal_reference(sub: Subscription, period: int, attempt: int) -> str:
    return f"renew:{sub.creator_id}:{sub.subscriber_id}:{sub.subscription_id}.{period}.{attempt}"


def renewal_key(sub: Subscription, period: int, attempt: int) -> str:
    """The provider's idempotency key of one renewal charge: one per (subscription, period,
    attempt). An attempt number only grows after the provider declined the previous attempt,
    so no period is ever paid twice, and a retried call reuses its attempt's key."""
    return f"renew-{sub.subscription_id}-{period}-{attempt}"


def card_update_reference(sub: Subscription, period: int, attempt: int) -> str:
    return f"update:{sub.creator_id}:{sub.subscriber_id}:{sub.subscription_id}.{period}.{attempt}"


def card_update_key(sub: Subscription, period: int, attempt: int) -> str:
    """The provider's idempotency key of the subscriber's `attempt`-th card update, paying
    `period`: a retried request reuses its attempt's payment; a new card is a new attempt."""
    return f"update-{sub.subscription_id}-{period}-{attempt}"


def parse_renewal_id(object_id: str) -> tuple[str, int, int] | None:
    """(subscription_id, period, attempt) of a renewal reference's last part."""
    parts = object_id.split(".")
    if len(parts) != 3 or not parts[0] or not parts[1].isdigit() or not parts[2].isdigit():
        return None
    return parts[0], int(parts[1]), int(parts[2])


def parse_reference(reference: str) -> tuple[str, str, str, str] | None:
    """(kind, a, b, id) or None for a reference this app did not make."""
    parts = (reference or "").split(":")
    if len(parts) != 4 or parts[0] not in ("ticket", "sub", "renew", "update") or not all(parts):
        return None
    if parts[0] in ("renew", "update") and parse_renewal_id(parts[3]) is None:
        return None
    return parts[0], parts[1], parts[2], parts[3]
