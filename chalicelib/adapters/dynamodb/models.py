"""PynamoDB models: the tables, their keys and indexes, defined once.

Table names come from the stage's prefix (`SPACES_TABLE_PREFIX`), so tests, the local stack and
each AWS stage use their own tables (table_meta.py). `infra/` and `create_tables()` both derive
the tables from these classes; nothing copies a key schema by hand. The tables of users, Spaces
and participants are here; discovery lists and title search in models_discovery.py, ticket sales
in models_commerce.py, reminders and devices in models_reminders.py, room events and the IVS
control plane in models_operations.py. Every model
is importable from this module, and ALL_MODELS lists them all.

Key design (see docs/data-model.md):
- participants are keyed by `space_id#user_id`, not by space: 100,000 joins a minute then spread
  over 100,000 partition keys instead of one.
- participant counts are sharded over `participant_count_shards` counter items, each its own
  partition key, and read back with one BatchGetItem.
"""
from __future__ import annotations

import zlib
from typing import Any

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import (
    GlobalSecondaryIndex,
    IncludeProjection,
    KeysOnlyProjection,
)
from pynamodb.models import Model

from chalicelib.adapters.dynamodb.models_commerce import (  # noqa: F401 (the tables, from one module)
    OpenHoldsIndex,
    RenewalsDueIndex,
    SubscriptionModel,
    TicketModel,
    TicketsByBuyerIndex,
)
from chalicelib.adapters.dynamodb.models_analytics import AnalyticsModel  # noqa: F401
from chalicelib.adapters.dynamodb.models_discovery import DiscoveryModel, DiscoveryRankIndex, TitleSearchModel  # noqa: F401
from chalicelib.adapters.dynamodb.models_moderation import AppealModel, ModerationEntryModel, ReportModel  # noqa: F401
from chalicelib.adapters.dynamodb.models_operations import (  # noqa: F401
    CaptionModel,
    IdempotencyModel,
    MediaQueueModel,
    RateLimitModel,
    ReactionLimitModel,
    RoomEventModel,
    StagePoolModel,
)
from chalicelib.adapters.dynamodb.models_reminders import (  # noqa: F401
    DeviceModel,
    PushClaimModel,
    ReminderModel,
    UserDevicesModel,
)
from chalicelib.adapters.dynamodb.table_meta import TableMeta


class UserModel(Model):
    Meta = TableMeta.build("users")

    user_id = UnicodeAttribute(hash_key=True)
    follower_count = NumberAttribute(default=0)
    following_count = NumberAttribute(default=0)
    # Scheduled Spaces this user hosts now (≤ max_scheduled_per_host, kept by conditional ADD).
    scheduled_count = NumberAttribute(default=0)
    # The user's live Space, if any: one live Space per host, enforced by attribute_not_exists.
    live_space_id = UnicodeAttribute(null=True)
    # Set by an operator (scripts/reports.py `bar`): this user may not create or start Spaces.
    hosting_barred_at = UTCDateTimeAttribute(null=True)
    # The profile (docs/people.md): the user's own name and avatar (PATCH /me), and the token's
    # `name` / `picture` claims as last seen (written only when a token's differ).
    display_name = UnicodeAttribute(null=True)
    avatar_url = UnicodeAttribute(null=True)
    claimed_name = UnicodeAttribute(null=True)
    claimed_picture = UnicodeAttribute(null=True)


class FollowersIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "followers"
        projection = KeysOnlyProjection()

    followee_id = UnicodeAttribute(hash_key=True)
    follower_id = UnicodeAttribute(range_key=True)


class FollowModel(Model):
    Meta = TableMeta.build("follows")

    follower_id = UnicodeAttribute(hash_key=True)
    followee_id = UnicodeAttribute(range_key=True)
    created_at = UTCDateTimeAttribute()
    followers = FollowersIndex()


