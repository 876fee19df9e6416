"""The one table of AWS quotas the capacity model (infra/capacity.py) reads.

Each quota says where its number comes from (`source`, an AWS documentation page) and whether the
figure was read on that page while this was written (`checked`), or taken from what the team knew
and not re-read here (confirm those in the Service Quotas console before leaning on them). Every
figure is a default for one account in one region; `adjustable` says whether AWS raises it on
request.

`kind` tells the model how to add use up:
- "rate": a number per second (TPS, requests, capacity units per second);
- "level": a number held at once (stages, connections, concurrent executions).
"""
from __future__ import annotations

from dataclasses import dataclass

IVS_RT = "https://docs.aws.amazon.com/ivs/latest/RealTimeUserGuide/service-quotas.html"
IVS_LL = "https://docs.aws.amazon.com/ivs/latest/LowLatencyUserGuide/service-quotas.html"
IVS_CHAT = "https://docs.aws.amazon.com/ivs/latest/ChatUserGuide/service-quotas.html"
DDB = "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html"
DDB_PARTITIONS = "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html"
LAMBDA = "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html"
LAMBDA_SCALING = "https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html"
APIGW = "https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html"
SNS = "https://docs.aws.amazon.com/general/latest/gr/sns.html"
SCHEDULER = "https://docs.aws.amazon.com/scheduler/latest/UserGuide/scheduler-quotas.html"

RATE = "rate"
LEVEL = "level"


@dataclass(frozen=True)
class Quota:
    key: str
    service: str
    name: str
    limit: float
    unit: str
    kind: str  # RATE or LEVEL
    scope: str
    adjustable: bool
    source: str
    checked: bool  # the figure was read on `source` when this table was written
    lift: str  # the raise, or the design change, that lifts it
    # The app itself never lets use pass this one (the stage holds 12; listeners past the overflow
    # threshold go to the channel): printed, never "binds first".
    enforced_by_app: bool = False
    # What the app lets itself use of a rate (the IVS limiter: 4 a second of the 5, so that no
    # second ever sees more than 5); None: the whole limit.
    app_ceiling: float | None = None


