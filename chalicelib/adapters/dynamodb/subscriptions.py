"""Subscriptions to hosts on DynamoDB: start, activation, renewals, card updates, lapses.

Every change is one conditional UpdateItem on the subscription's item (no transaction: a
subscription takes no seat). Subscriptions due for renewal sit in a sparse index sharded over
RENEW_SHARDS keys, which the renewal job Queries shard by shard.
"""
from __future__ import annotations

import zlib
from datetime import datetime, timezone

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.adapters.dynamodb.errors import dependency_failure, error_code
from chalicelib.adapters.dynamodb.models import SubscriptionModel
from chalicelib.adapters.dynamodb.sharded_index import query_shards
from chalicelib.domain.subscriptions import (
    CLAIMED_BY_JOB,
    CLAIMED_BY_UPDATE,
    PAID_THROUGH_PERIOD,
    RENEWABLE,
    RENEWAL_GRACE,
    RENEWAL_WINDOW,
    SUB_ACTIVE,
    SUB_CANCELED,
    SUB_LAPSED,
    SUB_PAST_DUE,
    SUB_PENDING,
    Subscription,
)
from chalicelib.domain.payments import RenewalHandle
from chalicelib.ports import Refused

RENEW_SHARDS = 10


def _epoch(value) -> datetime | None:
    return datetime.fromtimestamp(int(value), timezone.utc) if value is not None else None


def _to_subscription(m: SubscriptionModel) -> Subscription:
    return Subscription(
        creator_id=m.creator_id,
        subscriber_id=m.subscriber_id,
        tier=m.tier,
        price_cents=int(m.price_cents),
        currency=m.currency,
        status=m.status,
        created_at=m.created_at,
        current_period_end=(
            datetime.fromtimestamp(int(m.period_end), timezone.utc) if m.period_end else None
        ),
        payment_id=m.payment_id,
        subscription_id=m.subscription_id,
        period=int(m.period or 1),
        renewal_attempts=int(m.renewal_attempts or 0),
        renew_at=_epoch(m.renew_at),
        claim_until=_epoch(m.claim_until),
        customer_id=m.customer_id,
        payment_method_id=m.payment_method_id,
        update_attempts=int(m.update_attempts or 0),
        update_payment_id=m.update_payment_id,
        claimed_by=m.claimed_by,
    )


def subscription_grants_access(now: datetime):
    """The condition `Subscription.grants_access(now)` as a DynamoDB condition on the item."""
    now_s = int(now.timestamp())
    return (SubscriptionModel.status.is_in(*PAID_THROUGH_PERIOD) & (SubscriptionModel.period_end > now_s)) | (
        (SubscriptionModel.status == SUB_PAST_DUE)
        & (SubscriptionModel.period_end > now_s - int(RENEWAL_GRACE.total_seconds()))
    )


def renew_shard(subscription_id: str) -> str:
    return f"renew#{zlib.crc32(subscription_id.encode()) % RENEW_SHARDS}"


