"""The rate limits and the media queue, one contract for the DynamoDB adapters and the in-memory
fakes (tests/fakes/queues.py): every test runs on both. The DynamoDB side runs on DynamoDB Local,
each test in a queue and with ids of its own."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.fakes import ManualClock

NOW = datetime(2026, 12, 1, 18, 0, tzinfo=timezone.utc)
INTERVAL_MS = 2000


@dataclass
class Repos:
    limits: Any
    queue: Any
    clock: ManualClock


def _id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@pytest.fixture(params=["dynamodb", "memory"])
def repos(request):
    clock = ManualClock(1_800_000_000_000)
    if request.param == "memory":
        from tests.fakes.queues import FakeMediaQueue, FakeRateLimits

        return Repos(FakeRateLimits(interval_ms=INTERVAL_MS), FakeMediaQueue(clock_ms=clock), clock)
    request.getfixturevalue("dynamodb_local")
    from chalicelib.adapters.dynamodb.media_queue import DynamoMediaQueue
    from chalicelib.adapters.dynamodb.room_events import DynamoReactionLimits

    return Repos(DynamoReactionLimits(interval_ms=INTERVAL_MS), DynamoMediaQueue(queue=_id("q"), clock_ms=clock), clock)


# --------------------------------------------------------------------------- rate limits


def test_one_action_per_interval_and_the_wait_is_what_is_left_of_it(repos):
    space, user = _id("S"), _id("u")

    first = repos.limits.acquire(space, user, NOW)
    too_soon = repos.limits.acquire(space, user, NOW + timedelta(milliseconds=500))
    other_user = repos.limits.acquire(space, _id("u"), NOW)
    later = repos.limits.acquire(space, user, NOW + timedelta(milliseconds=INTERVAL_MS))

    assert (first, too_soon, other_user, later) == (0, INTERVAL_MS - 500, 0, 0)


# --------------------------------------------------------------------------- media queue


def test_calls_come_out_oldest_first_with_their_arguments(repos):
    first = repos.queue.put("delete_stage", ["arn:1"])
    repos.clock.at += 1
    second = repos.queue.put("disconnect", ["arn:1", "p2"])

    peeked = repos.queue.peek()

    assert [(c.seq, c.operation, c.args, c.attempts) for c in peeked] == [
        (first.seq, "delete_stage", ["arn:1"], 0), (second.seq, "disconnect", ["arn:1", "p2"], 0),
    ]
    assert peeked[0].enqueued_ms == repos.clock.at - 1 and repos.queue.depth() == 2


def test_a_leased_call_is_held_by_one_drain_until_its_lease_runs_out(repos):
    call = repos.queue.put("delete_stage", ["arn:1"])

    won, lost = repos.queue.lease(call, 10), repos.queue.lease(call, 10)
    hidden = repos.queue.peek()
    repos.clock.at += 10_000
    retaken = repos.queue.lease(call, 10)

    assert (won, lost, hidden, retaken) == (True, False, [], True)


def test_a_call_put_with_a_lease_stays_with_its_caller(repos):
    call = repos.queue.put("delete_stage", ["arn:1"], lease_seconds=5)

    assert repos.queue.peek() == [] and not repos.queue.lease(call, 5)
    repos.queue.release(call)
    assert [c.seq for c in repos.queue.peek()] == [call.seq]


def test_a_failed_call_counts_its_attempt_and_waits_to_be_retried(repos):
    call = repos.queue.put("delete_stage", ["arn:1"])
    repos.queue.lease(call, 10)

    repos.queue.failed(call, 30)
    waiting = repos.queue.peek()
    repos.clock.at += 30_000

    assert waiting == [] and [c.attempts for c in repos.queue.peek()] == [1]


def test_a_done_call_leaves_the_queue_and_a_lease_on_it_is_refused(repos):
    call = repos.queue.put("delete_stage", ["arn:1"])

    repos.queue.done(call)
    repos.queue.failed(call, 30)  # a late report on a call already done changes nothing
    repos.queue.release(call)

    assert repos.queue.depth() == 0 and repos.queue.peek() == [] and not repos.queue.lease(call, 10)
