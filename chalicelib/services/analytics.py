"""Host analytics (docs/analytics.md): `GET /spaces/{id}/analytics`, the fold of the
participants stream into listening sessions, and the reactions to the events analytics count.

Nothing here is on a request's write path: sessions come from the stream the count fold already
reads, and reactions, replay plays, clips and subscriptions are counted by reactions to their
domain events, after the act committed. A reaction that fails is logged and counted by the
dispatcher; the act stands.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.domain.analytics import (
    CLIP, REACTION, REPLAY_LISTENER, REPLAY_PLAY, SUBSCRIPTION, SUBSCRIPTION_CENTS,
    SpaceAnalytics, TicketRevenue, compute, expires_at,
)
from chalicelib.domain.errors import NotFound
from chalicelib.domain.events.counted import ClipMade, ReactionSent, ReplayPlayed, SubscriptionPaid
from chalicelib.domain.permissions import require_moderator
from chalicelib.domain.replays import available_until
from chalicelib.domain.spaces import ENDED, LIVE, SUBSCRIBERS, Space
from chalicelib.services.context import Deps

SUBSCRIPTION_CURRENCY = "USD"


def fold(deps: Deps, records: list[dict[str, Any]]) -> int:
    """Fold one batch of the participants stream into listening sessions (idempotent: the count
    fold's Lambda runs it on the same batch, and a retried batch writes the same items)."""
    if deps.analytics is None:
        return 0
    written = deps.analytics.fold_participant_records(records, deps.settings.replay_retention_days)
    if written:
        deps.telemetry.count("ListeningSessionsFolded", written)
    return written


def space_analytics(deps: Deps, user_id: str, space_id: str) -> SpaceAnalytics:
    """The Space's analytics for its host and co-hosts: live while it runs, final once it ended,
    kept as long as its replay would be (404 `analytics_expired` after)."""
    space = deps.spaces.get(space_id, with_count=False)
    require_moderator(space, user_id, "read this Space's analytics")
    now = deps.clock.now()
    if space.state == ENDED:
        until = available_until(space.ended_at, deps.settings.replay_retention_days)
        if until is not None and now >= until:
            raise NotFound(f"the analytics of Space {space_id} have expired", code="analytics_expired")
    if space.state not in (LIVE, ENDED):
        sessions, totals = [], {}
    else:
        sessions, totals = deps.analytics.sessions(space_id), deps.analytics.totals(space_id)
    return compute(
        space_id,
        sessions,
        totals,
        started_at=space.started_at,
        ended_at=space.ended_at if space.state == ENDED else None,
        now=now,
        tickets=_tickets(space),
        subscription_currency=SUBSCRIPTION_CURRENCY if space.access == SUBSCRIBERS else None,
    )


def _tickets(space: Space) -> TicketRevenue | None:
    """A ticketed Space's sales, as its own item keeps them (moved in each sale's transaction)."""
    if space.ticket is None or space.sales is None:
        return None
    sales = space.sales
    return TicketRevenue(space.ticket.currency, space.ticket.price_cents, sales.sold, sales.refunded, sales.gross_cents)


# ------------------------------------------------------------------ reactions to domain events


def _count(deps: Deps, space_id: str, event_id: str, user_id: str, at: datetime, amounts: dict[str, int]) -> bool:
    if deps.analytics is None:
        return False
    until = expires_at(at, deps.settings.replay_retention_days)
    return deps.analytics.count_event(space_id, event_id, user_id, until, amounts)


def count_reaction(deps: Deps, event: ReactionSent) -> None:
    _count(deps, event.space_id, event.event_id, event.user_id, event.at, {REACTION: 1})


def count_replay_play(deps: Deps, event: ReplayPlayed) -> None:
    """A play, and a unique replay listener the first time this user plays it (the user's id is
    that marker's id)."""
    _count(deps, event.space_id, event.event_id, event.user_id, event.at, {REPLAY_PLAY: 1})
    _count(deps, event.space_id, event.user_id, event.user_id, event.at, {REPLAY_LISTENER: 1})


def count_clip(deps: Deps, event: ClipMade) -> None:
    _count(deps, event.space_id, event.event_id, event.user_id, event.at, {CLIP: 1})


def count_subscription(deps: Deps, event: SubscriptionPaid) -> None:
    """A subscription paid while its creator hosts a live subscriber-only Space is that Space's
    subscription revenue (one read of the creator's live Space; nothing when they are not live)."""
    if deps.analytics is None:
        return
    space_id = deps.users.live_space_of(event.creator_id)
    if space_id is None:
        return
    space = deps.spaces.get(space_id, with_count=False)
    if space.access != SUBSCRIBERS or space.state != LIVE:
        return
    amounts = {SUBSCRIPTION: 1, SUBSCRIPTION_CENTS: event.price_cents}
    _count(deps, space_id, event.event_id, event.subscriber_id, event.at, amounts)
