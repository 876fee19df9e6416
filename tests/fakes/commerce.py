"""In-memory fakes of the ticket and subscription repositories (chalicelib/repository_ports.py).

Tickets share the `SpaceStore` of tests/fakes/spaces.py, because the seat counts live on the
Space (its `Sales`), as the DynamoDB adapter keeps them on the Space item and moves them in the
same transaction as the ticket. Each write checks every condition the adapter's write carries,
in the order the adapter reports them (the ticket's before the Space's), before it changes
anything, and refuses with the same `Refused(part)`. A paid ticket is what a join of a ticketed
Space checks, so the store's `passes` follow the tickets.

Stored times keep what DynamoDB keeps: the times the adapter writes as epoch seconds (a hold's
expiry, a period's end, `renew_at`, `claim_until`) come back as whole seconds.

The contract suite (tests/integration/test_commerce_repositories_contract.py) runs the same
tests on these and on the DynamoDB adapters. Not modelled: the lag of the sparse indexes the
jobs Query (`expired_holds`, `due_renewals` read the items as they are now), and a subscription
does not feed the join check (seed the store's `subscribers` for that).
"""
from __future__ import annotations

import zlib
from msgspec.structs import replace
from datetime import datetime, timezone
from typing import Any, Callable

from chalicelib.domain.spaces import LIVE, SCHEDULED, TICKETED
from chalicelib.domain.subscriptions import (
    CLAIMED_BY_JOB,
    CLAIMED_BY_UPDATE,
    RENEWABLE,
    RENEWAL_WINDOW,
    SUB_ACTIVE,
    SUB_CANCELED,
    SUB_LAPSED,
    SUB_PAST_DUE,
    SUB_PENDING,
    Subscription,
)
from chalicelib.domain.tickets import (
    EXPIRED,
    FAILED,
    HELD,
    PAID,
    REBUYABLE,
    REFUNDED,
    REFUNDING,
    RELEASED,
    Sales,
    Ticket,
)
from chalicelib.domain.payments import RenewalHandle
from chalicelib.ports import PageKey, Refused
from tests.fakes.spaces import SpaceStore

SHARDS = 10  # the adapters' HOLD_SHARDS and RENEW_SHARDS: each job Query takes `limit` per shard


def _seconds(at: datetime | None) -> datetime | None:
    """A time as the adapters store it, in whole epoch seconds."""
    return datetime.fromtimestamp(int(at.timestamp()), timezone.utc) if at is not None else None


def _shard(key: str) -> int:
    return zlib.crc32(key.encode()) % SHARDS


def _per_shard(found: list[tuple[str, Any]], limit: int) -> list[Any]:
    """At most `limit` of the (shard key, value) pairs from each shard, as one Query per shard."""
    taken: dict[int, int] = {}
    out = []
    for key, value in found:
        shard = _shard(key)
        if taken.get(shard, 0) < limit:
            taken[shard] = taken.get(shard, 0) + 1
            out.append(value)
    return out


def _page(items: list[Any], key: Callable[[Any], Any], limit: int) -> tuple[list[Any], Any | None]:
    """A Query's page: `limit` items, and the key of the last one when the page is full."""
    page = items[:limit]
    return page, (key(page[-1]) if page and len(page) == limit else None)


def _bought_key(ticket: Ticket) -> str:
    return f"{ticket.created_at.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}#{ticket.space_id}"


