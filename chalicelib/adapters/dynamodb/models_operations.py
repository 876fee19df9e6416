"""The tables of room events, rate limits, captions, idempotency and the IVS control plane
(the media queue and the stage and room pools)."""
from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.models import Model

from chalicelib.adapters.dynamodb.table_meta import TableMeta


class RoomEventModel(Model):
    """The local room-events adapter's event log (`make run` and tests; IVS Chat in AWS stages
    keeps no log). One partition per room, events in send order under `seq` 1, 2, 3 ...

    Item `seq` 0 is the room itself: `head` is the last seq sent, `deleted_at` marks a deleted
    room. Each event is written in one transaction with the head moving from n-1 to n, so a
    reader never sees event n+1 before event n: a cursor (the last seq read) never skips one.
    Events expire by TTL (filtered on read too, since TTL deletes lazily).
    """

    Meta = TableMeta.build("room-events")

    room = UnicodeAttribute(hash_key=True)  # the room id (an IVS Chat-shaped room ARN)
    seq = NumberAttribute(range_key=True)  # 0: the room's head item; 1, 2, ...: events
    space_id = UnicodeAttribute(null=True)
    name = UnicodeAttribute(null=True)
    attributes: MapAttribute[str, Any] = MapAttribute(null=True)
    sent_at = UTCDateTimeAttribute(null=True)
    head = NumberAttribute(null=True)
    deleted_at = UTCDateTimeAttribute(null=True)
    expires_at = TTLAttribute(null=True)


class ReactionLimitModel(Model):
    """Per-user reaction rate limit in a Space: one item per (space, user) holding when their
    last reaction was accepted; a reaction is a conditional write on `last_at` being old enough."""

    Meta = TableMeta.build("reaction-limits")

    key = UnicodeAttribute(hash_key=True)  # "<space_id>#<user_id>"
    last_at = NumberAttribute()  # epoch milliseconds of the last accepted reaction
    expires_at = TTLAttribute()

    @staticmethod
    def key_for(space_id: str, user_id: str) -> str:
        return f"{space_id}#{user_id}"


class CaptionModel(Model):
    """Live caption segments of a Space, in time order: `seq` is "<start_ms, 11 digits>#<ULID>",
    so a page of captions (and the replay's WebVTT) is one Query on the Space's key. Expire by
    TTL with the replay they belong to."""

    Meta = TableMeta.build("captions")

    space_id = UnicodeAttribute(hash_key=True)
    seq = UnicodeAttribute(range_key=True)
    user_id = UnicodeAttribute()
    text = UnicodeAttribute()
    language = UnicodeAttribute()
    start_ms = NumberAttribute()
    end_ms = NumberAttribute()
    created_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute(null=True)


class IdempotencyModel(Model):
    """The record store of Powertools idempotency (its default schema: key `id`, TTL on
    `expiration`). Declared here so the local stack, the tests and infra/ create it like the rest."""

    Meta = TableMeta.build("idempotency")

    id = UnicodeAttribute(hash_key=True)
    expiration = TTLAttribute(null=True)


class RateLimitModel(Model):
    """Shared token buckets, one item per bucket: the IVS control-plane limiter
    (adapters/dynamodb/limiter.py). Taken by a conditional write on `version`."""

    Meta = TableMeta.build("rate-limits")

    bucket = UnicodeAttribute(hash_key=True)
    tokens = NumberAttribute()
    updated_ms = NumberAttribute()
    # +1 on every write: two writers at the same millisecond (or a frozen test clock) still clash.
    version = NumberAttribute(default=0)


class MediaQueueModel(Model):
    """IVS calls that can wait (DeleteStage, DisconnectParticipant), drained at the limiter's rate
    (adapters/dynamodb/media_queue.py). `seq` is `<enqueued ms, 13 digits>#<ULID>`: oldest first."""

    Meta = TableMeta.build("media-queue")

    queue = UnicodeAttribute(hash_key=True)
    seq = UnicodeAttribute(range_key=True)
    operation = UnicodeAttribute()
    args = UnicodeAttribute()  # JSON list of the call's arguments
    attempts = NumberAttribute(default=0)
    lease_until_ms = NumberAttribute(null=True)


class StagePoolModel(Model):
    """The stage pool (adapters/dynamodb/stage_pool.py). Stages ready to use: `pool` "available",
    `sk` `<created ms, 13 digits>#<arn>`. A stage a Space claimed: `pool` "claimed#<arn>", `sk`
    "-", with the Space (kept two days for the orphan sweep). The refill job's notes: "meta"."""

    Meta = TableMeta.build("stage-pool")

    pool = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    stage_arn = UnicodeAttribute(null=True)
    events_url = UnicodeAttribute(null=True)
    whip_url = UnicodeAttribute(null=True)
    space_id = UnicodeAttribute(null=True)
    created_ms = NumberAttribute(null=True)
    available = NumberAttribute(null=True)  # meta: stages ready when the last refill ended
    scheduled = NumberAttribute(null=True)  # meta: scheduled Spaces it counted ahead
    expires = TTLAttribute(null=True)
