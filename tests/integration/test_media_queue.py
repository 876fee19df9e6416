"""IVS calls that can wait: queued in DynamoDB (DynamoDB Local), tried at once only with a spare
token, drained by the job at the rate left over, never throttled."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from chalicelib.adapters.deferred_media import DeferredMedia
from chalicelib.adapters.dynamodb.limiter import DynamoTokenBucket
from chalicelib.adapters.dynamodb.media_queue import DynamoMediaQueue
from chalicelib.adapters.ivs import IvsMedia
from chalicelib.adapters.ivs_limiter import LimitedClient
from chalicelib.adapters.local_media import LocalMedia
from chalicelib.domain.errors import DependencyFailed
from chalicelib.services import media_queue as drain_service
from chalicelib.services.context import NullTelemetry
from tests.support.throttling_ivs import FakeTime, ThrottlingIvs

pytestmark = pytest.mark.usefixtures("dynamodb_local")

PARTICIPANT = "abcdEFGH1234"


class TimeClock:
    def __init__(self, time: FakeTime):
        self.time = time

    def now(self):
        return datetime.fromtimestamp(self.time(), timezone.utc)


class Counting(NullTelemetry):
    def __init__(self):
        self.events = []

    def count(self, event, value=1):
        self.events.extend([event] * value)


def world(time: FakeTime, *, queue_name=None):
    ivs = ThrottlingIvs(time)
    bucket = DynamoTokenBucket(f"q-{uuid.uuid4().hex[:8]}", rate=4, burst=2, clock_ms=time.ms)
    queue = DynamoMediaQueue(queue=queue_name or f"q-{uuid.uuid4().hex[:8]}", clock_ms=time.ms)

    def media(reserve, max_wait):
        return IvsMedia(LimitedClient(ivs.client, bucket, reserve=reserve, max_wait=max_wait, sleep=time.sleep), clock=time)

    requests = DeferredMedia(media(0, 2), now=media(1, 0), queue=queue)
    deps = SimpleNamespace(
        media_queue=queue,
        background_media=media(1, 50),
        clock=TimeClock(time),
        telemetry=Counting(),
        settings=SimpleNamespace(media_queue_drain_seconds=50),
    )
    return ivs, queue, requests, deps


def test_a_quiet_account_disconnects_at_once_and_leaves_nothing_queued():
    time = FakeTime()
    ivs, queue, media, _ = world(time)
    media.disconnect_participant("arn:aws:ivs:us-east-1:123456789012:stage/abcdefABCDEF", PARTICIPANT, "removed")
    assert ivs.count("DisconnectParticipant") == 1
    assert queue.depth() == 0


def test_a_raid_queues_what_the_control_plane_cannot_take_and_the_drain_finishes_it():
    """120 removals in 15 simulated seconds (twice what the control plane takes): every request
    returns at once, IVS never throttles, every disconnect is made (at most 5 stage calls in any
    second). The bench runs the 500-removal raid."""
    time = FakeTime()
    ivs, queue, media, deps = world(time)
    stage = "arn:aws:ivs:us-east-1:123456789012:stage/abcdefABCDEF"
    start = time()
    for i in range(120):
        time.advance_to(start + i * 0.12)
        media.disconnect_participant(stage, f"p{i:011d}", "removed by a moderator")
    queued = queue.depth()
    assert 0 < queued < 120  # some went at once (spare tokens), the rest wait
    drained = 0
    while queue.depth():
        time.sleep(30)  # the next run; the leases taken by the requests have run out
        drained += drain_service.drain_media_queue(deps)
    assert ivs.count("DisconnectParticipant") == 120
    assert ivs.throttled == []
    assert ivs.max_per_second() <= 5


def test_a_failing_call_is_retried_then_abandoned_and_counted():
    time = FakeTime()
    queue = DynamoMediaQueue(queue=f"q-{uuid.uuid4().hex[:8]}", clock_ms=time.ms)
    local = LocalMedia()
    local.fail_next("delete_stage", times=drain_service.MAX_ATTEMPTS)
    deps = SimpleNamespace(
        media_queue=queue, background_media=local, clock=TimeClock(time), telemetry=Counting(),
        settings=SimpleNamespace(media_queue_drain_seconds=50),
    )
    queue.put("delete_stage", ["arn:aws:ivs:us-east-1:123456789012:stage/abcdefABCDEF"])
    for _ in range(drain_service.MAX_ATTEMPTS):
        drain_service.drain_media_queue(deps)
        time.sleep(700)  # past the longest backoff
    assert queue.depth() == 0
    assert deps.telemetry.events.count("MediaCallAbandoned") == 1


def test_a_leased_call_is_not_taken_twice():
    time = FakeTime()
    queue = DynamoMediaQueue(queue=f"q-{uuid.uuid4().hex[:8]}", clock_ms=time.ms)
    call = queue.put("delete_stage", ["x"])
    assert queue.lease(call, 60) is True
    assert queue.lease(call, 60) is False
    assert queue.peek() == []
    time.sleep(61)
    assert queue.lease(call, 60) is True


def test_a_busy_try_leaves_the_call_for_the_drain():
    time = FakeTime()
    queue = DynamoMediaQueue(queue=f"q-{uuid.uuid4().hex[:8]}", clock_ms=time.ms)

    class Busy:
        def delete_stage(self, arn):
            raise DependencyFailed("busy", code="media_busy")

    DeferredMedia(LocalMedia(), now=Busy(), queue=queue).delete_stage("arn:aws:ivs:us-east-1:123456789012:stage/abcdefABCDEF")
    assert queue.depth() == 1
