"""Tickets of ticketed Spaces on DynamoDB (subscriptions are in subscriptions.py).

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
from chalicelib.adapters.dynamodb.models import SpaceModel, TicketModel
from chalicelib.adapters.dynamodb.pages import query_page
from chalicelib.adapters.dynamodb.sharded_index import query_shards
from chalicelib.adapters.dynamodb.transactions import ConditionsFailed, transaction
from chalicelib.domain.errors import DependencyFailed
from chalicelib.domain.spaces import LIVE, SCHEDULED, TICKETED
from chalicelib.domain.tickets import (
    EXPIRED,
    FAILED,
    HELD,
    PAID,
    REBUYABLE,
    REFUNDED,
    REFUNDING,
    RELEASED,
    Ticket,
)
from chalicelib.ports import Refused


HOLD_SHARDS = 10
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
        return query_page(TicketModel.query, "space_id", space_id, limit=limit, after=after, convert=_to_ticket)

    def for_buyer(self, buyer_id: str, *, limit: int, after: dict | None = None):
        """One page of a buyer's tickets, newest first: (tickets, last key or None).
        Keys are plain: `{"bought_key": ..., "space_id": ...}`."""
        return query_page(
            TicketModel.by_buyer.query, "buyer_id", buyer_id,
            limit=limit, after=after, convert=_to_ticket, scan_index_forward=False,
        )

    def expired_holds(self, now: datetime, limit: int = 100) -> list[tuple[str, str]]:
        """Holds past their time: [(space_id, buyer_id)]. One Query per shard of the sparse
        open-holds index, never a Scan."""
        found = query_shards(
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
