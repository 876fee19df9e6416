"""A token bucket shared by every Lambda of the account, kept in one DynamoDB item.

Taking a token reads the item (strongly consistent), refills it for the time passed, and writes
it back on condition that nobody else wrote it meanwhile (`version` unchanged; a time would not
do: two writers can read and write within one millisecond): of two
containers taking the last token at once, one wins and the other reads again. Two DynamoDB calls
per token; the item takes at most a few writes a second (the IVS quota it guards is 5 TPS).

`reserve` is how a caller gives way: it takes a token only if `reserve` more would be left, so
work that can wait (reserve 1) never takes the last token a user-facing call could use.

Clocks: each container uses its own. A clock behind refills less (safe); one ahead by d seconds
can let `rate * d` extra tokens out once; the time written never goes backwards.
"""
from __future__ import annotations

import time

from pynamodb.exceptions import DoesNotExist, PutError
from pynamodb.expressions.condition import Condition

from chalicelib.adapters.dynamodb.errors import dependency_failure, error_code
from chalicelib.adapters.dynamodb.models import RateLimitModel

CONTENDED_ATTEMPTS = 5


class DynamoTokenBucket:
    def __init__(self, name: str, *, rate: float, burst: float, clock_ms=None):
        if rate <= 0 or burst < 1:
            raise ValueError("a token bucket needs rate > 0 and burst >= 1")
        self.name = name
        self.rate = rate  # tokens per second
        self.burst = burst
        self._clock_ms = clock_ms or (lambda: int(time.time() * 1000))

    def take(self, reserve: float = 0) -> float:
        """Take one token: 0.0 when taken, else the seconds until one (plus `reserve`) is there."""
        if reserve + 1 > self.burst:
            raise ValueError(f"a reserve of {reserve} leaves no token in a bucket of {self.burst}")
        for _ in range(CONTENDED_ATTEMPTS):
            now = self._clock_ms()
            try:
                item = RateLimitModel.get(self.name, consistent_read=True)
            except DoesNotExist:
                item = None
            except Exception as exc:  # noqa: BLE001 - translated by code
                raise dependency_failure(exc) from exc
            if item is None:
                tokens, since, version = self.burst, now, 0
                condition: Condition = RateLimitModel.bucket.does_not_exist()
            else:
                since, version = int(item.updated_ms), int(item.version or 0)
                elapsed = max(0, now - since)
                tokens = min(self.burst, float(item.tokens) + elapsed * self.rate / 1000)
                condition = RateLimitModel.version == version
            if tokens < 1 + reserve:
                return (1 + reserve - tokens) / self.rate
            try:
                RateLimitModel(
                    self.name, tokens=tokens - 1, updated_ms=max(now, since), version=version + 1
                ).save(condition=condition)
                return 0.0
            except PutError as exc:
                if error_code(exc) != "ConditionalCheckFailedException":
                    raise dependency_failure(exc) from exc
        # Others kept winning: try again after about one token's time.
        return 1 / self.rate

    def peek(self) -> float:
        """Tokens there now (tests, the bench)."""
        try:
            item = RateLimitModel.get(self.name, consistent_read=True)
        except DoesNotExist:
            return self.burst
        elapsed = max(0, self._clock_ms() - int(item.updated_ms))
        return min(self.burst, float(item.tokens) + elapsed * self.rate / 1000)
