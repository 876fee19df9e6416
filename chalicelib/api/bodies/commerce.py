"""JSON bodies -> commands: buying a ticket and subscribing. How a parser works:
`chalicelib/api/bodies/__init__.py`."""
from __future__ import annotations

from chalicelib.api.bodies import Body, only
from chalicelib.domain.commands.commerce import BuyTicket, Subscribe
from chalicelib.domain.errors import BadRequest
from chalicelib.domain.subscriptions import SUBSCRIPTION_TIERS


def buy_ticket(body: Body) -> BuyTicket:
    only(body, {"payment_method"})
    return BuyTicket(payment_method=_payment_method(body))


def subscribe(body: Body) -> Subscribe:
    only(body, {"tier", "payment_method"})
    tier = body.get("tier")
    if "tier" in body and (not isinstance(tier, str) or tier not in SUBSCRIPTION_TIERS):  # null too
        raise BadRequest(f"tier must be one of {', '.join(SUBSCRIPTION_TIERS)}", code="invalid_tier")
    return Subscribe(tier=tier, payment_method=_payment_method(body))


def _payment_method(body: Body) -> str | None:
    """An optional saved or test payment method to confirm with at once (`pm_...`)."""
    method = body.get("payment_method")
    if method is None:
        return None
    if not isinstance(method, str) or not method.startswith("pm_") or not 4 <= len(method) <= 255:
        raise BadRequest("payment_method must be a payment method id like pm_card_visa", code="invalid_payment_method")
    return method
