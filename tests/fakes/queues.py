"""In-memory fakes of the SQS queues (QueuePort; its contract: tests/integration/test_outside_ports_contract.py), the rate limits and the media queue (chalicelib/repository_ports.py), with
the rules of their DynamoDB adapters (adapters/dynamodb/room_events.py `DynamoReactionLimits`,
adapters/dynamodb/media_queue.py): a user's action passes when their last one is at least the
interval old; a queued call is leased by one drain at a time, oldest first, until its lease runs
out. tests/integration/test_limit_and_queue_contract.py runs the same tests on both.
"""
from __future__ import annotations

import json
import time
from datetime import datetime
from collections.abc import Sequence
from typing import Any, Callable

from chalicelib.adapters.json_body import json_text
from chalicelib.domain.ids import new_ulid
from chalicelib.domain.media_queue import QueuedCall


class FakeQueue:
    """A queue that keeps what was sent, for the test to hand to the consumer it feeds. Bodies
    travel as JSON, as in SQS: what cannot be encoded is refused (TypeError) before anything is
    sent, and the consumer gets a copy, never the sender's own dict
    (tests/integration/test_outside_ports_contract.py holds it to SqsQueue)."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def send_batch(self, bodies: Sequence[Any]) -> None:
        encoded = [json_text(body) for body in bodies]
        self.bodies.extend(json.loads(body) for body in encoded)

    def take(self) -> list[dict[str, Any]]:
        taken, self.bodies = self.bodies, []
        return taken


class FakeRateLimits:
    def __init__(self, *, interval_ms: int) -> None:
        self._interval = interval_ms
        self.last_at: dict[tuple[str, str], int] = {}

    def acquire(self, space_id: str, user_id: str, now: datetime) -> int:
        now_ms = int(now.timestamp() * 1000)
        last = self.last_at.get((space_id, user_id))
        if last is None or last <= now_ms - self._interval:
            self.last_at[(space_id, user_id)] = now_ms
            return 0
        return max(last + self._interval - now_ms, 1)


class FakeMediaQueue:
    def __init__(self, *, clock_ms: Callable[[], int] | None = None) -> None:
        self._clock_ms = clock_ms or (lambda: int(time.time() * 1000))
        self.items: dict[str, dict[str, Any]] = {}  # seq -> operation, args, attempts, lease_until_ms

    def _call(self, seq: str) -> QueuedCall:
        item = self.items[seq]
        return QueuedCall(seq, item["operation"], list(item["args"]), item["attempts"], int(seq.split("#", 1)[0]))

    def put(self, operation: str, args: list[Any], *, lease_seconds: float = 0) -> QueuedCall:
        now = self._clock_ms()
        seq = f"{now:013d}#{new_ulid()}"
        lease = now + int(lease_seconds * 1000) if lease_seconds else None
        self.items[seq] = {"operation": operation, "args": list(args), "attempts": 0, "lease_until_ms": lease}
        return self._call(seq)

    def _free(self, seq: str, now: int) -> bool:
        lease = self.items[seq]["lease_until_ms"]
        return lease is None or lease <= now

    def peek(self, limit: int = 25) -> list[QueuedCall]:
        now = self._clock_ms()
        read = sorted(self.items)[: limit * 2]  # the adapter reads twice the limit, then skips the leased
        return [self._call(seq) for seq in read if self._free(seq, now)][:limit]

    def lease(self, call: QueuedCall, seconds: float) -> bool:
        now = self._clock_ms()
        if call.seq not in self.items or not self._free(call.seq, now):
            return False
        self.items[call.seq]["lease_until_ms"] = now + int(seconds * 1000)
        return True

    def done(self, call: QueuedCall) -> None:
        self.items.pop(call.seq, None)

    def failed(self, call: QueuedCall, retry_in_seconds: float) -> None:
        if call.seq in self.items:
            self.items[call.seq]["attempts"] += 1
            self.items[call.seq]["lease_until_ms"] = self._clock_ms() + int(retry_in_seconds * 1000)

    def release(self, call: QueuedCall) -> None:
        if call.seq in self.items:
            self.items[call.seq]["lease_until_ms"] = None

    def depth(self) -> int:
        return len(self.items)
