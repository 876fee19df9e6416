"""The ticket and subscription repositories, one contract for the DynamoDB adapters
(adapters/dynamodb/tickets.py, subscriptions.py) and the in-memory fakes (tests/fakes/commerce.py):
every test runs on both, so the fakes the service tests use cannot drift from the adapters.

The DynamoDB side runs on DynamoDB Local (tests/conftest.py starts it). Its tables are shared
with other tests, so each test uses ids of its own and looks only at them in what a job's index
returns.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from msgspec.structs import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from chalicelib.domain import spaces as domain
from chalicelib.domain.spaces import SpaceRules
from chalicelib.domain.subscriptions import (
    CLAIMED_BY_JOB,
    RENEWAL_WINDOW,
    SUB_ACTIVE,
    SUB_CANCELED,
    SUB_LAPSED,
    SUB_PAST_DUE,
    SUB_PENDING,
    Subscription,
)
from chalicelib.domain.tickets import EXPIRED, FAILED, HELD, PAID, REFUNDED, REFUNDING, Ticket, TicketRules
from chalicelib.domain.payments import RenewalHandle
from chalicelib.ports import Refused
from chalicelib.api.bodies.spaces import create_space as space_request

RULES = SpaceRules(
    max_cohosts=2, max_on_stage=4, max_scheduled_per_host=2, max_schedule_ahead_days=30, max_topics=3,
    max_title_length=140,
)
TICKETS = TicketRules(min_price_cents=100, max_price_cents=99_900, currencies=("USD",), max_capacity=1000, hold_seconds=600)
NOW = datetime(2026, 12, 1, 18, 0, 0, 250_000, tzinfo=timezone.utc)
HANDLE = RenewalHandle("cus_1", "pm_card_visa")


@dataclass
class Repos:
    spaces: Any
    participants: Any
    tickets: Any
    subscriptions: Any


@pytest.fixture(params=["dynamodb", "memory"])
def repos(request):
    if request.param == "memory":
        from tests.fakes.commerce import FakeSubscriptionRepository, FakeTicketRepository
        from tests.fakes.spaces import SpaceStore

        store = SpaceStore()
        space_repos = store.repositories()
        return Repos(space_repos["spaces"], space_repos["participants"], FakeTicketRepository(store), FakeSubscriptionRepository())
    request.getfixturevalue("dynamodb_local")
    from chalicelib.adapters.dynamodb.spaces import space_repositories
    from chalicelib.adapters.dynamodb.subscriptions import DynamoSubscriptionRepository
    from chalicelib.adapters.dynamodb.tickets import DynamoTicketRepository

    space_repos = space_repositories(count_shards=4)
    return Repos(space_repos["spaces"], space_repos["participants"], DynamoTicketRepository(), DynamoSubscriptionRepository())


def _id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def _on_sale(repos, capacity: int = 2):
    space = domain.new_space(
        space_id=_id("S"), creator_id=_id("h"), now=NOW, rules=RULES, ticket_rules=TICKETS,
        request=space_request({"title": "Paid jazz", "access": "ticketed", "ticket": {"price_cents": 500, "currency": "USD", "capacity": capacity}}),
    )
    repos.spaces.create(space, max_scheduled=RULES.max_scheduled_per_host)
    return space


def _ticket(space, buyer_id=None, *, at=NOW, hold_seconds=600) -> Ticket:
    return Ticket(
        space_id=space.id, buyer_id=buyer_id or _id("b"), ticket_id=_id("T"), status=HELD, price_cents=500,
        currency="USD", created_at=at, hold_expires_at=at + timedelta(seconds=hold_seconds), provider="sandbox",
    )


def _held(repos, space, buyer_id=None, **kwargs) -> Ticket:
    ticket = _ticket(space, buyer_id, **kwargs)
    repos.tickets.hold(ticket)
    return repos.tickets.get(space.id, ticket.buyer_id)


def _sales(repos, space):
    sales = repos.spaces.get(space.id, with_count=False).sales
    return sales.held, sales.sold, sales.refunded, sales.gross_cents


# --------------------------------------------------------------------------- tickets


def test_a_hold_takes_a_seat_and_reads_back_held_with_its_expiry_in_whole_seconds(repos):
    space = _on_sale(repos)
    ticket = _ticket(space)

    repos.tickets.hold(ticket)

    got = repos.tickets.get(space.id, ticket.buyer_id)
    assert (got.ticket_id, got.status, got.price_cents, got.currency, got.payment_id) == (ticket.ticket_id, HELD, 500, "USD", None)
    assert got.hold_expires_at == ticket.hold_expires_at.replace(microsecond=0)
    assert _sales(repos, space) == (1, 0, 0, 0)


def test_no_ticket_reads_as_none(repos):
    assert repos.tickets.get(_id("S"), _id("b")) is None


def test_a_sold_out_space_refuses_the_next_hold_and_a_freed_seat_takes_it(repos):
    space = _on_sale(repos, capacity=1)
    first = _held(repos, space)
    late = _ticket(space)

    with pytest.raises(Refused) as refused:
        repos.tickets.hold(late)
    repos.tickets.release(first, EXPIRED, NOW)
    repos.tickets.hold(late)

    assert refused.value.part == "space"
    assert repos.tickets.get(space.id, late.buyer_id).status == HELD and _sales(repos, space) == (1, 0, 0, 0)


def test_a_hold_on_a_space_that_sells_no_tickets_is_refused(repos):
    space = domain.new_space(space_id=_id("S"), creator_id=_id("h"), request=space_request({"title": "Free"}), now=NOW, rules=RULES, ticket_rules=TICKETS)
    repos.spaces.create(space, max_scheduled=2)

    with pytest.raises(Refused) as refused:
        repos.tickets.hold(_ticket(space))

    assert refused.value.part == "space"


def test_a_buyer_holds_one_ticket_and_may_buy_again_once_it_failed(repos):
    space = _on_sale(repos)
    first = _held(repos, space)

    with pytest.raises(Refused) as refused:
        repos.tickets.hold(_ticket(space, first.buyer_id))
    repos.tickets.release(first, FAILED, NOW)
    again = _ticket(space, first.buyer_id)
    repos.tickets.hold(again)

    assert refused.value.part == "ticket" and refused.value.ticket.ticket_id == first.ticket_id
    assert repos.tickets.get(space.id, first.buyer_id).ticket_id == again.ticket_id
    assert _sales(repos, space) == (1, 0, 0, 0)


def test_confirming_sells_the_held_seat_once(repos):
    space = _on_sale(repos)
    ticket = _held(repos, space)
    repos.tickets.set_payment(ticket, "sandbox", "pay_1")

    repos.tickets.confirm(ticket, "pay_1", NOW)
    with pytest.raises(Refused) as refused:
        repos.tickets.confirm(ticket, "pay_1", NOW)

    got = repos.tickets.get(space.id, ticket.buyer_id)
    assert (got.status, got.payment_id, got.paid_at, got.hold_expires_at) == (PAID, "pay_1", NOW, None)
    assert refused.value.part == "ticket" and _sales(repos, space) == (0, 1, 0, 500)


def test_a_payment_for_a_replaced_ticket_is_refused(repos):
    space = _on_sale(repos)
    old = _held(repos, space)
    repos.tickets.release(old, FAILED, NOW)
    _held(repos, space, old.buyer_id)

    with pytest.raises(Refused) as set_refused:
        repos.tickets.set_payment(old, "sandbox", "pay_old")
    with pytest.raises(Refused) as confirm_refused:
        repos.tickets.confirm(old, "pay_old", NOW)

    assert set_refused.value.part == confirm_refused.value.part == "ticket"


def test_a_late_payment_retakes_a_free_seat_and_is_refused_when_none_is_left(repos):
    space = _on_sale(repos, capacity=1)
    lapsed = _held(repos, space)
    repos.tickets.release(lapsed, EXPIRED, NOW)
    lapsed = repos.tickets.get(space.id, lapsed.buyer_id)
    repos.tickets.retake(lapsed, "pay_late", NOW)

    blocker_space = _on_sale(repos, capacity=1)
    expired = _held(repos, blocker_space)
    repos.tickets.release(expired, EXPIRED, NOW)
    _held(repos, blocker_space)  # someone else took the seat meanwhile
    with pytest.raises(Refused) as refused:
        repos.tickets.retake(repos.tickets.get(blocker_space.id, expired.buyer_id), "pay_late", NOW)

    assert repos.tickets.get(space.id, lapsed.buyer_id).status == PAID and _sales(repos, space) == (0, 1, 0, 500)
    assert refused.value.part == "space"
    assert repos.tickets.get(blocker_space.id, expired.buyer_id).status == EXPIRED


def test_a_refund_is_claimed_once_then_returns_the_sold_seat(repos):
    space = _on_sale(repos)
    ticket = _held(repos, space)
    repos.tickets.confirm(ticket, "pay_1", NOW)
    paid = repos.tickets.get(space.id, ticket.buyer_id)

    repos.tickets.begin_refund(paid)
    with pytest.raises(Refused) as second_claim:
        repos.tickets.begin_refund(paid)
    refunding = repos.tickets.get(space.id, ticket.buyer_id)
    repos.tickets.finish_refund(refunding, "re_1", NOW)

    got = repos.tickets.get(space.id, ticket.buyer_id)
    assert refunding.status == REFUNDING and second_claim.value.part == "ticket"
    assert (got.status, got.refund_id, got.refunded_at) == (REFUNDED, "re_1", NOW)
    assert _sales(repos, space) == (0, 0, 1, 0)


def test_refunding_a_ticket_that_held_no_seat_counts_only_the_refund(repos):
    space = _on_sale(repos)
    ticket = _held(repos, space)
    repos.tickets.release(ticket, EXPIRED, NOW)

    repos.tickets.finish_refund(repos.tickets.get(space.id, ticket.buyer_id), "re_1", NOW)

    assert repos.tickets.get(space.id, ticket.buyer_id).status == REFUNDED and _sales(repos, space) == (0, 0, 1, 0)


def test_a_paid_ticket_lets_its_buyer_join_and_a_refund_takes_that_back(repos):
    space = _on_sale(repos)
    ticket = _held(repos, space)

    def joins(user_id: str) -> bool:
        try:
            repos.participants.join(space.id, user_id, known=None, participant_id=_id("p"), now=NOW, check_block=False, needs_pass="ticket")
            return True
        except Refused as refused:
            assert refused.part == "no_pass"
            return False

    held_joins = joins(ticket.buyer_id)
    repos.tickets.confirm(ticket, "pay_1", NOW)
    paid_joins = joins(ticket.buyer_id)
    repos.tickets.begin_refund(repos.tickets.get(space.id, ticket.buyer_id))
    repos.participants.leave(space.id, ticket.buyer_id, NOW)

    assert (held_joins, paid_joins, joins(ticket.buyer_id)) == (False, True, False)


def test_a_spaces_tickets_page_by_buyer_id(repos):
    space = _on_sale(repos, capacity=3)
    buyers = sorted(_id("b") for _ in range(3))
    for buyer in buyers:
        _held(repos, space, buyer)

    first, after = repos.tickets.for_space(space.id, limit=2)
    second, end = repos.tickets.for_space(space.id, limit=2, after=after)

    assert [t.buyer_id for t in first] == buyers[:2] and after == {"buyer_id": buyers[1]}
    assert [t.buyer_id for t in second] == buyers[2:] and end is None


def test_a_buyers_tickets_page_newest_first(repos):
    buyer = _id("b")
    spaces = [_on_sale(repos) for _ in range(3)]
    for n, space in enumerate(spaces):
        _held(repos, space, buyer, at=NOW + timedelta(minutes=n))

    first, after = repos.tickets.for_buyer(buyer, limit=2)
    second, end = repos.tickets.for_buyer(buyer, limit=2, after=after)

    assert [t.space_id for t in first + second] == [s.id for s in reversed(spaces)]
    assert set(after) == {"bought_key", "space_id"} and end is None


def test_the_expired_holds_are_the_held_tickets_past_their_time(repos):
    space = _on_sale(repos, capacity=3)
    past = _held(repos, space, at=NOW - timedelta(hours=1))
    fresh = _held(repos, space)
    paid = _held(repos, space, at=NOW - timedelta(hours=1))
    repos.tickets.confirm(paid, "pay", NOW)

    found = set(repos.tickets.expired_holds(NOW))

    assert (space.id, past.buyer_id) in found
    assert (space.id, fresh.buyer_id) not in found and (space.id, paid.buyer_id) not in found


# --------------------------------------------------------------------------- subscriptions


def _sub(creator_id=None, subscriber_id=None) -> Subscription:
    return Subscription(
        creator_id=creator_id or _id("c"), subscriber_id=subscriber_id or _id("s"), tier="tier_1", price_cents=299,
        currency="USD", status=SUB_PENDING, created_at=NOW, subscription_id=_id("sub"),
    )


def _active(repos, period_end=NOW + timedelta(days=30), handle=HANDLE) -> Subscription:
    sub = _sub()
    repos.subscriptions.start(sub, NOW)
    repos.subscriptions.activate(sub, "pay_1", period_end, handle)
    return repos.subscriptions.get(sub.creator_id, sub.subscriber_id)


def _past_due(repos) -> Subscription:
    """Active with its renewal due now, claimed by the job and declined once."""
    sub = _active(repos, period_end=NOW + RENEWAL_WINDOW)
    repos.subscriptions.claim_renewal(sub, NOW, NOW + timedelta(minutes=10))
    repos.subscriptions.declined(sub, 1, NOW + timedelta(hours=24))
    return repos.subscriptions.get(sub.creator_id, sub.subscriber_id)


def test_a_started_subscription_is_pending_and_a_new_start_replaces_it(repos):
    sub = _sub()
    repos.subscriptions.start(sub, NOW)
    again = replace(sub, subscription_id=_id("sub"))
    repos.subscriptions.start(again, NOW)

    got = repos.subscriptions.get(sub.creator_id, sub.subscriber_id)
    assert (got.status, got.subscription_id, got.tier, got.price_cents, got.period) == (SUB_PENDING, again.subscription_id, "tier_1", 299, 1)
    assert repos.subscriptions.get(sub.creator_id, _id("s")) is None


def test_activating_pays_the_first_period_and_schedules_its_renewal(repos):
    end = NOW + timedelta(days=30)
    sub = _active(repos, period_end=end)

    assert (sub.status, sub.period, sub.payment_id, sub.renewal_attempts) == (SUB_ACTIVE, 1, "pay_1", 0)
    assert sub.current_period_end == end.replace(microsecond=0)
    assert sub.renew_at == (end - RENEWAL_WINDOW).replace(microsecond=0)
    assert (sub.customer_id, sub.payment_method_id) == (HANDLE.customer_id, HANDLE.payment_method_id)


def test_a_subscriber_with_access_cannot_start_again_and_an_active_one_is_not_activated_twice(repos):
    sub = _active(repos)

    with pytest.raises(Refused) as start_refused:
        repos.subscriptions.start(replace(sub, subscription_id=_id("sub"), status=SUB_PENDING), NOW)
    with pytest.raises(Refused) as activate_refused:
        repos.subscriptions.activate(sub, "pay_2", NOW + timedelta(days=60))

    assert start_refused.value.part == activate_refused.value.part == "subscription"
    assert repos.subscriptions.get(sub.creator_id, sub.subscriber_id).payment_id == "pay_1"


def test_a_due_renewal_is_listed_and_claimed_by_one_run_until_its_claim_ends(repos):
    sub = _active(repos, period_end=NOW + RENEWAL_WINDOW)
    not_due = _active(repos)

    due = set(repos.subscriptions.due_renewals(NOW))
    repos.subscriptions.claim_renewal(sub, NOW, NOW + timedelta(minutes=10))
    with pytest.raises(Refused) as second:
        repos.subscriptions.claim_renewal(sub, NOW, NOW + timedelta(minutes=10))
    repos.subscriptions.claim_renewal(sub, NOW + timedelta(minutes=11), NOW + timedelta(minutes=21))

    assert (sub.creator_id, sub.subscriber_id) in due and (not_due.creator_id, not_due.subscriber_id) not in due
    assert second.value.part == "subscription"
    assert repos.subscriptions.get(sub.creator_id, sub.subscriber_id).claimed_by == CLAIMED_BY_JOB


def test_a_renewal_not_yet_due_cannot_be_claimed(repos):
    sub = _active(repos)

    with pytest.raises(Refused):
        repos.subscriptions.claim_renewal(sub, NOW, NOW + timedelta(minutes=10))


def test_a_renewal_paid_extends_the_period_once(repos):
    sub = _active(repos, period_end=NOW + RENEWAL_WINDOW)
    new_end = NOW + RENEWAL_WINDOW + timedelta(days=30)

    repos.subscriptions.renewed(sub, 2, "pay_2", new_end)
    with pytest.raises(Refused):
        repos.subscriptions.renewed(sub, 2, "pay_2", new_end)

    got = repos.subscriptions.get(sub.creator_id, sub.subscriber_id)
    assert (got.status, got.period, got.payment_id, got.claim_until, got.claimed_by) == (SUB_ACTIVE, 2, "pay_2", None, None)
    assert got.current_period_end == new_end.replace(microsecond=0)


def test_a_declined_renewal_is_past_due_until_its_retry_and_recorded_once(repos):
    sub = _past_due(repos)

    with pytest.raises(Refused):
        repos.subscriptions.declined(replace(sub, renewal_attempts=0), 1, NOW + timedelta(hours=24))

    assert (sub.status, sub.renewal_attempts, sub.claim_until) == (SUB_PAST_DUE, 1, None)
    assert sub.renew_at == (NOW + timedelta(hours=24)).replace(microsecond=0)


def test_the_last_decline_lapses_it_out_of_the_renewals(repos):
    sub = _active(repos, period_end=NOW + RENEWAL_WINDOW)

    repos.subscriptions.declined(sub, 1, None)

    got = repos.subscriptions.get(sub.creator_id, sub.subscriber_id)
    assert (got.status, got.renew_at) == (SUB_LAPSED, None)
    assert (sub.creator_id, sub.subscriber_id) not in set(repos.subscriptions.due_renewals(NOW + timedelta(days=90)))


def test_lapse_applies_only_at_the_attempt_it_was_read_at(repos):
    sub = _past_due(repos)

    with pytest.raises(Refused):
        repos.subscriptions.lapse(replace(sub, renewal_attempts=0))
    repos.subscriptions.lapse(sub)

    assert repos.subscriptions.get(sub.creator_id, sub.subscriber_id).status == SUB_LAPSED


def test_a_card_update_holds_the_overdue_charge_from_the_job_until_it_ends(repos):
    sub = _past_due(repos)
    retry = sub.renew_at  # the job's next try

    repos.subscriptions.begin_card_update(sub, retry, retry + timedelta(minutes=15))
    updating = repos.subscriptions.get(sub.creator_id, sub.subscriber_id)
    repos.subscriptions.set_card_update_payment(updating, 1, "pay_card")
    with pytest.raises(Refused):  # due, but the card update holds the charge
        repos.subscriptions.claim_renewal(updating, retry + timedelta(minutes=1), retry + timedelta(minutes=11))
    with pytest.raises(Refused):  # a second start from the same, now stale, read
        repos.subscriptions.begin_card_update(sub, retry, retry + timedelta(minutes=15))
    repos.subscriptions.end_card_update(updating, 1)
    repos.subscriptions.claim_renewal(updating, retry + timedelta(minutes=1), retry + timedelta(minutes=11))

    got = repos.subscriptions.get(sub.creator_id, sub.subscriber_id)
    assert (updating.update_attempts, updating.claimed_by) == (1, "update")
    assert (got.update_payment_id, got.claimed_by) == ("pay_card", CLAIMED_BY_JOB)


def test_a_new_card_update_replaces_the_previous_one_once_its_payment_is_known(repos):
    sub = _past_due(repos)
    repos.subscriptions.begin_card_update(sub, NOW, NOW + timedelta(minutes=15))
    repos.subscriptions.set_card_update_payment(sub, 1, "pay_card")
    updating = repos.subscriptions.get(sub.creator_id, sub.subscriber_id)

    repos.subscriptions.begin_card_update(updating, NOW, NOW + timedelta(minutes=15))

    got = repos.subscriptions.get(sub.creator_id, sub.subscriber_id)
    assert (got.update_attempts, got.update_payment_id) == (2, None)


def test_canceling_stops_renewals_and_keeps_the_paid_period(repos):
    sub = _active(repos, period_end=NOW + RENEWAL_WINDOW)

    repos.subscriptions.cancel(sub.creator_id, sub.subscriber_id)
    with pytest.raises(Refused):
        repos.subscriptions.cancel(sub.creator_id, sub.subscriber_id)

    got = repos.subscriptions.get(sub.creator_id, sub.subscriber_id)
    assert (got.status, got.renew_at, got.current_period_end) == (SUB_CANCELED, None, sub.current_period_end)
    assert (sub.creator_id, sub.subscriber_id) not in set(repos.subscriptions.due_renewals(NOW))
    with pytest.raises(Refused):
        repos.subscriptions.cancel(_id("c"), _id("s"))


def test_a_failed_first_payment_forgets_the_pending_subscription_only(repos):
    pending = _sub()
    repos.subscriptions.start(pending, NOW)
    active = _active(repos)

    repos.subscriptions.fail(pending)
    with pytest.raises(Refused):
        repos.subscriptions.fail(active)

    assert repos.subscriptions.get(pending.creator_id, pending.subscriber_id) is None
    assert repos.subscriptions.get(active.creator_id, active.subscriber_id).status == SUB_ACTIVE
