"""Stage settings: the one place that says how `dev` and `prod` differ.

Every name the stack creates is derived here from the stage, so the app (through the environment
variables passed in `stage_config`), the one-time commands (`infra.ivs_key`, the push secrets)
and the stack agree without copying a name anywhere. Nothing here is a secret or a CDK token.
"""
from __future__ import annotations

from dataclasses import dataclass, field

APP_NAME = "spaces"
# The API Gateway stage Chalice deploys the REST API under (`api_gateway_stage` in config.json).
API_GATEWAY_STAGE = "api"


@dataclass(frozen=True)
class StageSettings:
    name: str
    # prod: tables, user pool and schedules are protected from deletion and kept on stack delete.
    production: bool = False

    # Lambda sizing. The API runs the join path (ES384 signing, one DynamoDB round trip); memory
    # also buys CPU, and 128 MB makes Python's ~1.6 s import (bench: import_ms.app) far slower.
    api_memory_mb: int = 512
    api_timeout_s: int = 29  # API Gateway's integration timeout: a longer Lambda helps nobody
    worker_memory_mb: int = 256
    worker_timeout_s: int = 60
    # None: the account's unreserved pool. Set it to cap a stage (dev next to prod in one account).
    api_reserved_concurrency: int | None = None
    # Reserved concurrency of the queue and stream consumers (docs/operations.md, "Concurrency"):
    # each is capped, so a backlog of reminders, pushes or stream records can never take the
    # account's pool from the API, and each is guaranteed its share. An SQS consumer is given at
    # least 5 (Lambda starts polling a queue with five concurrent batches; fewer throttles them).
    consumer_reserved_concurrency: dict[str, int] = field(
        default_factory=lambda: {
            "reminder_fanout": 10,
            "push_worker": 10,
            "ticket_worker": 5,
            # One batch per shard at a time (count_fold_parallelization): a few shards.
            "fold_participant_counts": 4,
        }
    )

    # AWS WAF (docs/operations.md, "WAF"): requests per client IP in any 5-minute window before
    # WAF blocks that IP (it lifts the block once the rate falls). Generous, because many mobile
    # users share a carrier's NAT address; the join limit is the one a flood of joins meets.
    api_requests_per_ip_5min: int = 3000
    api_joins_per_ip_5min: int = 300
    web_requests_per_ip_5min: int = 3000
    # The web client's own domain (None: CloudFront's *.cloudfront.net name). With a domain, the
    # distribution serves an ACM certificate (us-east-1) with minimum TLS 1.2 (TLSv1.2_2021);
    # on its default *.cloudfront.net certificate CloudFront decides the protocols itself.
    web_domain: str | None = None
    web_certificate_arn: str | None = None

    log_retention_days: int = 30
    # The chat log (every message and event of every room, docs/room-events.md "The chat log"):
    # how long CloudWatch Logs keeps it. It is what moderators read after an abuse report, so it
    # must outlast the time a report takes to arrive and be handled; it is also people's words
    # tied to their user ids, so it is not kept longer than that (dev: 14 days, test traffic
    # only; prod: 180 days, see STAGES).
    chat_log_retention_days: int = 90
    # SQS: a message that failed this many deliveries goes to the queue's dead-letter queue.
    max_receive_count: int = 5
    dlq_retention_days: int = 14

    # The count fold: Lambda `fold_participant_counts` on the participants table's stream
    # (docs/operations.md, "The count fold"). A shard's batch waits at most the window, then goes
    # with up to batch_size records; a failing batch is halved and retried, and after
    # retry_attempts its description goes to the `count-fold-dlq` queue so the shard moves on.
    # One batch per shard at a time: every concurrent batch of a Space updates the same counter
    # shards, so more would mostly add transaction conflicts (raise it if IteratorAge says the
    # fold falls behind while its duration, not its conflicts, is the cause).
    count_fold_batch_size: int = 1000
    count_fold_batching_window_s: int = 1
    count_fold_retry_attempts: int = 10
    count_fold_parallelization: int = 1
    # Alarm: counts lag joins by more than this (the mapping's IteratorAge) for five minutes.
    count_fold_max_lag_s: int = 60

    # Alarms. 5xx rate is API Gateway's 5XXError average (share of requests) over one minute.
    api_5xx_rate: float = 0.05
    api_5xx_periods: int = 3
    lambda_errors_per_5_min: int = 1
    alarm_email: str | None = None

    # Push: the APNs platform of the iOS app (APNS_SANDBOX for development builds).
    apns_platform: str = "APNS_SANDBOX"
    # Bump after changing a push credential secret: the custom resource re-reads it.
    push_credentials_revision: int = 1
    # Bump to rotate the IVS participant-token key (docs/operations.md, "Rotating the IVS key").
    ivs_key_version: int = 1

    # The web client's Cognito hosted UI domain prefix: unique among ALL accounts in the region,
    # so a deployment may have to pick its own (None: `<prefix>-web`, e.g. spaces-dev-web).
    hosted_ui_domain_prefix: str | None = None
    # Replays (docs/recording.md): served this many days after a Space ends (the app's
    # SPACES_REPLAY_RETENTION_DAYS); the recordings bucket's lifecycle rule deletes objects one
    # day after that, counted from their creation (a Space lasts at most a day).
    replay_retention_days: int = 30
    # Versions of recordings overwritten or deleted are kept this many days (docs/recording.md).
    noncurrent_recordings_days: int = 7
    # The overflow compositions' video (IVS compositions always encode video; an audio Space's is
    # a grid of tiles): the smallest sensible size, to keep the encoding in IVS's SD tier.
    recording_video: tuple[int, int, int, int] = (640, 360, 15, 500_000)  # width, height, fps, bps

    # Product settings (chalicelib/config.py) a stage overrides, as SPACES_* variables.
    app_overrides: dict[str, str] = field(default_factory=dict)

    # ------------------------------------------------------------------ derived names

    @property
    def prefix(self) -> str:
        """`spaces-<stage>`: the table prefix, and the stem of every other name."""
        return f"{APP_NAME}-{self.name}"

    @property
    def hosted_ui_domain(self) -> str:
        return self.hosted_ui_domain_prefix or f"{self.prefix}-web"

    @property
    def stack_name(self) -> str:
        return self.prefix

    @property
    def edge_stack_name(self) -> str:
        """The stage's us-east-1 stack: the web distribution's WAF web ACL (CLOUDFRONT scope)."""
        return f"{self.prefix}-edge"

    @property
    def api_access_log_group(self) -> str:
        return f"/aws/apigateway/{self.prefix}/access"

    @property
    def fanout_queue(self) -> str:
        return f"{self.prefix}-fanout"

    @property
    def push_queue(self) -> str:
        return f"{self.prefix}-push"

    @property
    def tickets_queue(self) -> str:
        return f"{self.prefix}-tickets"

    @property
    def count_fold_dlq(self) -> str:
        return f"{self.prefix}-count-fold-dlq"

    @property
    def chat_log_group(self) -> str:
        """CloudWatch Logs: where IVS Chat writes the chat log of every room of this stage."""
        return f"/{APP_NAME}/{self.name}/chat-messages"

    @property
    def chat_logging_configuration(self) -> str:
        return f"{self.prefix}-chat-messages"

    @property
    def stripe_secret(self) -> str:
        """Secrets Manager: the Stripe secret API key and webhook signing secret of this stage,
        JSON `{"api_key": "sk_...", "webhook_secret": "whsec_..."}`, made once by the operator
        (docs/operations.md). The app reads it at run time; it never passes through the template."""
        return f"{self.prefix}/payments/stripe"

    @property
    def cursor_keys_secret(self) -> str:
        """Secrets Manager: the keys list cursors are signed with. The stack creates it with a
        generated string (one key); an operator rotating writes `{"keys": [new, old]}`
        (docs/operations.md, "Rotating the cursor keys")."""
        return f"{self.prefix}/cursor-keys"

    @property
    def schedule_group(self) -> str:
        return self.prefix

    @property
    def schedules_dlq(self) -> str:
        return f"{self.prefix}-schedules-dlq"

    @property
    def recordings_lifecycle_days(self) -> int:
        return self.replay_retention_days + 1

    @property
    def ivs_private_key_secret(self) -> str:
        # No "-XXXXXX" ending: Secrets Manager would read six characters after a hyphen as the
        # random suffix of a full ARN, and the app is given the partial ARN of this name.
        return f"{self.prefix}/ivs-private-key-v{self.ivs_key_version}"

    @property
    def ivs_public_key_parameter(self) -> str:
        return f"/{self.prefix}/ivs-public-key-v{self.ivs_key_version}"

    @property
    def apns_secret(self) -> str:
        return f"{self.prefix}/push/apns"

    @property
    def fcm_secret(self) -> str:
        return f"{self.prefix}/push/fcm"

    @property
    def ios_app_name(self) -> str:
        return f"{self.prefix}-ios"

    @property
    def android_app_name(self) -> str:
        return f"{self.prefix}-android"

    def function_name(self, chalice_name: str) -> str:
        return f"{self.prefix}-{chalice_name}"


STAGES: dict[str, StageSettings] = {
    "dev": StageSettings(name="dev", log_retention_days=14, chat_log_retention_days=14, lambda_errors_per_5_min=5),
    # Chat log 180 days: abuse reports and appeals about a Space can come weeks or months after it
    # ended, and a moderator needs the words to decide; past half a year the log is mostly
    # personal data with no use, and the reports that matter have been handled.
    "prod": StageSettings(
        name="prod", production=True, log_retention_days=90, chat_log_retention_days=180, apns_platform="APNS"
    ),
}


def stage(name: str) -> StageSettings:
    try:
        return STAGES[name]
    except KeyError:
        raise SystemExit(f"unknown stage {name!r}: one of {', '.join(STAGES)}") from None
