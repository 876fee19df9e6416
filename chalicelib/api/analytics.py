"""`GET /spaces/{space_id}/analytics`: a Space's host analytics, for its host and co-hosts
(docs/analytics.md), and how they look on the wire."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.api.http import current_user_id, endpoint
from chalicelib.domain.spaces import iso, validate_space_id
from chalicelib.lazy import service

if TYPE_CHECKING:
    from chalicelib.domain.analytics import SpaceAnalytics

analytics = service("analytics")

bp = Blueprint(__name__)


@bp.route("/spaces/{space_id}/analytics", methods=["GET"])
@endpoint()
def space_analytics(space_id):
    request = bp.current_request
    found = analytics.space_analytics(bootstrap.deps(), current_user_id(request), validate_space_id(space_id))
    return analytics_view(found)


def analytics_view(a: SpaceAnalytics) -> dict[str, Any]:
    revenue: dict[str, Any] = {"tickets": None, "subscriptions": None}
    if a.tickets is not None:
        t = a.tickets
        revenue["tickets"] = {
            "currency": t.currency, "price_cents": t.price_cents, "sold": t.sold, "refunded": t.refunded,
            "gross_cents": t.gross_cents, "net_cents": t.net_cents,
        }
    if a.subscriptions is not None:
        s = a.subscriptions
        revenue["subscriptions"] = {"currency": s.currency, "count": s.count, "gross_cents": s.gross_cents}
    return {
        "space_id": a.space_id,
        "final": a.final,
        "as_of": iso(a.as_of),
        "peak_concurrent_listeners": a.peak_concurrent_listeners,
        "unique_listeners": a.unique_listeners,
        "speakers": a.speakers,
        "average_listening_seconds": a.average_listening_seconds,
        "median_listening_seconds": a.median_listening_seconds,
        "listeners_per_minute": [{"minute": iso(p.minute), "listeners": p.listeners} for p in a.listeners_per_minute],
        "reactions": a.reactions,
        "replay_plays": a.replay_plays,
        "replay_listeners": a.replay_listeners,
        "clips": a.clips,
        "revenue": revenue,
    }
