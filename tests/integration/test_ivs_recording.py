"""Recording on IVS: IvsMedia's StartComposition / GetComposition / StopComposition through a
real boto3 `ivs-realtime` client under `botocore.stub.Stubber` (every request and response is
checked against the API model), and the recording half of the MediaPort contract, run against
LocalMedia and against IvsMedia over a stateful stand-in answering on botocore's `before-call`.
moto has no ivs-realtime; no socket is opened here."""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from chalicelib.adapters.ivs import IvsMedia
from chalicelib.adapters.local_media import LocalMedia
from chalicelib.domain.errors import DependencyFailed, RuleViolation
from chalicelib.domain.recording import parse_recording_end
from tests.support.offline_aws import answer, error_answer, offline_client

STAGE = "arn:aws:ivs:us-east-1:123456789012:stage/AbCdEfGh1234"
COMPOSITION = "arn:aws:ivs:us-east-1:123456789012:composition/CoMpOsItIoN1"
STORAGE = "arn:aws:ivs:us-east-1:123456789012:storage-configuration/StOrAgE12345"
ENCODER = "arn:aws:ivs:us-east-1:123456789012:encoder-configuration/EnCoDeR12345"
PREFIX = "AbCdEfGh1234/st-1a2b3c/CoMpOsItIoN1/replay"
COMPOSITION_ARN = re.compile(r"^arn:aws:ivs:[a-z0-9-]+:[0-9]{12}:composition/[a-zA-Z0-9-]+$")
STARTED = datetime(2026, 11, 24, 18, 0, 5, tzinfo=timezone.utc)
DESTINATION = {
    "name": "replay",
    "s3": {
        "storageConfigurationArn": STORAGE,
        "encoderConfigurationArns": [ENCODER],
        "recordingConfiguration": {"format": "HLS"},
    },
}


AWS_SERVICE = "ivs-realtime"  # the `client` and `stubber` fixtures (tests/integration/conftest.py)


def make_client():
    return offline_client(AWS_SERVICE)


def media_for(client, **kw):
    return IvsMedia(
        client, tags={"app": "spaces"}, storage_configuration_arn=STORAGE, encoder_configuration_arn=ENCODER, **kw
    )


def composition(state="ACTIVE", prefix=PREFIX, destination_state="ACTIVE"):
    destination = {"id": "dest1", "state": destination_state, "configuration": DESTINATION, "startTime": STARTED}
    if prefix:
        destination["detail"] = {"s3": {"recordingPrefix": prefix}}
    return {
        "composition": {
            "arn": COMPOSITION,
            "stageArn": STAGE,
            "state": state,
            "layout": {"grid": {"featuredParticipantAttribute": ""}},
            "destinations": [destination],
            "tags": {"app": "spaces", "space_id": "sp1"},
            "startTime": STARTED,
        }
    }


# ---------------------------------------------------------------- StartComposition


