"""IvsChatRooms against a real boto3 `ivschat` client whose HTTP layer never runs.

moto has no ivschat: `botocore.stub.Stubber` checks every request against the real API model
(types, required members, lengths, patterns) and `expected_params` pins the exact request;
responses added to it are validated against the model too. The RoomEventsPort contract (the same
tests for IvsChatRooms and the local DynamoRoomEvents) is in test_room_events_port.py.
"""
from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ParamValidationError, ReadTimeoutError
from botocore.stub import ANY

from chalicelib.adapters.ivs_chat import IvsChatRooms, room_name_for
from chalicelib.domain.errors import DependencyFailed
from chalicelib.domain.room_events import chat_capabilities
from tests.support.offline_aws import offline_client, stubbed

ROOT = Path(__file__).resolve().parents[2]
ROOM = "arn:aws:ivschat:us-east-1:123456789012:room/AbCdEfGh1234"
# As CloudFormation's AWS::IVSChat::LoggingConfiguration returns it (Fn::GetAtt Arn).
LOGGING = "arn:aws:ivschat:us-east-1:123456789012:logging-configuration/XyZ0123abcDE"
T0 = datetime(2026, 11, 24, 18, 0, tzinfo=timezone.utc)


AWS_SERVICE = "ivschat"  # the `client` and `stubber` fixtures (tests/integration/conftest.py)


def make_client():
    return offline_client(AWS_SERVICE)


def create_room_request(**members):
    """The CreateRoom request for Space sp1 with the adapter's defaults, plus or instead `members`."""
    return {
        "name": "space-sp1",
        "maximumMessageRatePerSecond": 10,
        "maximumMessageLength": 500,
        "tags": {"space_id": "sp1", "created_at": ANY},
        **members,
    }


def room_response(arn=ROOM, **extra):
    return {"arn": arn, "id": arn.rsplit("/", 1)[-1], "name": "space-sp1", **extra}


class TestCreateRoom:
    def test_creates_a_named_tagged_room_with_its_rate_and_length_limits(self, client, stubber):
        stubber.add_response(
            "create_room",
            room_response(maximumMessageRatePerSecond=100, maximumMessageLength=300),
            expected_params={
                "name": "space-sp1",
                "maximumMessageRatePerSecond": 100,
                "maximumMessageLength": 300,
                "tags": {"app": "spaces", "stage": "dev", "space_id": "sp1", "created_at": "1700000000"},
            },
        )
        rooms = IvsChatRooms(
            client,
            tags={"app": "spaces", "stage": "dev"},
            max_message_rate=100,
            max_message_length=300,
            clock=lambda: 1700000000.5,
        )

        assert rooms.create_room("sp1") == ROOM

    def test_a_message_review_handler_is_attached_when_configured_and_lets_messages_through_if_it_fails(
        self, client, stubber
    ):
        handler = "arn:aws:lambda:us-east-1:123456789012:function:spaces-dev-review"
        stubber.add_response(
            "create_room",
            room_response(),
            expected_params=create_room_request(
                messageReviewHandler={"uri": handler, "fallbackResult": "ALLOW"}
            ),
        )

        IvsChatRooms(client, review_handler_arn=handler).create_room("sp1")

    def test_a_room_is_attached_to_the_chat_logging_configuration_when_one_is_configured(self, client, stubber):
        # Given the stage's logging configuration, when a Space's room is created, then IVS Chat
        # is asked to record that room's messages and events there (and nowhere else).
        stubber.add_response(
            "create_room",
            room_response(loggingConfigurationIdentifiers=[LOGGING]),
            expected_params=create_room_request(loggingConfigurationIdentifiers=[LOGGING]),
        )

        assert IvsChatRooms(client, logging_configuration_arn=LOGGING).create_room("sp1") == ROOM

    def test_without_a_logging_configuration_rooms_are_created_without_one(self, client, stubber):
        # expected_params is the whole request: no loggingConfigurationIdentifiers, not even [].
        stubber.add_response(
            "create_room",
            room_response(),
            expected_params=create_room_request(),
        )

        IvsChatRooms(client, logging_configuration_arn="").create_room("sp1")

    def test_logging_and_review_handler_are_attached_together(self, client, stubber):
        handler = "arn:aws:lambda:us-east-1:123456789012:function:spaces-dev-review"
        stubber.add_response(
            "create_room",
            room_response(),
            expected_params=create_room_request(
                messageReviewHandler={"uri": handler, "fallbackResult": "ALLOW"},
                loggingConfigurationIdentifiers=[LOGGING],
            ),
        )

        IvsChatRooms(client, review_handler_arn=handler, logging_configuration_arn=LOGGING).create_room("sp1")

    def test_the_logging_configuration_arn_is_one_the_api_model_accepts(self, client):
        # botocore's validation checks lengths, not patterns: check the ARN's form here.
        member = client.meta.service_model.operation_model("CreateRoom").input_shape.members[
            "loggingConfigurationIdentifiers"
        ]

        assert re.fullmatch(member.member.metadata["pattern"], LOGGING)
        assert member.metadata["max"] >= 1

    def test_the_space_id_tag_cannot_be_overridden_by_default_tags(self, client, stubber):
        stubber.add_response(
            "create_room",
            room_response(),
            expected_params=create_room_request(),
        )

        IvsChatRooms(client, tags={"space_id": "else"}).create_room("sp1")

    @pytest.mark.parametrize("space_id", ["sp1", "01J9Z:with/odd chars ä", "x" * 300])
    def test_room_name_is_valid_for_the_api_model(self, client, space_id):
        rules = client.meta.service_model.operation_model("CreateRoom").input_shape.members["name"].metadata

        name = room_name_for(space_id)

        assert re.fullmatch(rules["pattern"], name)
        assert len(name) <= rules["max"]

    def test_the_rate_limit_setting_is_within_what_the_api_accepts(self, client):
        # maximumMessageRatePerSecond is a cap on ALL clients of a room (1..100): the default
        # setting uses the top of that range (chalicelib/config.py).
        from chalicelib.config import Settings

        rules = client.meta.service_model.operation_model("CreateRoom").input_shape.members
        rate, length = rules["maximumMessageRatePerSecond"].metadata, rules["maximumMessageLength"].metadata
        assert rate["min"] <= Settings.room_max_message_rate <= rate["max"]
        assert length["min"] <= Settings.room_max_message_length <= length["max"]