class DynamoSubscriptionRepository:
    def get(self, creator_id: str, subscriber_id: str) -> Subscription | None:
        try:
            return _to_subscription(SubscriptionModel.get(creator_id, subscriber_id, consistent_read=True))
        except DoesNotExist:
            return None
        except Exception as exc:
            raise dependency_failure(exc) from exc

    def start(self, sub: Subscription, now: datetime) -> None:
        """Record a pending subscription, unless the subscriber already has access (then
        Refused("subscription")). A pending one not yet paid is replaced."""
        item = SubscriptionModel(
            sub.creator_id,
            sub.subscriber_id,
            subscription_id=sub.subscription_id,
            tier=sub.tier,
            price_cents=sub.price_cents,
            currency=sub.currency,
            status=SUB_PENDING,
            created_at=sub.created_at,
            provider=None,
        )
        try:
            item.save(condition=SubscriptionModel.creator_id.does_not_exist() | ~subscription_grants_access(now))
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise Refused("subscription") from exc
            raise dependency_failure(exc) from exc

    def set_payment(self, sub: Subscription, provider: str, payment_id: str) -> None:
        self._update(
            sub,
            [SubscriptionModel.provider.set(provider), SubscriptionModel.payment_id.set(payment_id)],
            SubscriptionModel.subscription_id == sub.subscription_id,
        )

    def activate(
        self, sub: Subscription, payment_id: str, period_end: datetime, handle: RenewalHandle | None = None
    ) -> None:
        """pending -> active (period 1) until `period_end`, due for renewal RENEWAL_WINDOW
        before it. Refused unless this subscription is pending."""
        actions = [
            SubscriptionModel.status.set(SUB_ACTIVE),
            SubscriptionModel.payment_id.set(payment_id),
            SubscriptionModel.period_end.set(int(period_end.timestamp())),
            SubscriptionModel.period.set(1),
            SubscriptionModel.renewal_attempts.set(0),
            *self._due(sub, period_end - RENEWAL_WINDOW),
        ]
        if handle is not None:
            actions.append(SubscriptionModel.customer_id.set(handle.customer_id))
            if handle.payment_method_id:
                actions.append(SubscriptionModel.payment_method_id.set(handle.payment_method_id))
        self._update(
            sub,
            actions,
            (SubscriptionModel.subscription_id == sub.subscription_id)
            & (SubscriptionModel.status == SUB_PENDING),
        )

    # ------------------------------------------------------------------ renewal

    def due_renewals(self, now: datetime, limit: int = 100) -> list[tuple[str, str]]:
        """Subscriptions whose next charge is due: [(creator_id, subscriber_id)]. One Query per
        shard of the sparse renewals-due index, never a Scan. The index lags the table: callers
        read the item again and every change is conditional."""
        found = query_shards(
            SubscriptionModel.renewals_due,
            "renew",
            RENEW_SHARDS,
            SubscriptionModel.renew_at <= int(now.timestamp()),
            limit,
        )
        return [(m.creator_id, m.subscriber_id) for m in found]

    def claim_renewal(self, sub: Subscription, now: datetime, until: datetime) -> None:
        """Take the charge of period `sub.period + 1`, attempt `sub.renewal_attempts + 1`, for
        one job run until `until`. Refused when another run holds it, or the subscription moved
        on (renewed, declined again, canceled, lapsed, replaced)."""
        now_s = int(now.timestamp())
        self._update(
            sub,
            [
                SubscriptionModel.claim_until.set(int(until.timestamp())),
                SubscriptionModel.claimed_by.set(CLAIMED_BY_JOB),
            ],
            self._at(sub)
            & (SubscriptionModel.renew_at <= now_s)
            & self._claim_free(now_s)
            # A card update started since `sub` was read has a payment the job must void first.
            & self._update_attempts_are(sub.update_attempts),
        )

    def begin_card_update(self, sub: Subscription, now: datetime, until: datetime) -> None:
        """The past-due subscriber's card update number `sub.update_attempts + 1` takes the
        overdue period's charge until `until`, so the job does not charge the saved card
        meanwhile. It may replace the subscriber's previous card update only once that one's
        payment was recorded (and voided by the caller). Refused when the job is charging,
        another card update is starting, or the subscription is no longer past due at
        `sub.period`."""
        now_s = int(now.timestamp())
        free = self._claim_free(now_s)
        if sub.update_payment_id:
            free = free | (
                (SubscriptionModel.claimed_by == CLAIMED_BY_UPDATE)
                & (SubscriptionModel.update_payment_id == sub.update_payment_id)
            )
        self._update(
            sub,
            [
                SubscriptionModel.update_attempts.set(sub.update_attempts + 1),
                SubscriptionModel.claim_until.set(int(until.timestamp())),
                SubscriptionModel.claimed_by.set(CLAIMED_BY_UPDATE),
                SubscriptionModel.update_payment_id.remove(),
            ],
            (SubscriptionModel.subscription_id == sub.subscription_id)
            & (SubscriptionModel.status == SUB_PAST_DUE)
            & (SubscriptionModel.period == sub.period)
            & self._update_attempts_are(sub.update_attempts)
            & free,
        )

    def set_card_update_payment(self, sub: Subscription, attempt: int, payment_id: str) -> None:
        """Record card update `attempt`'s payment, so whoever comes next can void it."""
        self._update(
            sub,
            [SubscriptionModel.update_payment_id.set(payment_id)],
            (SubscriptionModel.subscription_id == sub.subscription_id)
            & (SubscriptionModel.update_attempts == attempt),
        )

    def end_card_update(self, sub: Subscription, attempt: int) -> None:
        """Card update `attempt` failed: give the overdue charge back to the job (its payment
        id stays, so the job voids it before charging). Refused when that hold is gone."""
        self._update(
            sub,
            [SubscriptionModel.claim_until.remove(), SubscriptionModel.claimed_by.remove()],
            (SubscriptionModel.subscription_id == sub.subscription_id)
            & (SubscriptionModel.update_attempts == attempt)
            & (SubscriptionModel.claimed_by == CLAIMED_BY_UPDATE),
        )

    @staticmethod
    def _claim_free(now_s: int):
        return SubscriptionModel.claim_until.does_not_exist() | (SubscriptionModel.claim_until <= now_s)

    @staticmethod
    def _update_attempts_are(n: int):
        if n == 0:
            return SubscriptionModel.update_attempts.does_not_exist() | (SubscriptionModel.update_attempts == 0)
        return SubscriptionModel.update_attempts == n

    def renewed(
        self,
        sub: Subscription,
        period: int,
        payment_id: str,
        period_end: datetime,
        handle: RenewalHandle | None = None,
    ) -> None:
        """Period `period - 1` -> `period`, paid until `period_end`: active again, due for the next
        renewal; with `handle` (a card update's payment), the method saved for renewals is now
        that one. Refused unless the subscription is still renewable at period `period - 1` (so
        a redelivered payment extends once)."""
        actions = [
            SubscriptionModel.status.set(SUB_ACTIVE),
            SubscriptionModel.period.set(period),
            SubscriptionModel.period_end.set(int(period_end.timestamp())),
            SubscriptionModel.payment_id.set(payment_id),
            SubscriptionModel.renewal_attempts.set(0),
            SubscriptionModel.claim_until.remove(),
            SubscriptionModel.claimed_by.remove(),
            SubscriptionModel.update_payment_id.remove(),
            *self._due(sub, period_end - RENEWAL_WINDOW),
        ]
        if handle is not None and handle.customer_id and handle.payment_method_id:
            actions.append(SubscriptionModel.customer_id.set(handle.customer_id))
            actions.append(SubscriptionModel.payment_method_id.set(handle.payment_method_id))
        self._update(
            sub,
            actions,
            (SubscriptionModel.subscription_id == sub.subscription_id)
            & SubscriptionModel.status.is_in(*RENEWABLE)
            & (SubscriptionModel.period == period - 1),
        )

    def declined(self, sub: Subscription, attempt: int, retry_at: datetime | None) -> None:
        """Attempt `attempt` to pay period `sub.period + 1` was declined: past_due until
        `retry_at`, or lapsed when there is no retry. Refused when it was already recorded."""
        if retry_at is None:
            actions = [SubscriptionModel.status.set(SUB_LAPSED), *self._not_due()]
        else:
            actions = [SubscriptionModel.status.set(SUB_PAST_DUE), *self._due(sub, retry_at)]
        self._update(
            sub,
            [*actions, SubscriptionModel.renewal_attempts.set(attempt), SubscriptionModel.claim_until.remove()],
            (SubscriptionModel.subscription_id == sub.subscription_id)
            & SubscriptionModel.status.is_in(*RENEWABLE)
            & (SubscriptionModel.period == sub.period)
            & (SubscriptionModel.renewal_attempts == attempt - 1),
        )

    def lapse(self, sub: Subscription) -> None:
        """Renewable at `sub.period` -> lapsed, not charged again (no saved method, or the grace
        ran out while the provider was unavailable)."""
        self._update(
            sub,
            [SubscriptionModel.status.set(SUB_LAPSED), *self._not_due(), SubscriptionModel.claim_until.remove()],
            self._at(sub),
        )

    @staticmethod
    def _at(sub: Subscription):
        return (
            (SubscriptionModel.subscription_id == sub.subscription_id)
            & SubscriptionModel.status.is_in(*RENEWABLE)
            & (SubscriptionModel.period == sub.period)
            & (SubscriptionModel.renewal_attempts == sub.renewal_attempts)
        )

    @staticmethod
    def _due(sub: Subscription, at: datetime) -> list:
        return [
            SubscriptionModel.renew_shard.set(renew_shard(sub.subscription_id)),
            SubscriptionModel.renew_at.set(int(at.timestamp())),
        ]

    @staticmethod
    def _not_due() -> list:
        return [SubscriptionModel.renew_shard.remove(), SubscriptionModel.renew_at.remove()]

    def fail(self, sub: Subscription) -> None:
        """A pending subscription whose payment failed is forgotten."""
        try:
            SubscriptionModel(sub.creator_id, sub.subscriber_id).delete(
                condition=(SubscriptionModel.subscription_id == sub.subscription_id)
                & (SubscriptionModel.status == SUB_PENDING)
            )
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise Refused("subscription") from exc
            raise dependency_failure(exc) from exc

    def cancel(self, creator_id: str, subscriber_id: str) -> None:
        """active or past_due -> canceled: out of the renewals index, never charged again; access
        lasts until the paid period ends."""
        self._update(
            Subscription(creator_id, subscriber_id, "", 0, "", "", datetime.now(timezone.utc)),
            [SubscriptionModel.status.set(SUB_CANCELED), *self._not_due(), SubscriptionModel.claim_until.remove()],
            SubscriptionModel.status.is_in(*RENEWABLE),
        )

    def _update(self, sub: Subscription, actions, condition) -> None:
        try:
            SubscriptionModel(sub.creator_id, sub.subscriber_id).update(actions=actions, condition=condition)
        except UpdateError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise Refused("subscription") from exc
            raise dependency_failure(exc) from exc