class FakeTicketRepository:
    def __init__(self, store: SpaceStore) -> None:
        self._store = store
        self.tickets: dict[tuple[str, str], Ticket] = {}

    # ------------------------------------------------------------------ reading

    def get(self, space_id: str, buyer_id: str) -> Ticket | None:
        return self.tickets.get((space_id, buyer_id))

    def for_space(
        self, space_id: str, *, limit: int, after: PageKey | None = None
    ) -> tuple[list[Ticket], PageKey | None]:
        mine = sorted((t for (s, _), t in self.tickets.items() if s == space_id), key=lambda t: t.buyer_id)
        if after is not None:
            mine = [t for t in mine if t.buyer_id > str(after["buyer_id"])]
        return _page(mine, lambda t: {"buyer_id": t.buyer_id}, limit)

    def for_buyer(
        self, buyer_id: str, *, limit: int, after: PageKey | None = None
    ) -> tuple[list[Ticket], PageKey | None]:
        mine = sorted((t for (_, b), t in self.tickets.items() if b == buyer_id), key=_bought_key, reverse=True)
        if after is not None:
            mine = [t for t in mine if (_bought_key(t), t.space_id) < (str(after["bought_key"]), str(after["space_id"]))]
        return _page(mine, lambda t: {"bought_key": _bought_key(t), "space_id": t.space_id}, limit)

    def expired_holds(self, now: datetime, limit: int = 100) -> list[tuple[str, str]]:
        now_s = int(now.timestamp())
        due = [
            (t.ticket_id, (t.space_id, t.buyer_id))
            for t in self.tickets.values()
            if t.status == HELD and t.hold_expires_at is not None and t.hold_expires_at.timestamp() <= now_s
        ]
        return _per_shard(due, limit)

    # ------------------------------------------------------------------ seats

    def hold(self, ticket: Ticket) -> None:
        assert ticket.hold_expires_at is not None  # a hold has its expiry
        existing = self.get(ticket.space_id, ticket.buyer_id)
        if existing is not None and existing.status not in REBUYABLE:
            refused = Refused("ticket")
            refused.ticket = existing
            raise refused
        row = self._store.row(ticket.space_id)
        sales = row.space.sales if row else None
        if (
            row is None
            or row.space.state not in (SCHEDULED, LIVE)
            or row.space.access != TICKETED
            or sales is None
            or sales.held + sales.sold >= sales.capacity
        ):
            raise Refused("space")
        self._count(ticket.space_id, held=1)
        self._put(
            replace(
                ticket, status=HELD, hold_expires_at=_seconds(ticket.hold_expires_at), payment_id=None, paid_at=None,
                refunded_at=None, refund_id=None,
            )
        )

    def set_payment(self, ticket: Ticket, provider: str, payment_id: str) -> None:
        current = self._this(ticket)
        self._put(replace(current, provider=provider, payment_id=payment_id))

    def confirm(self, ticket: Ticket, payment_id: str, now: datetime) -> None:
        current = self._this(ticket, HELD)
        self._count(ticket.space_id, held=-1, sold=1, gross_cents=ticket.price_cents)
        self._put(replace(current, status=PAID, paid_at=now, payment_id=payment_id, hold_expires_at=None))

    def retake(self, ticket: Ticket, payment_id: str, now: datetime) -> None:
        current = self._this(ticket, ticket.status)
        row = self._store.row(ticket.space_id)
        sales = row.space.sales if row else None
        if row is None or row.space.state not in (SCHEDULED, LIVE) or sales is None or sales.held + sales.sold >= sales.capacity:
            raise Refused("space")
        self._count(ticket.space_id, sold=1, gross_cents=ticket.price_cents)
        self._put(replace(current, status=PAID, paid_at=now, payment_id=payment_id))

    def release(self, ticket: Ticket, to_status: str, now: datetime) -> None:
        assert to_status in (FAILED, EXPIRED, RELEASED)
        current = self._this(ticket, HELD)
        self._count(ticket.space_id, held=-1)
        self._put(replace(current, status=to_status, hold_expires_at=None))

    def begin_refund(self, ticket: Ticket) -> None:
        current = self._this(ticket, PAID)
        self._put(replace(current, status=REFUNDING))

    def finish_refund(self, ticket: Ticket, refund_id: str, now: datetime) -> None:
        current = self._this(ticket, ticket.status)
        if ticket.status == REFUNDING:
            self._count(ticket.space_id, sold=-1, gross_cents=-ticket.price_cents, refunded=1)
        else:
            self._count(ticket.space_id, refunded=1)
        self._put(replace(current, status=REFUNDED, refunded_at=now, refund_id=refund_id))

    # ------------------------------------------------------------------ helpers

    def _this(self, ticket: Ticket, status: str | None = None) -> Ticket:
        """The stored ticket, if it is still `ticket` (same id) in `status`; else Refused("ticket")."""
        current = self.get(ticket.space_id, ticket.buyer_id)
        if current is None or current.ticket_id != ticket.ticket_id or (status is not None and current.status != status):
            raise Refused("ticket")
        return current

    def _count(self, space_id: str, **moves: int) -> None:
        row = self._store.row(space_id)
        if row is None or row.space.sales is None:
            return  # the adapter's update would write counts on no Space the API can read
        sales: Sales = row.space.sales
        self._store.edit(space_id, sales=replace(sales, **{k: getattr(sales, k) + v for k, v in moves.items()}))

    def _put(self, ticket: Ticket) -> None:
        self.tickets[(ticket.space_id, ticket.buyer_id)] = ticket
        key = (ticket.space_id, ticket.buyer_id)
        if ticket.status == PAID:
            self._store.passes.add(key)
        else:
            self._store.passes.discard(key)


