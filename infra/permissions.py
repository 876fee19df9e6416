"""What each Lambda of the Chalice app may do: one role per function, least privilege.

Chalice's own policy generation is off (`manage_iam_role: false`); each function gets the role
built here from its profile. The profiles are written from the code paths each entry point runs
(`app.py` routes, `chalicelib/jobs/*.py`), and `chalice package` tells the stack which functions
exist: a function without a profile stops the synth, so a new job cannot ship with a guessed or
borrowed role.

Where an action has no resource-level permissions in IAM, its statement is the only kind allowed a
`*` resource (ACTIONS_WITHOUT_RESOURCE_TYPES: X-Ray's PutTraceSegments / PutTelemetryRecords, and
IVS ListStages, IVS Chat ListRooms and DynamoDB ListStreams, List actions on the account). No
statement anywhere has a `*` action.
"""
from __future__ import annotations

from dataclasses import dataclass

DYNAMODB_READ = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem")
# TransactWriteItems is authorized per item as PutItem / UpdateItem / DeleteItem / ConditionCheckItem.
DYNAMODB_WRITE = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem")
# An append-only table (the moderation ledger, docs/moderation.md): entries are put and read, never
# updated or deleted, so the API gets PutItem on the table and Query on it and its indexes.
DYNAMODB_APPEND = ("dynamodb:PutItem",)
DYNAMODB_QUERY = ("dynamodb:Query",)
# A transaction of Update actions only (the count fold) needs nothing but UpdateItem.
DYNAMODB_UPDATE = ("dynamodb:UpdateItem",)
# What Lambda's event source mapping reads a table's stream with, as the function's role: the
# first three on the table's streams; ListStreams has no resource type (as CDK grants it).
DYNAMODB_STREAM_READ = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator")
DYNAMODB_LIST_STREAMS = ("dynamodb:ListStreams",)
SQS_CONSUME = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes")
# SendMessageBatch is authorized as SendMessage; the adapter resolves the URL with GetQueueUrl once.
SQS_SEND = ("sqs:SendMessage", "sqs:GetQueueUrl")
XRAY = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")
LOGS = ("logs:CreateLogStream", "logs:PutLogEvents")
# The orphan sweep lists stages and (overflow) channels; List actions take no resource.
IVS_LIST_STAGES = ("ivs:ListStages", "ivs:ListChannels")
IVS_CHAT_LIST_ROOMS = ("ivschat:ListRooms",)
ACTIONS_WITHOUT_RESOURCE_TYPES = frozenset(XRAY + IVS_LIST_STAGES + IVS_CHAT_LIST_ROOMS + DYNAMODB_LIST_STREAMS)

# Tables only the push worker touches. Every other table is the API's (the routes reach nearly
# all of them, and a table added to ALL_MODELS for a route is then usable without an infra change).
WORKER_ONLY_TABLES = frozenset({"push-claims"})
# Tables no role may update or delete in: only a profile's `appends` reaches them.
APPEND_ONLY_TABLES = frozenset({"moderation-log"})
API_TABLES = "every table but the worker-only and append-only ones"


@dataclass(frozen=True)
class LambdaProfile:
    """One Chalice function: what it reads, writes, calls and consumes."""

    chalice_name: str  # the name Chalice gives it (`api_handler`, or the decorator's `name=`)
    logical_id: str  # its resource in the template `chalice package` writes
    kind: str  # "api" or "worker" (sizing)
    reads: frozenset[str] | str = frozenset()
    writes: frozenset[str] | str = frozenset()
    updates: frozenset[str] = frozenset()  # UpdateItem only, on tables not in `writes`
    appends: frozenset[str] = frozenset()  # PutItem and Query only: the append-only tables
    # A table whose stream is this function's event source (infra/stack.py binds it). The role
    # reads that stream and may send to the mapping's on-failure queue, which Lambda writes a
    # failed batch's description to with this role.
    consumes_stream: str | None = None
    ivs_stage_actions: tuple[str, ...] = ()
    lists_ivs_stages: bool = False
    # Overflow audiences (docs/overflow.md): low-latency channels (channel/*), and compositions,
    # authorized on the composition and on the stage, channel and encoder configuration it names.
    ivs_channel_actions: tuple[str, ...] = ()
    ivs_composition_actions: tuple[str, ...] = ()
    ivs_chat_room_actions: tuple[str, ...] = ()  # on this stage's chat rooms (room/*)
    lists_chat_rooms: bool = False
    reads_ivs_private_key: bool = False
    creates_push_endpoints: bool = False
    push_endpoint_actions: tuple[str, ...] = ()
    manages_schedules: bool = False
    sends_to: tuple[str, ...] = ()  # "fanout", "push", "tickets"
    consumes: str | None = None  # "fanout", "push", "tickets"
    reads_payment_secret: bool = False  # the Stripe key and webhook secret (Secrets Manager)
    # The stage's cursor signing keys (Secrets Manager, made by the stack): every function that
    # serves a list route opens and seals page cursors (chalicelib/api/pages.py). No job does:
    # none reaches chalicelib/api/pages.py or bootstrap.cursors().
    reads_cursor_keys: bool = False
    # Recording (docs/recording.md): creating a stage that records into the stack's storage
    # configuration (granted on that configuration too), the recordings bucket, Transcribe.
    ivs_recording_actions: tuple[str, ...] = ()
    recordings_object_actions: tuple[str, ...] = ()  # on the bucket's objects
    lists_recordings: bool = False  # s3:ListBucket on the recordings bucket (deleting a replay)
    transcription_actions: tuple[str, ...] = ()  # on this stage's transcription jobs
    # Mixes recordings in process (PyAV): more memory and time than the other workers.
    memory_mb: int | None = None
    timeout_s: int | None = None
    ephemeral_storage_mb: int | None = None


