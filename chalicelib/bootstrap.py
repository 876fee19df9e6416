"""The one place that builds adapters and wires them into services.

Everything is built lazily, on first use, once per container (Lambda reuses the module between
invocations), never at import time of a route module and never per request. Tests replace the
wiring with `override()`.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Callable, TypeVar, cast

from chalicelib.config import SERVICE_NAME, Settings, get_settings

if TYPE_CHECKING:  # annotations only: the app's cold start imports no port it does not use
    from chalicelib.services.context import Deps

T = TypeVar("T")

_lock = threading.RLock()
_built: dict = {}
_NONE = object()  # "built, and there is nothing": _once treats None as not built yet


def _once(name: str, factory: Callable[[], T]) -> T:
    value = _built.get(name)
    if value is None:
        with _lock:
            value = _built.get(name)
            if value is None:
                value = factory()
                _built[name] = value
    return value


def settings() -> Settings:
    return get_settings()


def logger():
    def build():
        from aws_lambda_powertools import Logger

        return Logger(service=SERVICE_NAME)

    return _once("logger", build)


def metrics():
    def build():
        from aws_lambda_powertools import Metrics

        return Metrics(namespace="Spaces", service=SERVICE_NAME)

    return _once("metrics", build)


def tracer():
    def build():
        from aws_lambda_powertools import Tracer

        return Tracer(service=SERVICE_NAME, disabled=not settings().tracing_enabled)

    return _once("tracer", build)


def flush_metrics() -> None:
    telemetry = deps().telemetry if "deps" in _built else None
    flush = getattr(telemetry, "flush", None)
    if flush is not None:
        flush()


def verifier():
    def build():
        from chalicelib.adapters.jwt_auth import JwtVerifier

        s = settings()
        return JwtVerifier(
            issuer=s.jwt_issuer, audience=s.jwt_audience, jwks_path=s.jwks_path, jwks_url=s.jwks_url
        )

    return _once("verifier", build)


def local_token_issuer():
    """The local stage's token issuer, or None where no local signing key is configured (every
    AWS stage): then `POST /local/sign-in` answers 404 even if it were registered."""

    def build():
        s = settings()
        if not s.local_signin_key_path or not s.jwks_path:
            return _NONE
        from chalicelib.adapters.local_auth import LocalTokenIssuer

        return LocalTokenIssuer(
            s.local_signin_key_path, s.jwks_path, issuer=s.jwt_issuer, audience=s.jwt_audience
        )

    issuer = _once("local_token_issuer", build)
    return None if issuer is _NONE else issuer


def static_files():
    def build():
        from chalicelib.adapters.web_assets import StaticFiles

        return StaticFiles()

    return _once("static_files", build)


def _boto3_client(service: str, **kwargs):
    import boto3

    return boto3.session.Session().client(service, region_name=settings().region, **kwargs)


def _secrets_client():
    return _once("secretsmanager_client", lambda: _boto3_client("secretsmanager"))


def _ivs_private_key(s: Settings) -> bytes:
    if s.ivs_private_key_path:
        with open(s.ivs_private_key_path, "rb") as fh:
            return fh.read()
    if s.ivs_private_key_secret_arn:
        secret = _secrets_client().get_secret_value(SecretId=s.ivs_private_key_secret_arn)
        return secret["SecretString"].encode()
    raise RuntimeError("no IVS private key configured (SPACES_IVS_PRIVATE_KEY_PATH or _SECRET_ARN)")


def _ivs_client():
    return _once("ivs_realtime_client", lambda: _boto3_client("ivs-realtime"))


def ivs_bucket():
    """The account's one token bucket for IVS stage calls (docs/capacity.md)."""

    def build():
        from chalicelib.adapters.dynamodb.limiter import DynamoTokenBucket
        from chalicelib.adapters.dynamodb.models import share_one_connection

        s = settings()
        share_one_connection()
        return DynamoTokenBucket("ivs-stage-control", rate=s.ivs_control_rate, burst=s.ivs_control_burst)

    return _once("ivs_bucket", build)


