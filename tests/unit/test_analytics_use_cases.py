"""Host analytics as use cases on the in-memory fakes (tests/fakes/analytics.py, held to the
DynamoDB adapter by tests/integration/test_analytics_contract.py): events published through the
real dispatcher are counted once per id, subscription revenue goes to the host's live
subscriber-only Space, and only hosts and co-hosts read the numbers while the replay is kept."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.adapters.payments.sandbox import SandboxPayments
from chalicelib.api.bodies.spaces import create_space as space_request
from chalicelib.domain import spaces as domain
from chalicelib.domain.commands.commerce import Subscribe
from chalicelib.domain.errors import Forbidden, NotFound
from chalicelib.domain.events.counted import ClipMade, ReactionSent, ReplayPlayed
from chalicelib.services import analytics, subscriptions, tickets
from tests.fakes import fake_deps
from tests.fakes.queues import FakeQueue
from tests.fakes.spaces import SpaceStore

HOST = "host1"
SECRET = "whsec_analytics"


@pytest.fixture
def outbox():
    return FakeQueue()


@pytest.fixture
def deps(outbox):
    return replace(fake_deps(SpaceStore()), payments=SandboxPayments(SECRET, outbox), push_queue=FakeQueue())


def _live(deps, space_id="S1", access="public", cohosts=()):
    space = domain.new_space(
        space_id=space_id, creator_id=HOST, now=deps.clock.now(), rules=deps.space_rules, ticket_rules=deps.ticket_rules,
        request=space_request({"title": "Numbers", "access": access, "cohost_ids": list(cohosts)}),
    )
    deps.spaces.create(space, max_scheduled=10)
    return space


def test_each_event_is_counted_once_per_id(deps):
    space = _live(deps)
    now = deps.clock.now()
    for event in (
        ReactionSent(space.id, "ann", "r1", now),
        ReactionSent(space.id, "ann", "r1", now),  # the same event again
        ReactionSent(space.id, "bob", "r2", now),
        ReplayPlayed(space.id, "ann", "p1", now),
        ReplayPlayed(space.id, "ann", "p2", now),  # ann again: a play, not a new listener
        ReplayPlayed(space.id, "bob", "p3", now),
        ClipMade(space.id, "bob", "clip1", now),
    ):
        assert deps.publish(event) == []

    found = analytics.space_analytics(deps, HOST, space.id)

    assert (found.reactions, found.replay_plays, found.replay_listeners, found.clips) == (2, 3, 2, 1)


def test_a_subscription_paid_while_the_host_is_live_is_that_spaces_revenue(deps, outbox):
    space = _live(deps, access="subscribers")

    subscriptions.subscribe(deps, "bob", HOST, Subscribe(tier="tier_1"))
    for message in outbox.take():
        tickets.handle_webhook(deps, message["payload"].encode(), message["headers"])

    revenue = analytics.space_analytics(deps, HOST, space.id).subscriptions
    assert revenue is not None
    assert (revenue.count, revenue.gross_cents) == (1, deps.subscriptions.get(HOST, "bob").price_cents)


def test_a_public_space_has_no_subscription_revenue(deps, outbox):
    space = _live(deps)
    subscriptions.subscribe(deps, "bob", HOST, Subscribe(tier="tier_1"))
    for message in outbox.take():
        tickets.handle_webhook(deps, message["payload"].encode(), message["headers"])

    found = analytics.space_analytics(deps, HOST, space.id)
    assert found.subscriptions is None and deps.analytics.totals(space.id)["subscriptions"] == 0


def test_only_hosts_and_cohosts_read_the_analytics(deps):
    space = _live(deps, cohosts=("co1",))
    assert analytics.space_analytics(deps, "co1", space.id).space_id == space.id
    with pytest.raises(Forbidden):
        analytics.space_analytics(deps, "ann", space.id)


def test_the_analytics_go_when_the_replay_would(deps):
    space = _live(deps)
    deps.spaces.end(space, deps.clock.now())
    ended = deps.spaces.get(space.id, with_count=False)
    assert ended.state == domain.ENDED
    deps.clock.at = ended.ended_at + timedelta(days=deps.settings.replay_retention_days)
    with pytest.raises(NotFound):
        analytics.space_analytics(deps, HOST, space.id)
