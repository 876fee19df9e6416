"""Recording with consent, through the HTTP API: the host turns it on, everyone else on stage
consents before getting a publish token, and the Space goes live on a stage of its own created
with participant recording (here the local media adapter), not a pooled one."""
from __future__ import annotations

from datetime import timedelta

import jwt
import pytest

from chalicelib.domain.spaces import iso, utcnow

pytestmark = pytest.mark.usefixtures("deps")


def claims_of(token, keys):
    return jwt.decode(token, keys["ivs_public_pem"], algorithms=["ES384"])


def recorded_space(api, host, **extra):
    response = api.post("/spaces", host, {"title": "On the record", "recording": True, **extra})
    assert response.status_code == 201, response.data
    return response.data


def joined(api, space_id, user, body=None):
    response = api.post(f"/spaces/{space_id}/join", user, body)
    assert response.status_code == 200, response.data
    return response.data


def invite(api, space_id, host, user):
    response = api.post(f"/spaces/{space_id}/speakers", host, {"user_id": user})
    assert response.status_code == 200, response.data
    return response.data


def recorded_stage_of(deps, space_id):
    """The stage created with participant recording for the Space (there is exactly one)."""
    [arn] = [arn for arn, sid in deps.media.recorded_stages.items() if sid == space_id]
    return arn


# ---------------------------------------------------------------- turning it on


def test_a_space_created_with_recording_on_is_live_and_recording(api, deps, host):
    space = recorded_space(api, host)

    assert space["recording"] is True and space["state"] == "live"
    assert space["recording_started_at"] is not None
    arn = recorded_stage_of(deps, space["id"])
    stored = deps.spaces.get(space["id"], with_count=False)
    assert stored.stage.arn == arn, "a stage created for it, with recording"
    assert stored.recording_info.prefix == stored.stage.stage_id, "where IVS writes its recordings"
    assert set(stored.consents) == {host}, "the host consents by turning recording on"
    assert deps.room_announcements[-1][:2] == (space["id"], "recording")


def test_a_space_without_recording_gets_a_stage_that_records_nothing(api, deps, host):
    space = api.post("/spaces", host, {"title": "Off the record"}).data

    assert space["recording"] is False and space["recording_started_at"] is None
    assert space["id"] not in deps.media.recorded_stages.values()


def test_recording_must_be_a_boolean(api, host):
    response = api.post("/spaces", host, {"title": "Maybe", "recording": "yes"})

    assert response.status_code == 400 and response.data["code"] == "invalid_recording"


def test_the_host_turns_recording_on_when_starting_a_scheduled_space(api, deps, host):
    start = iso(utcnow() + timedelta(days=1))
    space = api.post("/spaces", host, {"title": "Later", "scheduled_start": start}).data
    assert space["recording"] is False

    started = api.post(f"/spaces/{space['id']}/start", host, {"recording": True})

    assert started.status_code == 200, started.data
    assert started.data["recording"] is True and started.data["recording_started_at"] is not None
    assert deps.spaces.get(space["id"], with_count=False).stage.arn == recorded_stage_of(deps, space["id"])
    assert set(deps.spaces.get(space["id"], with_count=False).consents) == {host}


def test_the_host_may_turn_recording_off_at_the_start(api, deps, host):
    start = iso(utcnow() + timedelta(days=1))
    space = api.post("/spaces", host, {"title": "Later", "scheduled_start": start, "recording": True}).data
    assert space["recording"] is True and space["recording_started_at"] is None

    started = api.post(f"/spaces/{space['id']}/start", host, {"recording": False})

    assert started.status_code == 200 and started.data["recording"] is False
    assert space["id"] not in deps.media.recorded_stages.values()


def test_starting_without_a_body_keeps_the_choice_made_at_creation(api, deps, host):
    start = iso(utcnow() + timedelta(days=1))
    space = api.post("/spaces", host, {"title": "Later", "scheduled_start": start, "recording": True}).data

    started = api.post(f"/spaces/{space['id']}/start", host)

    assert started.status_code == 200 and started.data["recording"] is True
    recorded_stage_of(deps, space["id"])


@pytest.mark.parametrize("body, code", [({"recording": "on"}, "invalid_recording"), ({"title": "x"}, "invalid_body")])
def test_a_malformed_start_body_is_400_and_the_space_stays_scheduled(api, host, body, code):
    start = iso(utcnow() + timedelta(days=1))
    space = api.post("/spaces", host, {"title": "Later", "scheduled_start": start}).data

    response = api.post(f"/spaces/{space['id']}/start", host, body)

    assert response.status_code == 400 and response.data["code"] == code
    assert api.get(f"/spaces/{space['id']}", host).data["state"] == "scheduled"


def test_when_the_recorded_stage_cannot_be_created_nothing_goes_live(api, deps, host):
    deps.media.fail_next("create_stage")
    stages_before = len(deps.media.created)

    response = api.post("/spaces", host, {"title": "Doomed", "recording": True})

    assert response.status_code == 503 and response.data["code"] == "media_unavailable"
    assert deps.media.created[stages_before:] == [], "no pooled stage is taken instead"
    again = api.post("/spaces", host, {"title": "Second try", "recording": True})
    assert again.status_code == 201, "the host is not left hosting a live Space"


# ---------------------------------------------------------------- consent