class TestDeleteRoom:
    def test_deletes_the_room_by_arn(self, client, stubber):
        stubber.add_response("delete_room", {}, expected_params={"identifier": ROOM})

        assert IvsChatRooms(client).delete_room(ROOM) is None

    def test_deleting_a_room_already_gone_succeeds(self, client, stubber):
        stubber.add_client_error(
            "delete_room", service_error_code="ResourceNotFoundException", http_status_code=404,
            expected_params={"identifier": ROOM},
        )

        assert IvsChatRooms(client).delete_room(ROOM) is None


class TestCreateChatToken:
    @pytest.mark.parametrize(
        "role,capabilities",
        [
            ("listener", ["SEND_MESSAGE"]),
            ("speaker", ["SEND_MESSAGE"]),
            ("cohost", ["SEND_MESSAGE", "DELETE_MESSAGE", "DISCONNECT_USER"]),
            ("host", ["SEND_MESSAGE", "DELETE_MESSAGE", "DISCONNECT_USER"]),
        ],
    )
    def test_asks_for_the_capabilities_of_the_role(self, client, stubber, role, capabilities):
        stubber.add_response(
            "create_chat_token",
            {"token": "tok", "tokenExpirationTime": T0, "sessionExpirationTime": T0.replace(hour=19)},
            expected_params={
                "roomIdentifier": ROOM,
                "userId": "bob",
                "capabilities": capabilities,
                "sessionDurationInMinutes": 60,
                "attributes": {"user_id": "bob", "role": role},
            },
        )

        token = IvsChatRooms(client).chat_token(
            ROOM,
            "bob",
            capabilities=chat_capabilities(role),
            session_minutes=60,
            attributes={"user_id": "bob", "role": role},
        )

        assert token.token == "tok"
        assert token.capabilities == tuple(capabilities)
        assert token.token_expires_at == T0 and token.session_expires_at == T0.replace(hour=19)

    def test_every_capability_asked_for_is_one_the_api_knows(self, client):
        known = set(client.meta.service_model.shape_for("ChatTokenCapability").enum)
        for role in ("listener", "speaker", "cohost", "host"):
            assert set(chat_capabilities(role)) <= known

    def test_the_session_setting_is_clamped_to_what_the_api_accepts(self, client):
        # botocore checks minimums, not maximums: the service clamps (services/room_events.py).
        from chalicelib.domain.room_events import MAX_CHAT_SESSION_MINUTES

        rules = client.meta.service_model.operation_model("CreateChatToken").input_shape.members
        assert rules["sessionDurationInMinutes"].metadata["max"] == MAX_CHAT_SESSION_MINUTES


class TestSendEvent:
    def test_sends_the_event_name_and_string_attributes_to_the_room(self, client, stubber):
        stubber.add_response(
            "send_event",
            {"id": "AbCdEfGh1234"},
            expected_params={"roomIdentifier": ROOM, "eventName": "hand_raised", "attributes": {"user_id": "bob"}},
        )

        assert IvsChatRooms(client).send_event(ROOM, "hand_raised", {"user_id": "bob"}) is None

    def test_sending_to_a_room_that_is_gone_is_a_failure_the_caller_sees(self, client, stubber):
        stubber.add_client_error("send_event", service_error_code="ResourceNotFoundException", http_status_code=404)

        with pytest.raises(DependencyFailed) as caught:
            IvsChatRooms(client).send_event(ROOM, "hand_raised", {"user_id": "bob"})
        assert caught.value.code == "room_events_unavailable"