def _media_adapter(reserve: float, max_wait: float):
    """The MediaPort over IVS whose stage calls take tokens with this priority; locally the one
    in-process adapter (no quota to keep)."""
    s = settings()
    if s.media_backend == "ivs":
        from chalicelib.adapters.ivs import IvsMedia
        from chalicelib.adapters.ivs_limiter import LimitedClient

        return IvsMedia(
            LimitedClient(_ivs_client(), ivs_bucket(), reserve=reserve, max_wait=max_wait),
            tags={"app": "spaces", "stage": s.stage},
            storage_configuration_arn=s.ivs_storage_configuration_arn,
            encoder_configuration_arn=s.ivs_encoder_configuration_arn,
            # Overflow channels: the low-latency API, built with the adapter (once per container).
            channels=_once("ivs_client", lambda: _boto3_client("ivs")),
            overflow_encoder_configuration_arn=s.overflow_encoder_configuration_arn,
        )

    def build_local():
        from chalicelib.adapters.local_media import LocalMedia

        # Locally a stopped recording leaves a placeholder in the local S3 (docs/recording.md).
        return LocalMedia(
            region=s.region,
            account_id=s.account_id,
            recordings_store=_Lazy(replays),
            media_server_url=s.media_server_url,
            control_secret=s.media_control_secret,
        )

    return _once("local_media", build_local)


def media_queue():
    def build():
        from chalicelib.adapters.dynamodb.media_queue import DynamoMediaQueue
        from chalicelib.adapters.dynamodb.models import share_one_connection

        share_one_connection()
        return DynamoMediaQueue()

    return _once("media_queue", build)


# How long a job's IVS call waits for a token before the job gives up until its next run: short,
# so a job (its budget checked between calls) always ends inside its Lambda timeout.
BACKGROUND_MAX_WAIT_SECONDS = 5


def background_media():
    """For the pool and queue jobs: waits a few seconds at most for a token, never takes the
    last one (requests go first)."""
    return _once("background_media", lambda: _media_adapter(reserve=1, max_wait=BACKGROUND_MAX_WAIT_SECONDS))


def media():
    """The requests' MediaPort: stage calls take any token, waiting a moment at most; deleting
    stages and disconnecting participants are queued and tried at once only with a spare token."""

    def build():
        from chalicelib.adapters.deferred_media import DeferredMedia

        s = settings()
        return DeferredMedia(
            _media_adapter(reserve=0, max_wait=s.ivs_request_max_wait_seconds),
            now=_media_adapter(reserve=1, max_wait=0),
            queue=media_queue(),
        )

    return _once("media", build)


def stage_pool():
    """The pool of ready stages (None where the setting turns it off)."""

    def build():
        if not settings().stage_pool_enabled:
            return _NONE
        from chalicelib.adapters.dynamodb.models import share_one_connection
        from chalicelib.adapters.dynamodb.stage_pool import DynamoStagePool

        share_one_connection()
        pool = DynamoStagePool()
        if settings().media_backend != "ivs":
            return _AdoptingPool(pool, _media_adapter(0, 0))
        return pool

    pool = _once("stage_pool", build)
    return None if pool is _NONE else pool


class _AdoptingPool:
    """Locally the pool's stages are made by the worker's in-process media adapter: the API's
    adapter learns a stage when a start claims it, so recording and sweeps know it."""

    def __init__(self, pool, local_media):
        self._pool = pool
        self._media = local_media

    def __getattr__(self, name):
        return getattr(self._pool, name)

    def claim(self, space_id: str):
        stage = self._pool.claim(space_id)
        if stage is not None:
            self._media.stages.setdefault(stage.arn, space_id)
            self._media.created_at.setdefault(stage.arn, int(self._media.clock()))
        return stage


def chat_bucket():
    """The account's token bucket for IVS Chat's CreateRoom/DeleteRoom (5 TPS each, not
    adjustable): the same sizing as the stage bucket (docs/capacity.md)."""

    def build():
        from chalicelib.adapters.dynamodb.limiter import DynamoTokenBucket
        from chalicelib.adapters.dynamodb.models import share_one_connection

        s = settings()
        share_one_connection()
        return DynamoTokenBucket("ivs-chat-rooms", rate=s.chat_control_rate, burst=s.chat_control_burst)

    return _once("chat_bucket", build)


def _chat_rooms(reserve: float, max_wait: float):
    """IVS Chat rooms whose room calls take tokens with this priority (as `_media_adapter`);
    rooms keep their logging configuration and review handler wherever they are created."""

    def build():
        from chalicelib.adapters.ivs_chat import IvsChatRooms
        from chalicelib.adapters.ivs_limiter import ROOM_CONTROL, LimitedClient

        s = settings()
        client = _once("ivschat_client", lambda: _boto3_client("ivschat"))
        return IvsChatRooms(
            LimitedClient(client, chat_bucket(), reserve=reserve, max_wait=max_wait, operations=ROOM_CONTROL),
            tags={"app": "spaces", "stage": s.stage},
            max_message_rate=s.room_max_message_rate,
            max_message_length=s.room_max_message_length,
            review_handler_arn=s.chat_review_handler_arn,
            logging_configuration_arn=s.chat_logging_configuration_arn,
        )

    return _once(f"chat_rooms_{reserve}_{max_wait}", build)


