"""Shared fixtures: one DynamoDB Local per test session, keys, and an app client.

DynamoDB behaviour that matters (conditions, transactions, concurrency) is tested against
DynamoDB Local, AWS's own engine, never only against moto.
"""
from __future__ import annotations

import os
import uuid

import pytest

# Before anything imports chalicelib: a region, dummy credentials, no real AWS endpoint.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ["AWS_ACCOUNT_ID_ENDPOINT_MODE"] = "disabled"
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)
os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
os.environ["SPACES_TABLE_PREFIX"] = "test-" + os.environ.get("PYTEST_XDIST_WORKER", "main")
# The app under test is the local stage's, web client routes included (app.py registers them
# only when SPACES_STAGE is `local` at import time, whichever test imports it first).
os.environ["SPACES_STAGE"] = "local"


@pytest.fixture(scope="session")
def dynamodb_local(tmp_path_factory):
    from scripts.dynamodb_local import DynamoDBLocal, ensure_dynamodb_local

    from chalicelib.adapters.dynamodb import models

    emulator = ensure_dynamodb_local()
    server = DynamoDBLocal(emulator_dir=emulator, log_path=tmp_path_factory.mktemp("ddb") / "ddb.log")
    server.start()
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = server.endpoint_url
    models.use_endpoint(server.endpoint_url, os.environ["SPACES_TABLE_PREFIX"])
    models.create_tables()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def keys(tmp_path_factory):
    from scripts import keys as keytool

    directory = tmp_path_factory.mktemp("keys")
    paths = keytool.ensure_local_keys(directory)
    return {
        "paths": paths,
        "kid": keytool.jwks_kid(paths["jwks"]),
        "ivs_public_pem": paths["ivs_public"].read_bytes(),
    }


@pytest.fixture(scope="session")
def settings_env(keys, dynamodb_local):
    from chalicelib.config import get_settings

    os.environ.update(
        {
            "SPACES_STAGE": "local",
            "SPACES_JWT_ISSUER": "spaces-local",
            "SPACES_JWT_AUDIENCE": "spaces-app",
            "SPACES_JWKS_PATH": str(keys["paths"]["jwks"]),
            "SPACES_LOCAL_SIGNIN_KEY_PATH": str(keys["paths"]["jwt_private"]),
            "SPACES_MEDIA_BACKEND": "local",
            "SPACES_IVS_PRIVATE_KEY_PATH": str(keys["paths"]["ivs_private"]),
            "SPACES_CURSOR_KEYS_PATH": str(keys["paths"]["cursor_keys"]),
        }
    )
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


class RecordingTelemetry:
    def __init__(self):
        self.events: list[str] = []

    def count(self, event: str, value: int = 1) -> None:
        self.events.extend([event] * value)


@pytest.fixture(scope="session")
def moto_url():
    """One moto server per test session (SNS, SQS, EventBridge Scheduler)."""
    from tests.support.moto_server import start_moto_server

    server, url = start_moto_server()
    yield url
    server.stop()


class AwsClients:
    def __init__(self, url):
        from botocore.config import Config

        from tests.support.moto_server import boto_client

        self.url = url
        self.sns = boto_client("sns", url)
        self.sqs = boto_client("sqs", url)
        self.scheduler = boto_client("scheduler", url)
        # S3 as bootstrap builds it (SigV4 presigning), and Transcribe, for recordings.
        self.s3 = boto_client("s3", url, config=Config(signature_version="s3v4"))
        self.transcribe = boto_client("transcribe", url)
        # One recordings bucket per test process; keys are per Space, so tests never collide.
        self.recordings_bucket = f"recordings-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-{uuid.uuid4().hex[:6]}"
        self.s3.create_bucket(Bucket=self.recordings_bucket)


@pytest.fixture(scope="session")
def aws(moto_url):
    return AwsClients(moto_url)


