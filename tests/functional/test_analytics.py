"""`GET /spaces/{id}/analytics` on a scripted Space: known joins, leaves, a raised hand brought on
stage, reactions, at times a controllable clock sets, and the answer equals the truth field by
field, live and then final. The participants stream is folded as the count fold's Lambda does.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.support.clock import FixedClock

T0 = datetime(2026, 12, 1, 18, 0, 0, tzinfo=timezone.utc)


@pytest.fixture
def fold_sessions(deps, dynamodb_local):
    """Fold the participants stream written from now on into analytics (only the Spaces of this
    test: the stream holds every earlier test's records too)."""
    from chalicelib.adapters.dynamodb.streams import participants_pump

    spaces: set[str] = set()

    def handler(records):
        mine = [r for r in records if r["dynamodb"]["Keys"]["key"]["S"].split("#", 1)[0] in spaces]
        deps.analytics.fold_participant_records(mine, deps.settings.replay_retention_days)

    pump = participants_pump(handler)
    pump.drain()

    def fold(space_id: str) -> None:
        spaces.add(space_id)
        pump.drain()

    return fold


@pytest.fixture
def clock(deps):
    deps.clock = FixedClock(T0)
    return deps.clock


def test_a_scripted_space_has_the_analytics_that_happened(api, deps, clock, host, new_user, fold_sessions):
    from chalicelib.adapters.dynamodb.room_events import DynamoReactionLimits

    deps.reactions = DynamoReactionLimits(interval_ms=1_000)
    ann, bob, cy = new_user("ann"), new_user("bob"), new_user("cy")

    def at(seconds: int) -> None:
        clock.at = T0 + timedelta(seconds=seconds)

    space = api.post("/spaces", host, {"title": "Scripted analytics"}).data
    sid = space["id"]
    path = f"/spaces/{sid}"
    api.post(f"{path}/join", host)  # t=0: the host, on stage
    at(10)
    api.post(f"{path}/join", ann)
    at(30)
    api.post(f"{path}/join", bob)
    at(40)
    assert api.post(f"{path}/speaker-requests", bob).status_code == 200
    assert api.post(f"{path}/speakers", host, {"user_id": bob}).status_code == 200
    at(45)
    assert api.post(f"{path}/invitations/accept", bob).status_code == 200
    at(70)
    api.post(f"{path}/join", cy)
    for user, second in ((ann, 71), (cy, 72), (ann, 73), (bob, 74)):
        at(second)
        assert api.post(f"{path}/reactions", user, {"emoji": "🔥"}).status_code == 200
    at(75)
    api.post(f"{path}/leave", cy)
    at(90)
    api.post(f"{path}/leave", bob)
    at(130)
    api.post(f"{path}/leave", ann)
    at(200)
    api.post(f"{path}/join", ann)
    at(260)
    api.post(f"{path}/leave", ann)

    at(300)
    fold_sessions(sid)
    live = api.get(f"{path}/analytics", host)
    assert live.status_code == 200, live.data
    assert live.data["final"] is False and live.data["as_of"] == "2026-12-01T18:05:00Z"
    assert live.data["average_listening_seconds"] == (300 + 180 + 60 + 5) / 4

    at(600)
    assert api.post(f"{path}/end", host).status_code == 200
    at(700)
    fold_sessions(sid)
    final = api.get(f"{path}/analytics", host).data

    # The truth: the host 0..600 s (never left: the end closes it), ann 10..130 and 200..260,
    # bob 30..90 (on stage from 45 s), cy 70..75; four reactions.
    assert final == {
        "space_id": sid,
        "final": True,
        "as_of": "2026-12-01T18:10:00Z",
        "peak_concurrent_listeners": 4,
        "unique_listeners": 4,
        "speakers": 2,
        "average_listening_seconds": (600 + 180 + 60 + 5) / 4,
        "median_listening_seconds": (60 + 180) / 2,
        "listeners_per_minute": [
            {"minute": f"2026-12-01T18:{m:02d}:00Z", "listeners": n}
            for m, n in enumerate([3, 4, 2, 2, 2, 1, 1, 1, 1, 1])
        ],
        "reactions": 4,
        "replay_plays": 0,
        "replay_listeners": 0,
        "clips": 0,
        "revenue": {"tickets": None, "subscriptions": None},
    }


def test_only_the_host_and_cohosts_read_the_analytics_and_unknown_spaces_are_404(api, host, new_user):
    cohost, listener = new_user("co"), new_user("l")
    sid = api.post("/spaces", host, {"title": "Who sees numbers", "cohost_ids": [cohost]}).data["id"]
    api.post(f"/spaces/{sid}/join", listener)

    assert api.get(f"/spaces/{sid}/analytics").status_code == 401
    refused = api.get(f"/spaces/{sid}/analytics", listener)
    assert refused.status_code == 403 and refused.data["code"] == "moderator_only"
    assert api.get(f"/spaces/{sid}/analytics", cohost).status_code == 200
    assert api.get("/spaces/01JZZZZZZZZZZZZZZZZZZZZZZZ/analytics", host).status_code == 404


def test_analytics_go_with_the_replay(api, deps, clock, host):
    sid = api.post("/spaces", host, {"title": "Kept as long as its replay"}).data["id"]
    api.post(f"/spaces/{sid}/end", host)
    clock.at = T0 + timedelta(days=deps.settings.replay_retention_days) - timedelta(seconds=1)
    assert api.get(f"/spaces/{sid}/analytics", host).status_code == 200
    clock.at = T0 + timedelta(days=deps.settings.replay_retention_days)
    gone = api.get(f"/spaces/{sid}/analytics", host)
    assert gone.status_code == 404 and gone.data["code"] == "analytics_expired"
