"""Tickets and subscriptions on DynamoDB.

The seat count lives on the Space item (`tickets_taken`, compared with `ticket_capacity`) and
every change of a ticket's status that takes or returns a seat is ONE transaction with the
Space item, so the count and the tickets can never disagree. Concurrent buyers of one Space
contend on that item: a transaction that loses a race (TransactionConflict) is retried here
with jittered backoff; a refused condition is a clean answer (sold out, already bought).

Throughput: every hold and payment writes the Space item in a transaction (2 WCU), so one
Space's sale tops out near 500 seat changes per second (the 1,000 WCU partition limit).
"""
from __future__ import annotations

import random
import time
import zlib
from datetime import datetime, timezone

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.adapters.dynamodb.errors import dependency_failure, error_code
from chalicelib.adapters.dynamodb.pages import last_values, start_key
from chalicelib.adapters.dynamodb.models import SpaceModel, SubscriptionModel, TicketModel
from chalicelib.adapters.dynamodb.transactions import ConditionsFailed, transaction
from chalicelib.domain.errors import DependencyFailed
from chalicelib.domain.spaces import LIVE, SCHEDULED, TICKETED
from chalicelib.domain.tickets import (
    EXPIRED,
    FAILED,
    HELD,
    PAID,
    PAID_THROUGH_PERIOD,
    REBUYABLE,
    REFUNDED,
    REFUNDING,
    RELEASED,
    CLAIMED_BY_JOB,
    CLAIMED_BY_UPDATE,
    RENEWABLE,
    RENEWAL_GRACE,
    RENEWAL_WINDOW,
    SUB_ACTIVE,
    SUB_CANCELED,
    SUB_LAPSED,
    SUB_PAST_DUE,
    SUB_PENDING,
    Subscription,
    Ticket,
)
from chalicelib.ports import Refused, RenewalHandle

HOLD_SHARDS = 10
RENEW_SHARDS = 10
CONFLICT_ATTEMPTS = 12


def _to_ticket(m: TicketModel) -> Ticket:
    return Ticket(
        space_id=m.space_id,
        buyer_id=m.buyer_id,
        ticket_id=m.ticket_id,
        status=m.status,
        price_cents=int(m.price_cents),
        currency=m.currency,
        created_at=m.created_at,
        hold_expires_at=(
            datetime.fromtimestamp(int(m.hold_expires), timezone.utc) if m.hold_expires else None
        ),
        payment_id=m.payment_id,
        provider=m.provider,
        paid_at=m.paid_at,
        refunded_at=m.refunded_at,
        refund_id=m.refund_id,
    )


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


def _ticket_from_raw(raw: dict | None) -> Ticket | None:
    return _to_ticket(TicketModel.from_raw_data(raw)) if raw else None


def _retrying(write, sleep=time.sleep):
    """Run a transactional write, retrying only when it lost a race with another transaction
    on the same items (the answer is then unknown, so it is simply tried again)."""
    for attempt in range(CONFLICT_ATTEMPTS):
        try:
            return write()
        except DependencyFailed as exc:
            if exc.code != "write_conflict" or attempt == CONFLICT_ATTEMPTS - 1:
                raise
            sleep(random.uniform(0, min(0.2, 0.005 * 2**attempt)))


def _query_shards(index, prefix: str, shards: int, range_condition, limit: int) -> list:
    """The items of a sparse index sharded as "<prefix>#<n>" that meet `range_condition`: one
    Query per shard (at most `limit` items each), never a Scan."""
    try:
        return [m for shard in range(shards) for m in index.query(f"{prefix}#{shard}", range_condition, limit=limit)]
    except Exception as exc:
        raise dependency_failure(exc) from exc


def hold_shard(ticket_id: str) -> str:
    return f"holds#{zlib.crc32(ticket_id.encode()) % HOLD_SHARDS}"