class TestDisconnectUser:
    def test_disconnects_the_user_with_the_reason(self, client, stubber):
        stubber.add_response(
            "disconnect_user",
            {},
            expected_params={"roomIdentifier": ROOM, "userId": "troll", "reason": "removed by a moderator"},
        )

        assert IvsChatRooms(client).disconnect_user(ROOM, "troll", "removed by a moderator") is None

    def test_disconnecting_from_a_room_already_gone_succeeds(self, client, stubber):
        stubber.add_client_error(
            "disconnect_user", service_error_code="ResourceNotFoundException", http_status_code=404
        )

        assert IvsChatRooms(client).disconnect_user(ROOM, "troll", "removed") is None


class TestListRooms:
    def test_lists_only_this_apps_rooms_across_pages(self, client, stubber):
        mine = {"app": "spaces", "stage": "dev", "space_id": "sp1", "created_at": "1000"}
        other = ROOM[:-1] + "X"
        second = ROOM[:-1] + "Y"
        stubber.add_response(
            "list_rooms",
            {"rooms": [{"arn": ROOM, "tags": mine}, {"arn": other, "tags": {"app": "other"}}], "nextToken": "t1"},
            expected_params={"maxResults": 50},
        )
        stubber.add_response(
            "list_rooms",
            {"rooms": [{"arn": second, "tags": {**mine, "space_id": "sp2", "created_at": "2000"}}]},
            expected_params={"maxResults": 50, "nextToken": "t1"},
        )

        rooms = IvsChatRooms(client, tags={"app": "spaces", "stage": "dev"}).list_rooms()

        assert rooms == [(ROOM, "sp1", 1000), (second, "sp2", 2000)]


CALLS = {
    "create_room": lambda rooms: rooms.create_room("sp1"),
    "delete_room": lambda rooms: rooms.delete_room(ROOM),
    "create_chat_token": lambda rooms: rooms.chat_token(
        ROOM, "bob", capabilities=["SEND_MESSAGE"], session_minutes=60, attributes={}
    ),
    "send_event": lambda rooms: rooms.send_event(ROOM, "muted", {"user_id": "bob"}),
    "disconnect_user": lambda rooms: rooms.disconnect_user(ROOM, "bob", "removed"),
    "list_rooms": lambda rooms: rooms.list_rooms(),
}
FAILURES = [
    ("ThrottlingException", 429),
    ("ServiceQuotaExceededException", 402),
    ("AccessDeniedException", 403),
    ("PendingVerification", 403),
    ("InternalServerException", 500),
]


class TestFailuresBecomeDependencyFailed:
    @pytest.mark.parametrize("method", sorted(CALLS))
    @pytest.mark.parametrize("error_code,status", FAILURES)
    def test_a_service_error_is_room_events_unavailable(self, client, stubber, method, error_code, status):
        stubber.add_client_error(method, service_error_code=error_code, http_status_code=status)

        with pytest.raises(DependencyFailed) as caught:
            CALLS[method](IvsChatRooms(client))

        assert caught.value.code == "room_events_unavailable"
        assert caught.value.status == 503
        assert isinstance(caught.value.__cause__, ClientError)
        assert caught.value.__cause__.response["Error"]["Code"] == error_code

    @pytest.mark.parametrize("method", sorted(CALLS))
    @pytest.mark.parametrize("network_error", [EndpointConnectionError, ReadTimeoutError])
    def test_no_answer_is_room_events_unavailable(self, client, method, network_error):
        def refuse(request, **_):
            raise network_error(endpoint_url=request.url)

        client.meta.events.register("before-send.ivschat", refuse)

        with pytest.raises(DependencyFailed) as caught:
            CALLS[method](IvsChatRooms(client))

        assert caught.value.code == "room_events_unavailable"
        assert isinstance(caught.value.__cause__, network_error)

    def test_a_malformed_request_is_a_bug_not_an_outage(self, client):
        with pytest.raises(ParamValidationError):
            IvsChatRooms(client).send_event("", "muted", {})


class TestBootstrapWiring:
    @pytest.mark.parametrize("configured", [LOGGING, None])
    def test_the_stage_setting_decides_whether_new_rooms_are_logged(self, configure_bootstrap, configured):
        env = {"SPACES_CHAT_LOGGING_CONFIGURATION_ARN": configured} if configured else {}
        rooms = configure_bootstrap(SPACES_MEDIA_BACKEND="ivs", **env).room_events()
        expected = create_room_request(maximumMessageRatePerSecond=ANY, maximumMessageLength=ANY, tags=ANY)
        if configured:
            expected["loggingConfigurationIdentifiers"] = [configured]
        # The client bootstrap built for the adapter; the Stubber answers instead of AWS.
        with stubbed(rooms._client) as stubber:
            stubber.add_response("create_room", room_response(), expected_params=expected)

            assert rooms.create_room("sp1") == ROOM


def test_importing_the_adapter_builds_no_client_and_imports_no_aws_sdk():
    code = (
        "import sys; import chalicelib.adapters.ivs_chat; "
        "print(sorted(m for m in ('boto3', 'botocore') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
