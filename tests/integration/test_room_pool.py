"""The IVS Chat room pool on DynamoDB Local: a start claims a ready room with a conditional write
and makes no IVS Chat call; concurrent starts never share a room; an empty pool falls back to
CreateRoom through the chat limiter; the refill job creates rooms as a start would (logging
configuration, review handler) through the client that gives way to requests."""
from __future__ import annotations

import threading
import uuid

import boto3
import pytest
from botocore.stub import ANY, Stubber

from chalicelib.adapters.dynamodb.limiter import DynamoTokenBucket
from chalicelib.adapters.dynamodb.stage_pool import DynamoRoomPool
from chalicelib.adapters.ivs_chat import IvsChatRooms
from chalicelib.adapters.ivs_limiter import MEDIA_BUSY, ROOM_CONTROL, LimitedClient
from chalicelib.domain.errors import DependencyFailed
from chalicelib.services import spaces as space_service
from chalicelib.services import stage_pool as pool_service
from tests.support.aws_calls import AwsCallRecorder
from tests.support.pool_races import scheduled_space, start_all_at_once

ROOM = "arn:aws:ivschat:us-east-1:123456789012:room/{}"
LOGGING = "arn:aws:ivschat:us-east-1:123456789012:logging-configuration/log1"
REVIEW = "arn:aws:lambda:us-east-1:123456789012:function:review"


def own_room_pool() -> DynamoRoomPool:
    return DynamoRoomPool(pool=f"rooms-test-{uuid.uuid4().hex[:10]}")


class CountingRooms:
    """The test stack's room events, counting the rooms a request had to create."""

    def __init__(self, inner):
        self._inner = inner
        self.created: list[str] = []
        self._lock = threading.Lock()

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def create_room(self, space_id):
        room = self._inner.create_room(space_id)
        with self._lock:
            self.created.append(room)
        return room


@pytest.mark.slow
def test_32_concurrent_starts_against_a_pool_of_10_rooms_never_share_a_room(deps, new_user):
    rooms = CountingRooms(deps.room_events)
    deps.room_events = rooms
    deps.room_pool = pool = own_room_pool()
    pooled = {rooms.create_room(f"{pool_service.POOL_ID_PREFIX}{i}") for i in range(10)}
    for room in pooled:
        pool.add(room)
    rooms.created.clear()
    spaces = [scheduled_space(deps, new_user("host", followers=1200)) for _ in range(32)]
    results = start_all_at_once(deps, spaces)
    assert all(not isinstance(r, Exception) for r in results), results
    room_arns = [r.room_arn for r in results]
    assert len(set(room_arns)) == 32  # no room serves two Spaces
    assert set(room_arns) & pooled == pooled  # every pooled room went to exactly one start
    assert len(rooms.created) == 22  # the 11th start onwards created its own room
    assert set(rooms.created) == set(room_arns) - pooled
    assert pool.available_count() == 0
    for r in results:
        if r.room_arn in pooled:
            assert pool.claimed_by(r.room_arn) == r.id


@pytest.fixture
def stubbed_chat(deps):
    """IvsChatRooms over a Stubber-backed ivschat client behind the chat limiter, as bootstrap
    builds them (requests and the refill job), with a logging configuration and review handler."""
    client = boto3.client("ivschat", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    bucket = DynamoTokenBucket(f"chat-{uuid.uuid4().hex[:8]}", rate=4, burst=2)

    def rooms(reserve, max_wait):
        return IvsChatRooms(
            LimitedClient(client, bucket, reserve=reserve, max_wait=max_wait, operations=ROOM_CONTROL),
            tags={"app": "spaces", "stage": "test"},
            review_handler_arn=REVIEW,
            logging_configuration_arn=LOGGING,
        )

    deps.room_events = rooms(0, 0)
    deps.background_room_events = rooms(1, 5)
    deps.room_pool = own_room_pool()
    with Stubber(client) as stubber:
        yield deps, stubber, bucket, client


def _expect_create_room(stubber, arn):
    stubber.add_response(
        "create_room",
        {"arn": arn, "id": arn.rsplit("/", 1)[1][:12].ljust(12, "0")},
        {
            "name": ANY,
            "maximumMessageRatePerSecond": ANY,
            "maximumMessageLength": ANY,
            "tags": ANY,
            "messageReviewHandler": {"uri": REVIEW, "fallbackResult": "ALLOW"},
            "loggingConfigurationIdentifiers": [LOGGING],
        },
    )


def test_the_refill_job_creates_rooms_like_a_start_would_and_a_warm_start_makes_no_chat_call(stubbed_chat, host):
    from dataclasses import replace

    deps, stubber, _, client = stubbed_chat
    deps.settings = replace(deps.settings, stage_pool_min_size=2, stage_pool_margin_percent=0)
    scheduled, _live = deps.room_pool.demand(deps.clock.now().timestamp(), 15 * 60)
    wanted = max(2, scheduled)
    for i in range(wanted):
        _expect_create_room(stubber, ROOM.format(f"pooled{i:06d}"))
    assert pool_service.refill_room_pool(deps, budget_seconds=600) == wanted
    stubber.assert_no_pending_responses()
    space = scheduled_space(deps, host)
    with AwsCallRecorder().attach(client) as recorder:
        started = space_service.start_space(deps, host, space.id)
    assert recorder.operations("ivschat") == []  # not even an event (the Stubber has no answer queued)
    assert started.room_arn.startswith(ROOM.format("pooled"))
    assert "RoomPoolHit" in deps.telemetry.events


def test_an_empty_room_pool_falls_back_to_create_room_then_503_when_the_limiter_is_spent(stubbed_chat, host):
    deps, stubber, bucket, _ = stubbed_chat
    space = scheduled_space(deps, host)
    _expect_create_room(stubber, ROOM.format("fallback0000"))
    started = space_service.start_space(deps, host, space.id)
    assert started.room_arn == ROOM.format("fallback0000")
    assert "RoomPoolEmpty" in deps.telemetry.events
    stubber.assert_no_pending_responses()

    while bucket.take() == 0:  # others took every token of this second
        pass
    with pytest.raises(DependencyFailed) as caught:
        pool_service.acquire_room(deps, "some-space")
    assert caught.value.code == MEDIA_BUSY and caught.value.retry_after >= 1


def test_the_room_orphan_sweep_keeps_ready_and_claimed_pool_rooms(stubbed_chat, host):
    deps, stubber, _, _ = stubbed_chat
    ready, claimed, orphan = (ROOM.format(f"{name:0<12}") for name in ("ready", "claimed", "orphan"))
    deps.room_pool.add(claimed)
    live = space_service.start_space(deps, host, scheduled_space(deps, host).id)
    assert live.room_arn == claimed
    deps.room_pool.add(ready)
    old = str(int(deps.clock.now().timestamp()) - 3600)  # all past the grace period
    stubber.add_response(
        "list_rooms",
        {"rooms": [
            {"arn": arn, "id": arn.rsplit("/", 1)[1], "tags": {"app": "spaces", "stage": "test", "space_id": f"pool-{i}", "created_at": old}}
            for i, arn in enumerate((ready, claimed, orphan))
        ]},
        {"maxResults": 50},
    )
    stubber.add_response("delete_room", {}, {"identifier": orphan})
    from chalicelib.services import room_events

    assert room_events.reconcile_rooms(deps) == 1
    stubber.assert_no_pending_responses()  # the orphan deleted; the ready and the claimed kept
