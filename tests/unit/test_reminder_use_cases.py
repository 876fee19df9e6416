"""Reminders and their pushes, as use cases on the in-memory fakes (tests/fakes/reminders.py),
with the queues and the push service in memory: no DynamoDB, no SNS, no Java. The fakes keep
the DynamoDB adapters' rules (tests/integration/test_reminder_repositories_contract.py runs the
same tests on both)."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.domain.commands.people import RegisterDevice
from chalicelib.domain import spaces as domain
from chalicelib.domain.errors import Conflict, NotFound, RuleViolation
from chalicelib.domain.messages import FireMoment
from chalicelib.domain.reminders import START
from chalicelib.domain.spaces import iso
from chalicelib.jobs.messages import fanout_message, push_batch
from chalicelib.services import reminders
from chalicelib.api.bodies.spaces import create_space as space_request
from tests.fakes import fake_deps
from tests.fakes.push import FakePush
from tests.fakes.queues import FakeQueue
from tests.fakes.reminders import FakeDeviceRepository, FakePushClaims, FakeReminderRepository
from tests.fakes.spaces import SpaceStore

HOST = "host1"
TOKEN = "a" * 64  # an APNs device token


@pytest.fixture
def store():
    return SpaceStore()


@pytest.fixture
def deps(store):
    return replace(
        fake_deps(store),
        reminders=FakeReminderRepository(store, shards=4),
        devices=FakeDeviceRepository(),
        push_claims=FakePushClaims(),
        push=FakePush(),
        fanout_queue=FakeQueue(),
        push_queue=FakeQueue(),
    )


def _scheduled(deps, space_id="S1"):
    start = (deps.clock.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    space = domain.new_space(
        space_id=space_id, creator_id=HOST, request=space_request({"title": "Jazz later", "scheduled_start": start}), now=deps.clock.now(),
        rules=deps.space_rules, ticket_rules=deps.ticket_rules,
    )
    deps.spaces.create(space, max_scheduled=10)
    return deps.spaces.get(space_id)


def _token(n: int) -> str:
    return f"{n:064x}"


def _fire_start(deps, space) -> None:
    """The start moment fires and its whole fan-out runs: expand every shard, deliver every batch."""
    reminders.fire(deps, FireMoment(space.id, START, iso(space.scheduled_start)))
    while deps.fanout_queue.bodies:
        for body in deps.fanout_queue.take():
            reminders.handle_fanout(deps, fanout_message(body))
    for body in deps.push_queue.take():
        reminders.deliver(deps, push_batch(body))


def test_setting_a_reminder_counts_it_once(deps):
    _scheduled(deps)

    first = reminders.set_reminder(deps, "bob", "S1")
    again = reminders.set_reminder(deps, "bob", "S1")

    assert (first.changed, again.changed, again.subscriber_count) == (True, False, 1)
    assert deps.telemetry.events.count("ReminderSet") == 1


def test_clearing_a_reminder_uncounts_it(deps):
    _scheduled(deps)
    reminders.set_reminder(deps, "bob", "S1")

    cleared = reminders.clear_reminder(deps, "bob", "S1")

    assert (cleared.is_set, cleared.changed, cleared.subscriber_count) == (False, True, 0)


def test_a_live_space_takes_no_reminders(deps):
    space = domain.new_space(
        space_id="S2", creator_id=HOST, request=space_request({"title": "Now"}), now=deps.clock.now(), rules=deps.space_rules,
        ticket_rules=deps.ticket_rules,
    )
    deps.spaces.create(space, max_scheduled=10)

    with pytest.raises(Conflict) as refused:
        reminders.set_reminder(deps, "bob", "S2")

    assert refused.value.code == "space_live" and not deps.reminders.has_reminder("S2", "bob")


def test_a_reminder_for_no_space_is_not_found(deps):
    with pytest.raises(NotFound):
        reminders.set_reminder(deps, "bob", "nope")


def test_a_user_registers_at_most_max_devices(deps):
    deps = replace(deps, settings=replace(deps.settings, max_devices_per_user=2))
    for n in range(2):
        reminders.register_device(deps, "bob", RegisterDevice("ios", _token(n)))

    with pytest.raises(RuleViolation) as refused:
        reminders.register_device(deps, "bob", RegisterDevice("ios", _token(9)))

    assert refused.value.code == "too_many_devices" and len(deps.devices.devices_for(["bob"])["bob"]) == 2


def test_a_device_registered_by_someone_else_moves_to_them(deps):
    first = reminders.register_device(deps, "bob", RegisterDevice("ios", TOKEN))

    reminders.register_device(deps, "carol", RegisterDevice("ios", TOKEN))

    assert deps.devices.get(first.device_id).user_id == "carol"
    assert deps.devices.devices_for(["bob"]).get("bob", []) == [] and len(deps.devices.devices_for(["carol"])["carol"]) == 1


def test_only_its_owner_removes_a_device(deps):
    device = reminders.register_device(deps, "bob", RegisterDevice("ios", TOKEN)).device_id

    with pytest.raises(NotFound):
        reminders.remove_device(deps, "carol", device)
    reminders.remove_device(deps, "bob", device)

    assert deps.devices.get(device) is None and len(deps.push.deleted) == 1


def test_the_start_reaches_every_subscriber_device_and_the_host_once_however_often_it_fires(deps):
    space = _scheduled(deps)
    subscribers = [f"user{n}" for n in range(6)]
    for n, user in enumerate(subscribers + [HOST]):
        reminders.register_device(deps, user, RegisterDevice("ios", _token(n)))
    for user in subscribers:
        reminders.set_reminder(deps, user, space.id)

    _fire_start(deps, space)
    sent_once = len(deps.push.sent)
    _fire_start(deps, space)  # the schedule delivered again

    assert sent_once == len(subscribers) + 1 and len(deps.push.sent) == sent_once


def test_a_device_the_push_service_says_is_gone_is_forgotten(deps):
    space = _scheduled(deps)
    device = reminders.register_device(deps, "bob", RegisterDevice("ios", TOKEN)).device_id
    reminders.set_reminder(deps, "bob", space.id)
    deps.push.gone.add(deps.devices.get(device).endpoint_arn)

    _fire_start(deps, space)

    assert deps.devices.get(device) is None and "DeviceDisabled" in deps.telemetry.events
