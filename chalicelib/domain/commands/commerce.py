"""Commands: buying a ticket and subscribing (api/bodies/commerce.py)."""
from __future__ import annotations

from msgspec import Struct



class BuyTicket(Struct, frozen=True):
    """Buying a ticket to a ticketed Space."""

    payment_method: str | None = None  # a saved or test method to confirm at once; else pay later


class Subscribe(Struct, frozen=True):
    """Subscribing to a creator, or paying a past-due period with a new card."""

    tier: str | None = None  # None: tier_1 for a new subscription, the current tier for a past-due one
    payment_method: str | None = None
