"""A whole Space on the IVS Chat adapter over a stubbed `ivschat` client: the room is created at
the start, each state change sends exactly one SendEvent (in order, with exactly these
attributes), a no-op repeat sends none, the removal cuts the chat connection, and the end sends
`space_ended` before deleting the room. Stubber checks every request against the real API model
and fails on any call not queued here.
"""
from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from botocore.stub import ANY, Stubber

from chalicelib.adapters.ivs_chat import IvsChatRooms
from chalicelib.domain.commands.spaces import EditSpace
from chalicelib.domain.commands.stage import InviteSpeaker, NameCohost
from chalicelib.services import room_events
from chalicelib.services import spaces as space_service
from chalicelib.services import stage as stage_service
from chalicelib.services import stage_moderation as moderation_service
from chalicelib.api.bodies.spaces import create_space as space_request
from chalicelib.api.views import room_way_view
from tests.support.aws_calls import AwsCallRecorder

ROOM = "arn:aws:ivschat:us-east-1:123456789012:room/AbCdEfGh1234"


@pytest.fixture
def ivs_chat(deps):
    client = boto3.client(
        "ivschat",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}),
    )
    deps.room_events = IvsChatRooms(
        client,
        tags={"app": "spaces", "stage": "test"},
        max_message_rate=deps.settings.room_max_message_rate,
        max_message_length=deps.settings.room_max_message_length,
    )
    recorder = AwsCallRecorder().attach(client)
    with Stubber(client) as stubber:
        yield deps, stubber, recorder
        stubber.assert_no_pending_responses()
    recorder.detach()


def expect_event(stubber, name, **attributes):
    stubber.add_response(
        "send_event",
        {"id": "EvtAbCdEf1234"},
        expected_params={"roomIdentifier": ROOM, "eventName": name, "attributes": attributes},
    )


