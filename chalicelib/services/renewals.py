"""Monthly renewal of subscriptions (Super Follows): charge, settle, retry, lapse.

Order of effects, so no period is ever paid twice and none is given away:
- the job finds due subscriptions on a sparse index, reads each again, and CLAIMS the charge
  (a conditional write naming the period and attempt) before it asks the provider, so two runs,
  or a run and its retry, never both charge;
- the charge's idempotency key is one per (subscription, period, attempt): a call retried after a
  timeout replays the same charge at the provider; a new attempt only follows a recorded decline;
- a succeeded charge (returned at once, or by the provider's webhook) moves the subscription from
  period n - 1 to n conditionally on n - 1, so a redelivered webhook extends once; a charge that
  succeeds for a subscription canceled or lapsed meanwhile is refunded;
- a declined charge makes the subscription past_due (access continues through the grace) and is
  tried again later; after RENEWAL_ATTEMPTS declines, or once the grace is over, it lapses;
- the subscriber is told (a push) when it becomes past due and when it lapses: AFTER the state
  change is committed, through the push queue, whose worker claims each (subscription, period,
  notice, device) before it publishes, so a repeat sends nothing twice; a notice that cannot be
  queued is logged and counted, never a reason to undo or redo the state change or the charge.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from aws_lambda_powertools import Logger

from chalicelib.config import SERVICE_NAME
from chalicelib.domain.errors import DependencyFailed
from chalicelib.domain.reminders import RENEWAL_DECLINED, SUBSCRIPTION_LAPSED
from chalicelib.domain.tickets import (
    RENEWABLE,
    RENEWAL_ATTEMPTS,
    RENEWAL_CLAIM,
    RENEWAL_GRACE,
    RENEWAL_RETRY,
    SUBSCRIPTION_DAYS,
    Subscription,
    parse_renewal_id,
    renewal_key,
    renewal_reference,
)
from chalicelib.ports import PaymentDeclined, PaymentEvent, Refused, RenewalHandle
from chalicelib.services.context import Deps
from chalicelib.services.reminders import SUBSCRIPTION_PUSH

logger = Logger(child=True, service=SERVICE_NAME)

RENEWED, CHARGING, PAST_DUE, LAPSED = "renewed", "charging", "past_due", "lapsed"


def renew_subscriptions(deps: Deps) -> int:
    """The scheduled job: charge every subscription whose renewal is due. Returns how many were
    charged or moved (renewed, charging, past due, lapsed)."""
    now = deps.clock.now()
    moved = 0
    for creator_id, subscriber_id in deps.subscriptions.due_renewals(now):
        try:
            moved += renew_one(deps, creator_id, subscriber_id, now) is not None
        except DependencyFailed:
            logger.warning("renewal left for the next run", creator_id=creator_id, subscriber_id=subscriber_id)
    return moved


def renew_one(deps: Deps, creator_id: str, subscriber_id: str, now: datetime) -> str | None:
    """One due subscription. None when there was nothing to do (not due, or another run has it)."""
    sub = deps.subscriptions.get(creator_id, subscriber_id)
    if sub is None or sub.status not in RENEWABLE or sub.renew_at is None or sub.renew_at > now:
        return None
    if not sub.can_renew or now >= _grace_end(sub):
        # No saved method (paid before renewal existed), or the provider stayed unavailable for
        # the whole grace: end it. Access lasts as long as the period that was paid.
        return _lapse(deps, sub)
    try:
        deps.subscriptions.claim_renewal(sub, now, now + RENEWAL_CLAIM)
    except Refused:
        return None
    period, attempt = sub.period + 1, sub.renewal_attempts + 1
    try:
        payment = deps.payments.charge_renewal(
            RenewalHandle(sub.customer_id, sub.payment_method_id),
            reference=renewal_reference(sub, period, attempt),
            amount_cents=sub.price_cents,
            currency=sub.currency,
            description=f"Subscription to {sub.creator_id} ({sub.tier}), period {period}",
            idempotency_key=renewal_key(sub, period, attempt),
            metadata={"creator_id": sub.creator_id, "subscriber_id": sub.subscriber_id},
        )
    except PaymentDeclined as exc:
        return _declined(deps, sub, attempt, now, exc.decline_code)
    except DependencyFailed:
        # Outcome unknown: the claim runs out and a later run calls again with the same key.
        logger.warning("renewal charge not answered; retried later", subscription_id=sub.subscription_id)
        return None
    deps.telemetry.count("SubscriptionRenewalCharged")
    if payment.status == "succeeded":
        _renewed(deps, sub, period, payment.payment_id)
        return RENEWED
    return CHARGING  # the provider's webhook settles it


def renewal_event(deps: Deps, creator_id: str, subscriber_id: str, object_id: str, event: PaymentEvent) -> bool:
    """A provider event for a renewal charge (reference "renew:..."). True when it changed something."""
    sub_id, period, attempt = parse_renewal_id(object_id)
    current = deps.subscriptions.get(creator_id, subscriber_id)
    matches = current is not None and current.subscription_id == sub_id
    if event.kind == "payment_succeeded":
        if matches and _renewed(deps, current, period, event.payment_id):
            return True
        if matches and current.period >= period:
            return False  # a redelivery: this period is already paid
        # Paid for a subscription that was canceled, lapsed or replaced while the charge ran.
        deps.payments.refund(event.payment_id, idempotency_key=f"refund-renew-{sub_id}-{period}-{attempt}")
        deps.telemetry.count("RenewalRefunded")
        logger.info("renewal refunded", subscription_id=sub_id, period=period, status=current and current.status)
        return True
    if event.kind in ("payment_failed", "payment_canceled") and matches and current.period == period - 1:
        return _declined(deps, current, attempt, deps.clock.now(), event.decline_code) is not None
    return False


def _renewed(deps: Deps, sub: Subscription, period: int, payment_id: str) -> bool:
    # The new period follows the old one (not the day it was paid), so a renewal paid during
    # the grace does not move the billing day. Conditional on period - 1: a redelivery is refused.
    period_end = sub.current_period_end + timedelta(days=SUBSCRIPTION_DAYS)
    try:
        deps.subscriptions.renewed(sub, period, payment_id, period_end)
    except Refused:
        return False
    deps.telemetry.count("SubscriptionRenewed")
    logger.info("subscription renewed", subscription_id=sub.subscription_id, period=period)
    return True


def _declined(deps: Deps, sub: Subscription, attempt: int, now: datetime, decline_code: str | None) -> str | None:
    retry_at = now + RENEWAL_RETRY
    if attempt >= RENEWAL_ATTEMPTS or retry_at >= _grace_end(sub):
        retry_at = None
    try:
        deps.subscriptions.declined(sub, attempt, retry_at)
    except Refused:
        return None  # recorded already (the webhook and the job both saw the decline)
    deps.telemetry.count("SubscriptionRenewalDeclined")
    logger.info(
        "renewal declined",
        subscription_id=sub.subscription_id,
        attempt=attempt,
        decline_code=decline_code,
        retry_at=retry_at and retry_at.isoformat(),
    )
    if retry_at is None:
        deps.telemetry.count("SubscriptionLapsed")
        _tell(deps, sub, SUBSCRIPTION_LAPSED)
        return LAPSED
    _tell(deps, sub, RENEWAL_DECLINED)
    return PAST_DUE


def _lapse(deps: Deps, sub: Subscription) -> str | None:
    try:
        deps.subscriptions.lapse(sub)
    except Refused:
        return None
    deps.telemetry.count("SubscriptionLapsed")
    logger.info("subscription lapsed", subscription_id=sub.subscription_id, can_renew=sub.can_renew)
    _tell(deps, sub, SUBSCRIPTION_LAPSED)
    return LAPSED


def _tell(deps: Deps, sub: Subscription, notice: str) -> None:
    """Queue the subscriber's push about the period `sub` failed to renew. The push worker
    claims it per device, so a notice queued again (every decline of a period queues one, and
    a job run may repeat) is pushed once. Best effort: the state change is committed already,
    and a queue that is down must not fail the job (which would charge nothing more, but would
    stop the other subscriptions' renewals of this run)."""
    body = {
        "kind": SUBSCRIPTION_PUSH,
        "notice": notice,
        "subscription_id": sub.subscription_id,
        "period": sub.period + 1,
        "creator_id": sub.creator_id,
        "user_ids": [sub.subscriber_id],
    }
    try:
        deps.push_queue.send_batch([body])
    except DependencyFailed:
        deps.telemetry.count("SubscriptionNoticeNotQueued")
        logger.warning("subscription notice not queued", subscription_id=sub.subscription_id, notice=notice)


def _grace_end(sub: Subscription) -> datetime:
    return sub.current_period_end + RENEWAL_GRACE