class TestStartRecording:
    def test_starts_one_composition_of_the_stage_into_the_recordings_bucket(self, client, stubber):
        stubber.add_response(
            "start_composition",
            composition(state="STARTING"),
            expected_params={
                "stageArn": STAGE,
                "idempotencyToken": "sp1-AbCdEfGh1234",
                "destinations": [DESTINATION],
                "tags": {"app": "spaces", "space_id": "sp1"},
            },
        )

        handle = media_for(client).start_recording("sp1", STAGE)

        assert handle.composition_arn == COMPOSITION
        assert handle.prefix == PREFIX
        assert handle.started_at == STARTED

    def test_a_composition_not_writing_yet_has_no_prefix_yet(self, client, stubber):
        stubber.add_response("start_composition", composition(state="STARTING", prefix=None))

        handle = media_for(client, clock=lambda: 1_800_000_000).start_recording("sp1", STAGE)

        assert handle.prefix is None

    @pytest.mark.parametrize("space_id", ["01JD2Z6R9V3M8K4T5N7Q1W2E3R", "x" * 64, "odd:id/ä"])
    def test_the_idempotency_token_is_valid_for_the_api_model(self, client, space_id):
        shape = client.meta.service_model.operation_model("StartComposition").input_shape
        rules = shape.members["idempotencyToken"].metadata
        seen = {}

        def capture(params, **_):
            seen.update(params)
            raise EndpointConnectionError(endpoint_url="https://ivsrealtime.us-east-1.amazonaws.com")

        client.meta.events.register("before-send.ivs-realtime", lambda request, **_: capture(json.loads(request.body)))
        with pytest.raises(DependencyFailed):
            media_for(client).start_recording(space_id, STAGE)

        assert re.fullmatch(rules["pattern"], seen["idempotencyToken"])
        assert rules["min"] <= len(seen["idempotencyToken"]) <= rules["max"]

    def test_without_storage_and_encoder_configurations_recording_is_not_available(self, client, stubber):
        with pytest.raises(RuleViolation) as caught:
            IvsMedia(client).start_recording("sp1", STAGE)

        assert caught.value.code == "recording_not_available"  # and no call was made

    @pytest.mark.parametrize(
        "error_code,status",
        [("ThrottlingException", 429), ("ServiceQuotaExceededException", 402), ("ConflictException", 409),
         ("InternalServerException", 500), ("AccessDeniedException", 403), ("ResourceNotFoundException", 404)],
    )
    def test_a_refused_start_is_media_unavailable(self, client, stubber, error_code, status):
        stubber.add_client_error("start_composition", service_error_code=error_code, http_status_code=status)

        with pytest.raises(DependencyFailed) as caught:
            media_for(client).start_recording("sp1", STAGE)

        assert caught.value.code == "media_unavailable"
        assert isinstance(caught.value.__cause__, ClientError)


# ---------------------------------------------------------------- GetComposition + StopComposition


class TestStopRecording:
    def test_reads_the_prefix_then_stops(self, client, stubber):
        stubber.add_response("get_composition", composition(), expected_params={"arn": COMPOSITION})
        stubber.add_response("stop_composition", {}, expected_params={"arn": COMPOSITION})

        assert media_for(client).stop_recording(COMPOSITION) == PREFIX

    def test_a_composition_already_gone_is_stopped(self, client, stubber):
        stubber.add_client_error("get_composition", service_error_code="ResourceNotFoundException", http_status_code=404)
        stubber.add_client_error("stop_composition", service_error_code="ResourceNotFoundException", http_status_code=404)

        assert media_for(client).stop_recording(COMPOSITION) is None

    def test_the_stop_happens_even_when_the_prefix_cannot_be_read(self, client, stubber):
        stubber.add_client_error("get_composition", service_error_code="ThrottlingException", http_status_code=429)
        stubber.add_response("stop_composition", {}, expected_params={"arn": COMPOSITION})

        assert media_for(client).stop_recording(COMPOSITION) is None

    def test_a_refused_stop_is_media_unavailable(self, client, stubber):
        stubber.add_response("get_composition", composition())
        stubber.add_client_error("stop_composition", service_error_code="InternalServerException", http_status_code=500)

        with pytest.raises(DependencyFailed) as caught:
            media_for(client).stop_recording(COMPOSITION)

        assert caught.value.code == "media_unavailable"


# ---------------------------------------------------------------- a composition IVS stopped on its own


NEW_COMPOSITION = "arn:aws:ivs:us-east-1:123456789012:composition/CoMpOsItIoN2"
NEW_PREFIX = "AbCdEfGh1234/st-1a2b3c/CoMpOsItIoN2/replay"


