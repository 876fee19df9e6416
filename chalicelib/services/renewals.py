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
  queued is logged and counted, never a reason to undo or redo the state change or the charge;
- a past-due subscriber may give a new card (POST /subscription again): the card update HOLDS
  the overdue period's charge (a conditional write, like the job's claim) before its payment is
  created, so the job does not charge the saved card meanwhile; the job voids a card update's
  payment left open before it charges; whichever payment succeeds moves the period once, and a
  second payment for a period already paid is refunded.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import TypeGuard

from aws_lambda_powertools import Logger

from chalicelib.config import SERVICE_NAME
from chalicelib.domain.errors import Conflict, DependencyFailed, RuleViolation
from chalicelib.domain.messages import SubscriptionPush
from chalicelib.domain.reminders import RENEWAL_DECLINED, SUBSCRIPTION_LAPSED
from chalicelib.domain.payments import (
    card_update_key,
    card_update_reference,
    parse_renewal_id,
    renewal_key,
    renewal_reference,
)
from chalicelib.domain.subscriptions import (
    CARD_UPDATE_HOLD,
    RENEWABLE,
    RENEWAL_ATTEMPTS,
    RENEWAL_CLAIM,
    RENEWAL_GRACE,
    RENEWAL_LAPSE,
    RENEWAL_SKIP,
    RENEWAL_RETRY,
    SUBSCRIPTION_DAYS,
    Subscription,
    renewal_step,
)
from chalicelib.domain.payments import Payment, PaymentDeclined, PaymentEvent, RenewalHandle
from chalicelib.ports import Refused
from chalicelib.services.context import Deps

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
    step = renewal_step(sub, now)
    if step == RENEWAL_SKIP:
        return None
    assert sub is not None  # renewal_step skips a missing one
    if step == RENEWAL_LAPSE:
        return _lapse(deps, sub)
    try:
        deps.subscriptions.claim_renewal(sub, now, now + RENEWAL_CLAIM)
    except Refused:
        return None
    if sub.update_payment_id and not _void_card_update(deps, sub, sub.update_payment_id):
        return None
    period, attempt = sub.period + 1, sub.renewal_attempts + 1
    assert sub.customer_id is not None and sub.payment_method_id is not None  # sub.can_renew
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
    parsed = parse_renewal_id(object_id)
    if parsed is None:
        logger.warning("renewal event with a malformed reference ignored", reference=event.reference)
        return False
    sub_id, period, attempt = parsed
    current = deps.subscriptions.get(creator_id, subscriber_id)
    if event.kind == "payment_succeeded":
        return _paid(deps, current, sub_id, period, event, None, f"refund-renew-{sub_id}-{period}-{attempt}")
    if event.kind in ("payment_failed", "payment_canceled") and _is(current, sub_id) and current.period == period - 1:
        return _declined(deps, current, attempt, deps.clock.now(), event.decline_code) is not None
    return False


def card_update_event(deps: Deps, creator_id: str, subscriber_id: str, object_id: str, event: PaymentEvent) -> bool:
    """A provider event for a card update's payment (reference "update:..."). True when it
    changed something."""
    parsed = parse_renewal_id(object_id)
    if parsed is None:
        logger.warning("card update event with a malformed reference ignored", reference=event.reference)
        return False
    sub_id, period, attempt = parsed
    current = deps.subscriptions.get(creator_id, subscriber_id)
    if event.kind == "payment_succeeded":
        return _paid(deps, current, sub_id, period, event, event.renewal, f"refund-update-{sub_id}-{period}-{attempt}")
    if event.kind in ("payment_failed", "payment_canceled") and current is not None and current.subscription_id == sub_id:
        # The new card did not pay: the job goes on with its retries (voiding this payment
        # first, as the app may still confirm it with yet another card).
        return _end_card_update(deps, current, attempt)
    return False


def _paid(
    deps: Deps,
    current: Subscription | None,
    sub_id: str,
    period: int,
    event: PaymentEvent,
    handle: RenewalHandle | None,
    refund_key: str,
) -> bool:
    """A payment for `period` of subscription `sub_id` succeeded (a renewal charge, or a card
    update with the method it saved): the period moves once; any other payment for it is
    refunded."""
    for _ in range(2):
        if not _is(current, sub_id):
            break
        if _renewed(deps, current, period, event.payment_id, handle):
            return True
        if current.period > period or (current.period == period and current.payment_id == event.payment_id):
            return False  # a redelivery: this payment paid this period
        if current.period == period - 1 and current.status in RENEWABLE:
            # Refused although it looked renewable: it changed meanwhile (a concurrent delivery
            # of this event, or the other payment); decide again on what is stored now.
            current = deps.subscriptions.get(current.creator_id, current.subscriber_id)
            continue
        break
    else:
        raise DependencyFailed("the subscription kept changing while settling; retry", code="write_conflict")
    # Paid for a subscription that was canceled, lapsed or replaced while the charge ran, or
    # for a period another payment (the job's charge, or another card update) paid already.
    deps.payments.refund(event.payment_id, idempotency_key=refund_key)
    deps.telemetry.count("RenewalRefunded")
    logger.info("renewal refunded", subscription_id=sub_id, period=period, status=current and current.status)
    return True


def _is(current: Subscription | None, sub_id: str) -> TypeGuard[Subscription]:
    """`current` is the subscription `sub_id` (not gone, not replaced by another)."""
    return current is not None and current.subscription_id == sub_id


