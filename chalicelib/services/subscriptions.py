"""Use cases of subscribing to a creator: subscribe, unsubscribe, and the provider's events
about a first subscription payment (renewals and card updates: services/renewals.py).

The subscription is written PENDING before the provider is asked for money, so a payment never
arrives for nothing: a declined or failed payment forgets the pending subscription; a payment that
settles activates it, once (the activation is conditional on the pending state).
"""
from __future__ import annotations

from datetime import timedelta

from aws_lambda_powertools import Logger

from chalicelib.config import SERVICE_NAME
from chalicelib.domain.commands.commerce import Subscribe
from chalicelib.domain.errors import Conflict, DependencyFailed, RuleViolation
from chalicelib.domain.events.counted import SubscriptionPaid
from chalicelib.domain.ids import new_ulid
from chalicelib.domain.spaces import iso
from chalicelib.domain.payments import subscription_reference
from chalicelib.domain.subscriptions import (
    SUB_PAST_DUE,
    SUB_PENDING,
    SUBSCRIPTION_CURRENCY,
    SUBSCRIPTION_DAYS,
    SUBSCRIPTION_TIERS,
    Subscription,
)
from chalicelib.domain.users import validate_user_id
from chalicelib.domain.payments import Payment, PaymentDeclined, PaymentEvent, RenewalHandle
from chalicelib.ports import Refused
from chalicelib.services import renewals
from chalicelib.services.context import Deps

logger = Logger(child=True, service=SERVICE_NAME)

DEFAULT_TIER = "tier_1"  # openapi.yaml SubscribeRequest.tier's default


def subscribe(
    deps: Deps, subscriber_id: str, creator_id: str, request: Subscribe = Subscribe()
) -> tuple[Subscription, Payment]:
    """The subscription as it stands and the payment the app completes (pending until its
    webhook, or active at once)."""
    creator_id = validate_user_id(creator_id)
    tier = request.tier or DEFAULT_TIER
    price = SUBSCRIPTION_TIERS[tier]
    payment_method = request.payment_method
    if creator_id == subscriber_id:
        raise RuleViolation("you cannot subscribe to yourself", code="self_subscription")
    now = deps.clock.now()
    sub = Subscription(
        creator_id=creator_id,
        subscriber_id=subscriber_id,
        tier=tier,
        price_cents=price,
        currency=SUBSCRIPTION_CURRENCY,
        status=SUB_PENDING,
        created_at=now,
        subscription_id=new_ulid(),
    )
    try:
        deps.subscriptions.start(sub, now)
    except Refused as exc:
        current = deps.subscriptions.get(creator_id, subscriber_id)
        if current is not None and current.status == SUB_PAST_DUE:
            # Still subscribed, but the renewal was declined: pay the overdue period with the
            # method given now (the same subscription, never a second one).
            return renewals.update_card(deps, current, request.tier, payment_method)
        raise Conflict(
            f"you already subscribe to {creator_id}",
            code="already_subscribed",
            details={"current_period_end": iso(current.current_period_end)} if current else None,
        ) from exc
    try:
        payment = deps.payments.create_payment(
            reference=subscription_reference(sub),
            amount_cents=price,
            currency=SUBSCRIPTION_CURRENCY,
            description=f"Subscription to {creator_id} ({tier})",
            idempotency_key=f"sub-{sub.subscription_id}",
            payment_method=payment_method,
            metadata={"creator_id": creator_id, "subscriber_id": subscriber_id},
            save_for_renewal=True,
        )
    except PaymentDeclined as exc:
        _forget_pending(deps, sub)
        raise RuleViolation("the payment was declined; no money was taken", code="payment_declined") from exc
    except DependencyFailed:
        _forget_pending(deps, sub)
        raise
    try:
        deps.subscriptions.set_payment(sub, payment.provider, payment.payment_id)
    except (Refused, DependencyFailed):
        logger.warning("payment id not recorded on subscription", subscription_id=sub.subscription_id)
    if payment.status == "succeeded":
        _activate(deps, sub, payment.payment_id, payment.renewal)
    current = deps.subscriptions.get(creator_id, subscriber_id) or sub
    return current, payment


def unsubscribe(deps: Deps, subscriber_id: str, creator_id: str) -> tuple[str, Subscription | None, bool]:
    """(creator, the subscription canceled now or before, whether this call canceled it); None
    when no subscription granted access."""
    creator_id = validate_user_id(creator_id)
    current = deps.subscriptions.get(creator_id, subscriber_id)
    if current is None or not current.grants_access(deps.clock.now()):
        if current is not None and current.status == SUB_PENDING:
            _forget_pending(deps, current)
        return creator_id, None, False
    try:
        deps.subscriptions.cancel(creator_id, subscriber_id)
        changed = True
    except Refused:
        changed = False  # already canceled
    current = deps.subscriptions.get(creator_id, subscriber_id) or current
    return creator_id, current, changed


def _forget_pending(deps: Deps, sub: Subscription) -> None:
    try:
        deps.subscriptions.fail(sub)
    except (Refused, DependencyFailed):
        logger.warning("pending subscription left", subscription_id=sub.subscription_id)


def subscription_event(deps: Deps, creator_id: str, subscriber_id: str, sub_id: str, event: PaymentEvent) -> bool:
    """A provider event about a subscription's first payment (services/tickets.py routes it
    here by its reference)."""
    current = deps.subscriptions.get(creator_id, subscriber_id)
    matches = current is not None and current.subscription_id == sub_id
    if event.kind == "payment_succeeded":
        if current is not None and matches and current.status == SUB_PENDING:
            return _activate(deps, current, event.payment_id, event.renewal)
        if not matches:
            deps.payments.refund(event.payment_id, idempotency_key=f"refund-{sub_id}")
            deps.telemetry.count("OrphanPaymentRefunded")
            return True
        return False
    if event.kind in ("payment_failed", "payment_canceled") and current is not None and matches and current.status == SUB_PENDING:
        _forget_pending(deps, current)
        return True
    return False


def _activate(deps: Deps, sub: Subscription, payment_id: str, handle: RenewalHandle | None) -> bool:
    period_end = deps.clock.now() + timedelta(days=SUBSCRIPTION_DAYS)
    try:
        deps.subscriptions.activate(sub, payment_id, period_end, handle)
    except Refused:
        return False
    deps.telemetry.count("SubscriptionStarted")
    paid = SubscriptionPaid(
        sub.creator_id, sub.subscriber_id, sub.subscription_id, sub.price_cents, sub.currency, deps.clock.now()
    )
    deps.publish(paid)
    return True