class TestRecordingStatus:
    @pytest.mark.parametrize("state, running", [("STARTING", True), ("ACTIVE", True), ("STOPPING", False),
                                                ("STOPPED", False), ("FAILED", False)])
    def test_only_a_starting_or_active_composition_runs(self, client, stubber, state, running):
        stubber.add_response("get_composition", composition(state=state), expected_params={"arn": COMPOSITION})

        status = media_for(client).recording_status(COMPOSITION)

        assert status.running is running
        assert status.prefix == PREFIX, "the prefix is read while IVS still reports it"

    def test_a_composition_ivs_deleted_does_not_run_and_has_no_prefix(self, client, stubber):
        stubber.add_client_error("get_composition", service_error_code="ResourceNotFoundException", http_status_code=404)

        status = media_for(client).recording_status(COMPOSITION)

        assert (status.running, status.prefix) == (False, None)

    def test_a_failed_check_is_media_unavailable_not_a_stopped_composition(self, client, stubber):
        stubber.add_client_error("get_composition", service_error_code="ThrottlingException", http_status_code=429)

        with pytest.raises(DependencyFailed) as caught:
            media_for(client).recording_status(COMPOSITION)

        assert caught.value.code == "media_unavailable"


class TestRestartRecording:
    def test_starts_another_composition_into_the_bucket_under_the_restart_token(self, client, stubber):
        restarted = composition(state="STARTING", prefix=NEW_PREFIX)
        restarted["composition"]["arn"] = NEW_COMPOSITION
        stubber.add_response(
            "start_composition",
            restarted,
            expected_params={
                "stageArn": STAGE,
                "idempotencyToken": "sp1-rec-restart-2",
                "destinations": [DESTINATION],
                "tags": {"app": "spaces", "space_id": "sp1"},
            },
        )

        handle = media_for(client).restart_recording("sp1", STAGE, 2)

        assert handle.composition_arn == NEW_COMPOSITION
        assert handle.prefix == NEW_PREFIX != PREFIX, "each segment is written under its own prefix"

    def test_the_restart_token_is_valid_for_the_api_model_and_not_the_overflow_one(self, client):
        shape = client.meta.service_model.operation_model("StartComposition").input_shape
        rules = shape.members["idempotencyToken"].metadata
        seen = {}

        def capture(request, **_):
            seen.update(json.loads(request.body))
            raise EndpointConnectionError(endpoint_url="https://ivsrealtime.us-east-1.amazonaws.com")

        client.meta.events.register("before-send.ivs-realtime", capture)
        with pytest.raises(DependencyFailed):
            media_for(client).restart_recording("01JD2Z6R9V3M8K4T5N7Q1W2E3R", STAGE, 20)

        token = seen["idempotencyToken"]
        assert token == "01JD2Z6R9V3M8K4T5N7Q1W2E3R-rec-restart-20"
        assert re.fullmatch(rules["pattern"], token) and rules["min"] <= len(token) <= rules["max"]
        assert token != "01JD2Z6R9V3M8K4T5N7Q1W2E3R-restart-20", "the overflow's restart token names another request"

    def test_a_refused_restart_is_media_unavailable(self, client, stubber):
        stubber.add_client_error("start_composition", service_error_code="ServiceQuotaExceededException", http_status_code=402)

        with pytest.raises(DependencyFailed) as caught:
            media_for(client).restart_recording("sp1", STAGE, 1)

        assert caught.value.code == "media_unavailable"


def test_a_composition_response_of_the_wrong_shape_cannot_be_stubbed(stubber):
    # Proves the response checks above are live: a composition without its state is refused.
    broken = composition()
    del broken["composition"]["state"]
    from botocore.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError):
        stubber.add_response("start_composition", broken)


# ---------------------------------------------------------------- the MediaPort contract