def _renewed(deps: Deps, sub: Subscription, period: int, payment_id: str, handle: RenewalHandle | None = None) -> bool:
    # The new period follows the old one (not the day it was paid), so a renewal paid during
    # the grace does not move the billing day. Conditional on period - 1: a redelivery is refused.
    assert sub.current_period_end is not None  # an active subscription has a period
    period_end = sub.current_period_end + timedelta(days=SUBSCRIPTION_DAYS)
    try:
        deps.subscriptions.renewed(sub, period, payment_id, period_end, handle)
    except Refused:
        return False
    deps.telemetry.count("SubscriptionRenewed")
    logger.info("subscription renewed", subscription_id=sub.subscription_id, period=period)
    return True


def _declined(deps: Deps, sub: Subscription, attempt: int, now: datetime, decline_code: str | None) -> str | None:
    next_try = now + RENEWAL_RETRY
    retry_at = None if attempt >= RENEWAL_ATTEMPTS or next_try >= _grace_end(sub) else next_try
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
    push = SubscriptionPush(notice, sub.subscription_id, sub.period + 1, sub.creator_id, [sub.subscriber_id])
    try:
        deps.push_queue.send_batch([push])
    except DependencyFailed:
        deps.telemetry.count("SubscriptionNoticeNotQueued")
        logger.warning("subscription notice not queued", subscription_id=sub.subscription_id, notice=notice)


# ---------------------------------------------------------------------------- card updates


def update_card(deps: Deps, sub: Subscription, tier: str | None, payment_method: str | None) -> tuple[Subscription, Payment]:
    """A past-due subscriber pays the overdue period with a new payment method (POST
    /subscription again). Answers like the first subscribe: the subscription and the payment to
    complete; its webhook (or an instant success) makes the subscription active for that
    period and saves the new method for the next renewals."""
    if tier is not None and tier != sub.tier:
        raise RuleViolation(
            f"your subscription is {sub.tier}; pay it before changing tier", code="tier_change_not_supported"
        )
    now = deps.clock.now()
    period, attempt = sub.period + 1, sub.update_attempts + 1
    if sub.update_payment_id:
        # The previous card update's payment, never completed: void it first, so the period
        # cannot be paid by both.
        try:
            deps.payments.cancel_payment(sub.update_payment_id)
        except PaymentDeclined as exc:
            raise Conflict(
                "your previous payment went through; the subscription renews in a moment", code="renewal_in_progress"
            ) from exc
    try:
        deps.subscriptions.begin_card_update(sub, now, now + CARD_UPDATE_HOLD)
    except Refused as exc:
        raise Conflict(
            "a payment for this subscription is in progress; try again in a few minutes", code="renewal_in_progress"
        ) from exc
    try:
        payment = deps.payments.create_payment(
            reference=card_update_reference(sub, period, attempt),
            amount_cents=sub.price_cents,
            currency=sub.currency,
            description=f"Subscription to {sub.creator_id} ({sub.tier}), period {period}",
            idempotency_key=card_update_key(sub, period, attempt),
            payment_method=payment_method,
            metadata={"creator_id": sub.creator_id, "subscriber_id": sub.subscriber_id},
            save_for_renewal=True,
            customer_id=sub.customer_id,
        )
    except PaymentDeclined as exc:
        _end_card_update(deps, sub, attempt)
        raise RuleViolation("the payment was declined; no money was taken", code="payment_declined") from exc
    except DependencyFailed:
        _end_card_update(deps, sub, attempt)
        raise
    try:
        deps.subscriptions.set_card_update_payment(sub, attempt, payment.payment_id)
    except (Refused, DependencyFailed):
        # Only lets the job void it if it is never completed; if it is, and the job charged the
        # saved card too, the second payment of the period is refunded.
        logger.warning("card update payment not recorded", subscription_id=sub.subscription_id, attempt=attempt)
    deps.telemetry.count("SubscriptionCardUpdateStarted")
    logger.info("card update started", subscription_id=sub.subscription_id, period=period, attempt=attempt)
    if payment.status == "succeeded":
        _renewed(deps, sub, period, payment.payment_id, payment.renewal)
    current = deps.subscriptions.get(sub.creator_id, sub.subscriber_id) or sub
    return current, payment


def _end_card_update(deps: Deps, sub: Subscription, attempt: int) -> bool:
    try:
        deps.subscriptions.end_card_update(sub, attempt)
    except Refused:
        return False  # renewed, replaced by a newer card update, or released already
    except DependencyFailed:
        logger.warning("card update hold left to run out", subscription_id=sub.subscription_id)
        return False
    return True


def _void_card_update(deps: Deps, sub: Subscription, payment_id: str) -> bool:
    """Before the job charges the saved card: the subscriber's card update left a payment that
    may still be completed; void it. False when the job must not charge now (it was paid: its
    webhook renews; or the provider did not answer: the claim runs out and a later run tries)."""
    try:
        deps.payments.cancel_payment(payment_id)
    except PaymentDeclined:
        logger.info("card update paid meanwhile; not charging", subscription_id=sub.subscription_id)
        return False
    except DependencyFailed:
        logger.warning("card update payment not voided; charge left for later", subscription_id=sub.subscription_id)
        return False
    return True


def _grace_end(sub: Subscription) -> datetime:
    assert sub.current_period_end is not None  # an active subscription has a period
    return sub.current_period_end + RENEWAL_GRACE