class BlockedByIndex(GlobalSecondaryIndex):
    """Who blocked this user: discovery hides those hosts' Spaces from them."""

    class Meta:
        index_name = "blocked_by"
        projection = KeysOnlyProjection()

    blocked_id = UnicodeAttribute(hash_key=True)
    blocker_id = UnicodeAttribute(range_key=True)


class BlockModel(Model):
    """`blocker_id` blocked `blocked_id`: the blocked user cannot join the blocker's Spaces
    (a condition check in the join transaction) and does not see them in discovery.

    Keyed by the pair, not by the blocker: every join into a famous host's Space checks one
    (host, listener) item, and keyed by host those checks would all land on one partition key.
    """

    Meta = TableMeta.build("blocks")

    pair = UnicodeAttribute(hash_key=True)  # "<blocker_id>#<blocked_id>"
    blocker_id = UnicodeAttribute()
    blocked_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    blocked_by = BlockedByIndex()

    @staticmethod
    def pair_for(blocker_id: str, blocked_id: str) -> str:
        return f"{blocker_id}#{blocked_id}"


class BlockedFilterModel(Model):
    """One shard of the "blocked by someone" Bloom filter (chalicelib/domain/blocked_filter.py),
    kept in the blocks table under keys that no pair can take ("~blocked-filter#v1#<shard>": user
    ids never hold "~"). Items have no `blocked_id`, so the blocked_by index never sees them.
    `version` guards the read-modify-write of a block against a concurrent one."""

    Meta = TableMeta.build("blocks")

    pair = UnicodeAttribute(hash_key=True)
    bits = BinaryAttribute(legacy_encoding=False)
    version = NumberAttribute(default=0)

    @staticmethod
    def key_for(shard: int) -> str:
        return f"~blocked-filter#v1#{shard}"

    @staticmethod
    def key_for_host(host_id: str) -> str:
        """The filter of the users one host blocked, copied onto each of their Spaces as it goes
        live (`SpaceModel.blocked_filter`): a join needs no block check for anyone not in it."""
        return f"~host-blocks#v1#{host_id}"


class SpacesByCreatorIndex(GlobalSecondaryIndex):
    """A host's Spaces by start time: counts Spaces hosted in the last 30 days."""

    class Meta:
        index_name = "by_creator"
        projection = IncludeProjection(["state"])

    creator_id = UnicodeAttribute(hash_key=True)
    sort_time = UnicodeAttribute(range_key=True)


class MediaReleasePendingIndex(GlobalSecondaryIndex):
    """Sparse: only ended Spaces whose stage could not be deleted yet carry `release_pending`."""

    class Meta:
        index_name = "media_release_pending"
        projection = KeysOnlyProjection()

    release_pending = UnicodeAttribute(hash_key=True)
    space_id = UnicodeAttribute(range_key=True)


class RecordingPendingIndex(GlobalSecondaryIndex):
    """Sparse: ended recorded Spaces whose replay has not been mixed yet (or must be mixed again
    after a withdrawal) or whose transcription runs carry `recording_pending` = "1"; the landing
    job Queries it (never a Scan)."""

    class Meta:
        index_name = "recording_pending"
        projection = KeysOnlyProjection()

    recording_pending = UnicodeAttribute(hash_key=True)
    space_id = UnicodeAttribute(range_key=True)


