"""Ticketed and subscriber-only Spaces: prices, seats, tickets and subscriptions.

A ticket's life (every arrow is a conditional write in the database):

    held --payment succeeded--> paid --Space canceled--> refunding --> refunded
    held --payment failed / canceled--> failed          (the seat returns)
    held --hold expired--> expired                        (the seat returns)
    held --Space canceled--> released                     (the seat returns)

A seat is taken when the hold is made, inside the same transaction that checks the Space still
has one (`tickets_taken < ticket_capacity`), so sales never oversell. A buyer whose payment
succeeds after their hold lapsed gets the seat back if one is free, else an automatic refund.
A failed or expired ticket may be bought again; one buyer never holds two.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chalicelib.domain.errors import BadRequest, RuleViolation

HELD, PAID, FAILED, EXPIRED, RELEASED, REFUNDING, REFUNDED = (
    "held",
    "paid",
    "failed",
    "expired",
    "released",
    "refunding",
    "refunded",
)
# A buyer may try again after these; any other ticket means they already have (or had) one.
REBUYABLE = (FAILED, EXPIRED)
# A ticket in these states holds a seat.
SEATED = (HELD, PAID)

# Subscriptions (Super Follows): X's tiers, as data. The price is stored on each subscription.
SUBSCRIPTION_TIERS = {"tier_1": 299, "tier_2": 499, "tier_3": 999}
SUBSCRIPTION_CURRENCY = "USD"
SUBSCRIPTION_DAYS = 30
SUB_PENDING, SUB_ACTIVE, SUB_CANCELED = "pending", "active", "canceled"


@dataclass(frozen=True)
class TicketRules:
    min_price_cents: int
    max_price_cents: int
    currencies: tuple[str, ...]
    max_capacity: int
    hold_seconds: int


@dataclass(frozen=True)
class TicketOffer:
    price_cents: int
    currency: str
    capacity: int


@dataclass(frozen=True)
class Sales:
    """A ticketed Space's seats and money, as kept on the Space item."""

    capacity: int
    held: int = 0
    sold: int = 0
    refunded: int = 0
    gross_cents: int = 0

    @property
    def remaining(self) -> int:
        return max(self.capacity - self.held - self.sold, 0)


@dataclass(frozen=True)
class Ticket:
    space_id: str
    buyer_id: str
    ticket_id: str
    status: str
    price_cents: int
    currency: str
    created_at: datetime
    hold_expires_at: datetime | None = None
    payment_id: str | None = None
    provider: str | None = None
    paid_at: datetime | None = None
    refunded_at: datetime | None = None
    refund_id: str | None = None


@dataclass(frozen=True)
class Subscription:
    creator_id: str
    subscriber_id: str
    tier: str
    price_cents: int
    currency: str
    status: str
    created_at: datetime
    current_period_end: datetime | None = None
    payment_id: str | None = None
    subscription_id: str = ""

    def grants_access(self, now: datetime) -> bool:
        return (
            self.status in (SUB_ACTIVE, SUB_CANCELED)
            and self.current_period_end is not None
            and self.current_period_end > now
        )


def validate_ticket_offer(value: object, rules: TicketRules) -> TicketOffer:
    """`ticket {price_cents, currency, capacity}` of a ticketed Space's create request."""
    if not isinstance(value, dict):
        raise BadRequest(
            "a ticketed Space needs ticket {price_cents, currency, capacity}", code="invalid_ticket"
        )
    unknown = set(value) - {"price_cents", "currency", "capacity", "sold"}
    if unknown:
        raise BadRequest(f"unknown ticket fields: {', '.join(sorted(unknown))}", code="invalid_ticket")
    price, currency, capacity = value.get("price_cents"), value.get("currency", "USD"), value.get("capacity")
    if not _is_int(price):
        raise BadRequest("ticket.price_cents must be an integer (minor units)", code="invalid_ticket")
    if not _is_int(capacity):
        raise BadRequest("ticket.capacity must be an integer", code="invalid_ticket")
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
        raise BadRequest("ticket.currency must be an ISO 4217 code such as USD", code="invalid_ticket")
    currency = currency.upper()
    if currency not in rules.currencies:
        raise RuleViolation(
            f"tickets are sold in {', '.join(rules.currencies)}", code="currency_not_supported"
        )
    if not rules.min_price_cents <= price <= rules.max_price_cents:
        raise RuleViolation(
            f"a ticket costs {rules.min_price_cents / 100:.2f} to {rules.max_price_cents / 100:.2f} {currency}",
            code="price_out_of_range",
        )
    if not 1 <= capacity <= rules.max_capacity:
        raise RuleViolation(
            f"a ticketed Space has 1 to {rules.max_capacity} tickets", code="capacity_out_of_range"
        )
    return TicketOffer(price_cents=price, currency=currency, capacity=capacity)


def validate_tier(body: dict) -> tuple[str, int]:
    tier = body.get("tier", "tier_1")
    if not isinstance(tier, str) or tier not in SUBSCRIPTION_TIERS:
        raise BadRequest(
            f"tier must be one of {', '.join(SUBSCRIPTION_TIERS)}", code="invalid_tier"
        )
    return tier, SUBSCRIPTION_TIERS[tier]


def validate_payment_method(body: dict) -> str | None:
    """An optional saved or test payment method to confirm with at once (`pm_...`)."""
    method = body.get("payment_method")
    if method is None:
        return None
    if not isinstance(method, str) or not method.startswith("pm_") or not 4 <= len(method) <= 255:
        raise BadRequest("payment_method must be a payment method id like pm_card_visa", code="invalid_payment_method")
    return method


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# References tie a provider's payment back to what it pays for (set at creation, echoed by the
# provider's webhooks): "ticket:<space_id>:<buyer_id>:<ticket_id>", "sub:<creator>:<subscriber>:<id>".
def ticket_reference(ticket: Ticket) -> str:
    return f"ticket:{ticket.space_id}:{ticket.buyer_id}:{ticket.ticket_id}"


def subscription_reference(sub: Subscription) -> str:
    return f"sub:{sub.creator_id}:{sub.subscriber_id}:{sub.subscription_id}"


def parse_reference(reference: str) -> tuple[str, str, str, str] | None:
    """(kind, a, b, id) or None for a reference this app did not make."""
    parts = (reference or "").split(":")
    if len(parts) != 4 or parts[0] not in ("ticket", "sub") or not all(parts):
        return None
    return parts[0], parts[1], parts[2], parts[3]
