"""Typed settings, read once from the environment.

Every stage's values live in `.chalice/config.json` (environment_variables per stage); this module
is the only place that reads them. Product thresholds are settings so operators can tune them
without a code change.

Each setting is declared once, as a field of `Settings` with its default. `get_settings` derives
the reading from the declaration: field `max_cohosts` is read from `SPACES_MAX_COHOSTS`, parsed by
its annotation (`int`, `bool`, `str`), unless the field's metadata names other variables (`env`),
none at all (`env=None`: a fixed rule, not a setting), or its own parser (`parse`). A new field
needs no second line anywhere.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from functools import lru_cache
from typing import Any, Callable, Mapping


# Powertools' service name. Not "spaces": Chalice already owns the logger named after the app.
SERVICE_NAME = "spaces-api"


def _truthy(raw: str) -> bool:
    return raw.strip().lower() in ("1", "true", "yes", "on")


def _csv(raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _csv_upper(raw: str) -> tuple[str, ...]:
    return tuple(item.upper() for item in _csv(raw))


def setting(default: Any, *, env: Any = "", parse: Callable[[str], Any] | None = None) -> Any:
    """A field whose reading differs from the convention: `env` the variables to read, first set
    wins (None: not read from the environment); `parse` turns the raw string into the value."""
    metadata: dict[str, Any] = {}
    if env != "":
        metadata["env"] = (env,) if isinstance(env, str) else env
    if parse is not None:
        metadata["parse"] = parse
    return field(default=default, metadata=metadata)


# How a raw value becomes the field's type, by annotation. An empty int or bool variable means
# "unset" (the default); an empty str variable is the empty string, and an empty list is empty.
_PARSERS: dict[str, Callable[[str], Any]] = {"int": int, "bool": _truthy, "str": str}
_EMPTY_IS_UNSET = {"int", "bool"}


# ~100 fields: no generated __eq__ or __repr__ (nothing compares or prints the settings, and each
# generated method is compiled when the module loads).
@dataclass(frozen=True, eq=False, repr=False)
class Settings:
    """Every setting of the app, with its default; `read_settings` fills it from the environment."""

    stage: str = "local"
    region: str = setting("us-east-1", env=("AWS_DEFAULT_REGION", "AWS_REGION"))
    table_prefix: str = "spaces-local"

    # Product rules (docs/limits.md). The eligibility function reads these; nothing else hard-codes them.
    host_min_followers: int = 600
    ticketed_host_min_followers: int = 1000
    ticketed_host_min_spaces_30d: int = 3
    max_cohosts: int = 2
    # IVS allows 12 publishers per stage: host + co-hosts + speakers must fit in it.
    max_on_stage: int = 12
    max_scheduled_per_host: int = 10
    max_schedule_ahead_days: int = 30
    # Not read from the environment (they never were): fixed rules of the product.
    max_topics: int = setting(3, env=None)
    max_title_length: int = setting(140, env=None)
    # Ticketed Spaces (X: 1-999 USD). A hold keeps a seat while the buyer pays.
    ticket_min_price_cents: int = 100
    ticket_max_price_cents: int = 99_900
    ticket_currencies: tuple[str, ...] = setting(("USD",), parse=_csv_upper)
    ticket_max_capacity: int = 10_000
    ticket_hold_seconds: int = 600
    tickets_queue: str = "spaces-local-tickets"

    # Auth: JWTs verified against a JWKS (a file locally, the Cognito pool's URL in AWS).
    jwt_issuer: str = "spaces-local"
    jwt_audience: str = "spaces-app"
    jwks_path: str = ""
    jwks_url: str = ""
    # The local stage only: the private half of the JWKS key, with which `POST /local/sign-in`
    # signs tokens for the web client, and the demo users its sign-in page lists. Never set in an
    # AWS stage (there the web client signs in with Cognito's hosted UI).
    local_signin_key_path: str = ""
    local_demo_users: tuple[str, ...] = setting((), parse=_csv)
    # Where the web client is served (infra/ passes the CloudFront distribution's URL, ending in
    # "/"). The share page (GET /s/{id}) links to `<this>#/spaces/<id>`; empty (the local stage),
    # it links to the API's own `/web/index.html`.
    web_client_url: str = ""
    # The keys page cursors are signed with (JSON {"keys": [newest, ...]}, each a random string of
    # 16+ characters; in Secrets Manager a plain string is one key): a file locally
    # (scripts/keys.py), a Secrets Manager secret in AWS.
    cursor_keys_path: str = ""
    cursor_keys_secret_arn: str = ""

    # Media (IVS real-time). "local" uses the in-process media adapter; "ivs" the real service.
    media_backend: str = "local"
    ivs_private_key_path: str = ""
    ivs_private_key_secret_arn: str = ""
    ivs_public_key_arn: str = "arn:aws:ivs:us-east-1:123456789012:public-key/local"
    media_token_ttl_seconds: int = 3600
    # The local stage only: the local media server (mediaserver/, docs/media.md) and the shared
    # secret of its loopback control API. Empty: the in-memory media adapter carries no audio.
    media_server_url: str = ""
    media_control_secret: str = ""
    # How long a container may reuse a live Space's media details on the join path.
    media_cache_seconds: int = 10
    participant_count_shards: int = 10
    # The listener list of a Space whose host has `listener_shard_min_followers` followers or more
    # is spread over `listener_shards` index keys (docs/people.md): such a Space may be joined
    # faster than one index key takes writes (about 1,000 a second).
    listener_shards: int = 10
    listener_shard_min_followers: int = 10_000
    # A connected client refreshes its place (POST /join again) within this many seconds, or the
    # presence sweep (every minute) stops counting it.
    presence_timeout_seconds: int = 300
    # Overflow audiences (docs/overflow.md): IVS lets a stage serve 10,000 subscribers by default
    # (25,000 on request). When a live Space's count reaches `overflow_headroom_percent` of it,
    # the overflow job composes the stage into a channel and later listeners get its playback URL.
    stage_subscriber_capacity: int = 10_000
    overflow_headroom_percent: int = 90
    # The AWS::IVS::EncoderConfiguration the stack creates (its ARN); empty: overflow cannot start.
    overflow_encoder_configuration_arn: str = ""
    # A claim whose job run died is taken again after this long.
    overflow_claim_lease_seconds: int = 300

    # Room events (IVS Chat rooms when media_backend is "ivs"; the DynamoDB event log locally).
    # Chat sessions last this long (CreateChatToken allows 1..180 minutes), then the client asks
    # POST /spaces/{id}/events/token again.
    chat_session_minutes: int = 60
    # IVS Chat room limits: messages per second from ALL clients of a room together (1..100),
    # characters per message (1..500).
    room_max_message_rate: int = 100
    room_max_message_length: int = 500
    # Optional message review handler (a Lambda ARN) for per-user limits on client-sent messages.
    chat_review_handler_arn: str = ""
    # The IVS Chat logging configuration (an ARN) every new room is attached to, so its messages
    # and events are recorded (infra/ makes one per stage). Empty: rooms keep no chat log.
    chat_logging_configuration_arn: str = ""
    # The IVS Chat messaging (WebSocket) URL clients connect to, given to them as `url` next to
    # `region`. Empty: the SDK's own endpoint for the region (wss://edge.ivschat.<region>...).
    # Set on the local stage it makes room events go over IVS Chat there too, to an emulator
    # (tests/support/fake_ivs_chat.py) whose control-plane API boto3 reaches through
    # AWS_ENDPOINT_URL_IVSCHAT: the production adapter, only pointed elsewhere.
    chat_endpoint_url: str = ""
    # Local event log: events kept this long; GET /events polls the log this often while waiting.
    room_event_ttl_seconds: int = 86400
    events_poll_interval_ms: int = 250
    # Reactions through the API: at most one per user per Space in this many milliseconds.
    reaction_interval_ms: int = 1000
    # Messages a client sends straight to IVS Chat (the review handler): one per user per room
    # per this many milliseconds.
    chat_message_interval_ms: int = 1000

    # Reminders and pushes (EventBridge Scheduler -> SQS fan-out -> SQS push worker -> SNS).
    reminder_shards: int = 10
    host_heads_up_minutes: int = 30
    schedule_group: str = "spaces-local"
    scheduler_role_arn: str = "arn:aws:iam::123456789012:role/spaces-local-scheduler"
    schedule_dlq_arn: str = "arn:aws:sqs:us-east-1:123456789012:spaces-local-schedules-dlq"
    fanout_queue: str = "spaces-local-fanout"
    push_queue: str = "spaces-local-push"
    sns_apns_arn: str = "arn:aws:sns:us-east-1:123456789012:app/APNS/spaces-local-ios"
    sns_fcm_arn: str = "arn:aws:sns:us-east-1:123456789012:app/GCM/spaces-local-android"
    push_batch_size: int = 100
    push_claim_lease_seconds: int = 300
    push_publish_attempts: int = 4
    max_devices_per_user: int = 20

    # Payments for ticket sales (docs/payments.md). "sandbox": the provider of `make run` and tests
    # (no network; events go to the outbox queue, which the local worker delivers); "stripe" in
    # AWS stages. Stripe's API key and webhook signing secret come from Secrets Manager there;
    # SPACES_STRIPE_API_KEY (a test-mode key only) is for a developer trying Stripe locally.
    payments_provider: str = "sandbox"
    payments_webhook_secret: str = "whsec_spaces_local_sandbox_only"
    payments_webhook_secret_arn: str = ""
    stripe_api_key_secret_arn: str = ""
    stripe_api_key: str = ""
    payments_outbox_queue: str = "spaces-local-payments-outbox"
    # Where the local worker POSTs the sandbox's webhook events (`chalice local` of `make run`).
    local_api_url: str = "http://127.0.0.1:8000"
    # Recording and replays (docs/recording.md). Replays are served for `replay_retention_days`
    # after the Space ends (the bucket's lifecycle rule deletes them a day later); a replay URL is
    # valid `replay_url_seconds`.
    recordings_bucket: str = "spaces-local-recordings"
    replay_retention_days: int = 30
    replay_url_seconds: int = 300
    # Participant recordings none of which IVS has finished writing this long after the end are
    # given up (failed). Once one finished, the others are waited for `replay_segment_wait_seconds`
    # after the end; then the replay is mixed from those that finished.
    replay_landing_deadline_seconds: int = 6 * 3600
    replay_segment_wait_seconds: int = 1800
    # A mix claimed this long ago whose job never finished (its Lambda died) is claimed again.
    replay_mix_timeout_seconds: int = 900
    # A version's mix claimed this many times without landing (each run failed or died) fails the
    # replay instead of being claimed again every `replay_mix_timeout_seconds` for ever.
    replay_mix_max_attempts: int = 3
    # CreateStage `recordingReconnectWindowSeconds` (0-300): a publisher who reconnects within it
    # goes on in the same recording. 0: every connection is its own recording with its own start
    # time, so the mix places each at its true offset (how IVS lays out a merged recording's gap
    # is not documented).
    recording_reconnect_window_seconds: int = 0
    # Made once per deployment by infra/ (AWS::IVS::StorageConfiguration): where IVS writes.
    ivs_storage_configuration_arn: str = ""
    # The language Amazon Transcribe assumes for replays nobody captioned live.
    transcribe_language: str = "en-US"

    # The IVS control-plane limiter and the stage pool (docs/capacity.md). One token bucket for
    # the account's stage calls (IVS: 5 a second, not adjustable): 4 a second with a burst of 2
    # never lets more than 5 out in any second, and work that can wait keeps 1 token for requests.
    ivs_control_rate: int = 4
    ivs_control_burst: int = 2
    ivs_request_max_wait_seconds: int = 2
    media_queue_drain_seconds: int = 50
    stage_pool_enabled: bool = True
    stage_pool_lookahead_minutes: int = 15
    stage_pool_lead_minutes: int = 2
    stage_pool_min_size: int = 2
    # Extra ready stages, as a percentage of the scheduled starts ahead (unscheduled starts in a
    # peak minute).
    stage_pool_margin_percent: int = 10
    stage_quota: int = 100
    # IVS Chat rooms per account and region (adjustable; confirm the figure in Service Quotas),
    # the room pool's ceiling; CreateRoom/DeleteRoom get a bucket of their own at the same rate.
    room_quota: int = 50_000
    chat_control_rate: int = 4
    chat_control_burst: int = 2
    stage_quota_headroom: int = 5

    tracing_enabled: bool = False
    account_id: str = "123456789012"

    @property
    def room_events_over_ivs_chat(self) -> bool:
        """Room events go to IVS Chat rooms (AWS stages, or a local stage pointed at an IVS Chat
        emulator by `chat_endpoint_url`); otherwise to the local event log."""
        return self.media_backend == "ivs" or bool(self.chat_endpoint_url)


def env_names(f: Any) -> tuple[str, ...]:
    """The environment variables a field is read from (first set wins); () for fixed rules."""
    names = f.metadata.get("env", ("SPACES_" + f.name.upper(),))
    return () if names is None else names


def read_settings(env: Mapping[str, str]) -> Settings:
    """Settings from `env`: each field from its variables, else its declared default."""
    values: dict[str, Any] = {}
    for f in fields(Settings):
        raw = next((env[name] for name in env_names(f) if name in env), None)
        if raw is None or (raw == "" and str(f.type) in _EMPTY_IS_UNSET):
            continue
        parse = f.metadata.get("parse") or _PARSERS.get(str(f.type))
        if parse is None:
            raise TypeError(f"setting {f.name}: no parser for {f.type!r}; give it setting(parse=...)")
        values[f.name] = parse(raw)
    return Settings(**values)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return read_settings(os.environ)


def queue_arn(settings: Settings, queue_name: str) -> str:
    return f"arn:aws:sqs:{settings.region}:{settings.account_id}:{queue_name}"