class SimulatedCompositions:
    """IVS stages and compositions behind a real client (requests and answers checked by the model)."""

    def __init__(self, client):
        self.stages: set[str] = set()
        self.compositions: dict[str, dict] = {}
        self.tokens: dict[str, str] = {}  # idempotency token -> the composition it started
        self.outage = 0
        self._n = 0
        client.meta.events.register("before-call.ivs-realtime", self._answer)

    def _answer(self, model, params, **_):
        body = json.loads(params.get("body") or b"{}")
        if self.outage:
            self.outage -= 1
            return error_answer("InternalServerException", 500)
        self._n += 1
        if model.name == "CreateStage":
            arn = f"arn:aws:ivs:us-east-1:123456789012:stage/Sim{self._n:09d}"
            self.stages.add(arn)
            endpoints = {"events": "wss://global.events.live-video.net", "whip": f"https://{self._n:012x}.global-bm.whip.live-video.net"}
            return answer(model, {"stage": {"arn": arn, "endpoints": endpoints, "tags": body.get("tags", {})}})
        if model.name == "StartComposition":
            if body["stageArn"] not in self.stages:
                return error_answer("ResourceNotFoundException", 404)
            if body["idempotencyToken"] in self.tokens:
                return answer(model, self._composition(self.tokens[body["idempotencyToken"]], prefix=None))
            arn = f"arn:aws:ivs:us-east-1:123456789012:composition/Comp{self._n:08d}"
            self.tokens[body["idempotencyToken"]] = arn
            prefix = f"{body['stageArn'].rsplit('/', 1)[-1]}/session/{arn.rsplit('/', 1)[-1]}"
            self.compositions[arn] = {"stage": body["stageArn"], "state": "ACTIVE", "prefix": prefix}
            return answer(model, self._composition(arn, prefix=None))  # the prefix comes later
        if model.name == "GetComposition":
            if body["arn"] not in self.compositions:
                return error_answer("ResourceNotFoundException", 404)
            found = self.compositions[body["arn"]]
            return answer(model, self._composition(body["arn"], found["prefix"], found["state"]))
        if model.name == "StopComposition":
            found = self.compositions.pop(body["arn"], None)  # stopped, then deleted
            return answer(model, {}) if found else error_answer("ResourceNotFoundException", 404)
        raise AssertionError(f"unexpected IVS call {model.name}")

    def _composition(self, arn, prefix, state="ACTIVE"):
        destination = {"id": "d1", "state": state, "configuration": DESTINATION}
        if prefix:
            destination["detail"] = {"s3": {"recordingPrefix": prefix}}
        return {"composition": {"arn": arn, "stageArn": self.compositions[arn]["stage"], "state": state,
                                "layout": {}, "destinations": [destination]}}

    def stops_by_itself(self, arn):
        self.compositions[arn]["state"] = "STOPPED"




class RecordingContract:
    def make_unavailable(self, media, method_name):
        raise NotImplementedError

    def test_a_recording_has_a_composition_arn_and_its_prefix_is_known_by_the_stop(self, media):
        stage = media.create_stage("sp1")

        handle = media.start_recording("sp1", stage.arn)
        prefix = media.stop_recording(handle.composition_arn)

        assert COMPOSITION_ARN.match(handle.composition_arn)
        assert handle.started_at.tzinfo is not None
        assert prefix and stage.stage_id in prefix

    def test_stopping_twice_is_not_an_error(self, media):
        stage = media.create_stage("sp1")
        handle = media.start_recording("sp1", stage.arn)

        media.stop_recording(handle.composition_arn)
        media.stop_recording(handle.composition_arn)

    @pytest.mark.parametrize("method", ["start_recording", "stop_recording"])
    def test_an_outage_is_dependency_failed_and_the_next_call_works(self, media, method):
        stage = media.create_stage("sp1")
        handle = media.start_recording("sp1", stage.arn)
        calls = {
            "start_recording": lambda: media.start_recording("sp2", stage.arn),
            "stop_recording": lambda: media.stop_recording(handle.composition_arn),
        }
        self.make_unavailable(media, method)

        with pytest.raises(DependencyFailed) as caught:
            calls[method]()
        assert caught.value.code == "media_unavailable"

        calls[method]()

    def test_a_composition_stopped_on_its_own_is_restarted_once_per_restart_number(self, media):
        stage = media.create_stage("sp1")
        first = media.start_recording("sp1", stage.arn)
        assert media.recording_status(first.composition_arn).running is True

        self.stops_by_itself(media, first.composition_arn)
        stopped = media.recording_status(first.composition_arn)
        second = media.restart_recording("sp1", stage.arn, 1)
        again = media.restart_recording("sp1", stage.arn, 1)
        third = media.restart_recording("sp1", stage.arn, 2)

        assert stopped.running is False
        assert again.composition_arn == second.composition_arn, "one composition per restart number"
        assert len({first.composition_arn, second.composition_arn, third.composition_arn}) == 3
        assert media.recording_status(second.composition_arn).running is True
        prefixes = {media.stop_recording(h.composition_arn) for h in (first, second, third)}
        assert len(prefixes) == 3 and None not in prefixes, "every segment under its own prefix"


