"""A landed recording is remuxed into one audio file before its replay is available: the landing
state machine (processing -> remuxing -> available; a failed remux retried, then failed) through
the HTTP API and the landing job, with the local remux adapter over the local S3 (moto)."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.adapters.mediaconvert import MediaConvertRemux
from chalicelib.domain.spaces import utcnow
from chalicelib.services.recording import land, land_recordings
from tests.support.clock import FixedClock

pytestmark = pytest.mark.usefixtures("deps")


def end_recorded_space(api, host) -> str:
    space = api.post("/spaces", host, {"title": "Remux me", "recording": True})
    assert space.status_code == 201, space.data
    assert api.post(f"/spaces/{space.data['id']}/end", host).status_code == 200
    return space.data["id"]


def info_of(deps, space_id):
    return deps.spaces.get(space_id, with_count=False).recording_info


def test_a_landed_recording_is_remuxing_until_its_file_exists_then_the_replay_is_available(api, deps, aws, host, new_user):
    deps.remux.hold_next()  # as in AWS: the job runs for minutes
    space_id = end_recorded_space(api, host)
    listener = new_user("listener")

    info = info_of(deps, space_id)
    assert info.replay_state == "remuxing"
    assert info.source_key.endswith("/media/hls/multivariant.m3u8") and info.source_key.startswith(info.prefix)
    assert info.remux_attempts == 1 and info.media_key is None
    assert deps.remux.started == [(f"{deps.settings.table_prefix}-{space_id}-1", (info.source_key,), f"replays/{space_id}/replay.m4a")]
    waiting = api.get(f"/spaces/{space_id}/replay", listener)
    assert waiting.status_code == 409 and waiting.data["code"] == "replay_not_ready"
    land_recordings(deps)
    assert info_of(deps, space_id).replay_state == "remuxing", "the job still runs"

    deps.remux.finish(info.remux_job)
    land_recordings(deps)

    info = info_of(deps, space_id)
    assert info.replay_state == "available" and info.media_key == f"replays/{space_id}/replay.m4a"
    replay = api.get(f"/spaces/{space_id}/replay", listener)
    assert replay.status_code == 200 and f"/replays/{space_id}/replay.m4a?" in replay.data["url"]
    job = aws.transcribe.get_transcription_job(TranscriptionJobName=info.transcription_job)["TranscriptionJob"]
    assert job["Media"]["MediaFileUri"] == f"s3://{aws.recordings_bucket}/replays/{space_id}/replay.m4a"
    assert deps.telemetry.events.count("ReplayAvailable") == 1


def test_a_failed_remux_is_started_again_and_the_replay_lands(api, deps, host):
    deps.remux.fail_next()

    space_id = end_recorded_space(api, host)
    info = info_of(deps, space_id)
    assert info.replay_state == "remuxing" and info.remux_attempts == 2
    land_recordings(deps)

    assert info_of(deps, space_id).replay_state == "available"
    assert [name for name, _, _ in deps.remux.started] == [
        f"{deps.settings.table_prefix}-{space_id}-1", f"{deps.settings.table_prefix}-{space_id}-2",
    ]
    assert deps.telemetry.events.count("ReplayRemuxFailed") == 1
    assert "ReplayFailed" not in deps.telemetry.events


def test_a_remux_that_keeps_failing_fails_the_replay_after_the_last_attempt(api, deps, host, new_user):
    assert deps.settings.replay_remux_attempts == 3
    deps.remux.fail_next(3)

    space_id = end_recorded_space(api, host)  # job 1 fails, job 2 starts
    land_recordings(deps)  # job 2 fails, job 3 starts
    assert info_of(deps, space_id).remux_attempts == 3
    land_recordings(deps)  # job 3 fails: no attempt left

    assert info_of(deps, space_id).replay_state == "failed"
    assert len(deps.remux.started) == 3
    assert deps.telemetry.events.count("ReplayRemuxFailed") == 3
    assert deps.telemetry.events.count("ReplayFailed") == 1
    assert space_id not in deps.recordings.pending(1000), "the landing job is done with it"
    gone = api.get(f"/spaces/{space_id}/replay", new_user())
    assert gone.status_code == 404 and gone.data["code"] == "replay_not_found"


def test_the_number_of_attempts_is_a_setting(api, deps, host):
    deps.settings = replace(deps.settings, replay_remux_attempts=1)
    deps.remux.fail_next()

    space_id = end_recorded_space(api, host)

    assert info_of(deps, space_id).replay_state == "failed"
    assert len(deps.remux.started) == 1


def test_a_remux_still_running_after_the_timeout_counts_as_failed(api, deps, host):
    deps.remux.hold_next()
    space_id = end_recorded_space(api, host)
    first = info_of(deps, space_id)

    deps.clock = FixedClock(first.remux_started_at + timedelta(seconds=deps.settings.replay_remux_timeout_seconds - 1))
    assert land(deps, space_id) is False, "within the timeout the job is left to run"
    deps.clock = FixedClock(first.remux_started_at + timedelta(seconds=deps.settings.replay_remux_timeout_seconds + 1))
    assert land(deps, space_id) is True

    again = info_of(deps, space_id)
    assert again.remux_attempts == 2 and again.remux_job != first.remux_job
    assert again.remux_started_at == deps.clock.now()
    assert deps.telemetry.events.count("ReplayRemuxFailed") == 1


def test_each_transition_from_remuxing_is_refused_once_its_job_is_no_longer_current(api, deps, host):
    deps.remux.hold_next()
    space_id = end_recorded_space(api, host)
    current = info_of(deps, space_id).remux_job
    now = utcnow()

    assert deps.recordings.retry_remux(space_id, failed_job="another-job", job_id="new", now=now) is False
    assert deps.recordings.land(space_id, remux_job="another-job", media_key="k", transcript_state="none") is False
    assert deps.recordings.fail(space_id, remux_job="another-job") is False
    assert deps.recordings.fail(space_id) is False, "no longer processing"
    assert deps.recordings.start_remux(
        space_id, job_id="second", source_keys=["s"], duration_ms=None, now=now
    ) is False, "a second landing cannot restart the remux"
    info = info_of(deps, space_id)
    assert (info.replay_state, info.remux_job, info.remux_attempts) == ("remuxing", current, 1)


def test_a_replay_deleted_while_remuxing_stays_deleted(api, deps, host, new_user):
    deps.remux.hold_next()
    space_id = end_recorded_space(api, host)
    job = info_of(deps, space_id).remux_job

    assert api.delete(f"/spaces/{space_id}/replay", host).status_code == 200
    deps.remux.finish(job)
    land_recordings(deps)

    assert info_of(deps, space_id).replay_state == "deleted"
    assert api.get(f"/spaces/{space_id}/replay", new_user()).data["code"] == "replay_not_found"


def test_a_deployment_that_cannot_remux_refuses_to_record(api, deps, host):
    # An AWS stage without SPACES_MEDIACONVERT_ROLE_ARN.
    deps.remux = MediaConvertRemux(None, bucket=deps.settings.recordings_bucket, role_arn="")
    stages_before = set(deps.media.stages)

    refused = api.post("/spaces", host, {"title": "Not recordable", "recording": True})

    assert refused.status_code == 422 and refused.data["code"] == "recording_not_available"
    assert deps.media.recordings == {}, "no composition was started"
    assert set(deps.media.stages) == stages_before and len(deps.media.deleted) == 1, "its stage was released"
    assert api.post("/spaces", host, {"title": "Fine without"}).status_code == 201
