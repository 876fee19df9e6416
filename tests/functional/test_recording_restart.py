"""A recording IVS stopped on its own while the Space is live is started again by the rank job (a
new segment under its own S3 prefix), at most `recording_max_restarts` times; when the Space
ends, the replay is remuxed from every segment, in order. Local media over the local S3 (moto),
DynamoDB Local for the conditional writes."""
from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.adapters.local_media import LocalMedia
from chalicelib.domain.recording import RecordingSegment
from chalicelib.services import recording
from chalicelib.services.recording import land_recordings
from tests.support.clock import FixedClock

pytestmark = pytest.mark.usefixtures("deps")

T0 = 1_800_000_000.0


class Ticks:
    """The media's clock: stays put until a test moves it."""

    def __init__(self):
        self.now = T0

    def __call__(self):
        return self.now


@pytest.fixture
def ticks(deps):
    """Local media on a clock the test moves, so each segment has a known duration."""
    clock = Ticks()
    deps.media = LocalMedia(
        region=deps.settings.region, account_id=deps.settings.account_id, clock=clock, recordings_store=deps.replays
    )
    return clock


def live_recorded(api, host) -> str:
    space = api.post("/spaces", host, {"title": "Recorded for hours", "recording": True})
    assert space.status_code == 201, space.data
    return space.data["id"]


def info_of(deps, space_id):
    return deps.spaces.get(space_id, with_count=False).recording_info


def restarts_for(deps, space_id):
    """(The sparse index is shared with other tests' Spaces: keep to this one.)"""
    return [n for sid, n in deps.media.recording_restarts if sid == space_id]


def stops_by_itself(deps, space_id, *, lands=True):
    """IVS stops the Space's current composition (a minute without publishers)."""
    deps.media.composition_stops_by_itself(info_of(deps, space_id).composition_arn, writes_recording=lands)


def playlist(prefix):
    return f"{prefix}/media/hls/multivariant.m3u8"


def test_a_recording_ivs_stopped_is_started_again_as_a_new_segment(api, deps, host):
    space_id = live_recorded(api, host)
    first = info_of(deps, space_id)
    assert first.segments == (RecordingSegment(first.composition_arn, first.prefix),)

    # A run of the keep_recordings_running job while it records changes nothing
    recording.keep_alive(deps)
    assert restarts_for(deps, space_id) == []

    # When IVS stops it, the next run starts another composition, once, and appends the segment
    stops_by_itself(deps, space_id)
    recording.keep_alive(deps)
    recording.keep_alive(deps)

    info = info_of(deps, space_id)
    assert restarts_for(deps, space_id) == [1], "the second run found the new composition running"
    assert info.restarts == 1
    [old, new] = info.segments
    assert old == first.segments[0]
    assert new.composition_arn == info.composition_arn != first.composition_arn
    assert new.prefix and new.prefix != old.prefix, "the new segment is written under its own prefix"
    assert deps.media.recording_status(new.composition_arn).running
    assert deps.telemetry.events.count("RecordingRestarted") == 1


def test_two_job_runs_at_once_restart_it_once(api, deps, host, monkeypatch):
    space_id = live_recorded(api, host)
    stops_by_itself(deps, space_id)
    # Both runs see it stopped and both send StartComposition before either writes
    both_started = threading.Barrier(2, timeout=10)
    restart = deps.media.restart_recording

    def restart_together(sid, stage_arn, n):
        handle = restart(sid, stage_arn, n)
        if sid == space_id:
            both_started.wait()
        return handle

    monkeypatch.setattr(deps.media, "restart_recording", restart_together)
    results, errors = [], []

    def run():
        try:
            results.append(recording.keep_alive(deps))
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    runs = [threading.Thread(target=run) for _ in range(2)]
    for thread in runs:
        thread.start()
    for thread in runs:
        thread.join(timeout=30)

    assert not errors, errors
    info = info_of(deps, space_id)
    assert restarts_for(deps, space_id) == [1, 1], "both asked IVS, with the same idempotency token"
    assert len(info.segments) == 2 and info.restarts == 1, "one segment was appended"
    assert deps.media.recording_status(info.composition_arn).running, "the run that lost did not stop it"
    assert deps.telemetry.events.count("RecordingRestarted") == 1


def test_after_the_last_allowed_restart_the_recording_is_not_started_again(api, deps, host):
    deps.settings = replace(deps.settings, recording_max_restarts=2)
    space_id = live_recorded(api, host)
    for _ in range(2):
        stops_by_itself(deps, space_id)
        recording.keep_alive(deps)
    assert info_of(deps, space_id).restarts == 2

    stops_by_itself(deps, space_id)
    recording.keep_alive(deps)
    recording.keep_alive(deps)

    info = info_of(deps, space_id)
    assert restarts_for(deps, space_id) == [1, 2]
    assert info.restarts == 2 and len(info.segments) == 3
    assert deps.telemetry.events.count("RecordingRestartCapReached") == 1, "counted once, when reached"
    assert space_id not in deps.recordings.live_recorded(), "the job no longer checks it"


