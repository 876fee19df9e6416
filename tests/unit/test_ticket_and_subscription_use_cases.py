"""Buying tickets and subscribing, as use cases on the in-memory fakes (tests/fakes/commerce.py)
and the sandbox payment provider (no network: its webhooks land in a list here and are handed
to the webhook use case as the provider would POST them). No DynamoDB, no Java. The fakes keep
the DynamoDB adapters' rules (tests/integration/test_commerce_repositories_contract.py runs the
same tests on both)."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.domain.commands.commerce import BuyTicket, Subscribe
from chalicelib.adapters.payments.sandbox import AUTHENTICATION_TOKEN, DECLINE_TOKEN, SandboxPayments
from chalicelib.domain import spaces as domain
from chalicelib.domain.errors import Conflict, RuleViolation
from chalicelib.domain.subscriptions import SUB_ACTIVE, SUB_CANCELED, SUB_PAST_DUE
from chalicelib.domain.tickets import EXPIRED, FAILED, HELD, PAID, REFUNDED
from chalicelib.services import renewals, subscriptions, tickets
from chalicelib.api.bodies.spaces import create_space as space_request
from tests.fakes import fake_deps
from tests.fakes.queues import FakeQueue
from tests.fakes.spaces import SpaceStore

HOST = "host1"
SECRET = "whsec_unit"


@pytest.fixture
def store():
    return SpaceStore()


@pytest.fixture
def outbox():
    """Where the sandbox provider puts its signed webhook events."""
    return FakeQueue()


@pytest.fixture
def deps(store, outbox):
    return replace(fake_deps(store), payments=SandboxPayments(SECRET, outbox), push_queue=FakeQueue())


def deliver(deps, outbox) -> list[bool]:
    """Hand every webhook the provider sent so far to the app, as the provider POSTs them:
    whether each changed anything."""
    return [tickets.handle_webhook(deps, m["payload"].encode(), m["headers"]) for m in outbox.take()]


def _on_sale(deps, capacity=2, space_id="S1"):
    space = domain.new_space(
        space_id=space_id, creator_id=HOST, now=deps.clock.now(), rules=deps.space_rules, ticket_rules=deps.ticket_rules,
        request=space_request({"title": "Paid jazz", "access": "ticketed", "ticket": {"price_cents": 500, "currency": "USD", "capacity": capacity}}),
    )
    deps.spaces.create(space, max_scheduled=10)
    return space


def _sales(deps, space_id="S1"):
    sales = deps.spaces.get(space_id, with_count=False).sales
    return sales.held, sales.sold, sales.refunded, sales.gross_cents


# --------------------------------------------------------------------------- tickets


def test_a_ticket_is_held_until_the_providers_webhook_says_paid(deps, outbox):
    _on_sale(deps)

    bought = tickets.buy_ticket(deps, "bob", "S1", BuyTicket())
    held = _sales(deps)
    answers = deliver(deps, outbox)

    assert bought[0].status == HELD and bought[1].status == "pending" and held == (1, 0, 0, 0)
    assert answers == [True]
    assert deps.tickets.get("S1", "bob").status == PAID and _sales(deps) == (0, 1, 0, 500)


def test_a_redelivered_webhook_changes_nothing(deps, outbox):
    _on_sale(deps)
    tickets.buy_ticket(deps, "bob", "S1", BuyTicket())
    event = outbox.bodies[0]
    deliver(deps, outbox)

    outbox.bodies.append(event)
    answers = deliver(deps, outbox)

    assert answers == [False] and _sales(deps) == (0, 1, 0, 500)


def test_the_last_seat_goes_to_one_buyer_and_the_next_is_told_sold_out(deps):
    _on_sale(deps, capacity=1)
    tickets.buy_ticket(deps, "bob", "S1", BuyTicket())

    with pytest.raises(Conflict) as sold_out:
        tickets.buy_ticket(deps, "carol", "S1", BuyTicket())

    assert sold_out.value.code == "sold_out" and deps.tickets.get("S1", "carol") is None
    assert "TicketSoldOut" in deps.telemetry.events


def test_a_buyer_who_holds_a_ticket_is_told_so(deps):
    _on_sale(deps)
    tickets.buy_ticket(deps, "bob", "S1", BuyTicket())

    with pytest.raises(Conflict) as again:
        tickets.buy_ticket(deps, "bob", "S1", BuyTicket())

    assert again.value.code == "ticket_pending" and _sales(deps) == (1, 0, 0, 0)


def test_a_declined_card_returns_the_seat_and_the_buyer_may_try_again(deps, outbox):
    _on_sale(deps, capacity=1)
    tickets.buy_ticket(deps, "bob", "S1", BuyTicket(payment_method=DECLINE_TOKEN))

    deliver(deps, outbox)
    failed = deps.tickets.get("S1", "bob")
    tickets.buy_ticket(deps, "bob", "S1", BuyTicket())
    deliver(deps, outbox)

    assert failed.status == FAILED
    assert deps.tickets.get("S1", "bob").status == PAID and _sales(deps) == (0, 1, 0, 500)


def test_the_host_needs_no_ticket(deps):
    _on_sale(deps)

    with pytest.raises(Conflict) as refused:
        tickets.buy_ticket(deps, HOST, "S1", BuyTicket())

    assert refused.value.code == "ticket_not_needed"


def test_a_free_space_sells_no_tickets(deps):
    space = domain.new_space(
        space_id="S2", creator_id=HOST, request=space_request({"title": "Free"}), now=deps.clock.now(), rules=deps.space_rules,
        ticket_rules=deps.ticket_rules,
    )
    deps.spaces.create(space, max_scheduled=10)

    with pytest.raises(RuleViolation) as refused:
        tickets.buy_ticket(deps, "bob", "S2", BuyTicket())

    assert refused.value.code == "not_ticketed"


def test_an_unpaid_hold_expires_and_frees_its_seat(deps):
    _on_sale(deps, capacity=1)
    tickets.buy_ticket(deps, "bob", "S1", BuyTicket(payment_method=DECLINE_TOKEN))  # its outcome not yet delivered

    before = tickets.expire_holds(deps)
    deps.clock.at += timedelta(seconds=deps.settings.ticket_hold_seconds + 1)
    expired = tickets.expire_holds(deps)
    tickets.buy_ticket(deps, "carol", "S1", BuyTicket())

    assert (before, expired) == (0, 1)
    assert deps.tickets.get("S1", "bob").status == EXPIRED and deps.tickets.get("S1", "carol").status == HELD


def test_a_hold_whose_payment_went_through_is_settled_by_the_expiry_job_not_expired(deps):
    _on_sale(deps, capacity=1)
    tickets.buy_ticket(deps, "bob", "S1", BuyTicket())  # succeeded at the provider, its webhook not yet here

    deps.clock.at += timedelta(seconds=deps.settings.ticket_hold_seconds + 1)
    expired = tickets.expire_holds(deps)

    assert expired == 0 and deps.tickets.get("S1", "bob").status == PAID and _sales(deps) == (0, 1, 0, 500)


def test_a_payment_after_the_hold_expired_takes_a_free_seat_again(deps, outbox):
    _on_sale(deps, capacity=1)
    tickets.buy_ticket(deps, "bob", "S1", BuyTicket())
    late = list(outbox.bodies)
    outbox.bodies.clear()
    deps.clock.at += timedelta(seconds=deps.settings.ticket_hold_seconds + 1)
    bob = deps.tickets.get("S1", "bob")
    deps.tickets.release(bob, EXPIRED, deps.clock.now())  # as the job would, had the payment not been voided

    outbox.bodies.extend(late)
    deliver(deps, outbox)

    assert deps.tickets.get("S1", "bob").status == PAID and _sales(deps) == (0, 1, 0, 500)


def test_a_payment_after_the_seat_went_to_someone_else_is_refunded(deps, outbox):
    _on_sale(deps, capacity=1)
    tickets.buy_ticket(deps, "bob", "S1", BuyTicket())
    late = list(outbox.bodies)
    outbox.bodies.clear()
    deps.tickets.release(deps.tickets.get("S1", "bob"), EXPIRED, deps.clock.now())
    tickets.buy_ticket(deps, "carol", "S1", BuyTicket())

    outbox.bodies.extend(late)
    deliver(deps, outbox)

    assert deps.tickets.get("S1", "bob").status == REFUNDED
    assert deps.tickets.get("S1", "carol").status == PAID and _sales(deps) == (0, 1, 1, 500)
    assert "LatePaymentRefunded" in deps.telemetry.events


# --------------------------------------------------------------------------- subscriptions


def test_a_subscription_is_active_once_its_first_payment_lands(deps, outbox):
    answer = subscriptions.subscribe(deps, "bob", HOST, Subscribe(tier="tier_1"))

    pending = deps.subscriptions.get(HOST, "bob").status
    deliver(deps, outbox)
    sub = deps.subscriptions.get(HOST, "bob")

    assert answer[0].status == pending == "pending"
    assert sub.status == SUB_ACTIVE and sub.current_period_end is not None and sub.can_renew


def test_a_subscriber_cannot_subscribe_twice(deps, outbox):
    subscriptions.subscribe(deps, "bob", HOST, Subscribe(tier="tier_1"))
    deliver(deps, outbox)

    with pytest.raises(Conflict) as again:
        subscriptions.subscribe(deps, "bob", HOST, Subscribe(tier="tier_2"))

    assert again.value.code == "already_subscribed" and deps.subscriptions.get(HOST, "bob").tier == "tier_1"


def test_a_declined_first_payment_leaves_no_subscription(deps, outbox):
    subscriptions.subscribe(deps, "bob", HOST, Subscribe(tier="tier_1", payment_method=DECLINE_TOKEN))

    deliver(deps, outbox)

    assert deps.subscriptions.get(HOST, "bob") is None


def test_unsubscribing_keeps_access_until_the_paid_period_ends(deps, outbox):
    subscriptions.subscribe(deps, "bob", HOST, Subscribe(tier="tier_1"))
    deliver(deps, outbox)

    first = subscriptions.unsubscribe(deps, "bob", HOST)
    second = subscriptions.unsubscribe(deps, "bob", HOST)
    sub = deps.subscriptions.get(HOST, "bob")

    assert (first[2], second[2]) == (True, False)
    assert sub.status == SUB_CANCELED and sub.grants_access(deps.clock.now())
    assert not sub.grants_access(sub.current_period_end + timedelta(seconds=1))


def test_no_one_subscribes_to_themselves(deps):
    with pytest.raises(RuleViolation) as refused:
        subscriptions.subscribe(deps, HOST, HOST, Subscribe(tier="tier_1"))

    assert refused.value.code == "self_subscription" and deps.subscriptions.get(HOST, HOST) is None


def test_a_due_renewal_is_charged_by_one_run_and_extends_the_period_once(deps, outbox):
    subscriptions.subscribe(deps, "bob", HOST, Subscribe(tier="tier_1"))
    deliver(deps, outbox)
    first = deps.subscriptions.get(HOST, "bob")
    deps.clock.at = first.renew_at + timedelta(seconds=1)

    charged = renewals.renew_subscriptions(deps)
    again = renewals.renew_subscriptions(deps)  # the claim holds: no second charge
    deliver(deps, outbox)
    renewed = deps.subscriptions.get(HOST, "bob")

    assert (charged, again) == (1, 0)
    assert (renewed.status, renewed.period) == (SUB_ACTIVE, 2)
    assert renewed.current_period_end == first.current_period_end + timedelta(days=30)


def test_a_declined_renewal_is_past_due_and_the_subscriber_is_told(deps, outbox):
    subscriptions.subscribe(deps, "bob", HOST, Subscribe(tier="tier_1", payment_method=AUTHENTICATION_TOKEN))
    deliver(deps, outbox)
    deps.clock.at = deps.subscriptions.get(HOST, "bob").renew_at + timedelta(seconds=1)

    renewals.renew_subscriptions(deps)
    deliver(deps, outbox)
    sub = deps.subscriptions.get(HOST, "bob")

    assert (sub.status, sub.renewal_attempts, sub.period) == (SUB_PAST_DUE, 1, 1)
    assert sub.grants_access(deps.clock.now())
    assert [body["user_ids"] for body in deps.push_queue.bodies] == [["bob"]]
