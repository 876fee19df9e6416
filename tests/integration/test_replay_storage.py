"""The recordings bucket and Transcribe through their adapters, against a moto server over real
HTTP (botocore serializes, signs and parses as against AWS).

What moto does not do, and how the tests make up for it: it does not check a presigned URL's
signature nor its expiry (tests/support/presigned.py recomputes both), and Transcribe runs no
speech recognition and writes no files (its job states and subtitle URIs are moto's)."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import unquote

import pytest
import requests
from botocore.config import Config

from chalicelib.adapters.s3_replays import S3Replays, presigned_expiry
from chalicelib.adapters.transcribe import TranscribeJobs
from chalicelib.domain.errors import DependencyFailed
from tests.support import presigned
from tests.support.moto_server import boto_client


@pytest.fixture(scope="module")
def s3(moto_url):
    return boto_client("s3", moto_url, config=Config(signature_version="s3v4"))


@pytest.fixture
def bucket(s3):
    name = f"replays-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def store(s3, bucket):
    return S3Replays(s3, bucket=bucket)


# ---------------------------------------------------------------- presigned URLs


class TestPresignedUrls:
    def test_a_presigned_url_names_the_object_expires_when_it_says_and_fetches_it(self, store, bucket):
        store.put_text("rec/media/hls/multivariant.m3u8", "#EXTM3U\n", "application/vnd.apple.mpegurl")

        signed = store.presign_get("rec/media/hls/multivariant.m3u8", 60)

        parts = presigned.read(signed.url)
        assert unquote(parts.path) == f"/{bucket}/rec/media/hls/multivariant.m3u8"
        assert parts.params["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
        assert parts.params["X-Amz-Expires"] == "60"
        assert parts.params["X-Amz-SignedHeaders"] == "host"
        assert signed.expires_at == parts.signed_at + timedelta(seconds=60)
        fetched = requests.get(signed.url, timeout=10)
        assert fetched.status_code == 200 and fetched.text == "#EXTM3U\n"

    def test_s3_would_accept_it_until_it_expires_and_refuse_it_after(self, store):
        signed = store.presign_get("any/key.m3u8", 5)
        parts = presigned.read(signed.url)

        assert presigned.check(signed.url, "testing", at=parts.signed_at)
        assert presigned.check(signed.url, "testing", at=parts.signed_at + timedelta(seconds=4))
        assert not presigned.check(signed.url, "testing", at=parts.signed_at + timedelta(seconds=5))
        assert not presigned.check(signed.url, "another-secret", at=parts.signed_at), "the signature is real"

    def test_tampering_with_the_expiry_or_the_key_breaks_the_signature(self, store):
        signed = store.presign_get("space-a/media.m3u8", 5)
        at = presigned.read(signed.url).signed_at

        assert not presigned.check(signed.url.replace("X-Amz-Expires=5", "X-Amz-Expires=500"), "testing", at=at)
        assert not presigned.check(signed.url.replace("space-a", "space-b"), "testing", at=at)

    def test_a_lifetime_is_kept_within_s3s_limits(self, store):
        assert presigned.read(store.presign_get("k", 0).url).expires_in == 1
        assert presigned.read(store.presign_get("k", 10**9).url).expires_in == 7 * 24 * 3600

    def test_the_expiry_is_read_from_the_url_itself(self):
        url = "https://b.s3.amazonaws.com/k?X-Amz-Date=20261124T180000Z&X-Amz-Expires=300&X-Amz-Signature=x"

        assert presigned_expiry(url) == datetime(2026, 11, 24, 18, 5, tzinfo=timezone.utc)


# ---------------------------------------------------------------- objects


class TestObjects:
    def test_json_and_text_round_trip_and_missing_objects_are_none(self, store, s3, bucket):
        store.put_text("p/events/recording-ended.json", json.dumps({"media": {"hls": {}}}), "application/json")

        assert store.get_json("p/events/recording-ended.json") == {"media": {"hls": {}}}
        assert store.get_json("p/events/missing.json") is None
        assert store.get_text("nothing/here.vtt") is None
        head = s3.head_object(Bucket=bucket, Key="p/events/recording-ended.json")
        assert head["ContentType"] == "application/json"

    def test_a_json_object_that_is_not_a_json_object_reads_as_none(self, store):
        store.put_text("p/broken.json", "not json", "application/json")
        store.put_text("p/list.json", "[1, 2]", "application/json")

        assert store.get_json("p/broken.json") is None
        assert store.get_json("p/list.json") is None

    def test_deleting_a_prefix_deletes_everything_under_it_and_nothing_else(self, store, s3, bucket):
        for key in ("rec/a/1.ts", "rec/a/2.ts", "rec/events/recording-ended.json", "record-other/x", "rec2/y"):
            store.put_text(key, "x", "text/plain")

        assert store.delete_prefix("rec") == 3
        assert store.delete_prefix("rec/") == 0

        left = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
        assert left == ["rec2/y", "record-other/x"]

    def test_a_write_if_absent_leaves_an_object_already_there_alone(self, store, s3, bucket):
        assert store.put_bytes("mix/1.m4a", b"first", "audio/mp4", if_absent=True) is True
        assert store.put_bytes("mix/1.m4a", b"second", "audio/mp4", if_absent=True) is False

        assert store.get_bytes("mix/1.m4a") == b"first"
        assert store.get_bytes("mix/none.m4a") is None

    def test_a_bucket_that_does_not_exist_is_storage_unavailable(self, s3):
        missing = S3Replays(s3, bucket=f"missing-{uuid.uuid4().hex[:8]}")

        for call in (
            lambda: missing.get_text("k"),
            lambda: missing.put_text("k", "v", "text/plain"),
            lambda: missing.delete_prefix("p"),
        ):
            with pytest.raises(DependencyFailed) as caught:
                call()
            assert caught.value.code == "storage_unavailable"

    def test_an_unreachable_s3_is_storage_unavailable(self):
        dead = boto_client("s3", "http://127.0.0.1:9", config=Config(retries={"total_max_attempts": 1}, connect_timeout=1))

        with pytest.raises(DependencyFailed) as caught:
            S3Replays(dead, bucket="b").get_text("k")

        assert caught.value.code == "storage_unavailable"


# ---------------------------------------------------------------- Transcribe


@pytest.fixture(scope="module")
def transcribe(moto_url):
    return boto_client("transcribe", moto_url)


class TestTranscribeJobs:
    def test_a_job_transcribes_the_recording_into_vtt_subtitles_next_to_its_output_key(self, transcribe, bucket):
        jobs = TranscribeJobs(transcribe, bucket=bucket)
        name = f"spaces-test-{uuid.uuid4().hex[:8]}"

        jobs.start(name, "rec/media/hls/multivariant.m3u8", "captions/sp1/transcript.json", "en-US")

        job = transcribe.get_transcription_job(TranscriptionJobName=name)["TranscriptionJob"]
        assert job["Media"] == {"MediaFileUri": f"s3://{bucket}/rec/media/hls/multivariant.m3u8"}
        assert job["LanguageCode"] == "en-US"
        assert job["Subtitles"]["Formats"] == ["vtt"]
        states = [jobs.status(name) for _ in range(3)]  # moto moves one state per look
        assert [s.state for s in states][-1] == "COMPLETED"
        assert states[-1].subtitle_key == "captions/sp1/transcript.vtt"

    def test_starting_the_same_job_again_is_not_an_error(self, transcribe, bucket):
        jobs = TranscribeJobs(transcribe, bucket=bucket)
        name = f"spaces-test-{uuid.uuid4().hex[:8]}"

        jobs.start(name, "rec/a.m3u8", "captions/sp1/transcript.json", "en-US")
        jobs.start(name, "rec/a.m3u8", "captions/sp1/transcript.json", "en-US")

    def test_an_unknown_job_reads_as_failed(self, transcribe, bucket):
        status = TranscribeJobs(transcribe, bucket=bucket).status("never-started")

        assert status.state == "FAILED" and status.subtitle_key is None

    @pytest.mark.parametrize(
        "uri, key",
        [
            ("https://s3.us-east-1.amazonaws.com/{b}/captions/sp1/transcript.vtt", "captions/sp1/transcript.vtt"),
            ("https://{b}.s3.eu-west-1.amazonaws.com/captions/sp1/t%20x.vtt", "captions/sp1/t x.vtt"),
            ("s3://{b}/captions/sp1/transcript.vtt", "captions/sp1/transcript.vtt"),
            ("https://s3.us-east-1.amazonaws.com/another-bucket/captions/sp1/transcript.vtt", None),
        ],
    )
    def test_subtitle_uris_of_every_s3_style_map_to_keys_of_this_bucket(self, uri, key):
        assert TranscribeJobs(None, bucket="rec-bucket")._key_of(uri.format(b="rec-bucket")) == key

    def test_an_unreachable_transcribe_is_transcription_unavailable(self, bucket):
        dead = boto_client("transcribe", "http://127.0.0.1:9", config=Config(retries={"total_max_attempts": 1}, connect_timeout=1))

        with pytest.raises(DependencyFailed) as caught:
            TranscribeJobs(dead, bucket=bucket).start("j", "k", "o.json", "en-US")

        assert caught.value.code == "transcription_unavailable"
