"""Reminder subscriptions, push devices and push claims on DynamoDB.

Costs per subscriber of a fan-out, by design: the subscriber lists are Queried shard by shard
(about 0.001 calls each), a user's devices come 100 users per BatchGetItem (0.01), claims are
written 25 per TransactWriteItems (0.04) and settled 25 per BatchWriteItem (0.04); the SNS
publish itself is the one call per device that cannot be shared.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from pynamodb.exceptions import DoesNotExist
from pynamodb.expressions.condition import size

from chalicelib.adapters.dynamodb.errors import dependency_failure
from chalicelib.adapters.dynamodb.models import (
    CounterModel,
    DeviceModel,
    PushClaimModel,
    ReminderModel,
    SpaceModel,
    UserDevicesModel,
)
from chalicelib.adapters.dynamodb.pages import query_page
from chalicelib.adapters.dynamodb.transactions import ConditionsFailed, transaction
from chalicelib.domain.spaces import SCHEDULED
from chalicelib.ports import Refused

CLAIMS_PER_TRANSACTION = 25
CLAIM_RETENTION = timedelta(days=7)


class DynamoReminderRepository:
    def __init__(self, connection=None, *, shards: int = 10):
        self._connection = connection or ReminderModel._get_connection().connection
        self._shards = shards

    @property
    def shards(self) -> int:
        return self._shards

    def _bucket(self, space_id: str, user_id: str) -> str:
        return f"{space_id}#{CounterModel.shard_of(user_id, self._shards)}"

    def _counter(self, space_id: str, user_id: str) -> CounterModel:
        return CounterModel(
            CounterModel.key_for("subscribers", space_id, CounterModel.shard_of(user_id, self._shards))
        )

    def set_reminder(self, space_id: str, user_id: str, now: datetime) -> bool:
        """True when newly set, False when it was already set. Refused("space") unless scheduled."""
        try:
            with transaction(self._connection) as tx:
                tx.save(
                    "reminder",
                    ReminderModel(self._bucket(space_id, user_id), user_id, created_at=now),
                    condition=ReminderModel.user_id.does_not_exist(),
                )
                tx.update("count", self._counter(space_id, user_id), actions=[CounterModel.n.add(1)])
                tx.check("space", SpaceModel, space_id, condition=SpaceModel.state == SCHEDULED)
        except ConditionsFailed as exc:
            if "space" in exc:
                raise Refused("space") from exc
            return False
        return True

    def clear_reminder(self, space_id: str, user_id: str) -> bool:
        try:
            with transaction(self._connection) as tx:
                tx.delete(
                    "reminder",
                    ReminderModel(self._bucket(space_id, user_id), user_id),
                    condition=ReminderModel.user_id.exists(),
                )
                tx.update("count", self._counter(space_id, user_id), actions=[CounterModel.n.add(-1)])
        except ConditionsFailed:
            return False
        return True

    def has_reminder(self, space_id: str, user_id: str) -> bool:
        try:
            ReminderModel.get(self._bucket(space_id, user_id), user_id)
        except DoesNotExist:
            return False
        except Exception as exc:
            raise dependency_failure(exc) from exc
        return True

    def subscriber_page(
        self, space_id: str, shard: int, cursor: str | None, limit: int
    ) -> tuple[list[str], str | None]:
        """One page of a shard's subscribers (a Query, never a Scan) and the cursor after it."""
        users, last = query_page(
            ReminderModel.query, "bucket", f"{space_id}#{shard}",
            limit=limit, after={"user_id": cursor} if cursor else None, convert=lambda item: item.user_id,
        )
        return users, (last["user_id"] if last else None)