@pytest.fixture
def deps(settings_env, aws):
    """Real adapters (DynamoDB Local, moto server, local media, real token minter), a recording
    telemetry, and queues / a schedule group of this test's own so no test sees another's."""
    from dataclasses import replace

    from chalicelib import bootstrap
    from chalicelib.adapters.dynamodb.reminders import (
        DynamoDeviceRepository,
        DynamoPushClaims,
        DynamoReminderRepository,
    )
    from chalicelib.adapters.dynamodb.analytics import DynamoAnalytics
    from chalicelib.adapters.dynamodb.appeals import DynamoAppeals
    from chalicelib.adapters.dynamodb.moderation import DynamoModerationLog
    from chalicelib.adapters.dynamodb.reports import DynamoReports
    from chalicelib.adapters.dynamodb.recording import DynamoRecordingRepository
    from chalicelib.adapters.dynamodb.subscriptions import DynamoSubscriptionRepository
    from chalicelib.adapters.dynamodb.tickets import DynamoTicketRepository
    from chalicelib.adapters.dynamodb.room_events import DynamoReactionLimits, DynamoRoomEvents
    from chalicelib.adapters.local_media import LocalMedia
    from chalicelib.adapters.audio_mix import PyAvMixer
    from chalicelib.adapters.s3_replays import S3Replays
    from chalicelib.adapters.scheduler import EventBridgeScheduler
    from chalicelib.adapters.transcribe import TranscribeJobs
    from tests.support.payments import FakePayments
    from chalicelib.adapters.sns_push import SnsPush
    from chalicelib.adapters.sqs import SqsQueue
    from chalicelib.config import queue_arn
    from chalicelib.services.context import Deps
    from scripts.local_aws import provision

    suffix = uuid.uuid4().hex[:8]
    settings = replace(
        settings_env,
        fanout_queue=f"fanout-{suffix}",
        push_queue=f"push-{suffix}",
        tickets_queue=f"tickets-{suffix}",
        schedule_group=f"spaces-{suffix}",
        recordings_bucket=aws.recordings_bucket,
    )
    provision(settings, sqs=aws.sqs, scheduler=aws.scheduler, sns=aws.sns)
    bootstrap.reset()
    replays = S3Replays(aws.s3, bucket=settings.recordings_bucket)
    built = Deps(
        settings=settings,
        users=_users_repo(),
        **_space_repos(settings),
        media=LocalMedia(region=settings.region, account_id=settings.account_id),
        tokens=bootstrap.token_minter(),
        telemetry=RecordingTelemetry(),
        reminders=DynamoReminderRepository(shards=settings.reminder_shards),
        devices=DynamoDeviceRepository(),
        push_claims=DynamoPushClaims(lease_seconds=settings.push_claim_lease_seconds),
        push=SnsPush(aws.sns, platform_apps={"ios": settings.sns_apns_arn, "android": settings.sns_fcm_arn}),
        scheduler=EventBridgeScheduler(
            aws.scheduler,
            group_name=settings.schedule_group,
            target_arn=queue_arn(settings, settings.fanout_queue),
            role_arn=settings.scheduler_role_arn,
            dead_letter_arn=settings.schedule_dlq_arn,
        ),
        fanout_queue=SqsQueue(aws.sqs, queue_name=settings.fanout_queue),
        push_queue=SqsQueue(aws.sqs, queue_name=settings.push_queue),
        sleep=lambda seconds: None,
        tickets=DynamoTicketRepository(),
        subscriptions=DynamoSubscriptionRepository(),
        tickets_queue=SqsQueue(aws.sqs, queue_name=settings.tickets_queue),
        payments=FakePayments(),
        room_events=DynamoRoomEvents(region=settings.region, account_id=settings.account_id),
        reactions=DynamoReactionLimits(interval_ms=settings.reaction_interval_ms),
        chat_limits=DynamoReactionLimits(interval_ms=settings.chat_message_interval_ms),
        recordings=DynamoRecordingRepository(),
        replays=replays,
        transcription=TranscribeJobs(aws.transcribe, bucket=settings.recordings_bucket),
        mixer=PyAvMixer(replays),
        room_announcements=[],
        dispatcher=bootstrap.publish_event,
        moderation_log=DynamoModerationLog(),
        appeals=DynamoAppeals(),
        reports=DynamoReports(),
        analytics=DynamoAnalytics(shards=settings.participant_count_shards),
    )
    bootstrap.override(deps=built)
    yield built
    bootstrap.reset()