QUOTAS: tuple[Quota, ...] = (
    # ---------------------------------------------------------------- IVS real-time (stages)
    Quota(
        "ivs_rt.stage_control_tps", "IVS real-time", "CreateStage / DeleteStage / DisconnectParticipant / GetStage / ListStages",
        5, "calls/s", RATE, "account+region, each operation", False, IVS_RT, True,
        "not adjustable: take no stage call on a request (stage pool), queue the rest behind the "
        "shared limiter; beyond that, more accounts (cells)",
        app_ceiling=4,
    ),
    Quota(
        "ivs_rt.create_participant_token_tps", "IVS real-time", "CreateParticipantToken",
        50, "calls/s", RATE, "account+region", False, IVS_RT, True,
        "never called: participant tokens are signed in-process (ES384)",
    ),
    Quota(
        "ivs_rt.composition_control_tps", "IVS real-time", "StartComposition / StopComposition / GetComposition",
        5, "calls/s", RATE, "account+region, each operation", False, IVS_RT, True,
        "not adjustable: start recordings after the Space is live from a queue; more accounts",
    ),
    Quota(
        "ivs_rt.stages", "IVS real-time", "stages",
        100, "stages", LEVEL, "account+region", True, IVS_RT, False,
        "raise in Service Quotas (live Spaces + the pool must fit); then cells",
    ),
    Quota(
        "ivs_rt.subscribers_per_stage", "IVS real-time", "subscribers per stage",
        10_000, "subscribers", LEVEL, "one stage", True, IVS_RT, False,
        "raise to 25,000; past that, overflow listeners on an IVS low-latency channel (composition)",
        enforced_by_app=True,
    ),
    Quota(
        "ivs_rt.publishers_per_stage", "IVS real-time", "publishers per stage",
        12, "publishers", LEVEL, "one stage", False, IVS_RT, False,
        "not adjustable: the product caps the stage at 12",
        enforced_by_app=True,
    ),
    Quota(
        "ivs_rt.compositions", "IVS real-time", "concurrent compositions",
        5, "compositions", LEVEL, "account+region", True, IVS_RT, True,
        "raise in Service Quotas (one per recorded Space, one per overflowing Space)",
    ),
    # ---------------------------------------------------------------- IVS low-latency (overflow)
    Quota(
        "ivs_ll.channel_control_tps", "IVS low-latency", "CreateChannel / DeleteChannel",
        5, "calls/s", RATE, "account+region, each operation", False, IVS_LL, True,
        "not adjustable: only overflowing Spaces make a channel (a few per hour)",
    ),
    Quota(
        "ivs_ll.concurrent_views", "IVS low-latency", "concurrent views",
        10_000, "views", LEVEL, "account+region", True, IVS_LL, False,
        "raise in Service Quotas before a big event (AWS asks for notice); then cells by region",
    ),
    # ---------------------------------------------------------------- IVS Chat (room events)
    Quota(
        "ivschat.room_control_tps", "IVS Chat", "CreateRoom / DeleteRoom",
        5, "calls/s", RATE, "account+region, each operation", False, IVS_CHAT, True,
        "not adjustable: rooms are pooled like stages (0 calls on a start); a Space costs a "
        "CreateRoom and a queued DeleteRoom at the chat bucket's 4/s (~7,200 Spaces/hour): then cells",
        app_ceiling=4,  # the chat bucket, sized like the stage bucket
    ),
    Quota(
        "ivschat.send_event_tps", "IVS Chat", "SendEvent",
        100, "calls/s", RATE, "account+region", False, IVS_CHAT, True,
        "not adjustable: one event per real change, batched per Space",
    ),
    Quota(
        "ivschat.disconnect_user_tps", "IVS Chat", "DisconnectUser",
        100, "calls/s", RATE, "account+region", False, IVS_CHAT, True,
        "not adjustable: queue behind a limiter like the stage calls",
    ),
    Quota(
        "ivschat.create_chat_token_tps", "IVS Chat", "CreateChatToken",
        200, "calls/s", RATE, "account+region", False, IVS_CHAT, True,
        "not adjustable: a token per chat session (60 min), never per join; past that, only people "
        "who send (stage, moderators) take chat tokens and listeners get room events another way; cells",
    ),
    Quota(
        "ivschat.concurrent_connections", "IVS Chat", "concurrent chat connections",
        50_000, "connections", LEVEL, "account+region", True, IVS_CHAT, True,
        "raise in Service Quotas; past that, listeners read room events another way (stage data "
        "or a fan-out) and only people on stage hold chat connections",
    ),
    # ---------------------------------------------------------------- DynamoDB
    Quota(
        "ddb.partition_wcu", "DynamoDB", "write units per partition key",
        1_000, "WCU/s", RATE, "one partition key", False, DDB_PARTITIONS, False,
        "not adjustable: spread the hot key (sharded counters, per-user items)",
    ),
    Quota(
        "ddb.partition_rcu", "DynamoDB", "read units per partition key",
        3_000, "RCU/s", RATE, "one partition key", False, DDB_PARTITIONS, False,
        "not adjustable: cache in the container, shard the key",
    ),
    Quota(
        "ddb.table_wru", "DynamoDB", "on-demand write request units per table",
        40_000, "WRU/s", RATE, "one table", True, DDB, False,
        "raise in Service Quotas",
    ),
    Quota(
        "ddb.table_rru", "DynamoDB", "on-demand read request units per table",
        40_000, "RRU/s", RATE, "one table", True, DDB, False,
        "raise in Service Quotas",
    ),
    # ---------------------------------------------------------------- Lambda
    Quota(
        "lambda.concurrency", "Lambda", "concurrent executions",
        1_000, "executions", LEVEL, "account+region", True, LAMBDA, False,
        "raise in Service Quotas (tens of thousands are granted)",
    ),
    Quota(
        "lambda.scaling_rate", "Lambda", "new execution environments per function",
        100, "environments/s", RATE, "one function (1,000 per 10 s)", False, LAMBDA_SCALING, False,
        "not adjustable: provisioned concurrency before a known peak",
    ),
    # ---------------------------------------------------------------- API Gateway
    Quota(
        "apigw.rps", "API Gateway", "REST API requests",
        10_000, "requests/s", RATE, "account+region (burst 5,000)", True, APIGW, False,
        "raise in Service Quotas; then cells",
    ),
    # ---------------------------------------------------------------- SNS
    Quota(
        "sns.publish_tps", "SNS", "Publish (mobile push included)",
        30_000, "messages/s", RATE, "account, us-east-1 (lower in other regions)", True, SNS, False,
        "raise in Service Quotas",
    ),
    # ---------------------------------------------------------------- EventBridge Scheduler
    Quota(
        "scheduler.invocations_tps", "EventBridge Scheduler", "target invocations",
        1_000, "invocations/s", RATE, "account+region", True, SCHEDULER, True,
        "raise in Service Quotas",
    ),
    Quota(
        "scheduler.schedule_api_tps", "EventBridge Scheduler", "CreateSchedule / DeleteSchedule",
        1_000, "calls/s", RATE, "account+region (the page's newer revision says 5,000)", True, SCHEDULER, True,
        "raise in Service Quotas",
    ),
)

BY_KEY = {q.key: q for q in QUOTAS}
SERVICES = tuple(dict.fromkeys(q.service for q in QUOTAS))
