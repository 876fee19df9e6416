"""Ticketed Spaces: prices, seats and tickets. Subscriber-only Spaces and subscriptions are in
`domain/subscriptions.py`; how a payment names the ticket or subscription it pays for, in
`domain/payments.py`.

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

from datetime import datetime
from typing import TypeGuard

from msgspec import Struct

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



class TicketRules(Struct, frozen=True):
    """What tickets may cost and how many a Space may sell (settings)."""

    min_price_cents: int
    max_price_cents: int
    currencies: tuple[str, ...]
    max_capacity: int
    hold_seconds: int


class TicketOffer(Struct, frozen=True):
    """A ticketed Space's price and number of tickets."""

    price_cents: int
    currency: str
    capacity: int


class Sales(Struct, frozen=True):
    """A ticketed Space's seats and money, as kept on the Space item."""

    capacity: int
    held: int = 0
    sold: int = 0
    refunded: int = 0
    gross_cents: int = 0

    @property
    def remaining(self) -> int:
        return max(self.capacity - self.held - self.sold, 0)


class Ticket(Struct, frozen=True):
    """One buyer's ticket to a Space, in the states the module's docstring draws."""

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


class Refunds(Struct, frozen=True):
    """What one run of a canceled Space's refund did: paid tickets refunded, holds let go (both 0
    for a Space that is not canceled, or whose tickets were all settled by an earlier run)."""

    refunded: int = 0
    released: int = 0
