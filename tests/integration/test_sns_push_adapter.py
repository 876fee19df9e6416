"""SnsPush against a moto server (real HTTP through botocore, pushes read back from moto's SNS
backend), and against botocore's Stubber for the failures moto cannot produce on demand.

What moto does here: one endpoint per token (CreatePlatformEndpoint with the same token and
attributes returns the same ARN), Publish to a disabled endpoint fails with EndpointDisabled and
to a deleted one with NotFound, DeleteEndpoint is idempotent, and every published message is kept
per endpoint. Where it differs from SNS: CreatePlatformEndpoint for the token of a *disabled*
endpoint fails with InvalidParameter in moto, while SNS returns the existing ARN (which is why AWS
tells callers to check the attributes after creating); that path is tested with Stubber.
"""
from __future__ import annotations

import json
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import ANY, Stubber

from chalicelib.adapters.sns_push import SnsPush, message_structure
from chalicelib.domain.errors import BadRequest, DependencyFailed
from chalicelib.domain.reminders import PushMessage
from chalicelib.ports import EndpointGone
from tests.support.aws_calls import AwsCallRecorder
from tests.support.moto_server import boto_client, moto_endpoint, sns_messages  # noqa: F401  (fixture)

MESSAGE = PushMessage(
    title="alice is live now",
    body="\u201cLaunch party\u201d: tap to listen.",
    data={"space_id": "sp-42", "moment": "start"},
)


@pytest.fixture(scope="module")
def client(moto_endpoint):  # noqa: F811
    return boto_client("sns", moto_endpoint)


@pytest.fixture(scope="module")
def apps(client):
    suffix = uuid.uuid4().hex[:8]
    ios = client.create_platform_application(
        Name=f"spaces-ios-{suffix}", Platform="APNS", Attributes={"PlatformCredential": "x"}
    )["PlatformApplicationArn"]
    android = client.create_platform_application(
        Name=f"spaces-android-{suffix}", Platform="GCM", Attributes={"PlatformCredential": "x"}
    )["PlatformApplicationArn"]
    return {"ios": ios, "android": android}


@pytest.fixture
def push(client, apps):
    return SnsPush(client, platform_apps=apps)


@pytest.fixture
def calls(client):
    with AwsCallRecorder().attach(client) as recorder:
        yield recorder


def token(prefix="tok"):
    return f"{prefix}-{uuid.uuid4().hex}"


# ---------------------------------------------------------------- endpoints, against moto


class TestEndpoints:
    def test_each_token_gets_its_own_endpoint_on_its_platform_application(self, push, client, apps):
        iphone, pixel = token(), token()

        ios_arn = push.create_endpoint("ios", iphone, "alice")
        android_arn = push.create_endpoint("android", pixel, "alice")

        assert ios_arn != android_arn
        assert ":endpoint/APNS/" in ios_arn and ":endpoint/GCM/" in android_arn
        attributes = client.get_endpoint_attributes(EndpointArn=ios_arn)["Attributes"]
        assert attributes["Token"] == iphone and attributes["Enabled"] == "true"
        listed = client.list_endpoints_by_platform_application(PlatformApplicationArn=apps["android"])
        assert android_arn in [e["EndpointArn"] for e in listed["Endpoints"]]

    def test_registering_the_same_token_twice_gives_the_same_endpoint(self, push, client, apps, calls):
        same = token()

        first = push.create_endpoint("ios", same, "alice")
        second = push.create_endpoint("ios", same, "alice")

        assert first == second
        listed = client.list_endpoints_by_platform_application(PlatformApplicationArn=apps["ios"])["Endpoints"]
        assert [e["EndpointArn"] for e in listed if e["Attributes"]["Token"] == same] == [first]
        # Nothing to fix on an enabled endpoint holding this token: no SetEndpointAttributes.
        assert "SetEndpointAttributes" not in calls.operations()

    def test_a_token_registered_by_another_user_keeps_its_endpoint(self, push):
        shared = token("shared-phone")

        assert push.create_endpoint("android", shared, "old-owner") == push.create_endpoint(
            "android", shared, "new-owner"
        )

    def test_deleting_an_endpoint_twice_succeeds_and_it_is_gone(self, push, client):
        arn = push.create_endpoint("ios", token(), "alice")

        push.delete_endpoint(arn)
        push.delete_endpoint(arn)

        with pytest.raises(ClientError) as caught:
            client.get_endpoint_attributes(EndpointArn=arn)
        assert caught.value.response["Error"]["Code"] == "NotFound"

    @pytest.mark.parametrize("platform", ["web", "APNS", "", None])
    def test_an_unknown_platform_is_refused(self, push, platform, calls):
        with pytest.raises(ValueError):
            push.create_endpoint(platform, token(), "alice")
        with pytest.raises(ValueError):
            push.publish("arn:aws:sns:us-east-1:123456789012:endpoint/APNS/x/y", platform, MESSAGE)

        assert calls.operations() == []