class FakeSubscriptionRepository:
    def __init__(self) -> None:
        self.subscriptions: dict[tuple[str, str], Subscription] = {}

    def get(self, creator_id: str, subscriber_id: str) -> Subscription | None:
        return self.subscriptions.get((creator_id, subscriber_id))

    def start(self, sub: Subscription, now: datetime) -> None:
        existing = self.get(sub.creator_id, sub.subscriber_id)
        if existing is not None and existing.grants_access(now):
            raise Refused("subscription")
        self._put(
            Subscription(
                sub.creator_id, sub.subscriber_id, sub.tier, sub.price_cents, sub.currency, SUB_PENDING,
                sub.created_at, subscription_id=sub.subscription_id,
            )
        )

    def set_payment(self, sub: Subscription, provider: str, payment_id: str) -> None:
        self._put(replace(self._this(sub), payment_id=payment_id))

    def activate(
        self, sub: Subscription, payment_id: str, period_end: datetime, handle: RenewalHandle | None = None
    ) -> None:
        current = self._this(sub, lambda s: s.status == SUB_PENDING)
        changes: dict[str, Any] = {}
        if handle is not None:
            changes["customer_id"] = handle.customer_id
            if handle.payment_method_id:
                changes["payment_method_id"] = handle.payment_method_id
        self._put(
            replace(
                current, status=SUB_ACTIVE, payment_id=payment_id, current_period_end=_seconds(period_end), period=1,
                renewal_attempts=0, renew_at=_seconds(period_end - RENEWAL_WINDOW), **changes,
            )
        )

    # ------------------------------------------------------------------ renewal

    def due_renewals(self, now: datetime, limit: int = 100) -> list[tuple[str, str]]:
        now_s = int(now.timestamp())
        due = [
            (s.subscription_id, (s.creator_id, s.subscriber_id))
            for s in self.subscriptions.values()
            if s.renew_at is not None and s.renew_at.timestamp() <= now_s
        ]
        return _per_shard(due, limit)

    def claim_renewal(self, sub: Subscription, now: datetime, until: datetime) -> None:
        current = self._this(
            sub,
            lambda s: self._at(s, sub)
            and s.renew_at is not None
            and s.renew_at <= now
            and self._claim_free(s, now)
            and s.update_attempts == sub.update_attempts,
        )
        self._put(replace(current, claim_until=_seconds(until), claimed_by=CLAIMED_BY_JOB))

    def begin_card_update(self, sub: Subscription, now: datetime, until: datetime) -> None:
        def free(s: Subscription) -> bool:
            replaces_last_update = bool(sub.update_payment_id) and (
                s.claimed_by == CLAIMED_BY_UPDATE and s.update_payment_id == sub.update_payment_id
            )
            return self._claim_free(s, now) or replaces_last_update

        current = self._this(
            sub,
            lambda s: s.status == SUB_PAST_DUE and s.period == sub.period and s.update_attempts == sub.update_attempts and free(s),
        )
        self._put(
            replace(
                current, update_attempts=sub.update_attempts + 1, claim_until=_seconds(until),
                claimed_by=CLAIMED_BY_UPDATE, update_payment_id=None,
            )
        )

    def set_card_update_payment(self, sub: Subscription, attempt: int, payment_id: str) -> None:
        current = self._this(sub, lambda s: s.update_attempts == attempt)
        self._put(replace(current, update_payment_id=payment_id))

    def end_card_update(self, sub: Subscription, attempt: int) -> None:
        current = self._this(sub, lambda s: s.update_attempts == attempt and s.claimed_by == CLAIMED_BY_UPDATE)
        self._put(replace(current, claim_until=None, claimed_by=None))

    def renewed(
        self,
        sub: Subscription,
        period: int,
        payment_id: str,
        period_end: datetime,
        handle: RenewalHandle | None = None,
    ) -> None:
        current = self._this(sub, lambda s: s.status in RENEWABLE and s.period == period - 1)
        changes: dict[str, Any] = {}
        if handle is not None and handle.customer_id and handle.payment_method_id:
            changes = {"customer_id": handle.customer_id, "payment_method_id": handle.payment_method_id}
        self._put(
            replace(
                current, status=SUB_ACTIVE, period=period, current_period_end=_seconds(period_end),
                payment_id=payment_id, renewal_attempts=0, claim_until=None, claimed_by=None,
                update_payment_id=None, renew_at=_seconds(period_end - RENEWAL_WINDOW), **changes,
            )
        )

    def declined(self, sub: Subscription, attempt: int, retry_at: datetime | None) -> None:
        current = self._this(
            sub,
            lambda s: s.status in RENEWABLE and s.period == sub.period and s.renewal_attempts == attempt - 1,
        )
        status = SUB_LAPSED if retry_at is None else SUB_PAST_DUE
        self._put(replace(current, status=status, renew_at=_seconds(retry_at), renewal_attempts=attempt, claim_until=None))

    def lapse(self, sub: Subscription) -> None:
        current = self._this(sub, lambda s: self._at(s, sub))
        self._put(replace(current, status=SUB_LAPSED, renew_at=None, claim_until=None))

    def fail(self, sub: Subscription) -> None:
        self._this(sub, lambda s: s.status == SUB_PENDING)
        del self.subscriptions[(sub.creator_id, sub.subscriber_id)]

    def cancel(self, creator_id: str, subscriber_id: str) -> None:
        current = self.get(creator_id, subscriber_id)
        if current is None or current.status not in RENEWABLE:
            raise Refused("subscription")
        self._put(replace(current, status=SUB_CANCELED, renew_at=None, claim_until=None))

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _at(stored: Subscription, sub: Subscription) -> bool:
        """Still renewable at `sub`'s period and attempt (the adapter's `_at`)."""
        return stored.status in RENEWABLE and stored.period == sub.period and stored.renewal_attempts == sub.renewal_attempts

    @staticmethod
    def _claim_free(stored: Subscription, now: datetime) -> bool:
        return stored.claim_until is None or stored.claim_until.timestamp() <= int(now.timestamp())

    def _this(self, sub: Subscription, condition: Callable[[Subscription], bool] = lambda s: True) -> Subscription:
        """The stored subscription, if it is still `sub` (same id) and meets `condition`; else
        Refused("subscription")."""
        current = self.get(sub.creator_id, sub.subscriber_id)
        if current is None or current.subscription_id != sub.subscription_id or not condition(current):
            raise Refused("subscription")
        return current

    def _put(self, sub: Subscription) -> None:
        self.subscriptions[(sub.creator_id, sub.subscriber_id)] = sub