PROFILES: tuple[LambdaProfile, ...] = (
    LambdaProfile(
        chalice_name="api_handler",
        logical_id="APIHandler",
        kind="api",
        reads=API_TABLES,
        writes=API_TABLES,
        appends=APPEND_ONLY_TABLES,  # the moderation ledger: acts put entries, two routes Query them
        # Start creates the stage (tagged with the Space), end deletes it, removal and demotion
        # disconnect a participant. Participant tokens are minted in-process: no CreateParticipantToken.
        ivs_stage_actions=("ivs:CreateStage", "ivs:TagResource", "ivs:DeleteStage", "ivs:DisconnectParticipant"),
        # Ending a Space stops its overflow composition and deletes its channel; removing an
        # overflow listener revokes their playback of the private channel.
        ivs_channel_actions=("ivs:DeleteChannel", "ivs:StartViewerSessionRevocation"),
        ivs_composition_actions=("ivs:StopComposition",),
        # The Space's chat room: created (tagged) with the stage, deleted at the end, a token per
        # chat session (POST /events/token, never the join), server events, disconnecting a
        # removed user or a former co-host. CreateRoom naming the stage's chat logging
        # configuration needs nothing more: the Service Authorization Reference lists only the
        # room (room*) as CreateRoom's resource, not the logging configuration (docs/room-events.md).
        ivs_chat_room_actions=(
            "ivschat:CreateRoom", "ivschat:TagResource", "ivschat:DeleteRoom", "ivschat:CreateChatToken",
            "ivschat:SendEvent", "ivschat:DisconnectUser",
        ),
        reads_ivs_private_key=True,
        creates_push_endpoints=True,  # POST /me/devices
        push_endpoint_actions=("sns:GetEndpointAttributes", "sns:SetEndpointAttributes", "sns:DeleteEndpoint"),
        manages_schedules=True,  # scheduled Spaces: create, move, cancel their one-time schedules
        # Early start, cancel and invitations announce through the fan-out; canceling a ticketed
        # Space queues its refunds; a renewal declined by webhook queues the subscriber's push.
        sends_to=("fanout", "tickets", "push"),
        reads_payment_secret=True,  # ticket purchases, subscriptions, the payment webhook
        reads_cursor_keys=True,  # every list route's page cursors
        # A recorded Space's start creates its stage with participant recording into the
        # stack's storage configuration; replays and clips are presigned GETs; ending lands the
        # replay when the recordings are already there (mixing needs PyAV: it is imported there
        # only when it runs, see bench/imports.py), a withdrawal deletes the speaker's raw files,
        # a clip's description is written, the host deletes a replay.
        ivs_recording_actions=("ivs:CreateStage",),
        recordings_object_actions=("s3:GetObject", "s3:PutObject", "s3:DeleteObject"),
        lists_recordings=True,
        transcription_actions=("transcribe:StartTranscriptionJob", "transcribe:GetTranscriptionJob"),
    ),
    LambdaProfile(
        chalice_name="release_pending_media",
        logical_id="ReleasePendingMedia",
        kind="worker",
        reads=frozenset({"spaces", "rate-limits"}),  # the sparse media_release_pending index, then the Spaces
        # clears release_pending; stage deletes are queued (media-queue) and tried at once with a
        # spare token of the IVS limiter (rate-limits)
        writes=frozenset({"spaces", "media-queue", "rate-limits"}),
        ivs_stage_actions=("ivs:DeleteStage",),
        ivs_chat_room_actions=("ivschat:DeleteRoom",),
        ivs_channel_actions=("ivs:DeleteChannel",),  # overflow channels of ended Spaces
        ivs_composition_actions=("ivs:StopComposition",),
    ),
    LambdaProfile(
        chalice_name="chat_message_review",
        logical_id="ChatMessageReview",
        kind="worker",
        # IVS Chat calls it for every message a client sends straight to a room: one conditional
        # write on the per-user limit (services/room_events.review_message). Nothing else.
        reads=frozenset({"reaction-limits"}),
        writes=frozenset({"reaction-limits"}),
    ),
    LambdaProfile(
        chalice_name="fold_participant_counts",
        logical_id="FoldParticipantCounts",
        kind="worker",
        # The participants stream's batches: one TransactWriteItems of Update actions per
        # (Space, shard), SET counted on participants and ADD n on the shard's counter
        # (adapters/dynamodb/counts.py); then the same batch's listening sessions for host
        # analytics, one UpdateItem (SETs) each (adapters/dynamodb/analytics.py). No read, no
        # put, no delete.
        updates=frozenset({"participants", "counters", "analytics"}),
        consumes_stream="participants",
    ),
    LambdaProfile(
        chalice_name="reconcile_rooms",
        logical_id="ReconcileRooms",
        kind="worker",
        # Lists this app's chat rooms (by tag), reads the Space each names (a pooled room: the
        # room pool, ready or claimed), deletes the orphans (queued; tried at once with a spare
        # token of the chat bucket).
        reads=frozenset({"spaces", "stage-pool", "media-queue", "rate-limits"}),
        writes=frozenset({"media-queue", "rate-limits"}),
        lists_chat_rooms=True,
        ivs_chat_room_actions=("ivschat:DeleteRoom",),
    ),
    LambdaProfile(
        chalice_name="reconcile_stages",
        logical_id="ReconcileStages",
        kind="worker",
        # Lists this app's stages and overflow channels (by tag), reads the Space each names,
        # deletes the orphans.
        reads=frozenset({"spaces", "stage-pool", "rate-limits"}),  # ready and claimed pool stages are not orphans
        writes=frozenset({"media-queue", "rate-limits"}),  # ListStages takes tokens; deletes are queued
        lists_ivs_stages=True,
        ivs_stage_actions=("ivs:DeleteStage",),
        ivs_channel_actions=("ivs:DeleteChannel",),
    ),
    LambdaProfile(
        chalice_name="drain_media_queue",
        logical_id="DrainMediaQueue",
        kind="worker",
        # The queued IVS calls (leased, made, deleted) at the rate the shared bucket leaves over;
        # the queued chat room deletes at the rate the chat bucket leaves over.
        reads=frozenset({"media-queue", "rate-limits"}),
        writes=frozenset({"media-queue", "rate-limits"}),
        ivs_stage_actions=("ivs:DeleteStage", "ivs:DisconnectParticipant"),
        ivs_chat_room_actions=("ivschat:DeleteRoom",),
    ),
    LambdaProfile(
        chalice_name="refill_stage_pool",
        logical_id="RefillStagePool",
        kind="worker",
        # Counts the scheduled and live lists, creates (and tags) stages under the limiter, adds
        # them to the pool.
        reads=frozenset({"discovery", "stage-pool", "rate-limits"}),
        writes=frozenset({"stage-pool", "rate-limits"}),
        ivs_stage_actions=("ivs:CreateStage", "ivs:TagResource"),
    ),
    LambdaProfile(
        chalice_name="refill_room_pool",
        logical_id="RefillRoomPool",
        kind="worker",
        # The same demand counts; creates (and tags) IVS Chat rooms under the chat bucket, naming
        # the stage's logging configuration and review handler as a start would, adds them to the
        # pool (the stage-pool table's "rooms" partition).
        reads=frozenset({"discovery", "stage-pool", "rate-limits"}),
        writes=frozenset({"stage-pool", "rate-limits"}),
        ivs_chat_room_actions=("ivschat:CreateRoom", "ivschat:TagResource"),
    ),
    LambdaProfile(
        chalice_name="refresh_live_ranks",
        logical_id="RefreshLiveRanks",
        kind="worker",
        # Ranks from the counters; a Space near its stage's capacity is read, claimed and given
        # its overflow (a channel, tagged, and a composition into it; undone if half-made).
        reads=frozenset({"discovery", "counters", "spaces"}),
        writes=frozenset({"discovery", "spaces"}),
        ivs_channel_actions=("ivs:CreateChannel", "ivs:TagResource", "ivs:DeleteChannel"),
        # Every run also asks IVS whether each overflow composition still runs, and starts it
        # again into the same channel when IVS stopped it (docs/overflow.md).
        ivs_composition_actions=("ivs:StartComposition", "ivs:GetComposition", "ivs:StopComposition", "ivs:TagResource"),
    ),
    LambdaProfile(
        chalice_name="sweep_presence",
        logical_id="SweepPresence",
        kind="worker",
        # The "live" discovery list, then each Space's presence index shards and participants;
        # the Space of a speaker who timed out (its room hears speaker_removed).
        reads=frozenset({"discovery", "participants", "spaces"}),
        # A timed-out participant leaves: participant, the Space (a speaker steps off the stage)
        # and any raised hand, in one transaction (the count fold moves the counter).
        writes=frozenset({"participants", "spaces", "speaker-requests"}),
        ivs_chat_room_actions=("ivschat:SendEvent",),
    ),
    LambdaProfile(
        chalice_name="reminder_fanout",
        logical_id="ReminderFanout",
        kind="worker",
        reads=frozenset({"spaces", "reminders"}),
        sends_to=("push", "fanout"),  # push batches, and `expand` continuations of a shard
        consumes="fanout",
    ),
    LambdaProfile(
        chalice_name="push_worker",
        logical_id="PushWorker",
        kind="worker",
        reads=frozenset({"user-devices", "push-claims"}),
        writes=frozenset({"push-claims", "devices", "user-devices"}),  # claims; forgetting a dead device
        push_endpoint_actions=("sns:Publish", "sns:GetEndpointAttributes", "sns:DeleteEndpoint"),
        consumes="push",
    ),
    LambdaProfile(
        chalice_name="ticket_worker",
        logical_id="TicketWorker",
        kind="worker",
        # Refunds a canceled Space: its tickets page by page, each moved with the Space's counts.
        reads=frozenset({"spaces", "tickets"}),
        writes=frozenset({"spaces", "tickets"}),
        reads_payment_secret=True,  # voids holds' payments and refunds paid ones at the provider
        sends_to=("fanout",),  # tells the buyers (the cancel push, through the fan-out)
        consumes="tickets",
    ),
    LambdaProfile(
        chalice_name="expire_ticket_holds",
        logical_id="ExpireTicketHolds",
        kind="worker",
        # The sparse open-holds index, each expired ticket, and its Space's seat count.
        reads=frozenset({"spaces", "tickets"}),
        writes=frozenset({"spaces", "tickets"}),
        reads_payment_secret=True,  # voids the payment of an expired hold
    ),
    LambdaProfile(
        chalice_name="renew_subscriptions",
        logical_id="RenewSubscriptions",
        kind="worker",
        # The sparse renewals_due index and each due subscription (claim, decline, lapse, renew).
        reads=frozenset({"subscriptions"}),
        writes=frozenset({"subscriptions"}),
        reads_payment_secret=True,  # charges the next period off-session
        sends_to=("push",),  # the subscriber's push when a renewal is declined or it lapses
    ),
    LambdaProfile(
        chalice_name="land_recordings",
        logical_id="LandRecordings",
        kind="worker",
        # The sparse recording_pending index, each Space, its caption segments.
        reads=frozenset({"spaces", "captions"}),
        writes=frozenset({"spaces"}),  # processing -> mixing -> available | failed, transcript states
        # Lists and reads the participant recordings IVS wrote, writes the mixed replay (a
        # conditional PutObject), its clips and the live captions' WebVTT, deletes the raw
        # files of a speaker who withdrew; Transcribe reads the replay's file and writes its
        # subtitles with this role's permissions.
        recordings_object_actions=("s3:GetObject", "s3:PutObject", "s3:DeleteObject"),
        lists_recordings=True,
        transcription_actions=("transcribe:StartTranscriptionJob", "transcribe:GetTranscriptionJob"),
        # Decoding and encoding audio in process: 2 GB (Lambda gives CPU with memory), 15 min
        # (Lambda's most), 4 GB of /tmp for the recordings copied in and the mix written out.
        memory_mb=2048,
        timeout_s=900,
        ephemeral_storage_mb=4096,
    ),
)


def profile_for(logical_id: str) -> LambdaProfile:
    for profile in PROFILES:
        if profile.logical_id == logical_id:
            return profile
    known = ", ".join(p.logical_id for p in PROFILES)
    raise SystemExit(
        f"The Chalice app has a Lambda function {logical_id!r} that infra/permissions.py has no "
        f"profile for (known: {known}). Add a LambdaProfile with exactly the tables, queues and "
        "AWS actions its code path uses: it gets no role until then."
    )


def tables_of(selection: frozenset[str] | str, all_suffixes: list[str]) -> list[str]:
    if selection == API_TABLES:
        return [s for s in all_suffixes if s not in WORKER_ONLY_TABLES | APPEND_ONLY_TABLES]
    unknown = set(selection) - set(all_suffixes)
    if unknown:
        raise SystemExit(f"infra/permissions.py names tables the models do not declare: {sorted(unknown)}")
    return [s for s in all_suffixes if s in selection]
