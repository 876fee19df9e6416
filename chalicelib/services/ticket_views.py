"""How tickets, subscriptions and payments look in the answers of the ticketing use cases
(services/tickets.py, services/renewals.py): one module both read, so neither imports the other
for a view."""
from __future__ import annotations

from typing import Any

from chalicelib.domain.spaces import iso
from chalicelib.domain.tickets import HELD, RENEWABLE, Subscription, Ticket, access_until
from chalicelib.ports import Payment


def ticket_view(ticket: Ticket) -> dict[str, Any]:
    return {
        "ticket_id": ticket.ticket_id,
        "space_id": ticket.space_id,
        "buyer_id": ticket.buyer_id,
        "status": ticket.status,
        "price_cents": ticket.price_cents,
        "currency": ticket.currency,
        "created_at": iso(ticket.created_at),
        "hold_expires_at": iso(ticket.hold_expires_at) if ticket.status == HELD else None,
        "paid_at": iso(ticket.paid_at),
        "refunded_at": iso(ticket.refunded_at),
    }


def payment_view(payment: Payment) -> dict[str, Any]:
    """The payment a subscribe answer asks the app to complete (with `client_secret`)."""
    return {
        "provider": payment.provider,
        "payment_id": payment.payment_id,
        "client_secret": payment.client_secret,
        "status": payment.status,
        "amount_cents": payment.amount_cents,
        "currency": payment.currency,
    }


def subscription_view(sub: Subscription) -> dict[str, Any]:
    return {
        "creator_id": sub.creator_id,
        "subscriber_id": sub.subscriber_id,
        "tier": sub.tier,
        "price_cents": sub.price_cents,
        "currency": sub.currency,
        "status": sub.status,
        "current_period_end": iso(sub.current_period_end),
        "created_at": iso(sub.created_at),
        # Whether the job will charge the next period, and when access ends without it
        # (past_due: the grace's end).
        "renews": sub.status in RENEWABLE and sub.renew_at is not None,
        "renewal_attempts": sub.renewal_attempts,
        "access_until": iso(access_until(sub)),
    }
