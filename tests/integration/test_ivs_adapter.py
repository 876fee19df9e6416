"""IvsMedia against a real boto3 `ivs-realtime` client, and the MediaPort contract (run on
IvsMedia, LocalMedia and the in-memory FakeMedia).

moto has no ivs-realtime, so the client is a real one whose HTTP layer never runs:
- `botocore.stub.Stubber` checks every request against the real API model (types, required
  members, minimum lengths) and `expected_params` pins the exact request; responses added to
  it are validated against the model as well;
- the contract tests run IvsMedia over `SimulatedIvsStages`, a stateful stand-in answering on
  botocore's `before-call` event (the hook Stubber itself uses), so the same behaviour is checked
  on LocalMedia and on the real adapter.
No sockets are opened: credentials are explicit and every call is answered before sending.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ParamValidationError,
    ReadTimeoutError,
)
from botocore.stub import ANY

from chalicelib.adapters.ivs import IvsMedia, stage_name_for
from chalicelib.adapters.local_media import LocalMedia
from chalicelib.domain.errors import DependencyFailed
from chalicelib.domain.spaces import StageInfo
from tests.support.offline_aws import answer, error_answer, offline_client

ROOT = Path(__file__).resolve().parents[2]

# Shapes of real CreateStage output (aws-cli example for `ivs-realtime create-stage`).
REAL_STAGE_ARN = re.compile(r"^arn:aws:ivs:[a-z0-9-]+:[0-9]{12}:stage/[A-Za-z0-9]{12}$")
REAL_EVENTS_URL = re.compile(r"^wss://global\.events\.live-video\.net$")
REAL_WHIP_URL = re.compile(r"^https://[a-z0-9]{12}\.global-bm\.whip\.live-video\.net$")

ARN = "arn:aws:ivs:us-east-1:123456789012:stage/AbCdEfGh1234"
EVENTS = "wss://global.events.live-video.net"
WHIP = "https://1a2b3c4d5e6f.global-bm.whip.live-video.net"
PARTICIPANT = "Qx7_pL2-mN9aB4cD6eF8gH"


AWS_SERVICE = "ivs-realtime"  # the `client` and `stubber` fixtures (tests/integration/conftest.py)


def make_client():
    return offline_client(AWS_SERVICE)


def stage_response(arn=ARN, name="space-sp1", endpoints=None, tags=None):
    stage = {"arn": arn, "name": name, "tags": tags or {}}
    if endpoints is not False:
        stage["endpoints"] = endpoints or {
            "events": EVENTS,
            "whip": WHIP,
            "rtmp": "rtmp://9x0y8z7s6t5u.global-contribute.live-video.net/app/",
            "rtmps": "rtmps://9x0y8z7s6t5u.global-contribute.live-video.net:443/app/",
        }
    return {"stage": stage}


# --- IvsMedia over Stubber -------------------------------------------------------------------


class TestCreateStage:
    def test_creates_a_named_tagged_stage_and_returns_its_endpoints(self, client, stubber):
        stubber.add_response(
            "create_stage",
            stage_response(tags={"app": "spaces", "space_id": "sp1"}),
            expected_params={"name": "space-sp1", "tags": {"app": "spaces", "space_id": "sp1", "created_at": ANY}},
        )

        stage = IvsMedia(client, tags={"app": "spaces"}).create_stage("sp1")

        assert stage == StageInfo(arn=ARN, events_url=EVENTS, whip_url=WHIP)
        assert stage.stage_id == "AbCdEfGh1234"

    def test_space_id_tag_cannot_be_overridden_by_default_tags(self, client, stubber):
        stubber.add_response(
            "create_stage",
            stage_response(),
            expected_params={"name": "space-sp1", "tags": {"space_id": "sp1", "created_at": ANY}},
        )

        IvsMedia(client, tags={"space_id": "something-else"}).create_stage("sp1")

    @pytest.mark.parametrize("space_id", ["sp1", "01J9Z:with/odd chars ä", "x" * 300])
    def test_stage_name_is_valid_for_the_api_model(self, client, space_id):
        name_shape = client.meta.service_model.operation_model("CreateStage").input_shape
        rules = name_shape.members["name"].metadata

        name = stage_name_for(space_id)

        assert re.fullmatch(rules["pattern"], name)
        assert rules["min"] <= len(name) <= rules["max"]

    def test_stage_without_endpoints_is_deleted_and_reported_unavailable(self, client, stubber):
        stubber.add_response("create_stage", stage_response(endpoints=False))
        stubber.add_response("delete_stage", {}, expected_params={"arn": ARN})

        with pytest.raises(DependencyFailed) as caught:
            IvsMedia(client).create_stage("sp1")

        assert caught.value.code == "media_unavailable"


class TestDeleteStage:
    def test_deletes_the_stage_by_arn(self, client, stubber):
        stubber.add_response("delete_stage", {}, expected_params={"arn": ARN})

        assert IvsMedia(client).delete_stage(ARN) is None

    def test_deleting_an_already_deleted_stage_succeeds(self, client, stubber):
        stubber.add_client_error(
            "delete_stage",
            service_error_code="ResourceNotFoundException",
            http_status_code=404,
            expected_params={"arn": ARN},
        )

        assert IvsMedia(client).delete_stage(ARN) is None


class TestDisconnectParticipant:
    def test_disconnects_the_participant_with_the_reason(self, client, stubber):
        stubber.add_response(
            "disconnect_participant",
            {},
            expected_params={"stageArn": ARN, "participantId": PARTICIPANT, "reason": "removed"},
        )

        assert IvsMedia(client).disconnect_participant(ARN, PARTICIPANT, "removed") is None

    def test_disconnecting_a_participant_already_gone_succeeds(self, client, stubber):
        stubber.add_client_error(
            "disconnect_participant",
            service_error_code="ResourceNotFoundException",
            http_status_code=404,
            expected_params={"stageArn": ARN, "participantId": PARTICIPANT, "reason": "removed"},
        )

        assert IvsMedia(client).disconnect_participant(ARN, PARTICIPANT, "removed") is None


CALLS = {
    "create_stage": (
        lambda media: media.create_stage("sp1"),
        {"name": "space-sp1", "tags": {"space_id": "sp1", "created_at": ANY}},
    ),
    "delete_stage": (lambda media: media.delete_stage(ARN), {"arn": ARN}),
    "disconnect_participant": (
        lambda media: media.disconnect_participant(ARN, PARTICIPANT, "removed"),
        {"stageArn": ARN, "participantId": PARTICIPANT, "reason": "removed"},
    ),
}
FAILURES = [
    ("ThrottlingException", 429),
    ("InternalServerException", 500),
    ("ServiceUnavailable", 503),
    ("ServiceQuotaExceededException", 402),
    ("AccessDeniedException", 403),
    ("ConflictException", 409),
]


class TestFailuresBecomeDependencyFailed:
    @pytest.mark.parametrize("method", sorted(CALLS))
    @pytest.mark.parametrize("error_code,status", FAILURES)
    def test_service_error_is_media_unavailable(self, client, stubber, method, error_code, status):
        call, expected = CALLS[method]
        stubber.add_client_error(
            method, service_error_code=error_code, http_status_code=status, expected_params=expected
        )

        with pytest.raises(DependencyFailed) as caught:
            call(IvsMedia(client))

        assert caught.value.code == "media_unavailable"
        assert caught.value.status == 503
        assert isinstance(caught.value.__cause__, ClientError)
        assert caught.value.__cause__.response["Error"]["Code"] == error_code

    @pytest.mark.parametrize("method", sorted(CALLS))
    @pytest.mark.parametrize(
        "network_error", [EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError]
    )
    def test_connection_or_timeout_error_is_media_unavailable(self, client, method, network_error):
        def refuse(request, **_):
            raise network_error(endpoint_url=request.url)

        client.meta.events.register("before-send.ivs-realtime", refuse)
        call, _ = CALLS[method]

        with pytest.raises(DependencyFailed) as caught:
            call(IvsMedia(client))

        assert caught.value.code == "media_unavailable"
        assert isinstance(caught.value.__cause__, network_error)

    def test_a_malformed_request_is_a_bug_not_an_outage(self, client):
        # ParamValidationError (empty ARN; min length 1) must surface, not hide behind a 503.
        with pytest.raises(ParamValidationError):
            IvsMedia(client).delete_stage("")


class TestStubberValidatesResponses:
    def test_a_response_of_the_real_shape_is_accepted(self, client, stubber):
        full = stage_response()
        full["stage"]["activeSessionId"] = "st-a1b2c3d4e5f6g"
        full["participantTokens"] = [
            {"participantId": "ABCDEfghij01234KLMN5678", "token": "t", "userId": "alice"}
        ]
        stubber.add_response("create_stage", full)

        assert IvsMedia(client).create_stage("sp1").arn == ARN

    def test_a_response_of_the_wrong_shape_is_rejected(self, stubber):
        # Proves the check above is live: a stage without its required ARN cannot be stubbed.
        with pytest.raises(ParamValidationError):
            stubber.add_response("create_stage", {"stage": {"name": "space-sp1"}})


def test_importing_the_adapter_builds_no_client_and_imports_no_aws_sdk():
    code = (
        "import sys; import chalicelib.adapters.ivs, chalicelib.adapters.local_media; "
        "print(sorted(m for m in ('boto3', 'botocore') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


# --- The MediaPort contract: LocalMedia and IvsMedia behave the same -------------------------


class SimulatedIvsStages:
    """A stateful IVS stage API behind a real client (request and response checked by the model)."""

    def __init__(self, client):
        self.client = client
        self.stages: dict[str, set[str]] = {}
        self.outage = 0
        self._n = 0
        client.meta.events.register("before-call.ivs-realtime", self._answer)

    def _answer(self, model, params, **_):
        body = json.loads(params.get("body") or b"{}")
        if self.outage:
            self.outage -= 1
            return error_answer("InternalServerException", 500)
        if model.name == "CreateStage":
            self._n += 1
            stage_id = f"Sim{self._n:09d}"
            arn = f"arn:aws:ivs:us-east-1:123456789012:stage/{stage_id}"
            self.stages[arn] = set()
            stage = {
                "arn": arn,
                "name": body.get("name", ""),
                "tags": body.get("tags", {}),
                "endpoints": {
                    "events": EVENTS,
                    "whip": f"https://{self._n:012x}.global-bm.whip.live-video.net",
                },
            }
            return answer(model, {"stage": stage})
        if model.name == "DeleteStage":
            if self.stages.pop(body["arn"], None) is None:
                return error_answer("ResourceNotFoundException", 404)
            return answer(model, {})
        if model.name == "DisconnectParticipant":
            connected = self.stages.get(body["stageArn"])
            if connected is None or body["participantId"] not in connected:
                return error_answer("ResourceNotFoundException", 404)
            connected.discard(body["participantId"])
            return answer(model, {})
        raise AssertionError(f"unexpected IVS call {model.name}")




class MediaPortContract:
    """What any MediaPort does. Subclasses give a `media` fixture and `make_unavailable`."""

    def make_unavailable(self, media, method_name):
        raise NotImplementedError

    def test_a_new_stage_has_a_real_ivs_arn_and_endpoints(self, media):
        stage = media.create_stage("sp1")

        assert REAL_STAGE_ARN.match(stage.arn)
        assert REAL_EVENTS_URL.match(stage.events_url)
        assert REAL_WHIP_URL.match(stage.whip_url)
        assert stage.arn.endswith("/" + stage.stage_id)

    def test_each_space_gets_its_own_stage(self, media):
        first, second = media.create_stage("sp1"), media.create_stage("sp2")

        assert first.arn != second.arn

    def test_deleting_a_stage_twice_succeeds(self, media):
        stage = media.create_stage("sp1")

        media.delete_stage(stage.arn)
        media.delete_stage(stage.arn)

    def test_disconnecting_someone_not_on_stage_succeeds(self, media):
        stage = media.create_stage("sp1")

        media.disconnect_participant(stage.arn, PARTICIPANT, "removed by host")

    @pytest.mark.parametrize("method", sorted(CALLS))
    def test_an_outage_is_dependency_failed_and_the_next_call_works(self, media, method):
        stage = media.create_stage("sp1")
        calls = {
            "create_stage": lambda: media.create_stage("sp2"),
            "delete_stage": lambda: media.delete_stage(stage.arn),
            "disconnect_participant": lambda: media.disconnect_participant(
                stage.arn, PARTICIPANT, "removed"
            ),
        }
        self.make_unavailable(media, method)

        with pytest.raises(DependencyFailed) as caught:
            calls[method]()
        assert caught.value.code == "media_unavailable"

        calls[method]()


class TestLocalMediaContract(MediaPortContract):
    @pytest.fixture
    def media(self):
        return LocalMedia()

    def make_unavailable(self, media, method_name):
        media.fail_next(method_name)


class TestFakeMediaContract(MediaPortContract):
    """The in-memory fake the service tests run on (tests/fakes/media.py), held to the same
    contract so it cannot drift from the adapters."""

    @pytest.fixture
    def media(self):
        from tests.fakes.media import FakeMedia

        return FakeMedia()

    def make_unavailable(self, media, method_name):
        media.fail_next(method_name)


class TestIvsMediaContract(MediaPortContract):
    @pytest.fixture
    def media(self):
        client = make_client()
        self.simulated = SimulatedIvsStages(client)
        return IvsMedia(client)

    def make_unavailable(self, media, method_name):
        self.simulated.outage = 1


# --- LocalMedia specifics: what tests elsewhere assert on -----------------------------------


class TestLocalMediaRecords:
    def test_created_stage_is_recorded_against_its_space(self):
        media = LocalMedia(region="eu-west-1", account_id="210987654321")

        stage = media.create_stage("sp1")

        assert media.stages == {stage.arn: "sp1"}
        assert media.created == [stage]
        assert stage.arn.startswith("arn:aws:ivs:eu-west-1:210987654321:stage/")

    def test_a_deleted_stage_is_recorded_once_and_no_longer_live(self):
        media = LocalMedia()
        stage = media.create_stage("sp1")

        media.delete_stage(stage.arn)
        media.delete_stage(stage.arn)

        assert media.deleted == [stage.arn]
        assert media.stages == {}

    def test_every_disconnect_is_recorded_with_its_reason(self):
        media = LocalMedia()
        stage = media.create_stage("sp1")

        media.disconnect_participant(stage.arn, PARTICIPANT, "removed by host")

        assert media.disconnected == [(stage.arn, PARTICIPANT, "removed by host")]

    def test_fail_next_fails_exactly_that_many_calls_of_that_method(self):
        media = LocalMedia()
        media.fail_next("create_stage", times=2)

        for _ in range(2):
            with pytest.raises(DependencyFailed):
                media.create_stage("sp1")
        stage = media.create_stage("sp1")
        other = media.create_stage("sp2")

        assert media.stages == {stage.arn: "sp1", other.arn: "sp2"}

    def test_an_injected_failure_changes_nothing(self):
        media = LocalMedia()
        stage = media.create_stage("sp1")
        media.fail_next("delete_stage")

        with pytest.raises(DependencyFailed):
            media.delete_stage(stage.arn)

        assert media.stages == {stage.arn: "sp1"}
        assert media.deleted == []

    def test_fail_next_refuses_a_method_the_port_does_not_have(self):
        with pytest.raises(ValueError):
            LocalMedia().fail_next("start_composition")

    @pytest.mark.parametrize("arn", ["", "stage/abc", "arn:aws:ivs:us-east-1:1:channel/abc"])
    def test_a_malformed_stage_arn_is_refused(self, arn):
        with pytest.raises(ValueError):
            LocalMedia().delete_stage(arn)

    def test_concurrent_creates_each_get_a_distinct_recorded_stage(self):
        media = LocalMedia()
        results: list[StageInfo] = []
        results_lock = threading.Lock()

        def create_many(worker):
            made = [media.create_stage(f"sp-{worker}-{i}") for i in range(50)]
            with results_lock:
                results.extend(made)

        threads = [threading.Thread(target=create_many, args=(w,)) for w in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

        assert len({s.arn for s in results}) == 400
        assert len(media.stages) == 400
        assert len(media.created) == 400


class TestListStages:
    def test_lists_only_this_apps_stages_across_pages_with_their_space_and_age(self, client, stubber):
        mine = {"app": "spaces", "stage": "dev", "space_id": "sp1", "created_at": "1000"}
        stubber.add_response(
            "list_stages",
            {"stages": [{"arn": ARN, "tags": mine}, {"arn": ARN[:-1] + "X", "tags": {"app": "other"}}], "nextToken": "t1"},
            expected_params={"maxResults": 100},
        )
        stubber.add_response(
            "list_stages",
            {"stages": [{"arn": ARN[:-1] + "Y", "tags": {**mine, "space_id": "sp2", "created_at": "2000"}}]},
            expected_params={"maxResults": 100, "nextToken": "t1"},
        )

        stages = IvsMedia(client, tags={"app": "spaces", "stage": "dev"}).list_stages()

        assert stages == [(ARN, "sp1", 1000), (ARN[:-1] + "Y", "sp2", 2000)]
