"""Recording on IVS: a recorded Space's stage is created with individual participant recording,
audio only, and nothing else is asked of IVS to record it (no composition). Through a real boto3
`ivs-realtime` client under `botocore.stub.Stubber` (every request is checked against the API
model; a call nobody stubbed fails the test). moto has no ivs-realtime; no socket is opened."""
from __future__ import annotations

import pytest
from botocore.stub import ANY

from chalicelib.adapters.ivs import IvsMedia
from chalicelib.domain.errors import RuleViolation
from tests.integration.test_ivs_adapter import ARN, stage_response

AWS_SERVICE = "ivs-realtime"  # the `client` and `stubber` fixtures (tests/integration/conftest.py)
STORAGE = "arn:aws:ivs:us-east-1:123456789012:storage-configuration/StOrAgE12345"
RECORDING = {
    "storageConfigurationArn": STORAGE,
    "mediaTypes": ["AUDIO_ONLY"],
    "recordingReconnectWindowSeconds": 0,
    "hlsConfiguration": {"targetSegmentDurationSeconds": 10},
}


def media_for(client, **kw):
    return IvsMedia(client, tags={"app": "spaces"}, storage_configuration_arn=STORAGE, **kw)


def test_a_recorded_stage_is_created_with_audio_only_participant_recording(client, stubber):
    stubber.add_response(
        "create_stage",
        stage_response(),
        expected_params={
            "name": "space-sp1",
            "tags": {"app": "spaces", "space_id": "sp1", "created_at": ANY},
            "autoParticipantRecordingConfiguration": RECORDING,
        },
    )

    stage = media_for(client).create_stage("sp1", record=True)

    assert stage.arn == ARN
    stubber.assert_no_pending_responses()


def test_the_reconnect_window_is_a_setting(client, stubber):
    stubber.add_response(
        "create_stage",
        stage_response(),
        expected_params={
            "name": "space-sp1",
            "tags": ANY,
            "autoParticipantRecordingConfiguration": {**RECORDING, "recordingReconnectWindowSeconds": 60},
        },
    )

    media_for(client, reconnect_window_seconds=60).create_stage("sp1", record=True)


def test_a_stage_not_recorded_carries_no_recording_configuration(client, stubber):
    stubber.add_response(
        "create_stage", stage_response(), expected_params={"name": "space-sp1", "tags": ANY}
    )

    media_for(client).create_stage("sp1")


def test_without_a_storage_configuration_nothing_is_created(client, stubber):
    with pytest.raises(RuleViolation) as caught:
        IvsMedia(client).create_stage("sp1", record=True)

    assert caught.value.code == "recording_not_available"
    stubber.assert_no_pending_responses()


@pytest.mark.usefixtures("deps")
def test_recording_a_space_asks_ivs_for_one_recorded_stage_and_no_composition(api, deps, host, client, stubber, monkeypatch):
    """The whole life of a recorded Space through the API against the stubbed IVS: the only
    calls are CreateStage (with the recording configuration) and DeleteStage at the end. A
    StartComposition (or anything else) would find no stubbed answer and fail the request."""
    monkeypatch.setattr(deps, "media", media_for(client))
    stubber.add_response(
        "create_stage",
        stage_response(),
        expected_params={"name": ANY, "tags": ANY, "autoParticipantRecordingConfiguration": RECORDING},
    )
    stubber.add_response("delete_stage", {}, expected_params={"arn": ARN})

    created = api.post("/spaces", host, {"title": "On the record", "recording": True})
    ended = api.post(f"/spaces/{created.data['id']}/end", host)

    assert created.status_code == 201, created.data
    assert ended.status_code == 200, ended.data
    stubber.assert_no_pending_responses()
    info = deps.spaces.get(created.data["id"], with_count=False).recording_info
    assert info.prefix == "AbCdEfGh1234", "IVS writes the participant recordings under the stage id"
    assert info.replay_state == "processing"