class TestLocalMediaRecordingContract(RecordingContract):
    @pytest.fixture
    def media(self):
        return LocalMedia()

    def make_unavailable(self, media, method_name):
        media.fail_next(method_name)

    def stops_by_itself(self, media, arn):
        media.composition_stops_by_itself(arn)


class TestIvsMediaRecordingContract(RecordingContract):
    @pytest.fixture
    def media(self):
        client = make_client()
        self.simulated = SimulatedCompositions(client)
        return media_for(client)

    def stops_by_itself(self, media, arn):
        self.simulated.stops_by_itself(arn)

    def make_unavailable(self, media, method_name):
        # StopComposition is the second call of a stop (GetComposition goes first and may fail
        # without failing the stop): fail both.
        self.simulated.outage = 1 if method_name == "start_recording" else 2


# ---------------------------------------------------------------- LocalMedia's placeholder


class MemoryStore:
    def __init__(self):
        self.objects: dict[str, tuple[str, str]] = {}

    def put_text(self, key, text, content_type):
        self.objects[key] = (text, content_type)

    def get_text(self, key):
        found = self.objects.get(key)
        return found[0] if found else None


def test_local_media_leaves_what_ivs_leaves_when_a_recording_completes():
    ticks = iter([1_800_000_000.0, 1_800_000_000.0, 1_800_000_042.5])
    store = MemoryStore()
    media = LocalMedia(clock=lambda: next(ticks), recordings_store=store)
    stage = media.create_stage("sp1")
    handle = media.start_recording("sp1", stage.arn)
    assert not any(key.startswith(f"{handle.prefix}/") for key in store.objects), "nothing is recorded yet"

    prefix = media.stop_recording(handle.composition_arn)

    ended = json.loads(store.objects[f"{prefix}/events/recording-ended.json"][0])
    media_key, duration_ms = parse_recording_end(ended, prefix)
    playlist, content_type = store.objects[media_key]
    assert duration_ms == 42_500
    assert playlist.startswith("#EXTM3U") and "#EXT-X-ENDLIST" in playlist
    assert content_type == "application/vnd.apple.mpegurl"
    assert media.recordings[handle.composition_arn]["state"] == "STOPPED"


def test_another_local_media_process_sees_a_recording_run_then_stop():
    """Under `make run` the API starts compositions and the worker's rank job checks them."""
    store = MemoryStore()
    api, worker = LocalMedia(recordings_store=store), LocalMedia(recordings_store=store)
    handle = api.start_recording("sp1", api.create_stage("sp1").arn)

    assert worker.recording_status(handle.composition_arn) == api.recording_status(handle.composition_arn)
    assert worker.recording_status(handle.composition_arn).running is True
    api.stop_recording(handle.composition_arn)
    assert worker.recording_status(handle.composition_arn).running is False
    assert worker.recording_status("arn:aws:ivs:us-east-1:123456789012:composition/NoSuchOne123").running is False


def test_local_media_refuses_to_record_a_stage_that_does_not_exist():
    with pytest.raises(ValueError):
        LocalMedia().start_recording("sp1", STAGE)
