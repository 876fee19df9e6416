"""Remuxing a recording into one audio file: MediaConvertRemux's CreateJob / GetJob through a real
boto3 `mediaconvert` client under `botocore.stub.Stubber` (every request and answer is checked
against the API model), and the RemuxPort contract, run against LocalRemux and against
MediaConvertRemux over a stateful stand-in answering on botocore's `before-call`. moto has no
MediaConvert; no socket is opened here."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError
from botocore.validate import ParamValidator

from chalicelib.adapters.local_remux import LocalRemux
from chalicelib.adapters.mediaconvert import MediaConvertRemux
from chalicelib.domain.errors import DependencyFailed
from tests.support.offline_aws import answer, error_answer, offline_client

BUCKET = "spaces-dev-recordings"
ROLE = "arn:aws:iam::123456789012:role/spaces-dev-RecordingRemuxRole"
SOURCE = "AbCdEfGh1234/st-1a2b3c/CoMpOsItIoN1/media/hls/multivariant.m3u8"
# A recording IVS stopped twice while live: three compositions, each under its own prefix.
SEGMENTS = [SOURCE] + [f"AbCdEfGh1234/st-1a2b3c/CoMpOsItIoN{n}/media/hls/multivariant.m3u8" for n in (2, 3)]
OUTPUT = "replays/sp1/replay.m4a"
JOB_ID = "1764633600000-abc123"
CREATED = datetime(2026, 12, 2, 0, 0, tzinfo=timezone.utc)


AWS_SERVICE = "mediaconvert"  # the `client` and `stubber` fixtures (tests/integration/conftest.py)


def make_client():
    return offline_client(AWS_SERVICE)


def remux_for(client, role_arn=ROLE):
    return MediaConvertRemux(client, bucket=BUCKET, role_arn=role_arn, metadata={"app": "spaces", "stage": "dev"})


def job(status="SUBMITTED", **extra):
    return {"Job": {"Id": JOB_ID, "Role": ROLE, "Settings": {}, "Status": status, "CreatedAt": CREATED, **extra}}


EXPECTED_REQUEST = {
    "Role": ROLE,
    "ClientRequestToken": "spaces-dev-sp1-1",
    "UserMetadata": {"app": "spaces", "stage": "dev", "source": SOURCE, "inputs": "1"},
    "Settings": {
        "Inputs": [
            {
                "FileInput": f"s3://{BUCKET}/{SOURCE}",
                "AudioSelectors": {"Audio Selector 1": {"DefaultSelection": "DEFAULT"}},
                "TimecodeSource": "ZEROBASED",
            }
        ],
        "OutputGroups": [
            {
                "Name": "replay",
                "OutputGroupSettings": {
                    "Type": "FILE_GROUP_SETTINGS",
                    "FileGroupSettings": {"Destination": f"s3://{BUCKET}/replays/sp1/replay"},
                },
                "Outputs": [
                    {
                        "Extension": "m4a",
                        "ContainerSettings": {"Container": "MP4", "Mp4Settings": {"MoovPlacement": "PROGRESSIVE_DOWNLOAD"}},
                        "AudioDescriptions": [
                            {
                                "AudioSourceName": "Audio Selector 1",
                                "CodecSettings": {
                                    "Codec": "AAC",
                                    "AacSettings": {
                                        "CodecProfile": "LC",
                                        "CodingMode": "CODING_MODE_2_0",
                                        "SampleRate": 48000,
                                        "Bitrate": 96000,
                                        "RateControlMode": "CBR",
                                    },
                                },
                            }
                        ],
                    }
                ],
            }
        ],
    },
}


# ---------------------------------------------------------------- CreateJob


class TestStartingARemux:
    def test_one_job_reads_the_hls_playlist_and_writes_one_aac_file_in_mp4(self, client, stubber):
        stubber.add_response("create_job", job(), expected_params=EXPECTED_REQUEST)

        job_id = remux_for(client).start("spaces-dev-sp1-1", [SOURCE], OUTPUT)

        assert job_id == JOB_ID

    def test_a_recording_of_three_segments_is_one_job_with_three_inputs_in_order(self, client, stubber):
        inputs = [
            {
                "FileInput": f"s3://{BUCKET}/{key}",
                "AudioSelectors": {"Audio Selector 1": {"DefaultSelection": "DEFAULT"}},
                "TimecodeSource": "ZEROBASED",
            }
            for key in SEGMENTS
        ]
        expected = {
            **EXPECTED_REQUEST,
            "UserMetadata": {**EXPECTED_REQUEST["UserMetadata"], "inputs": "3"},
            "Settings": {**EXPECTED_REQUEST["Settings"], "Inputs": inputs},
        }
        stubber.add_response("create_job", job(), expected_params=expected)

        assert remux_for(client).start("spaces-dev-sp1-1", SEGMENTS, OUTPUT) == JOB_ID

    def test_a_remux_without_inputs_or_with_a_bare_key_is_a_bug(self, client):
        with pytest.raises(ValueError):
            remux_for(client).start("n", [], OUTPUT)
        with pytest.raises(TypeError):
            remux_for(client).start("n", SOURCE, OUTPUT)

    def test_the_output_is_audio_only_one_file_named_by_the_output_key(self, client):
        request = remux_for(client).job_request("n", [SOURCE], OUTPUT)

        [group] = request["Settings"]["OutputGroups"]
        [output] = group["Outputs"]
        assert group["OutputGroupSettings"]["Type"] == "FILE_GROUP_SETTINGS"
        assert "VideoDescription" not in output and "CaptionDescriptions" not in output
        assert len(output["AudioDescriptions"]) == 1, "audio-only outputs take one audio description"
        assert "NameModifier" not in output
        destination = group["OutputGroupSettings"]["FileGroupSettings"]["Destination"]
        assert f"{destination}.{output['Extension']}" == f"s3://{BUCKET}/{OUTPUT}"

    def test_the_request_is_valid_for_the_api_model(self, client):
        shape = client.meta.service_model.operation_model("CreateJob").input_shape

        for sources in ([SOURCE], SEGMENTS):
            report = ParamValidator().validate(remux_for(client).job_request("n", sources, OUTPUT), shape)

            assert not report.has_errors(), report.generate_report()

    @pytest.mark.parametrize("name", ["spaces-prod-01JD2Z6R9V3M8K4T5N7Q1W2E3R-3", "x" * 100, "odd:name/ä"])
    def test_the_request_token_is_short_ascii_whatever_the_name(self, client, name):
        token = remux_for(client).job_request(name, [SOURCE], OUTPUT)["ClientRequestToken"]

        assert 1 <= len(token) <= 64 and token.isascii()
        assert all(c.isalnum() or c in "-_" for c in token)

    def test_an_output_that_is_not_an_m4a_key_is_a_bug(self, client):
        with pytest.raises(ValueError):
            remux_for(client).start("n", [SOURCE], "replays/sp1/replay.mp3")

    def test_the_regional_endpoint_is_used_without_describe_endpoints(self, client, stubber):
        # Stubber refuses any call not queued: a DescribeEndpoints would fail this test.
        stubber.add_response("create_job", job())

        remux_for(client).start("n", [SOURCE], OUTPUT)

        assert client.meta.endpoint_url == "https://mediaconvert.us-east-1.amazonaws.com"

    @pytest.mark.parametrize(
        "code, status",
        [("BadRequestException", 400), ("ForbiddenException", 403), ("TooManyRequestsException", 429),
         ("InternalServerErrorException", 500)],
    )
    def test_a_refusal_or_an_outage_is_remux_unavailable(self, client, stubber, code, status):
        stubber.add_client_error("create_job", service_error_code=code, http_status_code=status)

        with pytest.raises(DependencyFailed) as caught:
            remux_for(client).start("n", [SOURCE], OUTPUT)

        assert caught.value.code == "remux_unavailable"

    def test_an_unreachable_mediaconvert_is_remux_unavailable(self):
        dead = boto3.client(
            "mediaconvert", region_name="us-east-1", endpoint_url="http://127.0.0.1:9",
            aws_access_key_id="testing", aws_secret_access_key="testing",
            config=Config(retries={"total_max_attempts": 1}, connect_timeout=1),
        )

        with pytest.raises(DependencyFailed) as caught:
            remux_for(dead).start("n", [SOURCE], OUTPUT)

        assert caught.value.code == "remux_unavailable"
        assert isinstance(caught.value.__cause__, EndpointConnectionError)

    def test_it_is_configured_only_with_the_role_mediaconvert_assumes(self, client):
        assert remux_for(client).configured is True
        assert remux_for(client, role_arn="").configured is False


# ---------------------------------------------------------------- GetJob


class TestFollowingARemux:
    @pytest.mark.parametrize("status", ["SUBMITTED", "PROGRESSING"])
    def test_a_job_submitted_or_progressing_is_running(self, client, stubber, status):
        stubber.add_response("get_job", job(status), expected_params={"Id": JOB_ID})

        assert remux_for(client).status(JOB_ID).state == "RUNNING"

    def test_a_complete_job_is_complete(self, client, stubber):
        stubber.add_response("get_job", job("COMPLETE"), expected_params={"Id": JOB_ID})

        assert remux_for(client).status(JOB_ID).state == "COMPLETE"

    def test_an_errored_job_is_an_error_with_its_reason(self, client, stubber):
        stubber.add_response(
            "get_job", job("ERROR", ErrorCode=1030, ErrorMessage="Unable to open input file"), expected_params={"Id": JOB_ID}
        )

        status = remux_for(client).status(JOB_ID)

        assert status.state == "ERROR"
        assert status.failure == "ERROR: 1030 Unable to open input file"

    def test_a_canceled_job_is_an_error(self, client, stubber):
        stubber.add_response("get_job", job("CANCELED"))

        assert remux_for(client).status(JOB_ID).state == "ERROR"

    def test_a_job_mediaconvert_does_not_know_is_an_error(self, client, stubber):
        stubber.add_client_error("get_job", service_error_code="NotFoundException", http_status_code=404)

        status = remux_for(client).status("nope")

        assert status.state == "ERROR" and status.failure

    def test_throttling_is_remux_unavailable_not_an_error_of_the_job(self, client, stubber):
        stubber.add_client_error("get_job", service_error_code="TooManyRequestsException", http_status_code=429)

        with pytest.raises(DependencyFailed) as caught:
            remux_for(client).status(JOB_ID)

        assert caught.value.code == "remux_unavailable"


# ---------------------------------------------------------------- the RemuxPort contract


class MemoryStore:
    """The part of ReplayStorePort the local remux uses."""

    def __init__(self):
        self.objects: dict[str, tuple[str, str]] = {}

    def put_text(self, key, text, content_type):
        self.objects[key] = (text, content_type)

    def get_text(self, key):
        found = self.objects.get(key)
        return found[0] if found else None


class SimulatedMediaConvert:
    """MediaConvert jobs behind a real client (requests and answers checked by the model): a job
    reads its input from the store, moves SUBMITTED -> PROGRESSING -> COMPLETE one state per
    GetJob, and writes its output file when it completes; a missing input ends in ERROR."""

    def __init__(self, client, store, bucket):
        self.store, self.bucket = store, bucket
        self.jobs: dict[str, dict] = {}
        client.meta.events.register("before-call.mediaconvert", self._answer)

    def _answer(self, model, params, **_):
        if model.name == "CreateJob":
            # The wire format (rest-json, lowerCamel member names), as MediaConvert receives it.
            body = json.loads(params["body"])
            job_id = f"1764633600000-{len(self.jobs):06d}"
            group = body["settings"]["outputGroups"][0]
            destination = group["outputGroupSettings"]["fileGroupSettings"]["destination"]
            self.jobs[job_id] = {
                "inputs": [item["fileInput"] for item in body["settings"]["inputs"]],
                "output": f"{destination}.{group['outputs'][0]['extension']}",
                "states": ["SUBMITTED", "PROGRESSING", "COMPLETE"],
            }
            return answer(model, {"Job": {"Id": job_id, "Role": body["role"], "Settings": {}, "Status": "SUBMITTED"}})
        if model.name == "GetJob":
            job_id = params["url_path"].rsplit("/", 1)[-1]
            found = self.jobs.get(job_id)
            if found is None:
                return error_answer("NotFoundException", 404)
            if any(self.store.get_text(self._key(uri)) is None for uri in found["inputs"]):
                return answer(model, {"Job": {"Id": job_id, "Role": ROLE, "Settings": {}, "Status": "ERROR",
                                                "ErrorCode": 1030, "ErrorMessage": "Unable to open input file"}})
            state = found["states"].pop(0) if len(found["states"]) > 1 else found["states"][0]
            if state == "COMPLETE":
                inputs = " + ".join(self._key(uri) for uri in found["inputs"])
                self.store.put_text(self._key(found["output"]), f"aac in mp4 of {inputs}", "audio/mp4")
            return answer(model, {"Job": {"Id": job_id, "Role": ROLE, "Settings": {}, "Status": state}})
        raise AssertionError(f"unexpected MediaConvert call {model.name}")

    def _key(self, uri):
        assert uri.startswith(f"s3://{self.bucket}/")
        return uri[len(f"s3://{self.bucket}/"):]



def _settle(remux, job_id, looks=5):
    for _ in range(looks):
        status = remux.status(job_id)
        if status.state != "RUNNING":
            return status
    return status


class RemuxContract:
    def test_a_job_completes_and_leaves_one_audio_file_at_the_output_key(self, remux, store):
        store.put_text(SOURCE, "#EXTM3U\n", "application/vnd.apple.mpegurl")

        job_id = remux.start("spaces-test-sp1-1", [SOURCE], OUTPUT)

        assert _settle(remux, job_id).state == "COMPLETE"
        assert store.get_text(OUTPUT) is not None

    def test_a_job_whose_recording_is_missing_ends_in_error(self, remux, store):
        job_id = remux.start("spaces-test-sp1-1", ["missing/media/hls/multivariant.m3u8"], OUTPUT)

        status = _settle(remux, job_id)

        assert status.state == "ERROR" and status.failure
        assert store.get_text(OUTPUT) is None

    def test_a_job_of_several_segments_completes_with_all_of_them_in_order(self, remux, store):
        for key in SEGMENTS:
            store.put_text(key, "#EXTM3U\n", "application/vnd.apple.mpegurl")

        job_id = remux.start("spaces-test-sp1-1", SEGMENTS, OUTPUT)

        assert _settle(remux, job_id).state == "COMPLETE"
        text = store.get_text(OUTPUT)
        positions = [text.index(key) for key in SEGMENTS]
        assert positions == sorted(positions), "the segments are in the file in their order"

    def test_a_job_with_one_segment_missing_ends_in_error(self, remux, store):
        for key in SEGMENTS[:2]:
            store.put_text(key, "#EXTM3U\n", "application/vnd.apple.mpegurl")

        job_id = remux.start("spaces-test-sp1-1", SEGMENTS, OUTPUT)

        assert _settle(remux, job_id).state == "ERROR"
        assert store.get_text(OUTPUT) is None

    def test_a_job_nobody_started_is_an_error(self, remux):
        assert remux.status("1764633600000-unknown").state == "ERROR"

    def test_the_port_says_it_can_remux(self, remux):
        assert remux.configured is True


class TestLocalRemuxContract(RemuxContract):
    @pytest.fixture
    def store(self):
        return MemoryStore()

    @pytest.fixture
    def remux(self, store):
        return LocalRemux(store)


class TestMediaConvertRemuxContract(RemuxContract):
    @pytest.fixture
    def store(self):
        return MemoryStore()

    @pytest.fixture
    def remux(self, store):
        client = make_client()
        SimulatedMediaConvert(client, store, BUCKET)
        return remux_for(client)


# ---------------------------------------------------------------- LocalRemux's test controls


def test_local_remux_jobs_can_be_failed_or_held_and_are_seen_by_another_process():
    store = MemoryStore()
    store.put_text(SOURCE, "#EXTM3U\n", "application/vnd.apple.mpegurl")
    remux = LocalRemux(store)
    remux.fail_next()
    remux.hold_next()

    failed = remux.start("a", [SOURCE], OUTPUT)
    held = remux.start("b", [SOURCE], OUTPUT)
    assert remux.status(failed).state == "ERROR"
    assert remux.status(held).state == "RUNNING" and store.get_text(OUTPUT) is None

    remux.finish(held)
    assert remux.status(held).state == "COMPLETE"
    text, content_type = store.objects[OUTPUT]
    assert content_type == "audio/mp4" and "no audio was recorded" in text
    # The local worker is another process: it reads a job's state from the bucket.
    assert LocalRemux(store).status(held).state == "COMPLETE"
    assert [s[0] for s in remux.started] == ["a", "b"]