def test_a_whole_space_sends_exactly_the_expected_room_events_in_order(ivs_chat, host, new_user):
    from datetime import datetime, timedelta, timezone

    deps, stubber, recorder = ivs_chat
    listener = new_user("listener")
    later = (datetime.now(timezone.utc) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    space = space_service.create_space(deps, host, space_request({"title": "Stubbed", "scheduled_start": later}))
    assert recorder.operations("ivschat") == [], "a scheduled Space has no room"

    stubber.add_response(
        "create_room",
        {"arn": ROOM, "id": "AbCdEfGh1234"},
        expected_params={
            "name": f"space-{space.id}",
            "maximumMessageRatePerSecond": 100,
            "maximumMessageLength": 500,
            "tags": {"app": "spaces", "stage": "test", "space_id": space.id, "created_at": ANY},
        },
    )
    expect_event(stubber, "hand_raised", user_id=listener)
    expect_event(stubber, "speaker_invited", user_id=listener, by=host, approved_request="true")
    expect_event(stubber, "speaker_added", user_id=listener)
    expect_event(stubber, "muted", user_id=listener, by=host)
    expect_event(stubber, "participant_removed", user_id=listener, by=host)
    stubber.add_response(
        "disconnect_user",
        {},
        expected_params={"roomIdentifier": ROOM, "userId": listener, "reason": "removed by a moderator"},
    )
    expect_event(stubber, "space_ended", by=host)
    stubber.add_response("delete_room", {}, expected_params={"identifier": ROOM})

    space_service.start_space(deps, host, space.id)
    stage_service.join_space(deps, listener, space.id)
    stage_service.raise_hand(deps, listener, space.id)
    stage_service.raise_hand(deps, listener, space.id)  # already up: nothing to tell
    stage_service.add_speaker(deps, host, space.id, InviteSpeaker(listener))
    stage_service.accept_invitation(deps, listener, space.id)
    moderation_service.mute(deps, host, space.id, listener)
    moderation_service.mute(deps, host, space.id, listener)  # already muted: nothing to tell
    moderation_service.remove_participant(deps, host, space.id, listener)
    space_service.end_space(deps, host, space.id)

    assert recorder.operations("ivschat") == [
        "CreateRoom",
        "SendEvent", "SendEvent", "SendEvent", "SendEvent", "SendEvent",
        "DisconnectUser",
        "SendEvent",
        "DeleteRoom",
    ]
    # emit() swallows failures (an unexpected call would surface only as this metric).
    assert "RoomEventFailed" not in deps.telemetry.events
    assert deps.spaces.get(space.id, with_count=False).room_arn == ROOM


def test_the_join_makes_no_ivs_chat_call_and_the_token_route_makes_one(ivs_chat, host, new_user):
    deps, stubber, recorder = ivs_chat
    stubber.add_response("create_room", {"arn": ROOM, "id": "AbCdEfGh1234"})
    space = space_service.create_space(deps, host, space_request({"title": "Tokens"}))
    listener = new_user("listener")
    recorder.reset()

    joined = stage_service.join_space(deps, listener, space.id)
    assert recorder.operations("ivschat") == []
    assert room_way_view(joined.events) == {
        "transport": "local",  # the settings say local media; the token route below is what counts
        "url": f"/spaces/{space.id}/events",
        "token_url": f"/spaces/{space.id}/events/token",
    }

    from datetime import datetime, timezone

    at = datetime(2030, 1, 1, tzinfo=timezone.utc)
    stubber.add_response(
        "create_chat_token",
        {"token": "AQICAHh", "tokenExpirationTime": at, "sessionExpirationTime": at},
        expected_params={
            "roomIdentifier": ROOM,
            "userId": listener,
            "capabilities": ["SEND_MESSAGE"],
            "sessionDurationInMinutes": 60,
            "attributes": {"user_id": listener, "role": "listener"},
        },
    )
    token = room_events.chat_token(deps, listener, space.id)

    assert recorder.operations("ivschat") == ["CreateChatToken"]
    assert token.token == "AQICAHh" and token.capabilities == ("SEND_MESSAGE",)
    assert token.room_arn == ROOM


def test_every_other_change_sends_its_one_event_too(ivs_chat, host, new_user):
    deps, stubber, recorder = ivs_chat
    stubber.add_response("create_room", {"arn": ROOM, "id": "AbCdEfGh1234"})
    space = space_service.create_space(deps, host, space_request({"title": "Everything"}))
    listener, speaker, cohost = new_user("listener"), new_user("speaker"), new_user("cohost")
    for user in (listener, speaker, cohost):
        stage_service.join_space(deps, user, space.id)

    expect_event(stubber, "hand_raised", user_id=listener)
    expect_event(stubber, "hand_lowered", user_id=listener)
    expect_event(stubber, "speaker_invited", user_id=listener, by=host, approved_request="false")
    expect_event(stubber, "invitation_declined", user_id=listener)
    expect_event(stubber, "speaker_invited", user_id=speaker, by=host, approved_request="false")
    expect_event(stubber, "speaker_added", user_id=speaker)
    expect_event(stubber, "muted", user_id=speaker, by=host)
    expect_event(stubber, "unmuted", user_id=speaker)
    expect_event(stubber, "speaker_removed", user_id=speaker, by=host, reason="demoted")
    expect_event(stubber, "cohost_added", user_id=cohost, by=host, from_role="listener")
    expect_event(stubber, "cohost_removed", user_id=cohost, by=host)
    stubber.add_response(
        "disconnect_user", {}, expected_params={"roomIdentifier": ROOM, "userId": cohost, "reason": "co-host role removed"}
    )
    expect_event(stubber, "space_updated", fields="title", by=host)
    expect_event(stubber, "space_ended", by=host)
    stubber.add_response("delete_room", {}, expected_params={"identifier": ROOM})

    stage_service.raise_hand(deps, listener, space.id)
    stage_service.lower_hand(deps, listener, space.id)
    stage_service.lower_hand(deps, listener, space.id)  # already down: nothing to tell
    stage_service.add_speaker(deps, host, space.id, InviteSpeaker(listener))
    stage_service.decline_invitation(deps, listener, space.id)
    stage_service.add_speaker(deps, host, space.id, InviteSpeaker(speaker))
    stage_service.accept_invitation(deps, speaker, space.id)
    moderation_service.mute(deps, host, space.id, speaker)
    moderation_service.unmute(deps, speaker, space.id, speaker)
    moderation_service.unmute(deps, speaker, space.id, speaker)  # not muted: nothing to tell
    moderation_service.remove_speaker(deps, host, space.id, speaker)
    moderation_service.add_cohost(deps, host, space.id, NameCohost(cohost))
    moderation_service.remove_cohost(deps, host, space.id, cohost)
    space_service.patch_space(deps, host, space.id, EditSpace(title="Everything, renamed"))
    space_service.patch_space(deps, host, space.id, EditSpace(title="Everything, renamed"))  # same title: nothing
    space_service.end_space(deps, host, space.id)

    assert recorder.operations("ivschat").count("SendEvent") == 13
    assert "RoomEventFailed" not in deps.telemetry.events
