"""The one place that builds adapters and wires them into services.

Everything is built lazily, on first use, once per container (Lambda reuses the module between
invocations), never at import time of a route module and never per request. Tests replace the
wiring with `override()`.

This module is the container's core: the settings, the cache (`once`, `override`, `reset`, kept in
`chalicelib/container.py` so the wiring modules build into the same one without importing this
module back), the app's own parts (logging, auth, cursors, payments, the recordings bucket) and
`deps()`, which puts every part into the services' `Deps`. IVS, IVS Chat and the pools are wired in
`chalicelib/media_wiring.py`; their accessors are importable from here too (`bootstrap.media()`).
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Callable, TypeVar, cast

from chalicelib.config import SERVICE_NAME, Settings
# `override`, `reset`, `NONE` and the media accessors are imported for callers too: app code, jobs
# and tests reach the whole container as `bootstrap.<part>`.
from chalicelib.container import NONE, boto3_client, built, once, override, reset, secrets_client, settings
from chalicelib.media_wiring import (
    background_media,
    background_room_events,
    media,
    media_queue,
    room_events,
    room_pool,
    stage_pool,
    token_minter,
)

if TYPE_CHECKING:  # annotations only: the app's cold start imports no port it does not use
    from chalicelib.services.context import Deps

T = TypeVar("T")


def logger():
    def build():
        from aws_lambda_powertools import Logger

        return Logger(service=SERVICE_NAME)

    return once("logger", build)


def metrics():
    def build():
        from aws_lambda_powertools import Metrics

        return Metrics(namespace="Spaces", service=SERVICE_NAME)

    return once("metrics", build)


def tracer():
    def build():
        from aws_lambda_powertools import Tracer

        return Tracer(service=SERVICE_NAME, disabled=not settings().tracing_enabled)

    return once("tracer", build)


def flush_metrics() -> None:
    telemetry = deps().telemetry if built("deps") is not None else None
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

    return once("verifier", build)


def local_token_issuer():
    """The local stage's token issuer, or None where no local signing key is configured (every
    AWS stage): then `POST /local/sign-in` answers 404 even if it were registered."""

    def build():
        s = settings()
        if not s.local_signin_key_path or not s.jwks_path:
            return NONE
        from chalicelib.adapters.local_auth import LocalTokenIssuer

        return LocalTokenIssuer(
            s.local_signin_key_path, s.jwks_path, issuer=s.jwt_issuer, audience=s.jwt_audience
        )

    issuer = once("local_token_issuer", build)
    return None if issuer is NONE else issuer


def static_files():
    def build():
        from chalicelib.adapters.web_assets import StaticFiles

        return StaticFiles()

    return once("static_files", build)


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

    return once("idempotency_store", build)


def push():
    def build():
        from chalicelib.adapters.sns_push import SnsPush

        s = settings()
        return SnsPush(boto3_client("sns"), platform_apps={"ios": s.sns_apns_arn, "android": s.sns_fcm_arn})

    return once("push", build)


def scheduler():
    def build():
        from chalicelib.adapters.scheduler import EventBridgeScheduler
        from chalicelib.config import queue_arn

        s = settings()
        return EventBridgeScheduler(
            boto3_client("scheduler"),
            group_name=s.schedule_group,
            target_arn=queue_arn(s, s.fanout_queue),
            role_arn=s.scheduler_role_arn,
            dead_letter_arn=s.schedule_dlq_arn,
        )

    return once("scheduler", build)


def queue(name: str):
    def build():
        from chalicelib.adapters.sqs import SqsQueue

        return SqsQueue(once("sqs_client", lambda: boto3_client("sqs")), queue_name=name)

    return once(f"queue:{name}", build)


# The sandbox payment provider takes no money and trusts a signing secret written in this repo:
# it runs only where nothing is real.
SANDBOX_PAYMENT_STAGES = ("local", "test")


def replays():
    """The recordings bucket (S3, SigV4 so presigned URLs work in every region)."""

    def build():
        from botocore.config import Config

        from chalicelib.adapters.s3_replays import S3Replays

        client = boto3_client("s3", config=Config(signature_version="s3v4"))
        return S3Replays(client, bucket=settings().recordings_bucket)

    return once("replays", build)


def transcription():
    def build():
        from chalicelib.adapters.transcribe import TranscribeJobs

        return TranscribeJobs(boto3_client("transcribe"), bucket=settings().recordings_bucket)

    return once("transcription", build)


def mixer():
    """PyAV over the recordings bucket, the same in every stage (the landing job's process
    mixes; PyAV is imported only when it does)."""

    def build():
        from chalicelib.adapters.audio_mix import PyAvMixer

        return PyAvMixer(_Lazy(replays))

    return once("mixer", build)


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

    return once("payments", build)


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

    from chalicelib.adapters.aws_errors import aws_call

    secret = aws_call("Secrets Manager", "GetSecretValue", secrets_client().get_secret_value, code=code, SecretId=arn)
    value = (secret or {})["SecretString"]
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

    return once("cursors", build)


def deps() -> Deps:
    def build() -> Deps:
        from chalicelib.adapters.dynamodb.models import share_one_connection
        from chalicelib.adapters.dynamodb.room_events import DynamoReactionLimits
        from chalicelib.adapters.dynamodb.spaces import space_repositories
        from chalicelib.adapters.dynamodb.users import DynamoUserRepository
        from chalicelib.adapters.telemetry import PowertoolsTelemetry
        from chalicelib.services.context import Deps

        s = settings()
        share_one_connection()
        # AWS clients other than DynamoDB are built on first use (lazy proxies), so a join never
        # pays for creating an SNS or Scheduler client it does not need; so are the repositories
        # a join never calls (reminders, tickets, recordings, moderation: `_repository`), so a
        # cold start does not import their adapter modules.
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
            reminders=_repository("reminders", "DynamoReminderRepository", shards=s.reminder_shards),
            devices=_repository("reminders", "DynamoDeviceRepository"),
            push_claims=_repository("reminders", "DynamoPushClaims", lease_seconds=s.push_claim_lease_seconds),
            push=_lazy(push),
            scheduler=_lazy(scheduler),
            fanout_queue=_lazy(lambda: queue(s.fanout_queue)),
            push_queue=_lazy(lambda: queue(s.push_queue)),
            tickets=_repository("tickets", "DynamoTicketRepository"),
            subscriptions=_repository("subscriptions", "DynamoSubscriptionRepository"),
            tickets_queue=_lazy(lambda: queue(s.tickets_queue)),
            payments=_lazy(payments),
            room_events=_lazy(room_events),
            reactions=DynamoReactionLimits(interval_ms=s.reaction_interval_ms),
            chat_limits=DynamoReactionLimits(interval_ms=s.chat_message_interval_ms),
            recordings=_repository("recording", "DynamoRecordingRepository"),
            replays=_lazy(replays),
            transcription=_lazy(transcription),
            mixer=_lazy(mixer),
            dispatcher=publish_event,
            moderation_log=_repository("moderation", "DynamoModerationLog"),
            appeals=_repository("appeals", "DynamoAppeals"),
            reports=_repository("reports", "DynamoReports"),
            analytics=_repository("analytics", "DynamoAnalytics", shards=s.participant_count_shards),
        )

    return once("deps", build)


def publish_event(deps: Deps, event: object) -> list[Exception]:
    """`Deps.dispatcher`: the dispatcher and the reactions it names are imported by the first
    event a Lambda publishes, not by every cold start (a join publishes nothing)."""
    from chalicelib.services import dispatch

    return dispatch.publish(deps, event)


def _repository(module: str, name: str, **kwargs: Any) -> Any:
    """A lazy `chalicelib.adapters.dynamodb.<module>.<name>(**kwargs)`: the module is imported
    and the repository built by its first use."""

    def build() -> Any:
        return getattr(importlib.import_module(f"chalicelib.adapters.dynamodb.{module}"), name)(**kwargs)

    return _lazy(build)


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
