"""The queue of IVS calls that can wait, in DynamoDB (one partition, oldest first).

An item is leased before its call is made (a conditional write on `lease_until_ms`), so two
drains never make the same call at once; a drain that dies leaves a lease that runs out and the
next drain takes the item. Calls are idempotent on the IVS side (deleting a deleted stage or
disconnecting a gone participant is success), so a call made twice after a lost answer is harmless.
"""
from __future__ import annotations

import json
import time

from pynamodb.exceptions import DeleteError, UpdateError

from chalicelib.adapters.dynamodb.errors import dependency_failure, error_code
from chalicelib.adapters.dynamodb.models import MediaQueueModel
from chalicelib.domain.ids import new_ulid
from chalicelib.domain.media_queue import QueuedCall

QUEUE = "ivs"


def _call(item: MediaQueueModel) -> QueuedCall:
    return QueuedCall(
        seq=item.seq,
        operation=item.operation,
        args=json.loads(item.args),
        attempts=int(item.attempts or 0),
        enqueued_ms=int(item.seq.split("#", 1)[0]),
    )


class DynamoMediaQueue:
    def __init__(self, *, queue: str = QUEUE, clock_ms=None):
        self._queue = queue
        self._clock_ms = clock_ms or (lambda: int(time.time() * 1000))

    def put(self, operation: str, args: list, *, lease_seconds: float = 0) -> QueuedCall:
        """Enqueue a call; with `lease_seconds` the caller keeps it to try at once itself."""
        now = self._clock_ms()
        seq = f"{now:013d}#{new_ulid()}"
        item = MediaQueueModel(self._queue, seq, operation=operation, args=json.dumps(args), attempts=0)
        if lease_seconds:
            item.lease_until_ms = now + int(lease_seconds * 1000)
        try:
            item.save()
        except Exception as exc:  # noqa: BLE001 - translated by code
            raise dependency_failure(exc) from exc
        return _call(item)

    def peek(self, limit: int = 25) -> list[QueuedCall]:
        """The oldest calls nobody holds a lease on now."""
        now = self._clock_ms()
        found = []
        try:
            for item in MediaQueueModel.query(self._queue, consistent_read=True, limit=limit * 2):
                if item.lease_until_ms is None or int(item.lease_until_ms) <= now:
                    found.append(_call(item))
                    if len(found) >= limit:
                        break
        except Exception as exc:  # noqa: BLE001
            raise dependency_failure(exc) from exc
        return found

    def lease(self, call: QueuedCall, seconds: float) -> bool:
        """Hold `call` for `seconds`; False if someone else holds it or it is done."""
        now = self._clock_ms()
        item = MediaQueueModel(self._queue, call.seq)
        condition = MediaQueueModel.seq.exists() & (
            MediaQueueModel.lease_until_ms.does_not_exist() | (MediaQueueModel.lease_until_ms <= now)
        )
        try:
            item.update(actions=[MediaQueueModel.lease_until_ms.set(now + int(seconds * 1000))], condition=condition)
            return True
        except UpdateError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise dependency_failure(exc) from exc

    def done(self, call: QueuedCall) -> None:
        try:
            MediaQueueModel(self._queue, call.seq).delete()
        except DeleteError as exc:
            raise dependency_failure(exc) from exc

    def failed(self, call: QueuedCall, retry_in_seconds: float) -> None:
        """Count a failed attempt; the call is retried after `retry_in_seconds`."""
        now = self._clock_ms()
        try:
            MediaQueueModel(self._queue, call.seq).update(
                actions=[
                    MediaQueueModel.attempts.add(1),
                    MediaQueueModel.lease_until_ms.set(now + int(retry_in_seconds * 1000)),
                ],
                condition=MediaQueueModel.seq.exists(),
            )
        except UpdateError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise dependency_failure(exc) from exc

    def release(self, call: QueuedCall) -> None:
        """Give a lease back unused (the drain ran out of time)."""
        try:
            MediaQueueModel(self._queue, call.seq).update(
                actions=[MediaQueueModel.lease_until_ms.remove()], condition=MediaQueueModel.seq.exists()
            )
        except UpdateError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise dependency_failure(exc) from exc

    def depth(self) -> int:
        try:
            return MediaQueueModel.count(self._queue, consistent_read=True)
        except Exception as exc:  # noqa: BLE001
            raise dependency_failure(exc) from exc
