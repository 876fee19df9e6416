"""The IVS control-plane limiter: a token bucket in DynamoDB (DynamoDB Local, real threads) in
front of the ivs-realtime client, tested against an IVS stand-in that throttles like IVS."""
from __future__ import annotations

import threading
import uuid

import pytest

from chalicelib.adapters.dynamodb.limiter import DynamoTokenBucket
from chalicelib.adapters.ivs import IvsMedia
from chalicelib.adapters.ivs_limiter import MEDIA_BUSY, LimitedClient
from chalicelib.domain.errors import DependencyFailed
from tests.support.throttling_ivs import FakeTime, ThrottlingIvs

pytestmark = pytest.mark.usefixtures("dynamodb_local")


def bucket(time: FakeTime, rate=4, burst=2) -> DynamoTokenBucket:
    return DynamoTokenBucket(f"test-{uuid.uuid4().hex[:8]}", rate=rate, burst=burst, clock_ms=time.ms)


def test_a_bucket_gives_its_burst_then_one_token_per_interval():
    time = FakeTime()
    b = bucket(time)
    assert b.take() == 0 and b.take() == 0
    assert b.take() == pytest.approx(0.25)
    time.sleep(0.25)
    assert b.take() == 0
    assert b.take() > 0


def test_work_that_can_wait_never_takes_the_last_token():
    time = FakeTime()
    b = bucket(time)
    assert b.take() == 0  # one left
    assert b.take(reserve=1) == pytest.approx(0.25)  # the background would need two
    assert b.take(reserve=0) == 0  # a request still gets it


def test_concurrent_takers_share_exactly_the_burst():
    """16 threads at one frozen instant: the conditional write lets exactly `burst` tokens out."""
    time = FakeTime()
    b = bucket(time, rate=5, burst=5)
    got = []
    barrier = threading.Barrier(16)

    def take():
        barrier.wait()
        for _ in range(20):
            if b.take() == 0:
                got.append(1)

    threads = [threading.Thread(target=take) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(got) == 5


def limited_media(time, ivs, b, *, reserve=0, max_wait=60.0):
    return IvsMedia(LimitedClient(ivs.client, b, reserve=reserve, max_wait=max_wait, sleep=time.sleep), clock=time)


def test_the_limited_client_never_lets_ivs_throttle():
    time = FakeTime()
    ivs = ThrottlingIvs(time)
    media = limited_media(time, ivs, bucket(time))
    for i in range(40):
        media.create_stage(f"space-{i}")
    assert ivs.throttled == []
    assert ivs.count("CreateStage") == 40
    assert ivs.max_per_second() <= 5
    # 40 calls at 4 a second after a burst of 2: about 9.5 simulated seconds.
    assert 9 <= time.t - 1_800_000_000.0 <= 10


def test_without_the_limiter_the_same_calls_are_throttled():
    """The stand-in is strict: the same 40 calls at one instant, unlimited, get throttled."""
    time = FakeTime()
    ivs = ThrottlingIvs(time)
    media = IvsMedia(ivs.client, clock=time)
    failures = 0
    for i in range(40):
        try:
            media.create_stage(f"space-{i}")
        except DependencyFailed:
            failures += 1
    assert failures == 35 and len(ivs.throttled) == 35


def test_a_request_that_cannot_get_a_token_in_time_gets_503_media_busy():
    time = FakeTime()
    ivs = ThrottlingIvs(time)
    media = limited_media(time, ivs, bucket(time, rate=1, burst=1), max_wait=0.5)
    media.create_stage("first")
    with pytest.raises(DependencyFailed) as caught:
        media.create_stage("second")
    assert caught.value.code == MEDIA_BUSY and caught.value.retry_after >= 1
    assert ivs.count("CreateStage") == 1 and ivs.throttled == []


def test_only_the_stage_control_family_takes_tokens():
    time = FakeTime()
    b = bucket(time, rate=1, burst=1)
    client = LimitedClient(ThrottlingIvs(time).client, b, max_wait=0)
    assert client.start_composition == client._client.start_composition  # passes through untouched
    client.list_stages(maxResults=1)
    with pytest.raises(DependencyFailed):
        client.list_stages(maxResults=1)
