"""Typed settings, read once from the environment.

Every stage's values live in `.chalice/config.json` (environment_variables per stage); this module
is the only place that reads them. Product thresholds are settings so operators can tune them
without a code change.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache


# Powertools' service name. Not "spaces": Chalice already owns the logger named after the app.
SERVICE_NAME = "spaces-api"


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    return raw.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True, eq=False)  # ~140 fields: no generated __eq__ (nothing compares settings)
class Settings:
    stage: str = "local"
    region: str = "us-east-1"
    table_prefix: str = "spaces-local"

    # Product rules (FACTS.md). The eligibility function reads these; nothing else hard-codes them.
    host_min_followers: int = 600
    ticketed_host_min_followers: int = 1000
    ticketed_host_min_spaces_30d: int = 3
    max_cohosts: int = 2
    # IVS allows 12 publishers per stage: host + co-hosts + speakers must fit in it.
    max_on_stage: int = 12
    max_scheduled_per_host: int = 10
    max_schedule_ahead_days: int = 30
    max_topics: int = 3
    max_title_length: int = 140
    # Ticketed Spaces (X: 1-999 USD). A hold keeps a seat while the buyer pays.
    ticket_min_price_cents: int = 100
    ticket_max_price_cents: int = 99_900
    ticket_currencies: tuple = ("USD",)
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
    local_demo_users: tuple[str, ...] = ()

    # Media (IVS real-time). "local" uses the in-process media adapter; "ivs" the real service.
    media_backend: str = "local"
    ivs_private_key_path: str = ""
    ivs_private_key_secret_arn: str = ""
    ivs_public_key_arn: str = "arn:aws:ivs:us-east-1:123456789012:public-key/local"
    media_token_ttl_seconds: int = 3600
    # How long a container may reuse a live Space's media details on the join path.
    media_cache_seconds: int = 10
    participant_count_shards: int = 10
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
    # A recording IVS has not finished writing this long after the end is given up (failed).
    replay_landing_deadline_seconds: int = 6 * 3600
    # A recording IVS stopped on its own while the Space was live is started again (a new
    # segment) at most `recording_max_restarts` times per Space. Once the Space ended, the replay
    # waits for every segment; `replay_segment_wait_seconds` after the stop it is remuxed from the
    # segments that landed (with none landed it waits until the landing deadline, then fails).
    recording_max_restarts: int = 20
    replay_segment_wait_seconds: int = 1800
    # Made once per deployment by infra/ (AWS::IVS::StorageConfiguration / EncoderConfiguration).
    ivs_storage_configuration_arn: str = ""
    ivs_encoder_configuration_arn: str = ""
    # The language Amazon Transcribe assumes for replays nobody captioned live.
    transcribe_language: str = "en-US"
    # The HLS recording is remuxed into one audio file by MediaConvert, which reads and writes the
    # bucket with this role (made by infra/); without it an AWS stage refuses to record. A failed
    # remux is started again up to `replay_remux_attempts` jobs in all, and a job still running
    # `replay_remux_timeout_seconds` after its start counts as failed.
    mediaconvert_role_arn: str = ""
    replay_remux_attempts: int = 3
    replay_remux_timeout_seconds: int = 3 * 3600

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
    stage_quota: int = 100
    stage_quota_headroom: int = 5

    tracing_enabled: bool = False
    account_id: str = "123456789012"

    @property
    def room_events_over_ivs_chat(self) -> bool:
        """Room events go to IVS Chat rooms (AWS stages, or a local stage pointed at an IVS Chat
        emulator by `chat_endpoint_url`); otherwise to the local event log."""
        return self.media_backend == "ivs" or bool(self.chat_endpoint_url)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    env = os.environ
    return Settings(
        stage=env.get("SPACES_STAGE", "local"),
        region=env.get("AWS_DEFAULT_REGION", env.get("AWS_REGION", "us-east-1")),
        table_prefix=env.get("SPACES_TABLE_PREFIX", "spaces-local"),
        host_min_followers=_int("SPACES_HOST_MIN_FOLLOWERS", 600),
        ticketed_host_min_followers=_int("SPACES_TICKETED_HOST_MIN_FOLLOWERS", 1000),
        ticketed_host_min_spaces_30d=_int("SPACES_TICKETED_HOST_MIN_SPACES_30D", 3),
        max_cohosts=_int("SPACES_MAX_COHOSTS", 2),
        max_on_stage=_int("SPACES_MAX_ON_STAGE", 12),
        max_scheduled_per_host=_int("SPACES_MAX_SCHEDULED_PER_HOST", 10),
        max_schedule_ahead_days=_int("SPACES_MAX_SCHEDULE_AHEAD_DAYS", 30),
        ticket_min_price_cents=_int("SPACES_TICKET_MIN_PRICE_CENTS", 100),
        ticket_max_price_cents=_int("SPACES_TICKET_MAX_PRICE_CENTS", 99_900),
        ticket_currencies=tuple(
            c.strip().upper() for c in env.get("SPACES_TICKET_CURRENCIES", "USD").split(",") if c.strip()
        ),
        ticket_max_capacity=_int("SPACES_TICKET_MAX_CAPACITY", 10_000),
        ticket_hold_seconds=_int("SPACES_TICKET_HOLD_SECONDS", 600),
        tickets_queue=env.get("SPACES_TICKETS_QUEUE", Settings.tickets_queue),
        jwt_issuer=env.get("SPACES_JWT_ISSUER", "spaces-local"),
        jwt_audience=env.get("SPACES_JWT_AUDIENCE", "spaces-app"),
        jwks_path=env.get("SPACES_JWKS_PATH", ""),
        jwks_url=env.get("SPACES_JWKS_URL", ""),
        local_signin_key_path=env.get("SPACES_LOCAL_SIGNIN_KEY_PATH", ""),
        local_demo_users=tuple(u.strip() for u in env.get("SPACES_LOCAL_DEMO_USERS", "").split(",") if u.strip()),
        media_backend=env.get("SPACES_MEDIA_BACKEND", "local"),
        ivs_private_key_path=env.get("SPACES_IVS_PRIVATE_KEY_PATH", ""),
        ivs_private_key_secret_arn=env.get("SPACES_IVS_PRIVATE_KEY_SECRET_ARN", ""),
        ivs_public_key_arn=env.get(
            "SPACES_IVS_PUBLIC_KEY_ARN", "arn:aws:ivs:us-east-1:123456789012:public-key/local"
        ),
        media_token_ttl_seconds=_int("SPACES_MEDIA_TOKEN_TTL_SECONDS", 3600),
        media_cache_seconds=_int("SPACES_MEDIA_CACHE_SECONDS", 10),
        participant_count_shards=_int("SPACES_PARTICIPANT_COUNT_SHARDS", 10),
        presence_timeout_seconds=_int("SPACES_PRESENCE_TIMEOUT_SECONDS", 300),
        stage_subscriber_capacity=_int("SPACES_STAGE_SUBSCRIBER_CAPACITY", 10_000),
        overflow_headroom_percent=_int("SPACES_OVERFLOW_HEADROOM_PERCENT", 90),
        overflow_encoder_configuration_arn=env.get("SPACES_OVERFLOW_ENCODER_CONFIGURATION_ARN", ""),
        overflow_claim_lease_seconds=_int("SPACES_OVERFLOW_CLAIM_LEASE_SECONDS", 300),
        chat_session_minutes=_int("SPACES_CHAT_SESSION_MINUTES", 60),
        room_max_message_rate=_int("SPACES_ROOM_MAX_MESSAGE_RATE", 100),
        room_max_message_length=_int("SPACES_ROOM_MAX_MESSAGE_LENGTH", 500),
        chat_review_handler_arn=env.get("SPACES_CHAT_REVIEW_HANDLER_ARN", ""),
        chat_logging_configuration_arn=env.get("SPACES_CHAT_LOGGING_CONFIGURATION_ARN", ""),
        chat_endpoint_url=env.get("SPACES_CHAT_ENDPOINT_URL", ""),
        room_event_ttl_seconds=_int("SPACES_ROOM_EVENT_TTL_SECONDS", 86400),
        events_poll_interval_ms=_int("SPACES_EVENTS_POLL_INTERVAL_MS", 250),
        reaction_interval_ms=_int("SPACES_REACTION_INTERVAL_MS", 1000),
        chat_message_interval_ms=_int("SPACES_CHAT_MESSAGE_INTERVAL_MS", 1000),
        reminder_shards=_int("SPACES_REMINDER_SHARDS", 10),
        host_heads_up_minutes=_int("SPACES_HOST_HEADS_UP_MINUTES", 30),
        schedule_group=env.get("SPACES_SCHEDULE_GROUP", Settings.schedule_group),
        scheduler_role_arn=env.get("SPACES_SCHEDULER_ROLE_ARN", Settings.scheduler_role_arn),
        schedule_dlq_arn=env.get("SPACES_SCHEDULE_DLQ_ARN", Settings.schedule_dlq_arn),
        fanout_queue=env.get("SPACES_FANOUT_QUEUE", Settings.fanout_queue),
        push_queue=env.get("SPACES_PUSH_QUEUE", Settings.push_queue),
        sns_apns_arn=env.get("SPACES_SNS_APNS_ARN", Settings.sns_apns_arn),
        sns_fcm_arn=env.get("SPACES_SNS_FCM_ARN", Settings.sns_fcm_arn),
        push_batch_size=_int("SPACES_PUSH_BATCH_SIZE", 100),
        push_claim_lease_seconds=_int("SPACES_PUSH_CLAIM_LEASE_SECONDS", 300),
        push_publish_attempts=_int("SPACES_PUSH_PUBLISH_ATTEMPTS", 4),
        max_devices_per_user=_int("SPACES_MAX_DEVICES_PER_USER", 20),
        payments_provider=env.get("SPACES_PAYMENTS_PROVIDER", Settings.payments_provider),
        payments_webhook_secret=env.get("SPACES_PAYMENTS_WEBHOOK_SECRET", Settings.payments_webhook_secret),
        payments_webhook_secret_arn=env.get("SPACES_PAYMENTS_WEBHOOK_SECRET_ARN", ""),
        stripe_api_key_secret_arn=env.get("SPACES_STRIPE_API_KEY_SECRET_ARN", ""),
        stripe_api_key=env.get("SPACES_STRIPE_API_KEY", ""),
        payments_outbox_queue=env.get("SPACES_PAYMENTS_OUTBOX_QUEUE", Settings.payments_outbox_queue),
        local_api_url=env.get("SPACES_LOCAL_API_URL", Settings.local_api_url),
        recordings_bucket=env.get("SPACES_RECORDINGS_BUCKET", Settings.recordings_bucket),
        replay_retention_days=_int("SPACES_REPLAY_RETENTION_DAYS", 30),
        replay_url_seconds=_int("SPACES_REPLAY_URL_SECONDS", 300),
        replay_landing_deadline_seconds=_int("SPACES_REPLAY_LANDING_DEADLINE_SECONDS", 6 * 3600),
        recording_max_restarts=_int("SPACES_RECORDING_MAX_RESTARTS", 20),
        replay_segment_wait_seconds=_int("SPACES_REPLAY_SEGMENT_WAIT_SECONDS", 1800),
        ivs_storage_configuration_arn=env.get("SPACES_IVS_STORAGE_CONFIGURATION_ARN", ""),
        ivs_encoder_configuration_arn=env.get("SPACES_IVS_ENCODER_CONFIGURATION_ARN", ""),
        transcribe_language=env.get("SPACES_TRANSCRIBE_LANGUAGE", "en-US"),
        mediaconvert_role_arn=env.get("SPACES_MEDIACONVERT_ROLE_ARN", ""),
        replay_remux_attempts=_int("SPACES_REPLAY_REMUX_ATTEMPTS", 3),
        replay_remux_timeout_seconds=_int("SPACES_REPLAY_REMUX_TIMEOUT_SECONDS", 3 * 3600),
        ivs_control_rate=_int("SPACES_IVS_CONTROL_RATE", 4),
        ivs_control_burst=_int("SPACES_IVS_CONTROL_BURST", 2),
        ivs_request_max_wait_seconds=_int("SPACES_IVS_REQUEST_MAX_WAIT_SECONDS", 2),
        media_queue_drain_seconds=_int("SPACES_MEDIA_QUEUE_DRAIN_SECONDS", 50),
        stage_pool_enabled=_bool("SPACES_STAGE_POOL_ENABLED", True),
        stage_pool_lookahead_minutes=_int("SPACES_STAGE_POOL_LOOKAHEAD_MINUTES", 15),
        stage_pool_lead_minutes=_int("SPACES_STAGE_POOL_LEAD_MINUTES", 2),
        stage_pool_min_size=_int("SPACES_STAGE_POOL_MIN_SIZE", 2),
        stage_quota=_int("SPACES_STAGE_QUOTA", 100),
        stage_quota_headroom=_int("SPACES_STAGE_QUOTA_HEADROOM", 5),
        tracing_enabled=_bool("SPACES_TRACING_ENABLED", False),
        account_id=env.get("SPACES_ACCOUNT_ID", "123456789012"),
    )


def queue_arn(settings: Settings, queue_name: str) -> str:
    return f"arn:aws:sqs:{settings.region}:{settings.account_id}:{queue_name}"