def background_room_events():
    """For the room pool job: IVS Chat rooms whose room calls never take the last token. None
    where room events are the local event log (no IVS Chat: nothing to pool)."""
    if not settings().room_events_over_ivs_chat:
        return None
    return _chat_rooms(reserve=1, max_wait=BACKGROUND_MAX_WAIT_SECONDS)


def room_pool():
    """The pool of ready IVS Chat rooms (None with the local event log or the pool turned off)."""

    def build():
        s = settings()
        if not (s.stage_pool_enabled and s.room_events_over_ivs_chat):
            return _NONE
        from chalicelib.adapters.dynamodb.models import share_one_connection
        from chalicelib.adapters.dynamodb.stage_pool import DynamoRoomPool

        share_one_connection()
        return DynamoRoomPool()

    pool = _once("room_pool", build)
    return None if pool is _NONE else pool


def room_events():
    """IVS Chat rooms when the media backend is IVS (or the local stage names an IVS Chat
    endpoint: the same adapter, its client reaching the emulator through the standard
    AWS_ENDPOINT_URL_IVSCHAT); the DynamoDB event log otherwise."""

    def build():
        s = settings()
        if s.room_events_over_ivs_chat:
            from chalicelib.adapters.ivs_chat import IvsChatRooms

            from chalicelib.adapters.deferred_media import DeferredRooms

            # Deleting a room can wait: queued like a stage delete, tried at once with a spare token.
            return DeferredRooms(
                _chat_rooms(reserve=0, max_wait=s.ivs_request_max_wait_seconds),
                now=_chat_rooms(reserve=1, max_wait=0),
                queue=media_queue(),
            )
        from chalicelib.adapters.dynamodb.models import share_one_connection
        from chalicelib.adapters.dynamodb.room_events import DynamoRoomEvents

        share_one_connection()
        return DynamoRoomEvents(region=s.region, account_id=s.account_id, ttl_seconds=s.room_event_ttl_seconds)

    return _once("room_events", build)


def token_minter():
    def build():
        from chalicelib.adapters.ivs_tokens import IvsTokenMinter

        s = settings()
        return IvsTokenMinter(_ivs_private_key(s), s.ivs_public_key_arn, s.media_token_ttl_seconds)

    return _once("token_minter", build)


def idempotency_store():
    """Powertools' DynamoDB persistence layer on the app's idempotency table, sharing the
    PynamoDB DynamoDB client (one client per container)."""

    def build():
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

        from chalicelib.adapters.dynamodb.models import IdempotencyModel, share_one_connection

        share_one_connection()
        return DynamoDBPersistenceLayer(
            table_name=IdempotencyModel.Meta.table_name,
            boto3_client=IdempotencyModel._get_connection().connection.client,
        )

    return _once("idempotency_store", build)


def push():
    def build():
        from chalicelib.adapters.sns_push import SnsPush

        s = settings()
        return SnsPush(_boto3_client("sns"), platform_apps={"ios": s.sns_apns_arn, "android": s.sns_fcm_arn})

    return _once("push", build)


def scheduler():
    def build():
        from chalicelib.adapters.scheduler import EventBridgeScheduler
        from chalicelib.config import queue_arn

        s = settings()
        return EventBridgeScheduler(
            _boto3_client("scheduler"),
            group_name=s.schedule_group,
            target_arn=queue_arn(s, s.fanout_queue),
            role_arn=s.scheduler_role_arn,
            dead_letter_arn=s.schedule_dlq_arn,
        )

    return _once("scheduler", build)


def queue(name: str):
    def build():
        from chalicelib.adapters.sqs import SqsQueue

        return SqsQueue(_once("sqs_client", lambda: _boto3_client("sqs")), queue_name=name)

    return _once(f"queue:{name}", build)