# `ListAttribute(of=UnicodeAttribute)` holds strings; pynamodb's annotations say it holds
# UnicodeAttribute objects, hence the ignore on each such list.
class SpaceModel(Model):
    Meta = TableMeta.build("spaces")

    space_id = UnicodeAttribute(hash_key=True)
    state = UnicodeAttribute()
    title = UnicodeAttribute()
    creator_id = UnicodeAttribute()
    # started_at for Spaces that went live, else created_at; the range key of by_creator.
    sort_time = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    topics: ListAttribute[str] = ListAttribute(of=UnicodeAttribute, default=list)  # type: ignore[arg-type]
    scheduled_start = UTCDateTimeAttribute(null=True)
    started_at = UTCDateTimeAttribute(null=True)
    ended_at = UTCDateTimeAttribute(null=True)
    access = UnicodeAttribute(default="public")
    recording = BooleanAttribute(default=False)
    # user id -> ISO time (plus a tiebreak) they came on stage / were invited / were muted.
    cohosts: MapAttribute[str, Any] = MapAttribute(default=dict)
    speakers: MapAttribute[str, Any] = MapAttribute(default=dict)
    invited: MapAttribute[str, Any] = MapAttribute(default=dict)
    muted: MapAttribute[str, Any] = MapAttribute(default=dict)
    # creator + co-hosts + speakers; the condition `on_stage < max_on_stage` keeps the stage cap.
    on_stage = NumberAttribute(default=1)
    stage_arn = UnicodeAttribute(null=True)
    stage_events_url = UnicodeAttribute(null=True)
    stage_whip_url = UnicodeAttribute(null=True)
    # The Space's room for server events (an IVS Chat room ARN), created with the stage.
    room_arn = UnicodeAttribute(null=True)
    # Overflow audience (docs/overflow.md): absent, then "starting" (claimed by one job run at
    # `overflow_claimed_at`, epoch seconds), then "on" with the channel and composition.
    overflow_state = UnicodeAttribute(null=True)
    overflow_claimed_at = NumberAttribute(null=True)
    overflow_channel_arn = UnicodeAttribute(null=True)
    overflow_playback_url = UnicodeAttribute(null=True)
    overflow_composition_arn = UnicodeAttribute(null=True)
    overflow_restarts = NumberAttribute(null=True)
    release_pending = UnicodeAttribute(null=True)
    # Ticketed Spaces: the offer, and seats kept by conditional writes. `tickets_taken` (held +
    # sold) is what the hold's condition `tickets_taken < ticket_capacity` compares, since a
    # condition cannot add two attributes; the others are for the host's sales view.
    ticket_price_cents = NumberAttribute(null=True)
    ticket_currency = UnicodeAttribute(null=True)
    ticket_capacity = NumberAttribute(null=True)
    tickets_taken = NumberAttribute(null=True)
    tickets_held = NumberAttribute(null=True)
    tickets_sold = NumberAttribute(null=True)
    tickets_refunded = NumberAttribute(null=True)
    tickets_gross_cents = NumberAttribute(null=True)

    # Recording (chalicelib/domain/recording.py, docs/recording.md). `consents`: user id -> when
    # they agreed to be recorded; `consent_withdrawals`: user id -> when they withdrew; the rest
    # says where IVS writes the participant recordings (the stage id) and describes the replay.
    consents: MapAttribute[str, Any] = MapAttribute(default=dict)
    consent_withdrawals: MapAttribute[str, Any] = MapAttribute(null=True)
    recording_started_at = UTCDateTimeAttribute(null=True)
    recording_prefix = UnicodeAttribute(null=True)
    recording_stopped_at = UTCDateTimeAttribute(null=True)
    replay_state = UnicodeAttribute(null=True)
    replay_media_key = UnicodeAttribute(null=True)
    replay_duration_ms = NumberAttribute(null=True)
    # Every mix writes version n of the replay; a withdrawal asks for n + 1. When the job mixing
    # it claimed it (a claim older than the mix timeout may be taken over).
    mix_version = NumberAttribute(null=True)
    mix_started_at = UTCDateTimeAttribute(null=True)
    mix_attempts = NumberAttribute(null=True)  # claims of the current version's mix
    clipping_off = BooleanAttribute(null=True)
    # The host turned incognito listening off (absent: allowed, as on X).
    incognito_off = BooleanAttribute(null=True)
    # Index keys of its listener list (domain/listener_list.py), set at creation; absent: 1.
    listener_shards = NumberAttribute(null=True)
    transcript_state = UnicodeAttribute(null=True)
    transcription_job = UnicodeAttribute(null=True)
    transcript_key = UnicodeAttribute(null=True)
    recording_pending = UnicodeAttribute(null=True)
    # The host's blocked-users filter as it was when the Space went live (the start transaction
    # checks the filter item's version), absent when the host had blocked nobody. Blocks made
    # later mark the participant item instead (`ParticipantModel.blocked_at`). docs/joins.md.
    blocked_filter = BinaryAttribute(legacy_encoding=False, null=True)
    # The pinned post (domain/pinned.py), set and removed together by a host or co-host while
    # live; absent when nothing is pinned.
    pinned_url = UnicodeAttribute(null=True)
    pinned_text = UnicodeAttribute(null=True)
    pinned_by = UnicodeAttribute(null=True)
    pinned_at = UTCDateTimeAttribute(null=True)

    by_creator = SpacesByCreatorIndex()
    media_release = MediaReleasePendingIndex()
    recording_pending_index = RecordingPendingIndex()


