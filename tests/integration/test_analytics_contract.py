"""Host analytics' repository, one contract for the DynamoDB adapter and the in-memory fake: the
participants stream's records fold into one session per join, whatever is delivered twice or
late, and events are counted once per id. The records are Lambda's shape, made from participant
items as the real table's stream would show them (the real stream: test_analytics_fold.py).
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain.analytics import (
    CLIP, REACTION, REPLAY_LISTENER, SUBSCRIPTION, SUBSCRIPTION_CENTS, ListeningSession,
)

NOW = datetime(2026, 12, 1, 18, 0, tzinfo=timezone.utc)
RETENTION = 30
SHARDS = 4


@pytest.fixture(params=["dynamodb", "memory"])
def store(request):
    if request.param == "memory":
        from tests.fakes.analytics import FakeAnalytics

        return FakeAnalytics(SHARDS)
    request.getfixturevalue("dynamodb_local")
    from chalicelib.adapters.dynamodb.analytics import DynamoAnalytics

    return DynamoAnalytics(SHARDS)


def image(space_id, user_id, *, joined, connected=True, left=None, role="listener", last_seen=None, removed=None):
    from chalicelib.adapters.dynamodb.models import ParticipantModel

    item = ParticipantModel(
        ParticipantModel.key_for(space_id, user_id),
        space_id=space_id,
        user_id=user_id,
        role=role,
        connected=connected,
        joined_at=joined,
        left_at=left,
        removed_at=removed,
        count_shard=1,
        last_seen=int((last_seen or joined).timestamp()),
    )
    return {"eventName": "MODIFY", "dynamodb": {"NewImage": item.serialize()}}


def _ids():
    return f"S{uuid.uuid4().hex[:10]}", f"u{uuid.uuid4().hex[:10]}"


def at(seconds):
    return NOW + timedelta(seconds=seconds)


def test_a_join_and_its_leave_make_one_session(store):
    space, user = _ids()
    store.fold_participant_records([image(space, user, joined=at(0))], RETENTION)
    assert store.sessions(space) == [ListeningSession(user, at(0), None)]

    store.fold_participant_records([image(space, user, joined=at(0), connected=False, left=at(90))], RETENTION)
    assert store.sessions(space) == [ListeningSession(user, at(0), at(90))]


def test_a_batch_folded_twice_or_late_changes_nothing(store):
    space, user = _ids()
    joined = [image(space, user, joined=at(0))]
    left = [image(space, user, joined=at(0), connected=False, left=at(90))]
    for batch in (joined, left, joined, left, joined):
        store.fold_participant_records(batch, RETENTION)
    assert store.sessions(space) == [ListeningSession(user, at(0), at(90))]


def test_a_rejoin_is_a_second_session_and_a_heartbeat_is_none(store):
    space, user = _ids()
    written = store.fold_participant_records(
        [
            image(space, user, joined=at(0)),
            image(space, user, joined=at(0), last_seen=at(150)),  # heartbeat
            image(space, user, joined=at(0), connected=False, left=at(200)),
            image(space, user, joined=at(300)),
        ],
        RETENTION,
    )
    assert written == 2
    assert sorted(store.sessions(space), key=lambda s: s.start) == [
        ListeningSession(user, at(0), at(200)),
        ListeningSession(user, at(300), None),
    ]
    assert store.fold_participant_records([image(space, user, joined=at(300), last_seen=at(450))], RETENTION) == 0


def test_being_on_stage_marks_the_session_and_a_removal_ends_it(store):
    space, user = _ids()
    store.fold_participant_records([image(space, user, joined=at(0)), image(space, user, joined=at(0), role="speaker")], RETENTION)
    # Back to listening: the session still was a speaker's.
    store.fold_participant_records([image(space, user, joined=at(0), last_seen=at(10))], RETENTION)
    store.fold_participant_records(
        [image(space, user, joined=at(0), connected=False, removed=at(40))], RETENTION
    )
    assert store.sessions(space) == [ListeningSession(user, at(0), at(40), spoke=True)]


def test_records_without_a_join_are_not_sessions(store):
    space, user = _ids()
    from chalicelib.adapters.dynamodb.models import ParticipantModel

    never_joined = ParticipantModel(
        ParticipantModel.key_for(space, user), space_id=space, user_id=user, role="host", connected=False
    ).serialize()
    assert store.fold_participant_records([{"eventName": "INSERT", "dynamodb": {"NewImage": never_joined}}], RETENTION) == 0
    assert store.sessions(space) == []


def test_sessions_are_the_spaces_own(store):
    (space, user), (other, _) = _ids(), _ids()
    store.fold_participant_records([image(space, user, joined=at(0)), image(other, user, joined=at(5))], RETENTION)
    assert store.sessions(space) == [ListeningSession(user, at(0), None)]


def test_an_event_counts_once_per_id_and_totals_add_up_across_users(store):
    space, _ = _ids()
    until = at(86400 * 32)
    assert store.count_event(space, "e1", "alice", until, {REACTION: 1})
    assert not store.count_event(space, "e1", "alice", until, {REACTION: 1})
    assert store.count_event(space, "e2", "bob", until, {REACTION: 1})
    # A user id as the event id (unique replay listeners) is its own kind's marker.
    assert store.count_event(space, "alice", "alice", until, {REPLAY_LISTENER: 1})
    assert not store.count_event(space, "alice", "alice", until, {REPLAY_LISTENER: 1})
    assert store.count_event(space, "c1", "carol", until, {CLIP: 1})
    totals = store.totals(space)
    assert (totals[REACTION], totals[REPLAY_LISTENER], totals[CLIP]) == (2, 1, 1)
    assert store.totals(_ids()[0])[REACTION] == 0


def test_an_events_amounts_are_counted_together(store):
    space, _ = _ids()
    until = at(86400 * 32)
    for _ in range(2):
        store.count_event(space, "sub1", "bob", until, {SUBSCRIPTION: 1, SUBSCRIPTION_CENTS: 499})
    store.count_event(space, "sub2", "cy", until, {SUBSCRIPTION: 1, SUBSCRIPTION_CENTS: 999})
    totals = store.totals(space)
    assert (totals[SUBSCRIPTION], totals[SUBSCRIPTION_CENTS]) == (2, 1498)


def test_an_unknown_kind_is_refused(store):
    with pytest.raises(ValueError):
        store.count_event("S1", "e1", "alice", at(1), {"likes": 1})