def _users_repo():
    from chalicelib.adapters.dynamodb.users import DynamoUserRepository

    return DynamoUserRepository()


def _space_repos(settings):
    from chalicelib.adapters.dynamodb.spaces import space_repositories

    return space_repositories(count_shards=settings.participant_count_shards)


@pytest.fixture(scope="session")
def count_pump(dynamodb_local):
    """DynamoDB Local's participants stream -> the count fold, as the Lambda does in AWS."""
    from chalicelib.adapters.dynamodb.participants import DynamoParticipantRepository
    from chalicelib.adapters.dynamodb.streams import participants_pump

    return participants_pump(DynamoParticipantRepository().fold_count_records)


@pytest.fixture
def settle_counts(count_pump):
    """Call to fold every participant change written so far into the counters (in AWS the fold
    follows within about a second). A batch that fails (the fault suite injects DynamoDB errors
    into the fold too) is read again, as Lambda retries a stream batch."""

    def settle() -> int:
        for _ in range(29):
            try:
                return count_pump.drain()
            except Exception:  # noqa: BLE001 - read again, as Lambda retries the batch
                pass
        return count_pump.drain()

    return settle


class Api:
    """Calls the app as a mobile client would: JSON over HTTP with a bearer token. Before each
    GET the participant counts catch up with what earlier calls did (`settle`), as they do in
    AWS within about a second."""

    def __init__(self, client, keys, settle=None, contract=True):
        self._client = client
        self._keys = keys
        self._settle = settle or (lambda: None)
        # Every response is held to openapi.yaml (tests/support/openapi_responses.py); a test
        # that must see an undocumented answer says so with `Api(..., contract=False)`.
        self._contract = contract

    def token(self, user_id: str, **overrides) -> str:
        from scripts.keys import mint_local_jwt

        return mint_local_jwt(user_id, self._keys["paths"]["jwt_private"], self._keys["kid"], **overrides)

    def call(self, method: str, path: str, user: str | None = None, body=None, headers=None):
        import json

        from tests.support.openapi_responses import check_response

        if method == "GET":  # what shows counts
            self._settle()

        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if user is not None:
            all_headers["Authorization"] = f"Bearer {self.token(user)}"
        payload = body if isinstance(body, (str, bytes)) or body is None else json.dumps(body)
        response = self._client.http.request(method, path, headers=all_headers, body=payload or b"")
        is_json = response.headers.get("Content-Type", "application/json").startswith("application/json")
        response.data = json.loads(response.body) if response.body and is_json else None
        if self._contract:
            check_response(method, path, response.status_code, response.headers, response.body, all_headers)
        return response

    def get(self, path, user=None, **kw):
        return self.call("GET", path, user, **kw)

    def post(self, path, user=None, body=None, **kw):
        return self.call("POST", path, user, body, **kw)

    def patch(self, path, user=None, body=None, **kw):
        return self.call("PATCH", path, user, body, **kw)

    def delete(self, path, user=None, **kw):
        return self.call("DELETE", path, user, **kw)


@pytest.fixture
def api(deps, keys, settle_counts):
    from chalice.test import Client

    from app import app

    with Client(app) as client:
        yield Api(client, keys, settle=settle_counts)


@pytest.fixture
def new_user():
    """A fresh user id per call, so tests sharing one DynamoDB Local never collide."""

    def make(name: str = "user", followers: int = 0) -> str:
        user_id = f"{name}-{uuid.uuid4().hex[:10]}"
        if followers:
            from chalicelib.adapters.dynamodb.users import DynamoUserRepository

            DynamoUserRepository().set_follower_count(user_id, followers)
        return user_id

    return make


@pytest.fixture
def host(new_user, dynamodb_local):
    return new_user("host", followers=1200)