class DynamoTicketRepository:
    def __init__(self, connection=None, sleep=time.sleep):
        self._connection = connection or TicketModel._get_connection().connection
        self._sleep = sleep

    # ------------------------------------------------------------------ reading

    def get(self, space_id: str, buyer_id: str) -> Ticket | None:
        try:
            return _to_ticket(TicketModel.get(space_id, buyer_id, consistent_read=True))
        except DoesNotExist:
            return None
        except Exception as exc:
            raise dependency_failure(exc) from exc

    def for_space(self, space_id: str, *, limit: int, after: dict | None = None):
        """One page of a Space's tickets by buyer id: (tickets, last key or None). One Query.
        Keys are plain: `{"buyer_id": ...}`."""
        try:
            result = TicketModel.query(
                space_id, limit=limit, page_size=limit, last_evaluated_key=start_key(after, space_id=space_id)
            )
            items = [_to_ticket(m) for m in result]
        except Exception as exc:
            raise dependency_failure(exc) from exc
        return items, last_values(result.last_evaluated_key, "space_id")

    def for_buyer(self, buyer_id: str, *, limit: int, after: dict | None = None):
        """One page of a buyer's tickets, newest first: (tickets, last key or None).
        Keys are plain: `{"bought_key": ..., "space_id": ...}`."""
        try:
            result = TicketModel.by_buyer.query(
                buyer_id, scan_index_forward=False, limit=limit, page_size=limit,
                last_evaluated_key=start_key(after, buyer_id=buyer_id),
            )
            items = [_to_ticket(m) for m in result]
        except Exception as exc:
            raise dependency_failure(exc) from exc
        return items, last_values(result.last_evaluated_key, "buyer_id")

    def expired_holds(self, now: datetime, limit: int = 100) -> list[tuple[str, str]]:
        """Holds past their time: [(space_id, buyer_id)]. One Query per shard of the sparse
        open-holds index, never a Scan."""
        found = _query_shards(
            TicketModel.open_holds, "holds", HOLD_SHARDS, TicketModel.hold_expires <= int(now.timestamp()), limit
        )
        return [(m.space_id, m.buyer_id) for m in found]

    # ------------------------------------------------------------------ seats

    def hold(self, ticket: Ticket) -> None:
        """Take a seat and record the buyer's hold, in one transaction. Refused("space") when
        the Space is sold out or no longer on sale, Refused("ticket") when the buyer already
        has a ticket that is not failed or expired (its current state in `.ticket`)."""
        assert ticket.hold_expires_at is not None  # a hold has its expiry
        item = TicketModel(
            ticket.space_id,
            ticket.buyer_id,
            ticket_id=ticket.ticket_id,
            status=HELD,
            price_cents=ticket.price_cents,
            currency=ticket.currency,
            created_at=ticket.created_at,
            bought_key=f"{ticket.created_at.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}#{ticket.space_id}",
            provider=ticket.provider,
            hold_shard=hold_shard(ticket.ticket_id),
            hold_expires=int(ticket.hold_expires_at.timestamp()),
        )

        def write():
            with transaction(self._connection) as tx:
                tx.update(
                    "space",
                    SpaceModel(ticket.space_id),
                    actions=[SpaceModel.tickets_taken.add(1), SpaceModel.tickets_held.add(1)],
                    condition=(
                        SpaceModel.state.is_in(SCHEDULED, LIVE)
                        & (SpaceModel.access == TICKETED)
                        & (SpaceModel.tickets_taken < SpaceModel.ticket_capacity)
                    ),
                )
                tx.save(
                    "ticket",
                    item,
                    condition=(TicketModel.space_id.does_not_exist() | TicketModel.status.is_in(*REBUYABLE)),
                    return_values="ALL_OLD",
                )

        try:
            _retrying(write, self._sleep)
        except ConditionsFailed as exc:
            if "ticket" in exc:
                refused = Refused("ticket")
                refused.ticket = _ticket_from_raw(exc.items.get("ticket"))
                raise refused from exc
            raise Refused("space") from exc

    def set_payment(self, ticket: Ticket, provider: str, payment_id: str) -> None:
        try:
            TicketModel(ticket.space_id, ticket.buyer_id).update(
                actions=[TicketModel.provider.set(provider), TicketModel.payment_id.set(payment_id)],
                condition=(TicketModel.ticket_id == ticket.ticket_id),
            )
        except UpdateError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise Refused("ticket") from exc
            raise dependency_failure(exc) from exc

    def confirm(self, ticket: Ticket, payment_id: str, now: datetime) -> None:
        """held -> paid: the seat held becomes a sold one. Refused("ticket") unless held."""
        self._move(
            ticket,
            [
                TicketModel.status.set(PAID),
                TicketModel.paid_at.set(now),
                TicketModel.payment_id.set(payment_id),
                TicketModel.hold_shard.remove(),
                TicketModel.hold_expires.remove(),
            ],
            TicketModel.status == HELD,
            [
                SpaceModel.tickets_held.add(-1),
                SpaceModel.tickets_sold.add(1),
                SpaceModel.tickets_gross_cents.add(ticket.price_cents),
            ],
        )

    def retake(self, ticket: Ticket, payment_id: str, now: datetime) -> None:
        """A payment succeeded after its hold was let go (expired, failed, released): take a
        seat again if the Space still sells one. Refused("space") when it does not,
        Refused("ticket") when the ticket moved meanwhile."""
        self._move(
            ticket,
            [TicketModel.status.set(PAID), TicketModel.paid_at.set(now), TicketModel.payment_id.set(payment_id)],
            TicketModel.status == ticket.status,
            [
                SpaceModel.tickets_taken.add(1),
                SpaceModel.tickets_sold.add(1),
                SpaceModel.tickets_gross_cents.add(ticket.price_cents),
            ],
            space_condition=(
                SpaceModel.state.is_in(SCHEDULED, LIVE) & (SpaceModel.tickets_taken < SpaceModel.ticket_capacity)
            ),
        )

    def release(self, ticket: Ticket, to_status: str, now: datetime) -> None:
        """held -> failed / expired / released: the seat returns. Refused("ticket") unless held."""
        assert to_status in (FAILED, EXPIRED, RELEASED)
        self._move(
            ticket,
            [TicketModel.status.set(to_status), TicketModel.hold_shard.remove(), TicketModel.hold_expires.remove()],
            TicketModel.status == HELD,
            [SpaceModel.tickets_taken.add(-1), SpaceModel.tickets_held.add(-1)],
        )

    def begin_refund(self, ticket: Ticket) -> None:
        """paid -> refunding, claimed before the provider is asked, so of two workers refunding
        one Space, the second finds the claim (and a retry after a crash finds it too)."""
        try:
            TicketModel(ticket.space_id, ticket.buyer_id).update(
                actions=[TicketModel.status.set(REFUNDING)],
                condition=(TicketModel.ticket_id == ticket.ticket_id) & (TicketModel.status == PAID),
            )
        except UpdateError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise Refused("ticket") from exc
            raise dependency_failure(exc) from exc

    def finish_refund(self, ticket: Ticket, refund_id: str, now: datetime) -> None:
        """refunding -> refunded, the sold seat returned; or, for a payment that came in after
        its ticket was let go (expired / failed / released, holding no seat), that ticket ->
        refunded with only the refund counted."""
        space_actions = [SpaceModel.tickets_refunded.add(1)]
        if ticket.status == REFUNDING:
            space_actions += [
                SpaceModel.tickets_taken.add(-1),
                SpaceModel.tickets_sold.add(-1),
                SpaceModel.tickets_gross_cents.add(-ticket.price_cents),
            ]
        self._move(
            ticket,
            [TicketModel.status.set(REFUNDED), TicketModel.refunded_at.set(now), TicketModel.refund_id.set(refund_id)],
            TicketModel.status == ticket.status,
            space_actions,
        )

    def _move(self, ticket: Ticket, ticket_actions, ticket_condition, space_actions, space_condition=None) -> None:
        """One ticket's status change and its Space's counts, in one transaction. The ticket
        must still be this one (`ticket_id`) and meet `ticket_condition`: Refused("ticket");
        the Space `space_condition`: Refused("space")."""

        def write():
            with transaction(self._connection) as tx:
                tx.update(
                    "ticket",
                    TicketModel(ticket.space_id, ticket.buyer_id),
                    actions=ticket_actions,
                    condition=(TicketModel.ticket_id == ticket.ticket_id) & ticket_condition,
                )
                tx.update("space", SpaceModel(ticket.space_id), actions=space_actions, condition=space_condition)

        try:
            _retrying(write, self._sleep)
        except ConditionsFailed as exc:
            raise Refused("ticket" if "ticket" in exc else "space") from exc


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
        found = _query_shards(
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
