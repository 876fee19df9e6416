"""The tables of Space reminders, devices and push claims (adapters/dynamodb/reminders.py)."""
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


class ReminderModel(Model):
    """A "set reminder" tap. Keyed by `space_id#shard` so a million subscribers spread over
    `reminder_shards` partition keys; the fan-out Queries each shard (never a Scan)."""

    Meta = TableMeta.build("reminders")

    bucket = UnicodeAttribute(hash_key=True)  # "<space_id>#<shard>"
    user_id = UnicodeAttribute(range_key=True)
    created_at = UTCDateTimeAttribute()


class DeviceModel(Model):
    """One push token (as an SNS endpoint), keyed by a hash of platform and token: one endpoint
    per token, and a token that moves to another user moves with its item."""

    Meta = TableMeta.build("devices")

    device_id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    platform = UnicodeAttribute()
    endpoint_arn = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class UserDevicesModel(Model):
    """A user's devices in one item (device id -> {arn, platform}), so the push worker reads the
    devices of 100 users with one BatchGetItem."""

    Meta = TableMeta.build("user-devices")

    user_id = UnicodeAttribute(hash_key=True)
    devices: MapAttribute[str, Any] = MapAttribute(default=dict)


class PushClaimModel(Model):
    """Effectively-once pushes: one item per (space, moment, device), written conditionally
    BEFORE the push is sent. `sending` while in flight, `sent` once delivered; a failed send
    deletes its claim so a retry can claim it again. Expires by TTL after a week."""

    Meta = TableMeta.build("push-claims")

    key = UnicodeAttribute(hash_key=True)  # "<space_id>#<moment>#<device_id>"
    user_id = UnicodeAttribute()
    status = UnicodeAttribute()
    claimed_at = NumberAttribute()  # epoch seconds, compared against the claim lease
    expires_at = TTLAttribute()