# ---------------------------------------------------------------- publishing, against moto


class TestPublish:
    def test_an_iphone_gets_an_apns_alert_with_the_space_id_for_the_deep_link(self, push):
        arn = push.create_endpoint("ios", token(), "alice")

        push.publish(arn, "ios", MESSAGE)

        [raw] = sns_messages(arn)
        structure = json.loads(raw)
        assert structure["default"] == MESSAGE.body
        apns = json.loads(structure["APNS"])
        assert apns == {
            "aps": {"alert": {"title": "alice is live now", "body": MESSAGE.body}, "sound": "default"},
            "space_id": "sp-42",
            "moment": "start",
        }
        assert json.loads(structure["APNS_SANDBOX"]) == apns

    def test_an_android_phone_gets_an_fcm_v1_notification_with_string_data(self, push):
        arn = push.create_endpoint("android", token(), "bob")

        push.publish(arn, "android", MESSAGE)

        [raw] = sns_messages(arn)
        fcm = json.loads(json.loads(raw)["GCM"])
        assert fcm == {
            "fcmV1Message": {
                "message": {
                    "notification": {"title": "alice is live now", "body": MESSAGE.body},
                    "data": {"space_id": "sp-42", "moment": "start"},
                }
            }
        }

    def test_each_publish_is_one_push_to_that_endpoint_only(self, push):
        mine, theirs = push.create_endpoint("ios", token(), "a"), push.create_endpoint("ios", token(), "b")

        push.publish(mine, "ios", MESSAGE)
        push.publish(mine, "ios", PushMessage("second", "body", {"space_id": "sp-43"}))

        assert [json.loads(json.loads(m)["APNS"])["aps"]["alert"]["title"] for m in sns_messages(mine)] == [
            "alice is live now",
            "second",
        ]
        assert sns_messages(theirs) == []

    def test_a_disabled_endpoint_is_gone(self, push, client):
        arn = push.create_endpoint("android", token(), "bob")
        client.set_endpoint_attributes(EndpointArn=arn, Attributes={"Enabled": "false"})

        with pytest.raises(EndpointGone) as caught:
            push.publish(arn, "android", MESSAGE)

        assert caught.value.__cause__.response["Error"]["Code"] == "EndpointDisabled"
        assert sns_messages(arn) == []

    def test_a_deleted_endpoint_is_gone(self, push, client):
        arn = push.create_endpoint("ios", token(), "alice")
        client.delete_endpoint(EndpointArn=arn)

        with pytest.raises(EndpointGone) as caught:
            push.publish(arn, "ios", MESSAGE)

        assert caught.value.__cause__.response["Error"]["Code"] == "NotFound"

    def test_sns_messages_refuses_an_endpoint_moto_does_not_know(self):
        with pytest.raises(LookupError):
            sns_messages("arn:aws:sns:us-east-1:123456789012:endpoint/APNS/nope/0000")


