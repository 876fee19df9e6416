"""The participant count fold: participants table stream -> sharded counters, exactly.

A join or a leave writes the participant item only. Each participant item says whether it is in
its shard's counter (`counted`); the fold moves `counted` to `connected` and the counter with it
in ONE transaction per (Space, shard) and batch, each participant's part conditional on the state
the stream showed. So:
- a record delivered twice, or replayed after a crash, finds `counted` already moved: skipped;
- a record older than the item (the user left again meanwhile) fails its condition: skipped, and
  the newer record carries the newer state;
- two folds racing on one item: one wins, the other's condition fails or it retries.
The counter equals the number of `counted` participants at every commit; once the stream is
drained, that is the number of connected ones. docs/joins.md has the costs.

The same fold keeps the counter's `incognito` field: the participants connected incognito
(docs/people.md). `counted_incognito` is to it what `counted` is to `n`, moved in the same
update, conditional on what the stream showed; raising a hand clears `incognito` and the next
record takes that participant out of the incognito count. No extra write per join: the fold's
transaction per (Space, shard) and batch only gains one more ADD.
"""
from __future__ import annotations

import random
import time
from collections import defaultdict

from msgspec import Struct

from chalicelib.adapters.dynamodb.errors import cancellation_codes, dependency_failure, error_code
from chalicelib.adapters.dynamodb.models import CounterModel, ParticipantModel

# A transaction holds at most 100 items: 99 participants and their shard's counter.
CHUNK = 99
ATTEMPTS = 6


class CountChange(Struct, frozen=True):
    """A participant whose `connected` differs from `counted` (or whose incognito standing
    differs from `counted_incognito`), as a stream record showed it: the new state, and the
    counted state the record saw (the fold's condition, so a replayed record does nothing)."""

    space_id: str
    user_id: str
    shard: int
    connected: bool
    incognito: bool = False  # as the item said (the raw flag, not yet ANDed with connected)
    counted: bool = False
    counted_incognito: bool = False

    @property
    def listens_incognito(self) -> bool:
        return self.connected and self.incognito

    @property
    def delta(self) -> int:
        return int(self.connected) - int(self.counted)

    @property
    def incognito_delta(self) -> int:
        return int(self.listens_incognito) - int(self.counted_incognito)


def changes_from_records(records: list[dict]) -> list[CountChange]:
    """The count changes in DynamoDB stream records (Lambda's event shape: `eventName`,
    `dynamodb.NewImage`). The latest record of a participant wins; REMOVE records are ignored
    (participant items are never deleted while their Space is live)."""
    latest: dict[str, CountChange | None] = {}
    for record in records:
        if record.get("eventName") not in ("INSERT", "MODIFY"):
            continue
        image = (record.get("dynamodb") or {}).get("NewImage") or {}
        key = image.get("key", {}).get("S")
        if not key:
            continue
        shard = image.get("count_shard", {}).get("N")
        change = None if shard is None else CountChange(
            image["space_id"]["S"],
            image["user_id"]["S"],
            int(shard),
            _flag(image, "connected"),
            incognito=_flag(image, "incognito"),
            counted=_flag(image, "counted"),
            counted_incognito=_flag(image, "counted_incognito"),
        )
        latest[key] = change if change is not None and (change.delta or change.incognito_delta) else None
    return [change for change in latest.values() if change is not None]


def _flag(image: dict, name: str) -> bool:
    return bool(image.get(name, {}).get("BOOL", False))


class ParticipantCounts:
    """Applies count changes to the `participants` counters (one TransactWriteItems per
    (Space, shard) and up to 99 participants)."""

    def __init__(self, client, *, sleep=time.sleep):
        self._client = client
        self._sleep = sleep

    def fold(self, changes: list[CountChange]) -> int:
        """Apply the changes still true; returns how many moved a counter."""
        groups: dict[tuple[str, int], dict[str, CountChange]] = defaultdict(dict)
        for change in changes:
            groups[(change.space_id, change.shard)][change.user_id] = change
        moved = 0
        for (space_id, shard), users in groups.items():
            pending = list(users.items())
            for i in range(0, len(pending), CHUNK):
                moved += self._fold_chunk(space_id, shard, pending[i : i + CHUNK])
        return moved

    def _fold_chunk(self, space_id: str, shard: int, chunk: list[tuple[str, CountChange]]) -> int:
        chunk = list(chunk)
        for attempt in range(ATTEMPTS):
            if not chunk:
                return 0
            try:
                self._client.transact_write_items(TransactItems=self._items(space_id, shard, chunk))
                return len(chunk)
            except Exception as exc:
                if error_code(exc) != "TransactionCanceledException":
                    raise dependency_failure(exc) from exc
                reasons = cancellation_codes(exc)
                # Parts whose condition failed are already folded or outdated: drop them. Any
                # other reason (a conflict with a join or another fold) is retried as it was.
                failed = {i for i, code in enumerate(reasons[: len(chunk)]) if code == "ConditionalCheckFailed"}
                chunk = [part for i, part in enumerate(chunk) if i not in failed]
                if failed:
                    continue
                if attempt + 1 < ATTEMPTS:
                    self._sleep(min(0.05 * 2**attempt, 1.0) * random.uniform(0.5, 1.5))
                    continue
                raise dependency_failure(exc) from exc
        raise dependency_failure(RuntimeError("count fold kept conflicting"))

    @staticmethod
    def _items(space_id: str, shard: int, chunk: list[tuple[str, CountChange]]) -> list[dict]:
        items = []
        delta = incognito_delta = 0
        for user_id, change in chunk:
            delta += change.delta
            incognito_delta += change.incognito_delta
            flags = {
                "#incognito": change.incognito,
                "#counted": change.counted,
                "#counted_incognito": change.counted_incognito,
            }
            items.append(
                {
                    "Update": {
                        "TableName": ParticipantModel.Meta.table_name,
                        "Key": {"key": {"S": ParticipantModel.key_for(space_id, user_id)}},
                        "UpdateExpression": "SET #counted = :c, #counted_incognito = :ci",
                        # Counted only as what the stream showed, and only once.
                        "ConditionExpression": " AND ".join(
                            ["#connected = :c"] + [_is(name, value) for name, value in flags.items()]
                        ),
                        "ExpressionAttributeNames": {
                            "#connected": "connected",
                            "#counted": "counted",
                            "#incognito": "incognito",
                            "#counted_incognito": "counted_incognito",
                        },
                        # DynamoDB refuses a value the expressions do not use: name only those used.
                        "ExpressionAttributeValues": {
                            ":c": {"BOOL": change.connected},
                            ":ci": {"BOOL": change.listens_incognito},
                            **{f":{v}".lower(): {"BOOL": v} for v in set(flags.values())},
                        },
                    }
                }
            )
        # The counter goes last, so cancellation reasons line up with `chunk`.
        items.append(
            {
                "Update": {
                    "TableName": CounterModel.Meta.table_name,
                    "Key": {"key": {"S": CounterModel.key_for("participants", space_id, shard)}},
                    "UpdateExpression": "ADD #n :d, #i :di",
                    "ExpressionAttributeNames": {"#n": "n", "#i": "incognito"},
                    "ExpressionAttributeValues": {":d": {"N": str(delta)}, ":di": {"N": str(incognito_delta)}},
                }
            }
        )
        return items


def _is(name: str, value: bool) -> str:
    """A condition that a flag is as given (absent counts as false)."""
    return f"{name} = :true" if value else f"(attribute_not_exists({name}) OR {name} = :false)"
