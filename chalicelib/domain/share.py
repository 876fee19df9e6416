"""What a shared link to a Space tells whoever holds it (the share page, `GET /s/{id}`).

The page is public: chat apps' link crawlers fetch it without a token, and anyone the link is
forwarded to may open it. So it shows what a stranger may know and nothing more:

- a public Space: its title, host, state, start time (or scheduled start) and, while live, how
  many are listening;
- a ticketed or subscriber-only Space: its title and its price only (a ticket's price, or the
  lowest subscription tier a month). Who hosts it, when and how many listen are for the people
  who paid.
"""
from __future__ import annotations

from datetime import datetime

from msgspec import Struct

from chalicelib.domain.spaces import LIVE, PUBLIC, SCHEDULED, TICKETED, Space
from chalicelib.domain.subscriptions import SUBSCRIPTION_CURRENCY, SUBSCRIPTION_TIERS

PER_TICKET, PER_MONTH = "ticket", "month"


class Price(Struct, frozen=True):
    """What a shared paid Space costs: per ticket, or per month for a subscription."""

    cents: int
    currency: str
    per: str  # PER_TICKET or PER_MONTH (a subscription: its lowest tier)


class ShareCard(Struct, frozen=True):
    """What a shared link shows of a Space (the share page and its meta tags)."""

    space_id: str
    title: str
    access: str
    # None for a ticketed or subscriber-only Space (not for strangers).
    state: str | None = None
    host_id: str | None = None
    # When it started (live, ended) or is to start (scheduled); None when it never started.
    start_time: datetime | None = None
    listener_count: int | None = None  # live public Spaces only
    price: Price | None = None  # ticketed and subscriber-only Spaces only


def share_card(space: Space) -> ShareCard:
    if space.access != PUBLIC:
        return ShareCard(space_id=space.id, title=space.title, access=space.access, price=_price(space))
    return ShareCard(
        space_id=space.id,
        title=space.title,
        access=space.access,
        state=space.state,
        host_id=space.creator_id,
        start_time=space.scheduled_start if space.state == SCHEDULED else space.started_at,
        listener_count=space.participant_count if space.state == LIVE else None,
    )


def _price(space: Space) -> Price | None:
    if space.access == TICKETED:
        if space.ticket is None:
            return None
        return Price(space.ticket.price_cents, space.ticket.currency, PER_TICKET)
    return Price(min(SUBSCRIPTION_TIERS.values()), SUBSCRIPTION_CURRENCY, PER_MONTH)
