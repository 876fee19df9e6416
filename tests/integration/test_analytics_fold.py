"""The analytics fold against DynamoDB Local's own participants stream: 32 threads joining and
leaving through the participants repository, at times the test chose, and the sessions kept are
exactly the sessions that happened, however the batches are delivered (twice, or a batch again
after later ones), and the numbers computed from them are those computed from the truth.
"""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.api.bodies.spaces import create_space as space_request
from chalicelib.domain.analytics import ListeningSession, compute
from chalicelib.services import spaces as space_service

T0 = datetime(2026, 12, 1, 18, 0, tzinfo=timezone.utc)
THREADS = 32


@pytest.fixture
def captured(dynamodb_local):
    """The participants stream's batches written from now on, kept (not folded)."""
    from chalicelib.adapters.dynamodb.streams import participants_pump

    batches: list[list[dict]] = []
    pump = participants_pump(batches.append)
    pump.drain()  # skip what earlier tests wrote
    batches.clear()

    def read() -> list[list[dict]]:
        pump.drain()
        return list(batches)

    return read


def ours(batch, space_id):
    return [r for r in batch if r["dynamodb"]["Keys"]["key"]["S"].startswith(f"{space_id}#")]


def visit(deps, space_id, user, offset, truth, lock, errors):
    """Three listens of one user: join, leave, join, leave, join (the last stays open)."""
    try:
        t = T0 + timedelta(seconds=offset)
        for cycle in range(3):
            known = deps.participants.get_participant(space_id, user, consistent=True)
            deps.participants.join(space_id, user, known=known, participant_id=f"p{cycle}", now=t, check_block=False)
            if cycle == 2:
                with lock:
                    truth.append(ListeningSession(user, t, None))
                return
            left = t + timedelta(seconds=37 + offset % 11, milliseconds=offset)
            deps.participants.leave(space_id, user, left)
            with lock:
                truth.append(ListeningSession(user, t, left))
            t = left + timedelta(seconds=5 + cycle)
    except Exception as exc:  # noqa: BLE001 - reported by the test
        errors.append(exc)


def test_32_threads_joining_and_leaving_fold_into_exactly_the_sessions_that_happened(deps, host, new_user, captured):
    space = space_service.create_space(deps, host, space_request({"title": "analytics under load"}))
    captured()
    users = [new_user("l") for _ in range(THREADS)]
    truth: list[ListeningSession] = []
    lock, errors = threading.Lock(), []
    threads = [
        threading.Thread(target=visit, args=(deps, space.id, user, i * 3, truth, lock, errors))
        for i, user in enumerate(users)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []

    records = [r for batch in captured() for r in ours(batch, space.id)]
    # Small batches in stream order, as Lambda may cut them: the first holds only joins.
    batches = [records[i : i + 7] for i in range(0, len(records), 7)]
    assert len(batches) > 10
    for batch in batches:
        deps.analytics.fold_participant_records(batch, 30)
    # At-least-once: every batch once more, then the first one again, after the leaves.
    for batch in batches:
        deps.analytics.fold_participant_records(batch, 30)
    deps.analytics.fold_participant_records(batches[0], 30)

    def key(s):
        return (s.user_id, s.start)

    kept = sorted(deps.analytics.sessions(space.id), key=key)
    assert kept == sorted(truth, key=key)
    assert len(kept) == THREADS * 3
    end = T0 + timedelta(hours=1)
    assert compute(space.id, kept, {}, started_at=T0, ended_at=end, now=end) == compute(
        space.id, truth, {}, started_at=T0, ended_at=end, now=end
    )


def test_the_count_folds_lambda_folds_the_sessions_too(deps, host, new_user, captured):
    from chalicelib.services import counts

    space = space_service.create_space(deps, host, space_request({"title": "one batch, two folds"}))
    captured()
    user = new_user("l")
    deps.participants.join(space.id, user, known=None, participant_id="p", now=T0, check_block=False)
    records = [r for batch in captured() for r in ours(batch, space.id)]

    counts.fold(deps, records)

    assert deps.analytics.sessions(space.id) == [ListeningSession(user, T0, None)]