# The sandbox payment provider takes no money and trusts a signing secret written in this repo:
# it runs only where nothing is real.
SANDBOX_PAYMENT_STAGES = ("local", "test")
def replays():
    """The recordings bucket (S3, SigV4 so presigned URLs work in every region)."""

    def build():
        from botocore.config import Config

        from chalicelib.adapters.s3_replays import S3Replays

        client = _boto3_client("s3", config=Config(signature_version="s3v4"))
        return S3Replays(client, bucket=settings().recordings_bucket)

    return _once("replays", build)


def transcription():
    def build():
        from chalicelib.adapters.transcribe import TranscribeJobs

        return TranscribeJobs(_boto3_client("transcribe"), bucket=settings().recordings_bucket)

    return _once("transcription", build)


def remux():
    """MediaConvert where the media backend is IVS (regional endpoint: no DescribeEndpoints);
    locally a placeholder writer into the local S3."""

    def build():
        s = settings()
        if s.media_backend == "ivs":
            from chalicelib.adapters.mediaconvert import MediaConvertRemux

            return MediaConvertRemux(
                _boto3_client("mediaconvert"),
                bucket=s.recordings_bucket,
                role_arn=s.mediaconvert_role_arn,
                metadata={"app": "spaces", "stage": s.stage},
            )
        from chalicelib.adapters.local_remux import LocalRemux

        return LocalRemux(_Lazy(replays))

    return _once("remux", build)


def payments():
    """The PaymentsPort of this stage: Stripe (AWS stages) or the sandbox (`make run`, tests)."""

    def build():
        s = settings()
        if s.payments_provider == "stripe":
            from chalicelib.adapters.payments.stripe_provider import StripePayments

            return StripePayments(_stripe_api_key(s), _stripe_webhook_secret(s))
        if s.payments_provider == "sandbox":
            if s.stage not in SANDBOX_PAYMENT_STAGES:
                raise RuntimeError(
                    f"the sandbox payment provider is for {SANDBOX_PAYMENT_STAGES} only, not stage "
                    f"{s.stage!r}: set SPACES_PAYMENTS_PROVIDER=stripe"
                )
            from chalicelib.adapters.payments.sandbox import SandboxPayments

            return SandboxPayments(s.payments_webhook_secret, payments_outbox())
        raise RuntimeError(f"SPACES_PAYMENTS_PROVIDER is {s.payments_provider!r}: expected sandbox or stripe")

    return _once("payments", build)


def payments_outbox():
    """The queue the sandbox provider puts its signed webhook events on (the local worker
    delivers them to the app's webhook route)."""
    return queue(settings().payments_outbox_queue)


def _stripe_api_key(s: Settings) -> str:
    if s.stripe_api_key_secret_arn:
        return _secret_string(s.stripe_api_key_secret_arn, "api_key")
    if s.stripe_api_key:
        # A developer's own key, in the environment: test mode only, so no live key sits in a
        # shell profile or a Lambda's configuration.
        if not s.stripe_api_key.startswith(("sk_test_", "rk_test_")):
            raise RuntimeError("SPACES_STRIPE_API_KEY takes a test-mode key only; a live key goes in Secrets Manager")
        return s.stripe_api_key
    raise RuntimeError("no Stripe API key configured (SPACES_STRIPE_API_KEY_SECRET_ARN)")


def _stripe_webhook_secret(s: Settings) -> str:
    if s.payments_webhook_secret_arn:
        return _secret_string(s.payments_webhook_secret_arn, "webhook_secret")
    if s.payments_webhook_secret and s.payments_webhook_secret != Settings.payments_webhook_secret:
        return s.payments_webhook_secret  # a developer's `stripe listen` secret
    raise RuntimeError("no Stripe webhook signing secret configured (SPACES_PAYMENTS_WEBHOOK_SECRET_ARN)")


def _secret_string(arn: str, field: str, code: str = "payments_unavailable"):
    """A secret's string; for a JSON secret (infra's `{"api_key": ..., "webhook_secret": ...}`,
    docs/operations.md), its `field`."""
    import json

    from chalicelib.adapters.aws_errors import raise_unavailable

    try:
        value = _secrets_client().get_secret_value(SecretId=arn)["SecretString"]
    except Exception as exc:
        raise_unavailable("Secrets Manager", "GetSecretValue", exc, code=code)
    if value.lstrip().startswith("{"):
        return json.loads(value)[field]
    return value


