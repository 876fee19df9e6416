"""Scheduled Spaces with push reminders: devices, reminders, schedules and the fan-out.

SNS, SQS and EventBridge Scheduler run in a moto server; DynamoDB is DynamoDB Local. Queues are
drained by calling the same functions the Lambda handlers call (`drain`), as the local worker of
`make run` does.
"""
from __future__ import annotations

import json
import random
import threading
from datetime import timedelta

import pytest

from chalicelib.domain.errors import DependencyFailed
from chalicelib.domain.reminders import HOST_HEADS_UP, START, schedule_name
from chalicelib.jobs.reminders import process_fanout, process_push
from tests.support.moto_server import sns_messages


def in_minutes(deps, minutes):
    return (deps.clock.now() + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def drain(deps, max_rounds=100):
    """Run the fan-out and push queues until both are empty, or until a round makes no progress
    (every remaining message failing). A failed message is made visible again at once, as SQS
    would after its visibility timeout. Returns the push results."""
    results = []
    for _ in range(max_rounds):
        succeeded = failed = 0
        for queue, handle in ((deps.fanout_queue, process_fanout), (deps.push_queue, process_push)):
            for receipt, body in queue.receive(max_messages=10, wait_seconds=0):
                try:
                    result = handle(body)
                except DependencyFailed:
                    queue.change_visibility(receipt, 0)
                    failed += 1
                    continue
                queue.delete(receipt)
                results.append(result)
                succeeded += 1
        if not succeeded:
            return results
    raise AssertionError("queues did not drain")


def register(api, user, platform="ios"):
    token = f"{platform}-token-{user}-{random.randrange(10**9)}"
    response = api.post("/me/devices", user, {"platform": platform, "token": token})
    assert response.status_code == 201, response.data
    return response.data["device_id"], token


def endpoint_of(deps, device_id):
    return deps.devices.get(device_id).endpoint_arn


def pushes(deps, device_id):
    return sns_messages(endpoint_of(deps, device_id))


@pytest.fixture
def scheduled(api, deps, host):
    return api.post("/spaces", host, {"title": "Launch party", "scheduled_start": in_minutes(deps, 120)}).data


# ---------------------------------------------------------------- devices


def test_registering_the_same_token_twice_is_one_device(api, deps, new_user):
    user = new_user()
    token = "ios-token-abcdef123456"
    first = api.post("/me/devices", user, {"platform": "ios", "token": token}).data
    second = api.post("/me/devices", user, {"platform": "ios", "token": token}).data

    assert first["device_id"] == second["device_id"]
    assert [d for d, _, _ in deps.devices.devices_for([user])[user]] == [first["device_id"]]


def test_a_token_that_moves_to_another_user_moves_its_device(api, deps, new_user):
    old, new = new_user("old"), new_user("new")
    token = "android-token-shared-phone"
    device = api.post("/me/devices", old, {"platform": "android", "token": token}).data["device_id"]

    api.post("/me/devices", new, {"platform": "android", "token": token})

    found = deps.devices.devices_for([old, new])
    assert found.get(old, []) == []
    assert [d for d, _, _ in found[new]] == [device]
    assert deps.devices.get(device).user_id == new


def test_removing_a_device_deletes_it_and_only_its_owner_can(api, deps, new_user):
    owner, stranger = new_user(), new_user()
    device, _ = register(api, owner)

    assert api.delete(f"/me/devices/{device}", stranger).status_code == 404
    assert api.delete(f"/me/devices/{device}", owner).status_code == 200
    again = api.delete(f"/me/devices/{device}", owner)
    assert again.status_code == 404 and again.data["code"] == "device_not_found"


@pytest.mark.parametrize(
    "body, code",
    [
        ({"platform": "windows", "token": "abcdefgh"}, "invalid_platform"),
        ({"token": "abcdefgh"}, "invalid_platform"),
        ({"platform": "ios"}, "invalid_token_value"),
        ({"platform": "ios", "token": "short"}, "invalid_token_value"),
        ({"platform": "ios", "token": "has spaces in it"}, "invalid_token_value"),
    ],
)
def test_bad_device_registrations_are_400(api, new_user, body, code):
    response = api.post("/me/devices", new_user(), body)
    assert response.status_code == 400 and response.data["code"] == code


# ---------------------------------------------------------------- reminders


def test_setting_a_reminder_twice_counts_once(api, scheduled, new_user):
    fan = new_user()
    first = api.post(f"/spaces/{scheduled['id']}/reminders", fan)
    second = api.post(f"/spaces/{scheduled['id']}/reminders", fan)

    assert (first.data["changed"], second.data["changed"]) == (True, False)
    assert second.data["subscriber_count"] == 1
    assert api.get(f"/spaces/{scheduled['id']}", fan).data["subscriber_count"] == 1
    cleared = api.delete(f"/spaces/{scheduled['id']}/reminders", fan)
    assert cleared.data["subscriber_count"] == 0


def test_reminders_for_live_ended_or_canceled_spaces_are_409(api, deps, host, new_user):
    live = api.post("/spaces", host, {"title": "now"}).data
    response = api.post(f"/spaces/{live['id']}/reminders", new_user())
    assert response.status_code == 409 and response.data["code"] == "space_live"

    api.post(f"/spaces/{live['id']}/end", host)
    response = api.post(f"/spaces/{live['id']}/reminders", new_user())
    assert response.status_code == 409 and response.data["code"] == "space_ended"

    later = api.post("/spaces", host, {"title": "later", "scheduled_start": in_minutes(deps, 90)}).data
    api.post(f"/spaces/{later['id']}/cancel", host)
    response = api.post(f"/spaces/{later['id']}/reminders", new_user())
    assert response.status_code == 409 and response.data["code"] == "space_canceled"


def test_concurrent_reminders_keep_the_subscriber_count_exact(api, deps, scheduled, new_user):
    from chalicelib.services.reminders import set_reminder

    fans = [new_user("fan") for _ in range(16)]
    barrier = threading.Barrier(len(fans) * 2)

    def tap(fan):
        barrier.wait()
        set_reminder(deps, fan, scheduled["id"])

    threads = [threading.Thread(target=tap, args=(f,)) for f in fans + fans]
    [t.start() for t in threads]
    [t.join(30) for t in threads]

    assert api.get(f"/spaces/{scheduled['id']}", fans[0]).data["subscriber_count"] == 16


# ---------------------------------------------------------------- schedules


def test_scheduling_creates_one_schedule_per_moment(deps, scheduled):
    start = deps.scheduler.get(schedule_name(scheduled["id"], START))
    heads_up = deps.scheduler.get(schedule_name(scheduled["id"], HOST_HEADS_UP))

    expected_start = scheduled["scheduled_start"].rstrip("Z")
    assert start["ScheduleExpression"] == f"at({expected_start})"
    assert start["ScheduleExpressionTimezone"] == "UTC"
    assert start["ActionAfterCompletion"] == "DELETE"
    assert start["GroupName"] == deps.settings.schedule_group
    assert start["Target"]["Arn"].endswith(":" + deps.settings.fanout_queue)
    assert start["Target"]["DeadLetterConfig"]["Arn"] == deps.settings.schedule_dlq_arn
    assert start["Target"]["RetryPolicy"]["MaximumRetryAttempts"] > 0
    assert json.loads(start["Target"]["Input"])["moment"] == START
    assert heads_up["ScheduleExpression"] < start["ScheduleExpression"]


def test_a_space_less_than_30_minutes_ahead_has_no_heads_up(api, deps, host):
    soon = api.post("/spaces", host, {"title": "soon", "scheduled_start": in_minutes(deps, 10)}).data
    assert deps.scheduler.get(schedule_name(soon["id"], START)) is not None
    assert deps.scheduler.get(schedule_name(soon["id"], HOST_HEADS_UP)) is None


def test_rescheduling_moves_the_schedules(api, deps, host, scheduled):
    new_start = in_minutes(deps, 600)
    assert api.patch(f"/spaces/{scheduled['id']}", host, {"scheduled_start": new_start}).status_code == 200

    start = deps.scheduler.get(schedule_name(scheduled["id"], START))
    assert start["ScheduleExpression"] == f"at({new_start.rstrip('Z')})"


def test_canceling_deletes_the_schedules_and_tells_subscribers(api, deps, host, scheduled, new_user):
    fan = new_user("fan")
    device, _ = register(api, fan, "android")
    api.post(f"/spaces/{scheduled['id']}/reminders", fan)

    assert api.post(f"/spaces/{scheduled['id']}/cancel", host).status_code == 200
    drain(deps)

    assert deps.scheduler.get(schedule_name(scheduled["id"], START)) is None
    assert deps.scheduler.get(schedule_name(scheduled["id"], HOST_HEADS_UP)) is None
    [message] = pushes(deps, device)
    fcm = json.loads(json.loads(message)["GCM"])["fcmV1Message"]["message"]
    assert "canceled" in fcm["notification"]["title"]
    assert fcm["data"]["space_id"] == scheduled["id"]


def test_canceling_again_resends_nothing_twice(api, deps, host, scheduled, new_user):
    fan = new_user("fan")
    device, _ = register(api, fan)
    api.post(f"/spaces/{scheduled['id']}/reminders", fan)
    api.post(f"/spaces/{scheduled['id']}/cancel", host)
    drain(deps)

    again = api.post(f"/spaces/{scheduled['id']}/cancel", host)
    drain(deps)

    assert again.status_code == 200 and again.data["state"] == "canceled"
    assert len(pushes(deps, device)) == 1


def test_named_cohosts_and_speakers_are_told_they_are_invited(api, deps, host, new_user):
    cohost, speaker = new_user("co"), new_user("sp")
    devices = [register(api, cohost)[0], register(api, speaker, "android")[0]]

    api.post("/spaces", host, {"title": "Panel", "scheduled_start": in_minutes(deps, 90),
                               "cohost_ids": [cohost], "speaker_ids": [speaker]})
    drain(deps)

    for device in devices:
        [message] = pushes(deps, device)
        assert "invited you" in message


# ---------------------------------------------------------------- the fan-out


def fire(deps, space, moment=START):
    """What the schedule's SQS target delivers when it fires."""
    payload = json.loads(deps.scheduler.get(schedule_name(space["id"], moment))["Target"]["Input"])
    deps.fanout_queue.send_batch([payload])


def test_at_the_start_the_host_and_every_subscriber_get_one_push(api, deps, host, scheduled, new_user):
    host_device, _ = register(api, host)
    fans = [new_user("fan") for _ in range(5)]
    fan_devices = [register(api, fan, "ios" if i % 2 else "android")[0] for i, fan in enumerate(fans)]
    for fan in fans:
        api.post(f"/spaces/{scheduled['id']}/reminders", fan)

    fire(deps, scheduled)
    drain(deps)

    [host_push] = pushes(deps, host_device)
    assert "time to start" in host_push
    for i, device in enumerate(fan_devices):
        [message] = pushes(deps, device)
        structure = json.loads(message)
        if i % 2:
            apns = json.loads(structure["APNS"])
            assert apns["aps"]["alert"]["title"] == f"{host}'s Space is starting"
            assert "Launch party" in apns["aps"]["alert"]["body"]
            assert apns["space_id"] == scheduled["id"]
        else:
            fcm = json.loads(structure["GCM"])["fcmV1Message"]["message"]
            assert fcm["data"]["space_id"] == scheduled["id"]
            assert "Launch party" in fcm["notification"]["body"]


def test_a_fire_delivered_three_times_with_throttled_publishes_pushes_each_device_once(api, aws, deps, host, scheduled, new_user):
    from tests.support.faults import AwsFaults

    fans = [new_user("fan") for _ in range(12)]
    devices = [register(api, fan, "ios" if i % 2 else "android")[0] for i, fan in enumerate(fans)]
    for fan in fans:
        api.post(f"/spaces/{scheduled['id']}/reminders", fan)

    with AwsFaults(seed=7).fail("Publish", rate=0.2, kinds=("throttle",), service="sns").attach(aws.sns) as faults:
        for _ in range(3):
            fire(deps, scheduled)
        drain(deps)

    assert faults.count("throttle") > 0, "the fault really fired"
    assert [len(pushes(deps, d)) for d in devices] == [1] * len(devices)


def test_a_failed_publish_is_retried_and_never_marked_as_sent(api, aws, deps, host, scheduled, new_user):
    from tests.support.faults import AwsFaults

    fan = new_user("fan")
    device, _ = register(api, fan)
    api.post(f"/spaces/{scheduled['id']}/reminders", fan)

    with AwsFaults(seed=1).fail("Publish", rate=1.0, kinds=("internal",), service="sns").attach(aws.sns):
        fire(deps, scheduled)
        drain(deps)
        assert pushes(deps, device) == []
        assert deps.push_claims.status(scheduled["id"], START, device) is None
    # The batch is still queued (its visibility timeout made zero by drain): once SNS recovers it goes.
    drain(deps)
    assert len(pushes(deps, device)) == 1
    assert deps.push_claims.status(scheduled["id"], START, device) == "sent"


def test_starting_early_pushes_live_now_and_removes_the_schedules(api, deps, host, scheduled, new_user):
    fan = new_user("fan")
    device, _ = register(api, fan)
    api.post(f"/spaces/{scheduled['id']}/reminders", fan)

    api.post(f"/spaces/{scheduled['id']}/start", host)
    drain(deps)

    [message] = pushes(deps, device)
    assert f"{host} is live now" in message
    assert deps.scheduler.get(schedule_name(scheduled["id"], START)) is None


def test_a_schedule_left_at_the_old_time_stays_quiet(api, deps, host, scheduled, new_user):
    fan = new_user("fan")
    device, _ = register(api, fan)
    api.post(f"/spaces/{scheduled['id']}/reminders", fan)
    old_payload = json.loads(deps.scheduler.get(schedule_name(scheduled["id"], START))["Target"]["Input"])
    api.patch(f"/spaces/{scheduled['id']}", host, {"scheduled_start": in_minutes(deps, 300)})

    deps.fanout_queue.send_batch([old_payload])
    drain(deps)

    assert pushes(deps, device) == []


def test_a_disabled_endpoint_is_forgotten(api, aws, deps, host, scheduled, new_user):
    fan = new_user("fan")
    device, _ = register(api, fan)
    api.post(f"/spaces/{scheduled['id']}/reminders", fan)
    aws.sns.set_endpoint_attributes(EndpointArn=endpoint_of(deps, device), Attributes={"Enabled": "false"})

    fire(deps, scheduled)
    drain(deps)

    assert deps.devices.get(device) is None
    assert deps.devices.devices_for([fan]).get(fan, []) == []


def test_subscribers_on_many_shards_are_all_reached(api, deps, host, scheduled, new_user):
    fans = [new_user("fan") for _ in range(30)]
    devices = [register(api, fan)[0] for fan in fans]
    for fan in fans:
        api.post(f"/spaces/{scheduled['id']}/reminders", fan)

    fire(deps, scheduled)
    drain(deps)

    assert sum(len(pushes(deps, d)) for d in devices) == 30


def test_a_failed_write_of_the_sends_is_retried_so_a_late_redelivery_sends_nothing(api, deps, host, scheduled, new_user):
    """The sends of a batch are recorded after publishing; if recording failed and the batch came
    back after the claims' lease, every device would be pushed again."""
    from tests.support.aws_calls import dynamodb_clients
    from tests.support.faults import AwsFaults

    fans = [new_user("fan") for _ in range(3)]
    devices = [register(api, fan)[0] for fan in fans]
    for fan in fans:
        api.post(f"/spaces/{scheduled['id']}/reminders", fan)
    fire(deps, scheduled)
    while True:  # run the fan-out to the end, keeping the push batches aside
        messages = deps.fanout_queue.receive(10)
        if not messages:
            break
        for receipt, body in messages:
            process_fanout(body)
            deps.fanout_queue.delete(receipt)
    batches = []
    while True:
        messages = deps.push_queue.receive(10)
        if not messages:
            break
        batches += [body for _, body in messages if body["audience"] == "subscribers"]
    assert batches

    with AwsFaults(seed=3).fail_next("BatchWriteItem", "internal").attach(*dynamodb_clients()) as faults:
        for batch in batches:
            process_push(batch)
    assert faults.count("internal") == 1, "a write of the sends failed once"

    deps.push_claims = type(deps.push_claims)(lease_seconds=0, clock=lambda: 10**10)  # much later
    for batch in batches:  # SQS redelivers the same batches after the claims' lease
        process_push(batch)

    assert [len(pushes(deps, d)) for d in devices] == [1, 1, 1]