def test_non_string_data_values_become_strings_for_fcm_and_stay_typed_for_apns():
    structure = message_structure(PushMessage("t", "b", {"space_id": "s", "count": 3}))

    assert json.loads(structure["GCM"])["fcmV1Message"]["message"]["data"]["count"] == "3"
    assert json.loads(structure["APNS"])["count"] == 3


# ---------------------------------------------------------------- failures (Stubber)

IOS_APP = "arn:aws:sns:us-east-1:123456789012:app/APNS/spaces-ios"
ANDROID_APP = "arn:aws:sns:us-east-1:123456789012:app/GCM/spaces-android"
ENDPOINT = "arn:aws:sns:us-east-1:123456789012:endpoint/APNS/spaces-ios/5e3e9847-3183-3f18-a7e8-671c3a57d4b3"
TOKEN = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"


@pytest.fixture
def stub_client():
    return boto3.client(
        "sns",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}),
    )


@pytest.fixture
def stubber(stub_client):
    with Stubber(stub_client) as stub:
        yield stub
        stub.assert_no_pending_responses()


@pytest.fixture
def stubbed(stub_client):
    return SnsPush(stub_client, platform_apps={"ios": IOS_APP, "android": ANDROID_APP})


def publish_params():
    return {"TargetArn": ENDPOINT, "MessageStructure": "json", "Message": json.dumps(message_structure(MESSAGE))}


class TestRegistrationFollowsTheAwsRecipe:
    def create(self, stubber):
        stubber.add_response(
            "create_platform_endpoint", {"EndpointArn": ENDPOINT}, {"PlatformApplicationArn": IOS_APP, "Token": TOKEN}
        )

    def test_an_endpoint_sns_disabled_is_enabled_again(self, stubber, stubbed):
        # SNS returns the existing ARN for a disabled endpoint (moto refuses instead).
        self.create(stubber)
        stubber.add_response(
            "get_endpoint_attributes", {"Attributes": {"Token": TOKEN, "Enabled": "false"}}, {"EndpointArn": ENDPOINT}
        )
        stubber.add_response(
            "set_endpoint_attributes", {},
            {"EndpointArn": ENDPOINT, "Attributes": {"Token": TOKEN, "Enabled": "true"}},
        )

        assert stubbed.create_endpoint("ios", TOKEN, "alice") == ENDPOINT

    def test_an_endpoint_holding_another_token_gets_this_one(self, stubber, stubbed):
        self.create(stubber)
        stubber.add_response(
            "get_endpoint_attributes", {"Attributes": {"Token": "older", "Enabled": "true"}}, {"EndpointArn": ENDPOINT}
        )
        stubber.add_response(
            "set_endpoint_attributes", {},
            {"EndpointArn": ENDPOINT, "Attributes": {"Token": TOKEN, "Enabled": "true"}},
        )

        assert stubbed.create_endpoint("ios", TOKEN, "alice") == ENDPOINT

    def test_an_endpoint_deleted_between_create_and_read_is_created_again(self, stubber, stubbed):
        self.create(stubber)
        stubber.add_client_error(
            "get_endpoint_attributes", "NotFound", http_status_code=404, expected_params={"EndpointArn": ENDPOINT}
        )
        stubber.add_response(
            "create_platform_endpoint", {"EndpointArn": ENDPOINT + "x"},
            {"PlatformApplicationArn": IOS_APP, "Token": TOKEN},
        )

        assert stubbed.create_endpoint("ios", TOKEN, "alice") == ENDPOINT + "x"

    def test_a_token_sns_refuses_is_a_bad_request(self, stubber, stubbed):
        stubber.add_client_error(
            "create_platform_endpoint", "InvalidParameter", http_status_code=400,
            expected_params={"PlatformApplicationArn": IOS_APP, "Token": TOKEN},
        )

        with pytest.raises(BadRequest) as caught:
            stubbed.create_endpoint("ios", TOKEN, "alice")

        assert caught.value.code == "invalid_token_value"

    @pytest.mark.parametrize("code,status", [("InternalError", 500), ("AuthorizationError", 403), ("Throttling", 400)])
    def test_a_failed_registration_is_push_unavailable(self, stubber, stubbed, code, status):
        stubber.add_client_error(
            "create_platform_endpoint", code, http_status_code=status,
            expected_params={"PlatformApplicationArn": IOS_APP, "Token": TOKEN},
        )

        with pytest.raises(DependencyFailed) as caught:
            stubbed.create_endpoint("ios", TOKEN, "alice")

        assert caught.value.code == "push_unavailable"

    @pytest.mark.parametrize("code,status", [("NotFound", 404), ("InternalError", 500)])
    def test_delete_endpoint_maps_gone_to_success_and_outages_to_unavailable(self, stubber, stubbed, code, status):
        stubber.add_client_error("delete_endpoint", code, http_status_code=status, expected_params={"EndpointArn": ENDPOINT})

        if code == "NotFound":
            stubbed.delete_endpoint(ENDPOINT)
        else:
            with pytest.raises(DependencyFailed):
                stubbed.delete_endpoint(ENDPOINT)