class PresenceIndex(GlobalSecondaryIndex):
    """Connected participants by last heartbeat, per Space and shard: the sweep Queries those not
    seen since the cutoff. Sparse: only connected participants carry `presence_shard`. Sharded
    like the counters, so a join burst spreads over `participant_count_shards` index keys."""

    class Meta:
        index_name = "presence"
        projection = KeysOnlyProjection()

    presence_shard = UnicodeAttribute(hash_key=True)  # "<space_id>#<shard>"
    last_seen = NumberAttribute(range_key=True)  # epoch seconds of the last join or heartbeat


class ListenersIndex(GlobalSecondaryIndex):
    """The listener list of a Space, most recent join first. Sparse: only connected participants
    who are not incognito carry `listed_in`, set by the join's own write and removed by leave and
    removal. `listed_in` is the Space's id (one Query per page), or "<space_id>#<shard>" for a
    Space created with `listener_shards` > 1 (a famous host's, whose joins would overrun one
    index key: one Query per shard per page, merged; domain/listener_list.py, docs/people.md)."""

    class Meta:
        index_name = "listeners"
        projection = IncludeProjection(["role", "user_id"])

    listed_in = UnicodeAttribute(hash_key=True)  # "<space_id>" or "<space_id>#<shard>"
    joined_at = UTCDateTimeAttribute(range_key=True)


class ParticipantModel(Model):
    """One user's presence in one Space. Keyed per (space, user) so joins never share a key.

    A join writes this item only. Its stream (NEW_IMAGE) feeds the count fold
    (services/counts.py): `counted` says whether this participant is in its shard's counter, and
    the fold moves `counted` to `connected` and the counter with it, in one transaction."""

    Meta = TableMeta.build("participants", stream_view_type="NEW_IMAGE")

    key = UnicodeAttribute(hash_key=True)  # "<space_id>#<user_id>"
    space_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    role = UnicodeAttribute(default="listener")
    connected = BooleanAttribute(default=False)
    participant_id = UnicodeAttribute(null=True)
    count_shard = NumberAttribute(null=True)
    joined_at = UTCDateTimeAttribute(null=True)
    left_at = UTCDateTimeAttribute(null=True)
    removed_at = UTCDateTimeAttribute(null=True)
    removed_by = UnicodeAttribute(null=True)
    presence_shard = UnicodeAttribute(null=True)
    last_seen = NumberAttribute(null=True)
    # "playback" when this connection was given the overflow channel instead of a stage token.
    media_kind = UnicodeAttribute(null=True)
    counted = BooleanAttribute(null=True)
    # The host blocked this user while the Space was live: joins are refused while it is set.
    blocked_at = UTCDateTimeAttribute(null=True)
    # Joined incognito: in no list (no `listed_in`), counted in the counter's `incognito` too;
    # cleared by raising a hand or coming on stage. `counted_incognito`: in that count (the fold).
    incognito = BooleanAttribute(null=True)
    counted_incognito = BooleanAttribute(null=True)
    listed_in = UnicodeAttribute(null=True)
    presence = PresenceIndex()
    listeners = ListenersIndex()

    @staticmethod
    def key_for(space_id: str, user_id: str) -> str:
        return f"{space_id}#{user_id}"


