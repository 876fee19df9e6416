"""Races the database must referee, run with real threads against DynamoDB Local (AWS's engine).

moto is not trusted for these: it has been seen selling 116 tickets of 100.
"""
from __future__ import annotations

import threading
from collections import Counter
from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.domain.errors import DomainError
from chalicelib.domain.commands.stage import InviteSpeaker, NameCohost
from chalicelib.services import spaces as space_service
from chalicelib.services import stage as stage_service
from chalicelib.services import stage_moderation as moderation_service
from chalicelib.services import users as user_service
from chalicelib.api.bodies.spaces import create_space as space_request


def race(*calls):
    """Run the calls at the same instant; return each one's result or DomainError code."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        try:
            results[i] = ("ok", call())
        except DomainError as exc:
            results[i] = (exc.status, exc.code)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def outcome_counts(results):
    return Counter(r[0] for r in results)


@pytest.fixture
def scheduled(deps, host):
    start = (deps.clock.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return space_service.create_space(deps, host, space_request({"title": "race", "scheduled_start": start}))


def test_of_concurrent_starts_exactly_one_wins_and_no_stage_leaks(deps, host, scheduled):
    results = race(*[lambda: space_service.start_space(deps, host, scheduled.id)] * 6)

    counts = outcome_counts(results)
    assert counts["ok"] == 1 and counts[409] == 5, results
    assert list(deps.media.stages.values()) == [scheduled.id]
    assert deps.spaces.get(scheduled.id).state == "live"


def test_of_concurrent_live_creates_by_one_host_exactly_one_wins(deps, host):
    results = race(*[lambda: space_service.create_space(deps, host, space_request({"title": "dup"}))] * 5)

    counts = outcome_counts(results)
    assert counts["ok"] == 1 and counts[409] == 4, results
    assert len(deps.media.stages) == 1


def test_two_cohosts_approving_the_same_request_one_succeeds_one_gets_409(deps, host, new_user):
    space = space_service.create_space(deps, host, space_request({"title": "mods"}))
    cohosts = [new_user("co") for _ in range(2)]
    asker = new_user("asker")
    for user in cohosts + [asker]:
        stage_service.join_space(deps, user, space.id)
    for user in cohosts:
        moderation_service.add_cohost(deps, host, space.id, NameCohost(user))
    stage_service.raise_hand(deps, asker, space.id)

    results = race(
        *[lambda c=c: stage_service.add_speaker(deps, c, space.id, InviteSpeaker(asker)) for c in cohosts]
    )

    assert outcome_counts(results) == Counter({"ok": 1, 409: 1}), results
    assert [r for r in results if r[0] == 409][0][1] == "already_invited"
    assert deps.stage_members.pending_requests(space.id) == []
    assert deps.spaces.get(space.id).invited_user_ids == [asker]


def test_concurrent_follows_keep_counts_exact(deps, new_user):
    star = new_user("star")
    fans = [new_user("fan") for _ in range(20)]

    race(*[lambda f=f: user_service.follow(deps, f, star) for f in fans + fans])

    assert deps.users.get(star, deps.clock.now()).follower_count == 20
    race(*[lambda f=f: user_service.unfollow(deps, f, star) for f in fans[:10] + fans[:10]])
    assert deps.users.get(star, deps.clock.now()).follower_count == 10


def test_concurrent_joins_count_every_listener_once(deps, host, new_user, settle_counts):
    space = space_service.create_space(deps, host, space_request({"title": "crowd"}))
    listeners = [new_user("l") for _ in range(24)]

    results = race(*[lambda u=u: stage_service.join_space(deps, u, space.id) for u in listeners + listeners[:8]])

    assert outcome_counts(results)["ok"] == 32, results
    settle_counts()  # the count fold catches up (about a second in AWS)
    assert deps.spaces.get(space.id).participant_count == 24


def test_the_last_seat_on_stage_goes_to_exactly_one_speaker(deps, host, new_user):
    deps.settings = replace(deps.settings, max_on_stage=3)
    space = space_service.create_space(deps, host, space_request({"title": "small stage"}))
    invitees = [new_user("s") for _ in range(6)]
    for user in invitees:
        stage_service.join_space(deps, user, space.id)
        stage_service.add_speaker(deps, host, space.id, InviteSpeaker(user))

    results = race(*[lambda u=u: stage_service.accept_invitation(deps, u, space.id) for u in invitees])

    assert outcome_counts(results) == Counter({"ok": 2, 409: 4}), results
    assert len(deps.spaces.get(space.id).speaker_ids) == 3


def test_ending_twice_at_once_ends_once(deps, host):
    space = space_service.create_space(deps, host, space_request({"title": "bye"}))

    results = race(*[lambda: space_service.end_space(deps, host, space.id)] * 4)

    assert outcome_counts(results) == Counter({"ok": 1, 409: 3}), results
    assert "SpaceEnded" in deps.telemetry.events and deps.telemetry.events.count("SpaceEnded") == 1
    assert deps.media.stages == {}


def test_concurrent_blocks_all_land_in_the_blocked_filter(deps, new_user):
    """Blocks write the filter shard read-modify-write under a version condition: concurrent
    blocks of users in the same shard must all end up in it (none overwritten)."""
    from chalicelib.domain import blocked_filter as bf
    from chalicelib.services.users import BLOCKED_FILTER

    hosts = [new_user("blocker") for _ in range(12)]
    targets = [new_user("target") for _ in range(12)]
    results = race(*[lambda h=h, t=t: user_service.block(deps, h, t) for h, t in zip(hosts, targets)])

    assert all(r[0] == "ok" for r in results), results
    shards = deps.users.blocked_filter(BLOCKED_FILTER)
    for target in targets:
        slot = bf.slot_of(target, BLOCKED_FILTER)
        assert bf.may_contain(shards.get(slot.shard), slot), target
    # 12 writers on 4 shards: several shared one, so the version condition was exercised
    assert len({bf.slot_of(t, BLOCKED_FILTER).shard for t in targets}) < len(targets)
