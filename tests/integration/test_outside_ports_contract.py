"""The outside systems' ports, one contract per port run on the in-memory fake the service tests
use and on the real adapter, so a fake cannot drift from what services rely on (the promises in
the Protocols' docstrings, chalicelib/port_protocols.py):

- PushPort: FakePush (tests/fakes/push.py) and SnsPush over a moto server;
- SchedulerPort: FakeScheduler (tests/fakes/scheduler.py) and EventBridgeScheduler over moto;
- QueuePort: FakeQueue (tests/fakes/queues.py) and SqsQueue over moto;
- TokenMinter: FakeTokens (tests/fakes/media.py) and IvsTokenMinter (in-process: its real thing);
- ReplayStorePort: FakeReplayStore (tests/fakes/storage.py) and S3Replays over moto;
- TranscriptionPort: FakeTranscription (tests/fakes/storage.py) and TranscribeJobs over moto.

MediaPort's contract runs on FakeMedia, LocalMedia and IvsMedia in test_ivs_adapter.py, RoomEventsPort's
in test_room_events_port.py, PaymentsPort's in test_payments_adapters.py, MixerPort's in test_mixer_contract.py.

Each backend gives the port and a way to observe or steer it as the outside system would (what
reached an endpoint, an endpoint the push service disabled, what a consumer receives, what a
token grants); the tests use only those and the port.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import pytest

from chalicelib.domain.reminders import PushMessage
from chalicelib.domain.spaces import StageInfo
from chalicelib.ports import EndpointGone
from tests.support.moto_server import boto_client, moto_endpoint, sns_messages  # noqa: F401  (fixture)

NOW = datetime(2031, 5, 4, 18, 30, 0, tzinfo=timezone.utc)
MESSAGE = PushMessage(title="alice is live now", body="Launch party: tap to listen.", data={"space_id": "sp-42"})


def _token() -> str:
    return uuid.uuid4().hex * 2  # 64 hex characters, an APNs device token's shape


# ---------------------------------------------------------------- PushPort


@dataclass
class Push:
    port: Any
    sent_to: Callable[[str], int]  # how many pushes reached this endpoint
    disable: Callable[[str], None]  # the push service disables an endpoint (APNs/FCM said the token is dead)


@pytest.fixture(params=["fake", "sns"])
def push(request):
    if request.param == "fake":
        from tests.fakes.push import FakePush

        fake = FakePush()
        return Push(fake, lambda arn: sum(1 for sent, _ in fake.sent if sent == arn), fake.gone.add)
    from chalicelib.adapters.sns_push import SnsPush

    client = boto_client("sns", request.getfixturevalue("moto_endpoint"))
    suffix = uuid.uuid4().hex[:8]
    apps = {
        platform: client.create_platform_application(
            Name=f"spaces-{platform}-{suffix}", Platform=kind, Attributes={"PlatformCredential": "x"}
        )["PlatformApplicationArn"]
        for platform, kind in (("ios", "APNS"), ("android", "GCM"))
    }

    def disable(arn: str) -> None:
        client.set_endpoint_attributes(EndpointArn=arn, Attributes={"Enabled": "false"})

    return Push(SnsPush(client, platform_apps=apps), lambda arn: len(sns_messages(arn)), disable)


class TestPushContract:
    def test_the_same_token_gives_the_same_endpoint_and_another_token_another(self, push):
        token = _token()
        first = push.port.create_endpoint("ios", token, "u1")

        assert push.port.create_endpoint("ios", token, "u1") == first
        assert push.port.create_endpoint("ios", _token(), "u1") != first
        assert push.port.create_endpoint("android", _token(), "u1") != first

    def test_a_token_moving_to_another_user_keeps_its_endpoint(self, push):
        token = _token()

        assert push.port.create_endpoint("android", token, "u1") == push.port.create_endpoint("android", token, "u2")

    def test_a_push_reaches_its_endpoint_only(self, push):
        one, other = push.port.create_endpoint("ios", _token(), "u1"), push.port.create_endpoint("ios", _token(), "u2")

        push.port.publish(one, "ios", MESSAGE)

        assert (push.sent_to(one), push.sent_to(other)) == (1, 0)

    def test_a_deleted_endpoint_is_gone_and_deleting_it_again_is_fine(self, push):
        arn = push.port.create_endpoint("ios", _token(), "u1")

        push.port.delete_endpoint(arn)
        push.port.delete_endpoint(arn)

        with pytest.raises(EndpointGone):
            push.port.publish(arn, "ios", MESSAGE)

    def test_an_endpoint_the_push_service_disabled_is_gone(self, push):
        arn = push.port.create_endpoint("android", _token(), "u1")
        push.disable(arn)

        with pytest.raises(EndpointGone):
            push.port.publish(arn, "android", MESSAGE)
        assert push.sent_to(arn) == 0

    @pytest.mark.parametrize("platform", ["web", "IOS", ""])
    def test_an_unknown_platform_is_a_bug(self, push, platform):
        with pytest.raises(ValueError):
            push.port.create_endpoint(platform, _token(), "u1")


# ---------------------------------------------------------------- SchedulerPort


@pytest.fixture(params=["fake", "eventbridge"])
def scheduler(request):
    if request.param == "fake":
        from tests.fakes.scheduler import FakeScheduler

        return FakeScheduler()
    from chalicelib.adapters.scheduler import EventBridgeScheduler

    client = boto_client("scheduler", request.getfixturevalue("moto_endpoint"))
    group = f"spaces-test-{uuid.uuid4().hex[:12]}"
    client.create_schedule_group(Name=group)
    return EventBridgeScheduler(
        client,
        group_name=group,
        target_arn="arn:aws:sqs:us-east-1:123456789012:spaces-test-fanout",
        role_arn="arn:aws:iam::123456789012:role/spaces-test-scheduler",
        dead_letter_arn="arn:aws:sqs:us-east-1:123456789012:spaces-test-schedules-dlq",
    )


class TestSchedulerContract:
    def test_a_schedule_is_due_at_its_time_with_its_payload_and_not_before(self, scheduler):
        payload = {"space_id": "sp1", "moment": "start", "n": 3}
        scheduler.put_one_time("sp1.start", NOW, payload)

        assert scheduler.list_due(NOW - timedelta(seconds=1)) == []
        assert scheduler.list_due(NOW) == [("sp1.start", payload)]
        schedule = scheduler.get("sp1.start")
        assert schedule["ScheduleExpression"] == "at(2031-05-04T18:30:00)"
        assert json.loads(schedule["Target"]["Input"]) == payload

    def test_a_typed_payload_is_due_as_its_fields(self, scheduler):
        from chalicelib.domain.messages import FireMoment

        scheduler.put_one_time("sp1.start", NOW, FireMoment("sp1", "start", "2031-05-04T18:30:00Z"))

        assert scheduler.list_due(NOW) == [
            ("sp1.start", {"kind": "fire", "space_id": "sp1", "moment": "start", "scheduled_start": "2031-05-04T18:30:00Z"})
        ]

    def test_putting_a_schedule_again_moves_it(self, scheduler):
        scheduler.put_one_time("sp1.start", NOW, {"v": 1})
        scheduler.put_one_time("sp1.start", NOW + timedelta(hours=1), {"v": 2})

        assert scheduler.list_due(NOW) == []
        assert scheduler.list_due(NOW + timedelta(hours=1)) == [("sp1.start", {"v": 2})]

    def test_the_time_is_kept_to_the_whole_second_in_utc(self, scheduler):
        local = timezone(timedelta(hours=2))
        scheduler.put_one_time("sp1.start", (NOW + timedelta(microseconds=900_000)).astimezone(local), {})

        assert scheduler.get("sp1.start")["ScheduleExpression"] == "at(2031-05-04T18:30:00)"

    def test_deleting_a_schedule_that_is_gone_or_never_was_is_not_an_error(self, scheduler):
        scheduler.put_one_time("sp1.start", NOW, {})

        scheduler.delete("sp1.start")
        scheduler.delete("sp1.start")
        scheduler.delete("never-made")

        assert scheduler.get("sp1.start") is None and scheduler.list_due(NOW) == []

    @pytest.mark.parametrize("name", ["", "a" * 65, "sp1:start", "sp 1"])
    def test_a_name_the_service_would_refuse_is_a_bug(self, scheduler, name):
        with pytest.raises(ValueError):
            scheduler.put_one_time(name, NOW, {})


# ---------------------------------------------------------------- QueuePort


@dataclass
class Queue:
    port: Any
    received: Callable[[], list[dict[str, Any]]]  # what a consumer gets, each body once


@pytest.fixture(params=["fake", "sqs"])
def queue(request):
    if request.param == "fake":
        from tests.fakes.queues import FakeQueue

        fake = FakeQueue()
        return Queue(fake, fake.take)
    from chalicelib.adapters.sqs import SqsQueue

    client = boto_client("sqs", request.getfixturevalue("moto_endpoint"))
    name = f"spaces-test-{uuid.uuid4().hex[:12]}"
    client.create_queue(QueueName=name)
    sqs = SqsQueue(client, queue_name=name, sleep=lambda seconds: None)

    def received() -> list[dict[str, Any]]:
        bodies = []
        while batch := sqs.receive(max_messages=10):
            for receipt, body in batch:
                bodies.append(body)
                sqs.delete(receipt)
        return bodies

    return Queue(sqs, received)


class TestQueueContract:
    def test_every_body_of_a_large_batch_arrives_once_as_sent(self, queue):
        bodies = [{"space_id": "sp1", "shard": i, "user_ids": [f"u{i}"], "ok": i % 2 == 0} for i in range(23)]

        queue.port.send_batch(bodies)

        assert sorted(queue.received(), key=lambda body: body["shard"]) == bodies

    def test_nothing_to_send_sends_nothing(self, queue):
        queue.port.send_batch([])

        assert queue.received() == []

    def test_the_consumer_gets_the_json_not_the_senders_object(self, queue):
        body = {"space_id": "sp1", "user_ids": ["u1"]}
        queue.port.send_batch([body])
        body["user_ids"].append("u2")

        assert queue.received() == [{"space_id": "sp1", "user_ids": ["u1"]}]

    def test_a_typed_message_arrives_as_its_fields_and_reads_back_to_itself(self, queue):
        from chalicelib.domain.messages import ExpandShard
        from chalicelib.jobs.messages import fanout_message

        message = ExpandShard("sp1", "start", "Jazz", "host", True, 2, "u9")
        queue.port.send_batch([message])

        (body,) = queue.received()
        assert body == {"kind": "expand", "space_id": "sp1", "moment": "start", "title": "Jazz",
                        "host_id": "host", "live": True, "shard": 2, "cursor": "u9"}
        assert fanout_message(body) == message

    def test_a_body_json_cannot_carry_is_refused_and_nothing_is_sent(self, queue):
        with pytest.raises(TypeError):
            queue.port.send_batch([{"space_id": "sp1"}, {"at": NOW}])

        assert queue.received() == []


# ---------------------------------------------------------------- TokenMinter

STAGE = StageInfo(
    arn="arn:aws:ivs:us-east-1:123456789012:stage/AbCdEfGh1234",
    events_url="wss://global.events.live-video.net",
    whip_url="https://abcdef123456.global-bm.whip.live-video.net",
)


@dataclass
class Minter:
    port: Any
    grants: Callable[[str], tuple[str, str, bool]]  # what a token says: (stage id, participant, may publish)


@pytest.fixture(params=["fake", "ivs"])
def minter(request):
    if request.param == "fake":
        from tests.fakes.media import FakeTokens

        def said(token: str) -> tuple[str, str, bool]:
            stage_id, participant, capability = token.split(":")
            return stage_id, participant, capability == "publish"

        return Minter(FakeTokens(), said)
    import jwt

    from chalicelib.adapters.ivs_tokens import IvsTokenMinter, generate_es384_keypair

    private_pem, public_pem = generate_es384_keypair()

    def claims(token: str) -> tuple[str, str, bool]:
        read = jwt.decode(token, public_pem, algorithms=["ES384"], options={"verify_exp": False, "verify_iat": False})  # minted for NOW, a fixed date
        return read["topic"], read["jti"], read["capabilities"]["allow_publish"]

    return Minter(IvsTokenMinter(private_pem, "arn:aws:ivs:us-east-1:123456789012:public-key/k", 3600), claims)


class TestTokenMinterContract:
    @pytest.mark.parametrize("publish", [True, False])
    def test_a_token_carries_the_stage_the_participant_and_the_capability_asked(self, minter, publish):
        token = minter.port.mint(STAGE, participant_id="p-1_A", user_id="u1", publish=publish, now=NOW)

        assert minter.grants(token.token) == (STAGE.stage_id, "p-1_A", publish)
        assert (token.participant_id, token.allow_publish, token.allow_subscribe) == ("p-1_A", publish, True)
        assert token.expires_at > NOW

    @pytest.mark.parametrize("participant_id", ["", "p" * 65, "p 1", "p/1"])
    def test_a_participant_id_ivs_could_not_disconnect_is_refused(self, minter, participant_id):
        with pytest.raises(ValueError):
            minter.port.mint(STAGE, participant_id=participant_id, user_id="u1", publish=False, now=NOW)

    def test_a_naive_time_is_refused(self, minter):
        with pytest.raises(ValueError):
            minter.port.mint(STAGE, participant_id="p1", user_id="u1", publish=False, now=NOW.replace(tzinfo=None))
        with pytest.raises(ValueError):
            minter.port.mint_playback("arn:aws:ivs:us-east-1:1:channel/c", user_id="u1", now=NOW.replace(tzinfo=None))

    def test_playback_tokens_differ_by_viewer_and_expire_after_now(self, minter):
        channel = "arn:aws:ivs:us-east-1:123456789012:channel/AbCdEfGh1234"
        first, expires = minter.port.mint_playback(channel, user_id="u1", now=NOW)
        second, _ = minter.port.mint_playback(channel, user_id="u2", now=NOW)

        assert first != second and expires > NOW


# ---------------------------------------------------------------- ReplayStorePort


@pytest.fixture(params=["fake", "s3"])
def bucket(request):
    if request.param == "fake":
        from tests.fakes.storage import FakeReplayStore

        return FakeReplayStore()
    from botocore.config import Config

    from chalicelib.adapters.s3_replays import S3Replays

    s3 = boto_client("s3", request.getfixturevalue("moto_endpoint"), config=Config(signature_version="s3v4"))
    name = f"replays-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name)
    return S3Replays(s3, bucket=name)


def _seconds_apart(later, earlier) -> float:
    return (later.expires_at - earlier.expires_at).total_seconds()


class TestReplayStoreContract:
    def test_objects_round_trip_and_missing_ones_read_as_none(self, bucket):
        bucket.put_text("p/events/recording-ended.json", json.dumps({"media": {"hls": {}}}), "application/json")
        bucket.put_bytes("p/mix.m4a", b"\x00\x01audio", "audio/mp4")

        assert bucket.get_json("p/events/recording-ended.json") == {"media": {"hls": {}}}
        assert bucket.get_bytes("p/mix.m4a") == b"\x00\x01audio"
        assert bucket.get_json("p/missing.json") is None and bucket.get_text("p/missing.vtt") is None
        assert bucket.get_bytes("p/missing.m4a") is None

    def test_a_json_document_that_is_not_an_object_reads_as_none(self, bucket):
        bucket.put_text("p/broken.json", "not json", "application/json")
        bucket.put_text("p/list.json", "[1, 2]", "application/json")

        assert bucket.get_json("p/broken.json") is None and bucket.get_json("p/list.json") is None

    def test_a_write_if_absent_leaves_an_object_already_there_alone(self, bucket):
        assert bucket.put_bytes("mix/1.m4a", b"first", "audio/mp4", if_absent=True) is True
        assert bucket.put_bytes("mix/1.m4a", b"second", "audio/mp4", if_absent=True) is False

        assert bucket.get_bytes("mix/1.m4a") == b"first"

    def test_a_prefix_is_a_folder_listed_in_key_order(self, bucket):
        for key in ("rec/b/2.ts", "rec/a/1.ts", "rec/events/x.json", "record-other/x", "rec2/y"):
            bucket.put_text(key, "x", "text/plain")

        assert bucket.list_keys("rec") == ["rec/a/1.ts", "rec/b/2.ts", "rec/events/x.json"]
        assert bucket.list_keys("rec/", limit=2) == ["rec/a/1.ts", "rec/b/2.ts"]
        assert bucket.list_keys("nothing") == []

    def test_deleting_a_prefix_deletes_everything_under_it_once(self, bucket):
        for key in ("rec/a/1.ts", "rec/a/2.ts", "rec2/y"):
            bucket.put_text(key, "x", "text/plain")

        assert bucket.delete_prefix("rec") == 2
        assert bucket.delete_prefix("rec/") == 0
        assert bucket.get_text("rec/a/1.ts") is None and bucket.get_text("rec2/y") == "x"

    def test_deleting_keys_counts_them_and_keys_not_there_are_fine(self, bucket):
        bucket.put_text("clips/1.m4a", "x", "audio/mp4")

        assert bucket.delete_keys(["clips/1.m4a", "clips/never.m4a"]) == 2
        assert bucket.get_text("clips/1.m4a") is None

    def test_a_presigned_url_lives_the_seconds_asked_within_seven_days(self, bucket):
        bucket.put_text("rec/a.m3u8", "#EXTM3U\n", "application/vnd.apple.mpegurl")
        minute = bucket.presign_get("rec/a.m3u8", 60)

        assert 539 <= _seconds_apart(bucket.presign_get("rec/a.m3u8", 600), minute) <= 541
        assert 7 * 86400 - 61 <= _seconds_apart(bucket.presign_get("rec/a.m3u8", 10**9), minute) <= 7 * 86400 - 59
        assert bucket.presign_get("rec/a.m3u8", 60).url != bucket.presign_get("rec/b.m3u8", 60).url


# ---------------------------------------------------------------- TranscriptionPort


@pytest.fixture(params=["fake", "transcribe"])
def transcription(request):
    if request.param == "fake":
        from tests.fakes.storage import FakeTranscription

        return FakeTranscription()
    from chalicelib.adapters.transcribe import TranscribeJobs

    client = boto_client("transcribe", request.getfixturevalue("moto_endpoint"))
    return TranscribeJobs(client, bucket=f"replays-{uuid.uuid4().hex[:10]}")


class TestTranscriptionContract:
    def test_a_job_finishes_with_its_subtitles_next_to_its_output_key(self, transcription):
        name = f"spaces-test-{uuid.uuid4().hex[:8]}"
        transcription.start(name, "rec/media/hls/multivariant.m3u8", "captions/sp1/transcript.json", "en-US")

        looks = [transcription.status(name) for _ in range(5)]

        assert {look.state for look in looks} <= {"QUEUED", "IN_PROGRESS", "COMPLETED"}
        assert looks[-1].state == "COMPLETED" and looks[-1].subtitle_key == "captions/sp1/transcript.vtt"

    def test_starting_the_same_job_again_is_not_an_error(self, transcription):
        name = f"spaces-test-{uuid.uuid4().hex[:8]}"

        transcription.start(name, "rec/a.m3u8", "captions/sp1/transcript.json", "en-US")
        transcription.start(name, "rec/a.m3u8", "captions/sp1/transcript.json", "en-US")

    def test_an_unknown_job_reads_as_failed(self, transcription):
        status = transcription.status(f"never-started-{uuid.uuid4().hex[:8]}")

        assert status.state == "FAILED" and status.subtitle_key is None