def test_a_space_of_three_segments_has_one_replay_of_all_three_in_order(api, deps, host, new_user, ticks):
    space_id = live_recorded(api, host)
    for minutes in (10, 20):
        ticks.now += minutes * 60
        stops_by_itself(deps, space_id)
        ticks.now += 60  # the next run, a minute later
        recording.keep_alive(deps)
    ticks.now += 30 * 60
    segments = info_of(deps, space_id).segments
    assert len(segments) == 3

    assert api.post(f"/spaces/{space_id}/end", host).status_code == 200

    [(name, sources, output)] = [s for s in deps.remux.started if s[2] == f"replays/{space_id}/replay.m4a"]
    assert sources == tuple(playlist(s.prefix) for s in segments), "one input per segment, in order"
    info = info_of(deps, space_id)
    assert info.replay_state == "available" and info.source_keys == sources
    file = deps.replays.get_text(f"replays/{space_id}/replay.m4a")
    assert [line.split(": ", 1)[1] for line in file.splitlines() if line.startswith("input ")] == list(sources)
    replay = api.get(f"/spaces/{space_id}/replay", new_user("listener"))
    assert replay.status_code == 200
    assert replay.data["duration_seconds"] == (10 + 20 + 30) * 60, "the segments' lengths, not the gaps between"
    assert "ReplaySegmentMissing" not in deps.telemetry.events


def test_a_segment_that_never_lands_is_left_out_after_the_segment_wait(api, deps, host, new_user, ticks):
    space_id = live_recorded(api, host)
    ticks.now += 600
    stops_by_itself(deps, space_id)
    recording.keep_alive(deps)
    ticks.now += 120
    stops_by_itself(deps, space_id, lands=False)  # IVS never writes this one's end marker
    recording.keep_alive(deps)
    ticks.now += 300
    segments = info_of(deps, space_id).segments
    assert len(segments) == 3

    assert api.post(f"/spaces/{space_id}/end", host).status_code == 200
    stopped = info_of(deps, space_id).stopped_at

    # It waits for the missing segment ...
    assert info_of(deps, space_id).replay_state == "processing"
    deps.clock = FixedClock(stopped + timedelta(seconds=deps.settings.replay_segment_wait_seconds - 1))
    land_recordings(deps)
    assert info_of(deps, space_id).replay_state == "processing"
    assert api.get(f"/spaces/{space_id}/replay", new_user()).data["code"] == "replay_not_ready"

    # ... then remuxes the two that landed, in order, and says one is missing
    deps.clock = FixedClock(stopped + timedelta(seconds=deps.settings.replay_segment_wait_seconds + 1))
    land_recordings(deps)

    info = info_of(deps, space_id)
    assert info.replay_state == "available"
    assert info.source_keys == (playlist(segments[0].prefix), playlist(segments[2].prefix))
    assert info.duration_ms == (600 + 300) * 1000
    assert deps.telemetry.events.count("ReplaySegmentMissing") == 1


def test_a_recording_none_of_whose_segments_lands_fails_at_the_deadline(api, deps, host, new_user):
    space_id = live_recorded(api, host)
    stops_by_itself(deps, space_id, lands=False)
    recording.keep_alive(deps)
    deps.media.fail_next("stop_recording", times=3)  # the last one is never stopped nor written
    assert api.post(f"/spaces/{space_id}/end", host).status_code == 200
    stopped = info_of(deps, space_id).stopped_at

    deps.clock = FixedClock(stopped + timedelta(seconds=deps.settings.replay_segment_wait_seconds + 1))
    land_recordings(deps)
    assert info_of(deps, space_id).replay_state == "processing", "nothing to remux yet: it waits"
    deps.clock = FixedClock(stopped + timedelta(seconds=deps.settings.replay_landing_deadline_seconds + 1))
    land_recordings(deps)

    assert info_of(deps, space_id).replay_state == "failed"
    assert api.get(f"/spaces/{space_id}/replay", new_user()).data["code"] == "replay_not_found"


def test_the_end_stops_the_composition_the_job_started_last(api, deps, host):
    space_id = live_recorded(api, host)
    stops_by_itself(deps, space_id)
    recording.keep_alive(deps)
    current = info_of(deps, space_id).composition_arn

    assert api.post(f"/spaces/{space_id}/end", host).status_code == 200

    assert deps.media.recordings[current]["state"] == "STOPPED"
    assert space_id not in deps.recordings.live_recorded()
    recording.keep_alive(deps)
    assert restarts_for(deps, space_id) == [1], "an ended Space is not restarted"


def test_deleting_the_replay_deletes_every_segment(api, deps, host, aws):
    space_id = live_recorded(api, host)
    stops_by_itself(deps, space_id)
    recording.keep_alive(deps)
    assert api.post(f"/spaces/{space_id}/end", host).status_code == 200
    prefixes = [s.prefix for s in info_of(deps, space_id).segments]

    assert api.delete(f"/spaces/{space_id}/replay", host).status_code == 200

    for prefix in prefixes:
        left = aws.s3.list_objects_v2(Bucket=aws.recordings_bucket, Prefix=f"{prefix}/")
        assert left.get("KeyCount", 0) == 0, prefix
