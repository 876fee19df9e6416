"""The reminder, device and push-claim repositories, one contract for the DynamoDB adapters
(adapters/dynamodb/reminders.py) and the in-memory fakes (tests/fakes/reminders.py): every test
runs on both, so the fakes the service tests use cannot drift from the adapters.

The DynamoDB side runs on DynamoDB Local (tests/conftest.py starts it), in tables shared with
other tests: each test uses ids of its own.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from chalicelib.domain import spaces as domain
from chalicelib.domain.spaces import SpaceRules
from chalicelib.domain.tickets import TicketRules
from chalicelib.ports import Refused
from chalicelib.api.bodies.spaces import create_space as space_request
from tests.fakes import ManualClock

RULES = SpaceRules(
    max_cohosts=2, max_on_stage=4, max_scheduled_per_host=2, max_schedule_ahead_days=30, max_topics=3,
    max_title_length=140,
)
TICKETS = TicketRules(min_price_cents=100, max_price_cents=99_900, currencies=("USD",), max_capacity=1000, hold_seconds=600)
NOW = datetime(2026, 12, 1, 18, 0, tzinfo=timezone.utc)
SHARDS = 4
LEASE = 300


@dataclass
class Repos:
    spaces: Any
    reminders: Any
    devices: Any
    claims: Any
    clock: ManualClock


@pytest.fixture(params=["dynamodb", "memory"])
def repos(request):
    clock = ManualClock(1_800_000_000.0)
    if request.param == "memory":
        from tests.fakes.reminders import FakeDeviceRepository, FakePushClaims, FakeReminderRepository
        from tests.fakes.spaces import SpaceStore

        store = SpaceStore(count_shards=SHARDS)
        return Repos(
            store.repositories()["spaces"], FakeReminderRepository(store, shards=SHARDS), FakeDeviceRepository(),
            FakePushClaims(lease_seconds=LEASE, clock=clock), clock,
        )
    request.getfixturevalue("dynamodb_local")
    from chalicelib.adapters.dynamodb.reminders import DynamoDeviceRepository, DynamoPushClaims, DynamoReminderRepository
    from chalicelib.adapters.dynamodb.spaces import space_repositories

    return Repos(
        space_repositories(count_shards=SHARDS)["spaces"], DynamoReminderRepository(shards=SHARDS), DynamoDeviceRepository(),
        DynamoPushClaims(lease_seconds=LEASE, clock=clock), clock,
    )


def _id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def _space(repos, scheduled=True):
    body: dict[str, Any] = {"title": "Jazz later"}
    if scheduled:
        body["scheduled_start"] = (NOW + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    space = domain.new_space(space_id=_id("S"), creator_id=_id("h"), request=space_request(body), now=NOW, rules=RULES, ticket_rules=TICKETS)
    repos.spaces.create(space, max_scheduled=RULES.max_scheduled_per_host)
    return space


# --------------------------------------------------------------------------- reminders


def test_a_reminder_is_set_once_and_counted_on_the_space(repos):
    space = _space(repos)

    first = repos.reminders.set_reminder(space.id, "bob", NOW)
    again = repos.reminders.set_reminder(space.id, "bob", NOW)
    repos.reminders.set_reminder(space.id, "carol", NOW)

    assert (first, again) == (True, False) and repos.reminders.has_reminder(space.id, "bob")
    assert repos.spaces.get(space.id).subscriber_count == 2


def test_clearing_a_reminder_uncounts_it_once(repos):
    space = _space(repos)
    repos.reminders.set_reminder(space.id, "bob", NOW)

    cleared = repos.reminders.clear_reminder(space.id, "bob")
    again = repos.reminders.clear_reminder(space.id, "bob")

    assert (cleared, again) == (True, False) and not repos.reminders.has_reminder(space.id, "bob")
    assert repos.spaces.get(space.id).subscriber_count == 0


def test_only_a_scheduled_space_takes_reminders(repos):
    live = _space(repos, scheduled=False)

    with pytest.raises(Refused) as refused:
        repos.reminders.set_reminder(live.id, "bob", NOW)
    with pytest.raises(Refused):
        repos.reminders.set_reminder(_id("S"), "bob", NOW)

    assert refused.value.part == "space" and not repos.reminders.has_reminder(live.id, "bob")


def test_every_subscriber_is_in_exactly_one_shard_read_page_by_page(repos):
    space = _space(repos)
    users = {_id("u") for _ in range(9)}
    for user in users:
        repos.reminders.set_reminder(space.id, user, NOW)

    seen = []
    for shard in range(repos.reminders.shards):
        cursor = None
        while True:
            page, cursor = repos.reminders.subscriber_page(space.id, shard, cursor, 2)
            seen.extend(page)
            if cursor is None:
                break

    assert sorted(seen) == sorted(users)


# --------------------------------------------------------------------------- devices


def test_a_device_registered_reads_back_with_its_owner(repos):
    device, user = _id("d"), _id("u")

    repos.devices.register(device_id=device, user_id=user, platform="ios", endpoint_arn="arn:e1", now=NOW, previous_owner=None, max_devices=3)

    got = repos.devices.get(device)
    assert (got.user_id, got.endpoint_arn) == (user, "arn:e1")
    assert repos.devices.devices_for([user, _id("u")]) == {user: [(device, "arn:e1", "ios")]}


def test_a_device_moves_to_a_new_owner_only_from_the_owner_it_was_read_with(repos):
    device, first, second, third = _id("d"), _id("u"), _id("u"), _id("u")
    repos.devices.register(device_id=device, user_id=first, platform="ios", endpoint_arn="arn:e1", now=NOW, previous_owner=None, max_devices=3)

    with pytest.raises(Refused) as stale:
        repos.devices.register(device_id=device, user_id=third, platform="ios", endpoint_arn="arn:e3", now=NOW, previous_owner=None, max_devices=3)
    repos.devices.register(device_id=device, user_id=second, platform="ios", endpoint_arn="arn:e2", now=NOW, previous_owner=first, max_devices=3)

    assert stale.value.part == "moved" and repos.devices.get(device).user_id == second
    assert repos.devices.devices_for([first, second]).get(first, []) == []
    assert repos.devices.devices_for([second])[second] == [(device, "arn:e2", "ios")]


def test_a_user_keeps_at_most_max_devices(repos):
    user = _id("u")
    for n in range(2):
        repos.devices.register(device_id=_id("d"), user_id=user, platform="ios", endpoint_arn=f"arn:{n}", now=NOW, previous_owner=None, max_devices=2)

    with pytest.raises(Refused) as refused:
        repos.devices.register(device_id=_id("d"), user_id=user, platform="ios", endpoint_arn="arn:3", now=NOW, previous_owner=None, max_devices=2)

    assert refused.value.part == "too_many" and len(repos.devices.devices_for([user])[user]) == 2


def test_only_its_owner_removes_a_device(repos):
    device, owner = _id("d"), _id("u")
    repos.devices.register(device_id=device, user_id=owner, platform="ios", endpoint_arn="arn:e", now=NOW, previous_owner=None, max_devices=3)

    by_stranger = repos.devices.remove(_id("u"), device)
    by_owner = repos.devices.remove(owner, device)

    assert (by_stranger, by_owner) == (False, True) and repos.devices.get(device) is None
    assert repos.devices.devices_for([owner]).get(owner, []) == []


# --------------------------------------------------------------------------- push claims


def test_a_push_is_claimed_once_and_a_sent_one_never_again(repos):
    space, moment = _id("S"), "starting"
    targets = [("u1", _id("d")), ("u2", _id("d"))]

    first = repos.claims.claim(space, moment, targets)
    second = repos.claims.claim(space, moment, targets)
    repos.claims.settle(space, moment, sent=first[:1], failed=[])
    repos.clock.at += LEASE + 1
    after_lease = repos.claims.claim(space, moment, targets)

    assert first == targets and second == []
    assert repos.claims.status(space, moment, targets[0][1]) == "sent"
    assert after_lease == targets[1:]  # still "sending" past its lease: its sender died


def test_a_failed_push_can_be_claimed_again_at_once(repos):
    space, moment = _id("S"), "starting"
    target = ("u1", _id("d"))
    repos.claims.claim(space, moment, [target])

    repos.claims.settle(space, moment, sent=[], failed=[target])

    assert repos.claims.status(space, moment, target[1]) is None
    assert repos.claims.claim(space, moment, [target]) == [target]
