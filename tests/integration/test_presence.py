"""Honest counts: a client that vanishes without leaving stops being counted within the timeout
plus one sweep; one that keeps refreshing (joining again) stays."""
from datetime import timedelta

from chalicelib.services import spaces as space_service
from chalicelib.services import stage as stage_service
from chalicelib.api.bodies.spaces import create_space as space_request


class Clock:
    def __init__(self, now):
        self.value = now

    def now(self):
        return self.value

    def advance(self, seconds):
        self.value += timedelta(seconds=seconds)


def test_a_vanished_listener_drops_out_and_a_refreshing_one_stays(deps, host, new_user, settle_counts):
    clock = Clock(deps.clock.now())
    deps.clock = clock
    space = space_service.create_space(deps, host, space_request({"title": "presence"}))
    vanished, faithful = new_user("gone"), new_user("here")
    stage_service.join_space(deps, vanished, space.id)
    joined = stage_service.join_space(deps, faithful, space.id)
    timeout = deps.settings.presence_timeout_seconds
    assert joined.heartbeat_interval_seconds == timeout // 2

    for _ in range(3):  # the faithful client refreshes on schedule; the other never does
        clock.advance(timeout // 2)
        stage_service.join_space(deps, faithful, space.id)
    clock.advance(10)
    assert space.id in deps.listings.live_space_ids()  # what the job sweeps
    swept = stage_service.sweep_presence(deps, [space.id])  # only this test's Space

    assert swept == 1
    settle_counts()  # the count fold catches up (about a second in AWS)
    assert deps.spaces.get(space.id).participant_count == 1
    assert deps.participants.get_participant(space.id, vanished).connected is False
    assert deps.participants.get_participant(space.id, faithful).connected is True
    assert "ParticipantTimedOut" in deps.telemetry.events


def test_nobody_is_swept_before_the_timeout(deps, host, new_user, settle_counts):
    clock = Clock(deps.clock.now())
    deps.clock = clock
    space = space_service.create_space(deps, host, space_request({"title": "presence"}))
    stage_service.join_space(deps, new_user(), space.id)

    clock.advance(deps.settings.presence_timeout_seconds - 5)

    assert stage_service.sweep_presence(deps, [space.id]) == 0
    settle_counts()  # the count fold catches up (about a second in AWS)
    assert deps.spaces.get(space.id).participant_count == 1


def test_a_swept_listener_who_comes_back_is_counted_again(deps, host, new_user, settle_counts):
    clock = Clock(deps.clock.now())
    deps.clock = clock
    space = space_service.create_space(deps, host, space_request({"title": "presence"}))
    listener = new_user()
    stage_service.join_space(deps, listener, space.id)
    clock.advance(deps.settings.presence_timeout_seconds + 1)
    stage_service.sweep_presence(deps, [space.id])

    stage_service.join_space(deps, listener, space.id)

    settle_counts()  # the count fold catches up (about a second in AWS)
    assert deps.spaces.get(space.id).participant_count == 1


def test_a_heartbeat_that_races_the_sweep_wins(deps, host, new_user, settle_counts):
    clock = Clock(deps.clock.now())
    deps.clock = clock
    space = space_service.create_space(deps, host, space_request({"title": "presence"}))
    listener = new_user()
    stage_service.join_space(deps, listener, space.id)
    clock.advance(deps.settings.presence_timeout_seconds + 1)
    [(user_id, last_seen)] = deps.participants.stale_participants(space.id, clock.now() - timedelta(seconds=1))

    stage_service.join_space(deps, listener, space.id)  # the heartbeat lands first
    from chalicelib.ports import Refused

    try:
        deps.participants.leave(space.id, user_id, clock.now(), if_last_seen=last_seen)
        raced = False
    except Refused:
        raced = True

    assert raced, "the sweep's stale view must not disconnect a client that just refreshed"
    settle_counts()  # the count fold catches up (about a second in AWS)
    assert deps.spaces.get(space.id).participant_count == 1
