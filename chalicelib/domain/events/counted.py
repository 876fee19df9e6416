"""Domain events: what host analytics count (docs/analytics.md). Each carries an `event_id`, so
a reaction counting it twice (a retried dispatch) counts it once."""
from __future__ import annotations

from datetime import datetime

from msgspec import Struct



class ReactionSent(Struct, frozen=True):
    """A reaction went out to a live Space's room."""

    space_id: str
    user_id: str
    event_id: str
    at: datetime


class ReplayPlayed(Struct, frozen=True):
    """A replay's media URL was handed to someone of its audience (one play)."""

    space_id: str
    user_id: str
    event_id: str
    at: datetime


class ClipMade(Struct, frozen=True):
    """Someone made a clip of a Space (`event_id` is the clip's id)."""

    space_id: str
    user_id: str
    event_id: str
    at: datetime


class SubscriptionPaid(Struct, frozen=True):
    """A subscription's first payment succeeded (`event_id` is the subscription's id); host
    analytics credit it to the subscriber-only Space the creator is live in, if any."""

    creator_id: str
    subscriber_id: str
    event_id: str
    price_cents: int
    currency: str
    at: datetime
