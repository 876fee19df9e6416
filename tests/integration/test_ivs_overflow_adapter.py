"""IvsMedia's overflow methods over real boto3 `ivs-realtime` and `ivs` clients, stubbed:
`botocore.stub.Stubber` checks every request against the real API models, and
`expected_params` pins each request exactly. No sockets are opened."""
from __future__ import annotations

import pytest
from botocore.stub import ANY, Stubber

from chalicelib.adapters.ivs import IvsMedia, stage_name_for
from chalicelib.adapters.local_media import LocalMedia
from chalicelib.domain.errors import DependencyFailed
from chalicelib.domain.spaces import OverflowInfo
from tests.support.offline_aws import offline_client as _client

STAGE = "arn:aws:ivs:us-east-1:123456789012:stage/AbCdEfGh1234"
CHANNEL = "arn:aws:ivs:us-east-1:123456789012:channel/abcdEFGH1234"
PLAYBACK = (
    "https://a1b2c3d4e5f6.us-east-1.playback.live-video.net/api/video/v1/"
    "us-east-1.123456789012.channel.abcdEFGH1234.m3u8"
)
COMPOSITION = "arn:aws:ivs:us-east-1:123456789012:composition/CoMpOsItIoN1"
ENCODER = "arn:aws:ivs:us-east-1:123456789012:encoder-configuration/EnCoDeR12345"
SPACE = "01JSPACE0000000000000000AB"


@pytest.fixture
def stubbed():
    realtime, channels = _client("ivs-realtime"), _client("ivs")
    with Stubber(realtime) as rt, Stubber(channels) as ch:
        media = IvsMedia(
            realtime, tags={"app": "spaces"}, clock=lambda: 1_700_000_000, channels=channels,
            overflow_encoder_configuration_arn=ENCODER,
        )
        yield media, rt, ch
        rt.assert_no_pending_responses()
        ch.assert_no_pending_responses()


def channel_response():
    return {
        "channel": {"arn": CHANNEL, "playbackUrl": PLAYBACK, "latencyMode": "LOW", "type": "BASIC", "authorized": True},
        "streamKey": {"arn": "arn:aws:ivs:us-east-1:123456789012:stream-key/k", "value": "sk_x", "channelArn": CHANNEL},
    }


TAGS = {"app": "spaces", "space_id": SPACE, "created_at": "1700000000"}


def test_start_creates_a_tagged_low_latency_channel_and_composes_the_stage_into_it(stubbed):
    media, rt, ch = stubbed
    ch.add_response(
        "create_channel",
        channel_response(),
        expected_params={
            "name": stage_name_for(SPACE), "latencyMode": "LOW", "type": "BASIC", "authorized": True, "tags": TAGS,
        },
    )
    rt.add_response(
        "start_composition",
        {
            "composition": {
                "arn": COMPOSITION,
                "stageArn": STAGE,
                "state": "STARTING",
                "layout": {"grid": {"videoFillMode": "COVER"}},
                "destinations": [
                    {
                        "id": "d1",
                        "state": "STARTING",
                        "configuration": {
                            "name": "overflow",
                            "channel": {"channelArn": CHANNEL, "encoderConfigurationArn": ENCODER},
                        },
                    }
                ],
            }
        },
        expected_params={
            "stageArn": STAGE,
            "idempotencyToken": SPACE,
            "destinations": [{"name": "overflow", "channel": {"channelArn": CHANNEL, "encoderConfigurationArn": ENCODER}}],
            "tags": TAGS,
        },
    )

    info = media.start_overflow(SPACE, STAGE)

    assert info == OverflowInfo(channel_arn=CHANNEL, playback_url=PLAYBACK, composition_arn=COMPOSITION)


def test_a_composition_that_cannot_start_deletes_its_channel_and_is_media_unavailable(stubbed):
    media, rt, ch = stubbed
    ch.add_response("create_channel", channel_response())
    rt.add_client_error("start_composition", "ServiceQuotaExceededException", http_status_code=402)
    ch.add_response("delete_channel", {}, expected_params={"arn": CHANNEL})

    with pytest.raises(DependencyFailed) as raised:
        media.start_overflow(SPACE, STAGE)
    assert raised.value.code == "media_unavailable"


def test_throttled_channel_creation_is_media_unavailable(stubbed):
    media, _, ch = stubbed
    ch.add_client_error("create_channel", "ThrottlingException", http_status_code=429)

    with pytest.raises(DependencyFailed) as raised:
        media.start_overflow(SPACE, STAGE)
    assert raised.value.code == "media_unavailable"


def test_stop_stops_the_composition_then_deletes_the_channel(stubbed):
    media, rt, ch = stubbed
    rt.add_response("stop_composition", {}, expected_params={"arn": COMPOSITION})
    ch.add_response("delete_channel", {}, expected_params={"arn": CHANNEL})

    media.stop_overflow(OverflowInfo(CHANNEL, PLAYBACK, COMPOSITION))


def test_stopping_what_is_already_gone_succeeds(stubbed):
    media, rt, ch = stubbed
    rt.add_client_error("stop_composition", "ResourceNotFoundException", http_status_code=404)
    ch.add_client_error("delete_channel", "ResourceNotFoundException", http_status_code=404)

    media.stop_overflow(OverflowInfo(CHANNEL, PLAYBACK, COMPOSITION))


@pytest.mark.parametrize("code,status", [("ThrottlingException", 429), ("ConflictException", 409)])
def test_a_channel_that_cannot_be_deleted_yet_is_media_unavailable(stubbed, code, status):
    media, rt, ch = stubbed
    rt.add_response("stop_composition", {}, expected_params={"arn": COMPOSITION})
    ch.add_client_error("delete_channel", code, http_status_code=status)

    with pytest.raises(DependencyFailed) as raised:
        media.stop_overflow(OverflowInfo(CHANNEL, PLAYBACK, COMPOSITION))
    assert raised.value.code == "media_unavailable"


