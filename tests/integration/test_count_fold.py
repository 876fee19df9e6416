"""The participant count fold (adapters/dynamodb/counts.py) against DynamoDB Local's own stream.

Joins and leaves write participant items only; the fold moves the sharded counters from the
participants stream. Lambda delivers a stream batch at least once, may retry it after a partial
failure, and two invocations may work on different shards at once: the count must stay exact
through all of it.
"""
from __future__ import annotations

import threading

import pytest

from chalicelib.services import spaces as space_service
from chalicelib.services import stage as stage_service
from chalicelib.api.bodies.spaces import create_space as space_request
from tests.support.aws_calls import dynamodb_clients


@pytest.fixture
def captured(dynamodb_local):
    """The stream records written from now on, kept (not folded) so a test can deliver them as
    it likes: twice, reversed, from several threads."""
    from chalicelib.adapters.dynamodb.streams import participants_pump

    batches: list[list[dict]] = []
    pump = participants_pump(batches.append)
    pump.drain()  # skip what earlier tests wrote
    batches.clear()

    def records() -> list[dict]:
        pump.drain()
        return [r for batch in batches for r in batch]

    return records


def count(deps, space_id) -> int:
    return deps.spaces.get(space_id).participant_count


def ours(records, space_id):
    return [r for r in records if r["dynamodb"]["Keys"]["key"]["S"].startswith(f"{space_id}#")]


def test_joins_and_leaves_are_counted_once_the_stream_is_folded(deps, host, new_user, settle_counts):
    space = space_service.create_space(deps, host, space_request({"title": "fold"}))
    settle_counts()
    users = [new_user() for _ in range(12)]
    for user in users:
        stage_service.join_space(deps, user, space.id)
    for user in users[:5]:
        stage_service.leave_space(deps, user, space.id)

    assert count(deps, space.id) == 0  # nothing folded yet: a join writes its own item only
    settle_counts()
    assert count(deps, space.id) == 7


def test_a_batch_delivered_twice_counts_once(deps, host, new_user, captured):
    space = space_service.create_space(deps, host, space_request({"title": "twice"}))
    for _ in range(6):
        stage_service.join_space(deps, new_user(), space.id)
    records = ours(captured(), space.id)
    joins = [r for r in records if r["dynamodb"]["NewImage"].get("participant_id")]
    assert len(joins) == 6

    assert deps.participants.fold_count_records(records) == 6
    assert deps.participants.fold_count_records(records) == 0
    assert count(deps, space.id) == 6


def test_records_folded_out_of_order_leave_the_count_exact(deps, host, new_user, captured):
    """A join's record folded after the leave's (another invocation was slower) is outdated: its
    condition fails and nothing is counted."""
    space = space_service.create_space(deps, host, space_request({"title": "reordered"}))
    user, stays = new_user(), new_user()
    stage_service.join_space(deps, user, space.id)
    stage_service.join_space(deps, stays, space.id)
    stage_service.leave_space(deps, user, space.id)
    records = ours(captured(), space.id)

    for record in reversed(records):
        deps.participants.fold_count_records([record])

    assert count(deps, space.id) == 1


def test_a_batch_that_failed_halfway_is_retried_without_double_counting(deps, host, new_user, captured, monkeypatch):
    """The first shard's transaction commits, then the database fails: the whole batch comes
    again (as Lambda retries it), and the part already folded is skipped by its condition."""
    space = space_service.create_space(deps, host, space_request({"title": "retried"}))
    for _ in range(20):  # over several shards
        stage_service.join_space(deps, new_user(), space.id)
    records = ours(captured(), space.id)
    client = dynamodb_clients()[0]
    real = client.transact_write_items
    calls = []

    def fail_second(**kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("connection reset")
        return real(**kwargs)

    monkeypatch.setattr(client, "transact_write_items", fail_second)
    with pytest.raises(Exception):
        deps.participants.fold_count_records(records)
    monkeypatch.setattr(client, "transact_write_items", real)
    assert 0 < count(deps, space.id) < 20

    deps.participants.fold_count_records(records)

    assert count(deps, space.id) == 20


def test_concurrent_folds_of_the_same_records_count_each_participant_once(deps, host, new_user, captured):
    space = space_service.create_space(deps, host, space_request({"title": "parallel"}))
    users = [new_user() for _ in range(30)]
    for user in users:
        stage_service.join_space(deps, user, space.id)
    for user in users[:10]:
        stage_service.leave_space(deps, user, space.id)
    records = ours(captured(), space.id)
    barrier = threading.Barrier(4)
    errors = []

    def fold():
        barrier.wait()
        try:
            deps.participants.fold_count_records(records)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=fold) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert not errors, errors
    assert count(deps, space.id) == 20


def test_the_fold_lambda_takes_lambdas_event_shape(deps, host, new_user, captured):
    from chalicelib.jobs.counts import fold_participant_counts

    space = space_service.create_space(deps, host, space_request({"title": "lambda"}))
    stage_service.join_space(deps, new_user(), space.id)
    event = {"Records": [{**r, "eventSource": "aws:dynamodb", "awsRegion": "us-east-1"} for r in captured()]}

    assert fold_participant_counts(event, None)["moved"] >= 1
    assert count(deps, space.id) == 1