class TestPublishFailures:
    @pytest.mark.parametrize("code,status", [("EndpointDisabled", 400), ("NotFound", 404)])
    def test_a_disabled_or_deleted_endpoint_is_gone(self, stubber, stubbed, code, status):
        stubber.add_client_error("publish", code, http_status_code=status, expected_params=publish_params())

        with pytest.raises(EndpointGone):
            stubbed.publish(ENDPOINT, "ios", MESSAGE)

    @pytest.mark.parametrize(
        "code,status",
        [
            ("Throttling", 400),
            ("Throttled", 429),
            ("KMSThrottling", 400),
            ("InternalError", 500),
            ("ServiceUnavailable", 503),
            ("PlatformApplicationDisabled", 400),
        ],
    )
    def test_throttling_and_outages_are_push_unavailable(self, stubber, stubbed, code, status):
        stubber.add_client_error("publish", code, http_status_code=status, expected_params=publish_params())

        with pytest.raises(DependencyFailed) as caught:
            stubbed.publish(ENDPOINT, "ios", MESSAGE)

        assert caught.value.code == "push_unavailable"
        assert caught.value.status == 503
        assert caught.value.__cause__.response["Error"]["Code"] == code

    @pytest.mark.parametrize(
        "probe, expected",
        [
            (("error", "NotFound"), EndpointGone),
            (("attributes", "false"), EndpointGone),
            (("attributes", "true"), DependencyFailed),
            (("error", "InternalError"), DependencyFailed),
        ],
    )
    def test_an_invalid_parameter_is_settled_by_asking_about_the_endpoint(self, stubber, stubbed, probe, expected):
        stubber.add_client_error("publish", "InvalidParameter", http_status_code=400, expected_params=publish_params())
        kind, value = probe
        if kind == "error":
            stubber.add_client_error("get_endpoint_attributes", value, expected_params={"EndpointArn": ENDPOINT})
        else:
            stubber.add_response(
                "get_endpoint_attributes", {"Attributes": {"Token": TOKEN, "Enabled": value}}, {"EndpointArn": ENDPOINT}
            )

        with pytest.raises(expected):
            stubbed.publish(ENDPOINT, "ios", MESSAGE)

    @pytest.mark.parametrize("network_error", [EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError])
    def test_connection_or_timeout_error_is_push_unavailable(self, stub_client, stubbed, network_error):
        def refuse(request, **_):
            raise network_error(endpoint_url=request.url)

        stub_client.meta.events.register("before-send.sns", refuse)

        with pytest.raises(DependencyFailed) as caught:
            stubbed.publish(ENDPOINT, "ios", MESSAGE)

        assert caught.value.code == "push_unavailable"
        assert isinstance(caught.value.__cause__, network_error)

    def test_the_published_request_matches_the_api_model(self, stubber, stubbed):
        stubber.add_response("publish", {"MessageId": "m-1"}, {"TargetArn": ENDPOINT, "MessageStructure": "json", "Message": ANY})

        stubbed.publish(ENDPOINT, "ios", MESSAGE)