def composition(arn, state):
    return {
        "composition": {
            "arn": arn, "stageArn": STAGE, "state": state, "layout": {"grid": {"videoFillMode": "COVER"}},
            "destinations": [{
                "id": "d1", "state": "ACTIVE" if state == "ACTIVE" else "STOPPED",
                "configuration": {"name": "overflow", "channel": {"channelArn": CHANNEL, "encoderConfigurationArn": ENCODER}},
            }],
        }
    }


@pytest.mark.parametrize("state,running", [
    ("STARTING", True), ("ACTIVE", True), ("STOPPING", False), ("STOPPED", False), ("FAILED", False),
])
def test_a_composition_runs_while_ivs_says_starting_or_active(stubbed, state, running):
    media, rt, _ = stubbed
    rt.add_response("get_composition", composition(COMPOSITION, state), expected_params={"arn": COMPOSITION})
    assert media.overflow_running(OverflowInfo(CHANNEL, PLAYBACK, COMPOSITION)) is running


def test_a_composition_ivs_deleted_is_not_running(stubbed):
    media, rt, _ = stubbed
    rt.add_client_error("get_composition", "ResourceNotFoundException", http_status_code=404)
    assert media.overflow_running(OverflowInfo(CHANNEL, PLAYBACK, COMPOSITION)) is False


def test_a_restart_composes_the_stage_into_the_same_channel_under_a_new_idempotency_token(stubbed):
    media, rt, _ = stubbed
    new = "arn:aws:ivs:us-east-1:123456789012:composition/NeWcOmPoSiT2"
    rt.add_response(
        "start_composition",
        composition(new, "STARTING"),
        expected_params={
            "stageArn": STAGE,
            "idempotencyToken": f"{SPACE}-restart-2",
            "destinations": [{"name": "overflow", "channel": {"channelArn": CHANNEL, "encoderConfigurationArn": ENCODER}}],
            "tags": TAGS,
        },
    )
    assert media.restart_overflow(SPACE, STAGE, OverflowInfo(CHANNEL, PLAYBACK, COMPOSITION, restarts=1)) == new


def test_a_throttled_check_is_media_unavailable(stubbed):
    media, rt, _ = stubbed
    rt.add_client_error("get_composition", "ThrottlingException", http_status_code=429)
    with pytest.raises(DependencyFailed):
        media.overflow_running(OverflowInfo(CHANNEL, PLAYBACK, COMPOSITION))


def test_revoking_a_listener_names_the_viewer_id_their_playback_tokens_carry(stubbed):
    from chalicelib.adapters.ivs_tokens import playback_viewer_id

    media, rt, ch = stubbed
    ch.add_response(
        "start_viewer_session_revocation", {},
        expected_params={"channelArn": CHANNEL, "viewerId": playback_viewer_id("u_alice")},
    )
    media.revoke_playback(CHANNEL, "u_alice")


@pytest.mark.parametrize("code,status,fails", [
    ("ThrottlingException", 429, True), ("InternalServerException", 500, True), ("ResourceNotFoundException", 404, False),
])
def test_a_revocation_ivs_refuses_is_media_unavailable_unless_the_channel_is_gone(stubbed, code, status, fails):
    media, rt, ch = stubbed
    ch.add_client_error("start_viewer_session_revocation", code, http_status_code=status)
    if fails:
        with pytest.raises(DependencyFailed) as raised:
            media.revoke_playback(CHANNEL, "u_alice")
        assert raised.value.code == "media_unavailable"
    else:
        media.revoke_playback(CHANNEL, "u_alice")


def test_without_an_encoder_configuration_overflow_cannot_start():
    media = IvsMedia(_client("ivs-realtime"), channels=_client("ivs"))
    with pytest.raises(DependencyFailed):
        media.start_overflow(SPACE, STAGE)


class TestLocalOverflow:
    def test_a_second_start_of_the_same_space_returns_the_first(self):
        local = LocalMedia()
        stage = local.create_stage(SPACE)
        first = local.start_overflow(SPACE, stage.arn)
        assert local.start_overflow(SPACE, stage.arn) == first
        assert first.playback_url.endswith(".m3u8") and ":channel/" in first.channel_arn

    def test_stop_is_recorded_once(self):
        local = LocalMedia()
        info = local.start_overflow(SPACE, local.create_stage(SPACE).arn)
        local.stop_overflow(info)
        local.stop_overflow(info)
        assert local.overflow_stopped == [info]


def test_listing_overflow_channels_keeps_this_apps_tagged_ones_across_pages(stubbed):
    media, _, ch = stubbed
    other = "arn:aws:ivs:us-east-1:123456789012:channel/OtHeRaPp1234"
    ch.add_response(
        "list_channels",
        {"channels": [{"arn": CHANNEL, "name": stage_name_for(SPACE), "tags": TAGS},
                      {"arn": other, "name": "someone-else", "tags": {"app": "another"}}],
         "nextToken": "page-2"},
        expected_params={"maxResults": 100},
    )
    second = "arn:aws:ivs:us-east-1:123456789012:channel/SeCoNd123456"
    ch.add_response(
        "list_channels",
        {"channels": [{"arn": second, "name": "space-x", "tags": {**TAGS, "space_id": "01OTHER", "created_at": "5"}}]},
        expected_params={"maxResults": 100, "nextToken": "page-2"},
    )

    assert media.list_overflow_channels() == [(CHANNEL, SPACE, 1_700_000_000), (second, "01OTHER", 5)]