def test_an_invited_listener_sees_the_space_is_recorded_and_must_consent_before_a_publish_token(api, deps, keys, host, new_user):
    space = recorded_space(api, host)
    listener = new_user("listener")
    joined(api, space["id"], listener)

    invitation = invite(api, space["id"], host, listener)
    assert invitation["space"]["recording"] is True
    assert api.get(f"/spaces/{space['id']}", listener).data["recording"] is True
    assert api.get(f"/spaces/{space['id']}/participants", listener).data["recording"] is True

    refused = api.post(f"/spaces/{space['id']}/invitations/accept", listener)
    assert refused.status_code == 422 and refused.data["code"] == "recording_consent_required"
    assert "media" not in refused.data
    still = api.get(f"/spaces/{space['id']}", listener).data
    assert listener in still["invited_user_ids"] and listener not in still["speaker_ids"]

    declined = api.post(f"/spaces/{space['id']}/invitations/accept", listener, {"recording_consent": False})
    assert declined.status_code == 422 and declined.data["code"] == "recording_consent_required"

    before = utcnow()
    accepted = api.post(f"/spaces/{space['id']}/invitations/accept", listener, {"recording_consent": True})
    assert accepted.status_code == 200, accepted.data
    assert accepted.data["recording"] is True
    assert accepted.data["heartbeat_interval_seconds"] > 0
    assert claims_of(accepted.data["media"]["token"], keys)["capabilities"]["allow_publish"] is True
    stored = deps.spaces.get(space["id"], with_count=False)
    assert listener in stored.speakers
    consented_at = stored.consents[listener]
    assert consented_at[:19] >= iso(before)[:19], "consent is stored with its time"


def test_a_space_not_recorded_needs_no_consent(api, keys, host, new_user):
    space = api.post("/spaces", host, {"title": "Off the record"}).data
    listener = new_user("listener")
    joined(api, space["id"], listener)
    invite(api, space["id"], host, listener)

    accepted = api.post(f"/spaces/{space['id']}/invitations/accept", listener)

    assert accepted.status_code == 200 and accepted.data["recording"] is False


def test_consent_must_be_a_boolean(api, host, new_user):
    space = recorded_space(api, host)
    listener = new_user("listener")
    joined(api, space["id"], listener)
    invite(api, space["id"], host, listener)

    response = api.post(f"/spaces/{space['id']}/invitations/accept", listener, {"recording_consent": "sure"})

    assert response.status_code == 400 and response.data["code"] == "invalid_recording_consent"


def test_a_cohost_named_at_creation_listens_until_they_consent(api, deps, keys, host, new_user):
    cohost = new_user("cohost")
    space = recorded_space(api, host, cohost_ids=[cohost])

    first = joined(api, space["id"], cohost)
    assert first["role"] == "cohost"
    assert first["recording_consent_required"] is True
    assert first["media"]["capabilities"] == ["SUBSCRIBE"]
    assert claims_of(first["media"]["token"], keys)["capabilities"]["allow_publish"] is False

    second = joined(api, space["id"], cohost, {"recording_consent": True})
    assert "recording_consent_required" not in second
    assert claims_of(second["media"]["token"], keys)["capabilities"]["allow_publish"] is True
    assert cohost in deps.spaces.get(space["id"], with_count=False).consents

    third = joined(api, space["id"], cohost)  # a heartbeat: consent is remembered
    assert third["media"]["capabilities"] == ["PUBLISH", "SUBSCRIBE"]


def test_the_host_publishes_at_once_having_turned_recording_on(api, keys, host):
    space = recorded_space(api, host)

    media = joined(api, space["id"], host)["media"]

    assert claims_of(media["token"], keys)["capabilities"]["allow_publish"] is True


def test_listeners_of_a_recorded_space_are_not_asked_for_consent(api, host, new_user):
    space = recorded_space(api, host)

    listener = joined(api, space["id"], new_user("listener"), {"recording_consent": True})

    assert listener["role"] == "listener" and "recording_consent_required" not in listener
    assert listener["media"]["capabilities"] == ["SUBSCRIBE"]


# ---------------------------------------------------------------- stopping


def test_ending_the_space_lands_its_replay_once_the_recordings_are_there(api, deps, host):
    from tests.support.ivs_recordings import speaks

    space = recorded_space(api, host)
    speaks(deps, space["id"], host, freq=440, start_s=0, end_s=1)

    ended = api.post(f"/spaces/{space['id']}/end", host)

    assert ended.status_code == 200 and ended.data["state"] == "ended"
    info = deps.spaces.get(space["id"], with_count=False).recording_info
    assert info.stopped_at is not None
    assert info.replay_state == "available", "the recording had ended: mixed at once"
    assert info.media_key == f"replays/{space['id']}/replay-1.m4a", "mixed into one file"
    assert deps.room_announcements[-1][1:] == ("recording", {"state": "off"})


def test_a_replay_whose_recordings_are_not_there_yet_lands_later(api, deps, host):
    from chalicelib.services.replay_landing import land_recordings
    from tests.support.ivs_recordings import speaks

    space = recorded_space(api, host)

    ended = api.post(f"/spaces/{space['id']}/end", host)

    assert ended.status_code == 200 and ended.data["state"] == "ended"
    assert deps.spaces.get(space["id"], with_count=False).recording_info.replay_state == "processing"
    speaks(deps, space["id"], host, freq=440, start_s=0, end_s=1)  # IVS finishes writing
    assert land_recordings(deps) >= 1
    assert deps.spaces.get(space["id"], with_count=False).recording_info.replay_state == "available"