class DynamoDeviceRepository:
    def __init__(self, connection=None):
        self._connection = connection or DeviceModel._get_connection().connection

    def get(self, device_id: str) -> DeviceModel | None:
        try:
            return DeviceModel.get(device_id)
        except DoesNotExist:
            return None
        except Exception as exc:
            raise dependency_failure(exc) from exc

    def register(
        self,
        *,
        device_id: str,
        user_id: str,
        platform: str,
        endpoint_arn: str,
        now: datetime,
        previous_owner: str | None,
        max_devices: int,
    ) -> None:
        """Give the device to `user_id`, taking it from its previous owner in the same write.

        Refused("moved") when the owner changed since it was read; Refused("too_many") when the
        user already has `max_devices` other devices.
        """
        self._ensure_device_map(user_id)
        owner_unchanged = (
            DeviceModel.device_id.does_not_exist()
            if previous_owner is None
            else DeviceModel.user_id == previous_owner
        )
        try:
            with transaction(self._connection) as tx:
                tx.save(
                    "device",
                    DeviceModel(device_id, user_id=user_id, platform=platform, endpoint_arn=endpoint_arn, created_at=now),
                    condition=owner_unchanged,
                )
                tx.update(
                    "owner",
                    UserDevicesModel(user_id),
                    actions=[UserDevicesModel.devices[device_id].set({"arn": endpoint_arn, "platform": platform})],
                    condition=UserDevicesModel.devices.does_not_exist()
                    | UserDevicesModel.devices[device_id].exists()
                    | (size(UserDevicesModel.devices) < max_devices),
                )
                if previous_owner is not None and previous_owner != user_id:
                    tx.update(
                        "previous",
                        UserDevicesModel(previous_owner),
                        actions=[UserDevicesModel.devices[device_id].remove()],
                    )
        except ConditionsFailed as exc:
            raise Refused("moved" if "device" in exc else "too_many") from exc

    @staticmethod
    def _ensure_device_map(user_id: str) -> None:
        """DynamoDB cannot SET a key inside a map that does not exist yet: create it empty."""
        try:
            UserDevicesModel(user_id).update(
                actions=[UserDevicesModel.devices.set(UserDevicesModel.devices | {})]
            )
        except Exception as exc:
            raise dependency_failure(exc) from exc

    def remove(self, user_id: str, device_id: str) -> bool:
        """Forget a device of this user. False when it is not theirs (or not there)."""
        try:
            with transaction(self._connection) as tx:
                tx.delete("device", DeviceModel(device_id), condition=DeviceModel.user_id == user_id)
                # A user with no device map (never registered one) would make the REMOVE an
                # invalid document path, a rejected request rather than "not theirs".
                tx.update(
                    "owner",
                    UserDevicesModel(user_id),
                    actions=[UserDevicesModel.devices[device_id].remove()],
                    condition=UserDevicesModel.devices.exists(),
                )
        except ConditionsFailed:
            return False
        return True

    def devices_for(self, user_ids: list[str]) -> dict[str, list[tuple[str, str, str]]]:
        """user id -> [(device_id, endpoint_arn, platform)], 100 users per BatchGetItem."""
        found: dict[str, list[tuple[str, str, str]]] = {}
        try:
            for item in UserDevicesModel.batch_get(list(dict.fromkeys(user_ids))):
                devices = item.devices.as_dict() if item.devices else {}
                found[item.user_id] = [(d, v["arn"], v["platform"]) for d, v in sorted(devices.items())]
        except Exception as exc:
            raise dependency_failure(exc) from exc
        return found


class DynamoPushClaims:
    """The effectively-once ledger of pushes, per (space, moment, device). Subscription notices
    use it with the subscription's period in place of the Space (`subscription_push_subject`)."""

    def __init__(self, connection=None, *, lease_seconds: int = 300, clock=time.time):
        self._connection = connection or PushClaimModel._get_connection().connection
        self._lease = lease_seconds
        self._clock = clock

    @staticmethod
    def key(space_id: str, moment: str, device_id: str) -> str:
        return f"{space_id}#{moment}#{device_id}"

    def _item(self, space_id: str, moment: str, user_id: str, device_id: str, status: str, now: int) -> PushClaimModel:
        """A claim as stored at `now` (epoch seconds), kept CLAIM_RETENTION for a retry to find."""
        return PushClaimModel(
            self.key(space_id, moment, device_id),
            user_id=user_id,
            status=status,
            claimed_at=now,
            expires_at=datetime.fromtimestamp(now, timezone.utc) + CLAIM_RETENTION,
        )

    def claim(self, space_id: str, moment: str, targets: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Claim (user_id, device_id) targets before sending; returns the ones this caller owns.

        A target already sent, or being sent by someone else within the lease, is not returned.
        """
        now = int(self._clock())
        claimable = (PushClaimModel.key.does_not_exist()) | (
            (PushClaimModel.status == "sending") & (PushClaimModel.claimed_at < now - self._lease)
        )
        targets = list(dict.fromkeys(targets))
        owned: list[tuple[str, str]] = []
        for start in range(0, len(targets), CLAIMS_PER_TRANSACTION):
            pending = list(targets[start : start + CLAIMS_PER_TRANSACTION])
            while pending:
                try:
                    with transaction(self._connection) as tx:
                        for user_id, device_id in pending:
                            tx.save(device_id, self._item(space_id, moment, user_id, device_id, "sending", now), condition=claimable)
                except ConditionsFailed as exc:
                    # Those already claimed drop out; the rest are claimed in the next round.
                    pending = [t for t in pending if t[1] not in exc.names]
                    continue
                owned.extend(pending)
                break
        return owned

    def settle(self, space_id: str, moment: str, sent: list[tuple[str, str]], failed: list[tuple[str, str]]) -> None:
        """Mark sent claims `sent`; delete failed ones so a retry can claim them again."""
        now = int(self._clock())
        try:
            with PushClaimModel.batch_write() as batch:
                for user_id, device_id in sent:
                    batch.save(self._item(space_id, moment, user_id, device_id, "sent", now))
                for _, device_id in failed:
                    batch.delete(PushClaimModel(self.key(space_id, moment, device_id)))
        except Exception as exc:
            raise dependency_failure(exc) from exc

    def status(self, space_id: str, moment: str, device_id: str) -> str | None:
        try:
            return PushClaimModel.get(self.key(space_id, moment, device_id)).status
        except DoesNotExist:
            return None
