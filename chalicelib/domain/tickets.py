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
from datetime import datetime, timedelta
from typing import TypeGuard

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
SUB_PAST_DUE, SUB_LAPSED = "past_due", "lapsed"

# Monthly renewal (every arrow a conditional write on the subscription item):
#
#     pending --first payment--> active --renewal paid--> active (period + 1, end + 30 days)
#     active --renewal declined--> past_due --retry paid--> active
#     past_due --declined RENEWAL_ATTEMPTS times, or grace over--> lapsed
#     active / past_due --unsubscribe--> canceled        (never charged again)
#
# The first renewal is charged RENEWAL_WINDOW before the period ends; a declined one is tried
# again every RENEWAL_RETRY, and access continues until RENEWAL_GRACE after the period's end.
# A lapsed or canceled subscription admits until the end of the period it paid for.
RENEWAL_WINDOW = timedelta(hours=24)
RENEWAL_RETRY = timedelta(hours=24)
RENEWAL_ATTEMPTS = 4
RENEWAL_GRACE = timedelta(days=3)
# How long one job run owns a renewal it claimed; a run that died is retried after it.
RENEWAL_CLAIM = timedelta(minutes=10)
# A past-due subscriber who gives a new card (POST /subscription again) holds the overdue
# period's charge this long: the job does not charge the old card meanwhile. After it, the job
# voids the card update's payment (if still open) before its own charge.
CARD_UPDATE_HOLD = timedelta(minutes=15)
# Who holds a renewal's claim (`Subscription.claimed_by`).
CLAIMED_BY_JOB, CLAIMED_BY_UPDATE = "job", "update"
# Access until `current_period_end`; past_due until `current_period_end + RENEWAL_GRACE`.
PAID_THROUGH_PERIOD = (SUB_ACTIVE, SUB_CANCELED, SUB_LAPSED)
RENEWABLE = (SUB_ACTIVE, SUB_PAST_DUE)


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
    period: int = 1  # the paid period: 1 after the first payment, n + 1 after each renewal
    renewal_attempts: int = 0  # declined attempts to pay the next period
    renew_at: datetime | None = None  # when the job next charges; None: never (canceled, lapsed)
    claim_until: datetime | None = None  # a job run is charging until then
    customer_id: str | None = None  # the provider's customer holding the saved method
    payment_method_id: str | None = None  # saved for off-session renewals
    update_attempts: int = 0  # card updates started by the subscriber while past due (ever)
    update_payment_id: str | None = None  # the latest card update's payment, until a renewal
    claimed_by: str | None = None  # CLAIMED_BY_JOB or CLAIMED_BY_UPDATE while `claim_until` holds

    def grants_access(self, now: datetime) -> bool:
        if self.status not in PAID_THROUGH_PERIOD and self.status != SUB_PAST_DUE:
            return False
        end = access_until(self)
        return end is not None and end > now

    @property
    def can_renew(self) -> bool:
        return bool(self.customer_id and self.payment_method_id)


# What the renewal job does with a subscription its index says is due (services/renewals.py).
RENEWAL_SKIP, RENEWAL_LAPSE, RENEWAL_CHARGE = "skip", "lapse", "charge"


def renewal_step(sub: Subscription | None, now: datetime) -> str:
    """RENEWAL_SKIP: not due (gone, canceled, renewed meanwhile), or the subscriber is paying
    with a new card right now. RENEWAL_LAPSE: no saved method (paid before renewal existed), or
    the provider stayed unavailable for the whole grace; access lasts as long as the period
    that was paid. RENEWAL_CHARGE: charge the next period."""
    if sub is None or sub.status not in RENEWABLE or sub.renew_at is None or sub.renew_at > now:
        return RENEWAL_SKIP
    if sub.claimed_by == CLAIMED_BY_UPDATE and sub.claim_until is not None and sub.claim_until > now:
        return RENEWAL_SKIP
    assert sub.current_period_end is not None  # an active subscription has a period
    if not sub.can_renew or now >= sub.current_period_end + RENEWAL_GRACE:
        return RENEWAL_LAPSE
    return RENEWAL_CHARGE


def access_until(sub: Subscription) -> datetime | None:
    """When the subscriber's access ends unless a renewal is paid."""
    if sub.current_period_end is None:
        return None
    if sub.status == SUB_PAST_DUE:
        return sub.current_period_end + RENEWAL_GRACE
    return sub.current_period_end


def parse_ticket_offer(value: object) -> TicketOffer:
    """`ticket {price_cents, currency, capacity}` of a ticketed Space's create request: its kinds
    (400 invalid_ticket); the rules are check_ticket_offer's."""
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
    return TicketOffer(price_cents=price, currency=currency.upper(), capacity=capacity)


def check_ticket_offer(offer: TicketOffer, rules: TicketRules) -> TicketOffer:
    """The offer held to the sale rules (currencies, price and capacity bounds)."""
    price, currency, capacity = offer.price_cents, offer.currency, offer.capacity
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
    return offer


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


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


@dataclass(frozen=True)
class Refunds:
    """What one run of a canceled Space's refund did: paid tickets refunded, holds let go (both 0
    for a Space that is not canceled, or whose tickets were all settled by an earlier run)."""

    refunded: int = 0
    released: int = 0