def cursors():
    """The page cursor codec, with the stage's signing keys (newest first)."""

    def build():
        import json

        from chalicelib.adapters.cursors import CursorCodec

        s = settings()
        if s.cursor_keys_path:
            with open(s.cursor_keys_path, encoding="utf-8") as fh:
                keys = json.load(fh)["keys"]
        elif s.cursor_keys_secret_arn:
            # `{"keys": [newest, ...]}` while rotating, or a plain generated string: one key.
            keys = _secret_string(s.cursor_keys_secret_arn, "keys", code="secrets_unavailable")
        else:
            raise RuntimeError("no cursor signing keys configured (SPACES_CURSOR_KEYS_PATH or _SECRET_ARN)")
        return CursorCodec([k.encode() for k in ([keys] if isinstance(keys, str) else keys)])

    return _once("cursors", build)


def deps() -> Deps:
    def build() -> Deps:
        from chalicelib.adapters.dynamodb.reminders import (
            DynamoDeviceRepository,
            DynamoPushClaims,
            DynamoReminderRepository,
        )
        from chalicelib.adapters.dynamodb.models import share_one_connection
        from chalicelib.adapters.dynamodb.moderation import DynamoAppeals, DynamoModerationLog, DynamoReports
        from chalicelib.adapters.dynamodb.room_events import DynamoReactionLimits
        from chalicelib.adapters.dynamodb.recording import DynamoRecordingRepository
        from chalicelib.adapters.dynamodb.spaces import space_repositories
        from chalicelib.adapters.dynamodb.tickets import DynamoSubscriptionRepository, DynamoTicketRepository
        from chalicelib.adapters.dynamodb.users import DynamoUserRepository
        from chalicelib.adapters.telemetry import PowertoolsTelemetry
        from chalicelib.services.context import Deps

        s = settings()
        share_one_connection()
        # AWS clients other than DynamoDB are built on first use (lazy proxies), so a join never
        # pays for creating an SNS or Scheduler client it does not need.
        return Deps(
            settings=s,
            users=DynamoUserRepository(),
            **space_repositories(count_shards=s.participant_count_shards),
            media=_lazy(media),
            stage_pool=stage_pool(),
            media_queue=_lazy(media_queue),
            background_media=_lazy(background_media),
            room_pool=room_pool(),
            background_room_events=_lazy(background_room_events),
            tokens=_lazy(token_minter),
            telemetry=PowertoolsTelemetry(metrics()),
            reminders=DynamoReminderRepository(shards=s.reminder_shards),
            devices=DynamoDeviceRepository(),
            push_claims=DynamoPushClaims(lease_seconds=s.push_claim_lease_seconds),
            push=_lazy(push),
            scheduler=_lazy(scheduler),
            fanout_queue=_lazy(lambda: queue(s.fanout_queue)),
            push_queue=_lazy(lambda: queue(s.push_queue)),
            tickets=DynamoTicketRepository(),
            subscriptions=DynamoSubscriptionRepository(),
            tickets_queue=_lazy(lambda: queue(s.tickets_queue)),
            payments=_lazy(payments),
            room_events=_lazy(room_events),
            reactions=DynamoReactionLimits(interval_ms=s.reaction_interval_ms),
            chat_limits=DynamoReactionLimits(interval_ms=s.chat_message_interval_ms),
            recordings=DynamoRecordingRepository(),
            replays=_lazy(replays),
            transcription=_lazy(transcription),
            remux=_lazy(remux),
            dispatcher=publish_event,
            moderation_log=DynamoModerationLog(),
            appeals=DynamoAppeals(),
            reports=DynamoReports(),
        )

    return _once("deps", build)


def publish_event(deps: Deps, event: object) -> list[Exception]:
    """`Deps.dispatcher`: the dispatcher and the reactions it names are imported by the first
    event a Lambda publishes, not by every cold start (a join publishes nothing)."""
    from chalicelib.services import dispatch

    return dispatch.publish(deps, event)


def _lazy(factory: Callable[[], T]) -> T:
    """A stand-in for what `factory` builds, typed as it: built on first attribute access."""
    return cast(T, _Lazy(factory))


class _Lazy:
    """Builds the real adapter on first attribute access, then forwards to it."""

    def __init__(self, factory):
        self._factory = factory
        self._target = None

    def __getattr__(self, name):
        if self._target is None:
            self._target = self._factory()
        return getattr(self._target, name)


def override(**parts) -> None:
    """Tests: replace built parts (e.g. deps=Deps(...), verifier=...)."""
    with _lock:
        _built.update(parts)


def reset() -> None:
    with _lock:
        _built.clear()