class SpeakerRequestModel(Model):
    """A raised hand. Few per Space, read together by moderators: keyed by Space."""

    Meta = TableMeta.build("speaker-requests")

    space_id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute(range_key=True)
    raised_at = UTCDateTimeAttribute()


class CounterModel(Model):
    """One shard of a sharded counter: key "<name>#<shard>"."""

    Meta = TableMeta.build("counters")

    key = UnicodeAttribute(hash_key=True)
    n = NumberAttribute(default=0)
    # Participant counters only: of `n`, those listening incognito (the count fold moves both).
    incognito = NumberAttribute(null=True)

    @staticmethod
    def key_for(name: str, space_id: str, shard: int) -> str:
        return f"{name}#{space_id}#{shard}"

    @staticmethod
    def shard_of(user_id: str, shards: int) -> int:
        """A user's shard: stable, so their leave / unsubscribe hits the shard their join did."""
        return zlib.crc32(user_id.encode()) % shards


ALL_MODELS = (
    UserModel,
    FollowModel,
    BlockModel,
    SpaceModel,
    ParticipantModel,
    SpeakerRequestModel,
    CounterModel,
    ReminderModel,
    DeviceModel,
    UserDevicesModel,
    PushClaimModel,
    DiscoveryModel,
    TitleSearchModel,
    TicketModel,
    SubscriptionModel,
    RoomEventModel,
    ReactionLimitModel,
    IdempotencyModel,
    CaptionModel,
    RateLimitModel,
    MediaQueueModel,
    StagePoolModel,
    ModerationEntryModel,
    AppealModel,
    ReportModel,
    AnalyticsModel,
)


def create_tables(wait: bool = True) -> None:
    """Create every table that does not exist yet (local stack and tests)."""
    for model in ALL_MODELS:
        if not model.exists():
            model.create_table(wait=wait, billing_mode="PAY_PER_REQUEST")
            if any(isinstance(a, TTLAttribute) for a in model.get_attributes().values()):
                model.update_ttl(ignore_update_ttl_errors=True)


def delete_tables() -> None:
    for model in ALL_MODELS:
        if model.exists():
            model.delete_table()


# Models that live in a table another model of ALL_MODELS defines (never created on their own).
SHARED_TABLE_MODELS = (BlockedFilterModel,)


def share_one_connection() -> None:
    """Make every model use the first model's connection, so a container builds ONE botocore
    session and DynamoDB client instead of one per model (about 100 ms of cold start each).

    A PynamoDB connection is not tied to a table (every call names its table), so sharing it is
    safe; each model keeps its own TableConnection for its table name and schema.
    """
    shared = ALL_MODELS[0]._get_connection().connection
    for model in ALL_MODELS[1:] + SHARED_TABLE_MODELS:
        table = model._get_connection()
        if table.connection is shared:
            continue
        # The shared connection must know this table's key schema, as its own one did.
        if model.Meta.table_name not in shared._tables:
            shared.add_meta_table(table.connection.get_meta_table(model.Meta.table_name))
        table.connection = shared


def use_endpoint(endpoint_url: str, table_prefix: str | None = None) -> None:
    """Point every model at another DynamoDB (tests, benchmarks) and drop cached connections."""
    for model in ALL_MODELS + SHARED_TABLE_MODELS:
        model.Meta.host = endpoint_url
        if table_prefix is not None:
            model.Meta.table_name = f"{table_prefix}-{model.Meta.suffix}"
        model._connection = None
    share_one_connection()
