"""In-memory fakes of the reminder, device and push-claim repositories
(chalicelib/repository_ports.py), with the rules of adapters/dynamodb/reminders.py: a reminder is
set only on a scheduled Space and moves the Space's subscriber count with it; a device changes
owner only from the owner it was read with, and a user keeps at most `max_devices`; a push is
claimed once per (Space, moment, device) unless a claim still "sending" outlived its lease.

Reminders share the `SpaceStore` of tests/fakes/spaces.py (the Space's state and its
`subscriber_count`). tests/integration/test_reminder_repositories_contract.py runs the same tests
on these and on the DynamoDB adapters.
"""
from __future__ import annotations

import time
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from chalicelib.domain.spaces import SCHEDULED
from chalicelib.ports import Refused
from tests.fakes.spaces import SpaceStore


class FakeReminderRepository:
    def __init__(self, store: SpaceStore, *, shards: int = 10) -> None:
        self._store = store
        self._shards = shards
        self.reminders: dict[str, dict[str, datetime]] = {}  # "<space>#<shard>" -> user -> when

    @property
    def shards(self) -> int:
        return self._shards

    def _bucket(self, space_id: str, user_id: str) -> dict[str, datetime]:
        shard = zlib.crc32(user_id.encode()) % self._shards  # the counters' shard_of
        return self.reminders.setdefault(f"{space_id}#{shard}", {})

    def set_reminder(self, space_id: str, user_id: str, now: datetime) -> bool:
        row = self._store.row(space_id)
        if row is None or row.space.state != SCHEDULED:
            raise Refused("space")
        bucket = self._bucket(space_id, user_id)
        if user_id in bucket:
            return False
        bucket[user_id] = now
        self._store.edit(space_id, subscriber_count=row.space.subscriber_count + 1)
        return True

    def clear_reminder(self, space_id: str, user_id: str) -> bool:
        bucket = self._bucket(space_id, user_id)
        if user_id not in bucket:
            return False
        del bucket[user_id]
        row = self._store.row(space_id)
        if row is not None:
            self._store.edit(space_id, subscriber_count=row.space.subscriber_count - 1)
        return True

    def has_reminder(self, space_id: str, user_id: str) -> bool:
        return user_id in self._bucket(space_id, user_id)

    def subscriber_page(self, space_id: str, shard: int, cursor: str | None, limit: int) -> tuple[list[str], str | None]:
        users = sorted(u for u in self.reminders.get(f"{space_id}#{shard}", {}) if cursor is None or u > cursor)
        page = users[:limit]
        return page, (page[-1] if page and len(page) == limit else None)


@dataclass(frozen=True)
class FakeDevice:
    device_id: str
    user_id: str
    platform: str
    endpoint_arn: str
    created_at: datetime


class FakeDeviceRepository:
    def __init__(self) -> None:
        self.devices: dict[str, FakeDevice] = {}
        self.by_user: dict[str, dict[str, tuple[str, str]]] = {}  # user -> device -> (arn, platform)

    def get(self, device_id: str) -> FakeDevice | None:
        return self.devices.get(device_id)

    def register(
        self, *, device_id: str, user_id: str, platform: str, endpoint_arn: str, now: datetime,
        previous_owner: str | None, max_devices: int,
    ) -> None:
        mine = self.by_user.setdefault(user_id, {})  # the adapter makes the user's map first, whatever follows
        stored = self.devices.get(device_id)
        if (stored.user_id if stored else None) != previous_owner:
            raise Refused("moved")
        if device_id not in mine and len(mine) >= max_devices:
            raise Refused("too_many")
        self.devices[device_id] = FakeDevice(device_id, user_id, platform, endpoint_arn, now)
        mine[device_id] = (endpoint_arn, platform)
        if previous_owner is not None and previous_owner != user_id:
            self.by_user.get(previous_owner, {}).pop(device_id, None)

    def remove(self, user_id: str, device_id: str) -> bool:
        stored = self.devices.get(device_id)
        if stored is None or stored.user_id != user_id:
            return False
        del self.devices[device_id]
        self.by_user.get(user_id, {}).pop(device_id, None)
        return True

    def devices_for(self, user_ids: list[str]) -> dict[str, list[tuple[str, str, str]]]:
        return {
            user_id: [(d, arn, platform) for d, (arn, platform) in sorted(self.by_user[user_id].items())]
            for user_id in dict.fromkeys(user_ids)
            if user_id in self.by_user
        }


class FakePushClaims:
    def __init__(self, *, lease_seconds: int = 300, clock: Callable[[], float] = time.time) -> None:
        self._lease = lease_seconds
        self._clock = clock
        self.claims: dict[tuple[str, str, str], tuple[str, int]] = {}  # (space, moment, device) -> (status, at)

    def claim(self, space_id: str, moment: str, targets: list[tuple[str, str]]) -> list[tuple[str, str]]:
        now = int(self._clock())
        owned = []
        for user_id, device_id in dict.fromkeys(targets):
            key = (space_id, moment, device_id)
            stored = self.claims.get(key)
            if stored is None or (stored[0] == "sending" and stored[1] < now - self._lease):
                self.claims[key] = ("sending", now)
                owned.append((user_id, device_id))
        return owned

    def settle(self, space_id: str, moment: str, sent: list[tuple[str, str]], failed: list[tuple[str, str]]) -> None:
        now = int(self._clock())
        for _, device_id in sent:
            self.claims[(space_id, moment, device_id)] = ("sent", now)
        for _, device_id in failed:
            self.claims.pop((space_id, moment, device_id), None)

    def status(self, space_id: str, moment: str, device_id: str) -> str | None:
        stored = self.claims.get((space_id, moment, device_id))
        return stored[0] if stored else None
