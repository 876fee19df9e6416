"""Host analytics in DynamoDB (docs/analytics.md; the table: models_analytics.py).

The analytics fold reads the same participants stream batches as the count fold (the Lambda
`fold_participant_counts` runs both). A participant item says when its current session began
(`joined_at`) and, once it is over, when it ended (`left_at`, or `removed_at` for a removal); so
each stream image names one session and what is known of it. The fold writes each session as
one item keyed by (user, start) with SETs of values that session alone determines: the start,
the end once there is one, `spoke` once the user was on stage. Writing a record again, or an
older record after a newer one, writes nothing new, and no SET ever takes a value back (an open
image never removes the end). That is the fold's idempotency: the key is the session, not the
record, so neither a retried batch nor a shard read twice can count a session twice.

Images that say nothing new are skipped: a heartbeat's (connected, not on stage, `last_seen`
after the join's second) follows its session's join image in the stream, which was written.

Event totals are moved in a transaction with a marker put on condition it is new: an event id
(or, for unique replay listeners, a user id) is counted once.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from msgspec import Struct

from chalicelib.adapters.dynamodb.batch_reads import batch_get_items
from chalicelib.adapters.dynamodb.errors import cancellation_codes, dependency_failure, error_code
from chalicelib.adapters.dynamodb.models import CounterModel
from chalicelib.adapters.dynamodb.models_analytics import AnalyticsModel
from chalicelib.domain.analytics import COUNTED, ListeningSession, expires_at

ON_STAGE = ("host", "cohost", "speaker")
TOTALS = "c"
_STAMP = "%Y-%m-%dT%H:%M:%S.%f%z"  # PynamoDB's UTCDateTimeAttribute


class SessionChange(Struct, frozen=True):
    """What one stream image says about one session."""

    space_id: str
    user_id: str
    shard: int
    start_ms: int
    end_ms: int | None
    spoke: bool

    def merged(self, other: SessionChange) -> SessionChange:
        return SessionChange(
            self.space_id, self.user_id, self.shard, self.start_ms,
            self.end_ms if self.end_ms is not None else other.end_ms, self.spoke or other.spoke,
        )


def _ms(image: dict[str, Any], name: str) -> int | None:
    raw = image.get(name, {}).get("S")
    if not raw:
        return None
    return int(datetime.strptime(raw, _STAMP).timestamp() * 1000)


def session_change(image: dict[str, Any], shards: int) -> SessionChange | None:
    """The session a participant image shows, or None when it shows none or nothing new."""
    start = _ms(image, "joined_at")
    space_id = image.get("space_id", {}).get("S")
    user_id = image.get("user_id", {}).get("S")
    if start is None or not space_id or not user_id:
        return None  # never joined (a host's or co-host's item made with the Space, a block)
    connected = bool(image.get("connected", {}).get("BOOL", False))
    spoke = connected and image.get("role", {}).get("S") in ON_STAGE
    end = None
    if not connected:
        end = _ms(image, "left_at") or _ms(image, "removed_at")
        if end is None:
            return None
        end = max(end, start)
    else:
        last_seen = image.get("last_seen", {}).get("N")
        if not spoke and last_seen is not None and int(last_seen) > start // 1000:
            return None  # a heartbeat: its session's join image came before it
    shard_raw = image.get("count_shard", {}).get("N")
    shard = int(shard_raw) if shard_raw is not None else CounterModel.shard_of(user_id, shards)
    return SessionChange(space_id, user_id, shard % shards, start, end, spoke)


def session_changes(records: list[dict[str, Any]], shards: int) -> list[SessionChange]:
    """One change per session in a batch (Lambda's record shape), what its images say merged."""
    found: dict[tuple[str, str, int], SessionChange] = {}
    for record in records:
        if record.get("eventName") not in ("INSERT", "MODIFY"):
            continue
        image = (record.get("dynamodb") or {}).get("NewImage") or {}
        change = session_change(image, shards)
        if change is None:
            continue
        key = (change.space_id, change.user_id, change.start_ms)
        found[key] = change.merged(found[key]) if key in found else change
    return list(found.values())


def session_item(user_id: str, start_ms: int) -> str:
    return f"s#{user_id}#{start_ms:013d}"


class DynamoAnalytics:
    def __init__(self, shards: int, client: Any = None) -> None:
        self._shards = shards
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = AnalyticsModel._get_connection().connection.client
        return self._client

    def fold_participant_records(self, records: list[dict[str, Any]], retention_days: int) -> int:
        changes = session_changes(records, self._shards)
        for change in changes:
            self._write_session(change, retention_days)
        return len(changes)

    def _write_session(self, change: SessionChange, retention_days: int) -> None:
        started = datetime.fromtimestamp(change.start_ms / 1000, tz=timezone.utc)
        sets = ["#u = :u", "#s = :s", "#x = :x"]
        values: dict[str, Any] = {
            ":u": {"S": change.user_id},
            ":s": {"N": str(change.start_ms)},
            ":x": {"N": str(int(expires_at(started, retention_days).timestamp()))},
        }
        names = {"#u": "user_id", "#s": "start", "#x": "expires"}
        if change.end_ms is not None:
            sets.append("#e = :e")
            values[":e"] = {"N": str(change.end_ms)}
            names["#e"] = "end"
        if change.spoke:
            sets.append("#p = :p")
            values[":p"] = {"BOOL": True}
            names["#p"] = "spoke"
        try:
            self.client.update_item(
                TableName=AnalyticsModel.Meta.table_name,
                Key={
                    "key": {"S": AnalyticsModel.key_for(change.space_id, change.shard)},
                    "item": {"S": session_item(change.user_id, change.start_ms)},
                },
                UpdateExpression="SET " + ", ".join(sets),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except Exception as exc:
            raise dependency_failure(exc) from exc

    def sessions(self, space_id: str) -> list[ListeningSession]:
        found: list[ListeningSession] = []
        try:
            for shard in range(self._shards):
                for item in AnalyticsModel.query(
                    AnalyticsModel.key_for(space_id, shard), AnalyticsModel.item.startswith("s#")
                ):
                    found.append(_session(item))
        except Exception as exc:
            raise dependency_failure(exc) from exc
        return found

    def count_event(
        self, space_id: str, event_id: str, user_id: str, expires_at: datetime, amounts: dict[str, int]
    ) -> bool:
        marker = event_marker(amounts, event_id)
        shard = CounterModel.shard_of(user_id, self._shards)
        table = AnalyticsModel.Meta.table_name
        expires = {"N": str(int(expires_at.timestamp()))}
        kinds = sorted(amounts)
        names = {f"#n{i}": kind for i, kind in enumerate(kinds)}
        values = {f":n{i}": {"N": str(amounts[kind])} for i, kind in enumerate(kinds)}
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": table,
                            "Item": {
                                "key": {"S": f"{AnalyticsModel.key_for(space_id, shard)}#m"},
                                "item": {"S": marker},
                                "expires": expires,
                            },
                            "ConditionExpression": "attribute_not_exists(#k)",
                            "ExpressionAttributeNames": {"#k": "key"},
                        }
                    },
                    {
                        "Update": {
                            "TableName": table,
                            "Key": {
                                "key": {"S": AnalyticsModel.key_for(space_id, shard)},
                                "item": {"S": TOTALS},
                            },
                            "UpdateExpression": "ADD " + ", ".join(f"#n{i} :n{i}" for i in range(len(kinds)))
                            + " SET #x = :x",
                            "ExpressionAttributeNames": {**names, "#x": "expires"},
                            "ExpressionAttributeValues": {**values, ":x": expires},
                        }
                    },
                ]
            )
        except Exception as exc:
            if error_code(exc) == "TransactionCanceledException" and _marker_existed(exc):
                return False
            raise dependency_failure(exc) from exc
        return True

    def totals(self, space_id: str) -> dict[str, int]:
        """One BatchGetItem of the shards' totals items (the items hold one number per kind)."""
        table = AnalyticsModel.Meta.table_name
        keys = [
            {"key": {"S": AnalyticsModel.key_for(space_id, shard)}, "item": {"S": TOTALS}}
            for shard in range(self._shards)
        ]
        totals = dict.fromkeys(COUNTED, 0)
        for item in batch_get_items(self.client, {table: {"Keys": keys}}).get(table, []):
            for kind in COUNTED:
                totals[kind] += int(item.get(kind, {}).get("N", 0))
        return totals


def event_marker(amounts: dict[str, int], event_id: str) -> str:
    """The marker that says an event was counted: its kinds and its id (a user id, for the
    unique-listener kinds, cannot collide with another kind's event id)."""
    unknown = set(amounts) - set(COUNTED)
    if not amounts or unknown:
        raise ValueError(f"not counted kinds: {sorted(unknown) or 'none'}")
    return f"e#{'+'.join(sorted(amounts))}#{event_id}"


def _marker_existed(exc: Exception) -> bool:
    reasons = cancellation_codes(exc)
    return bool(reasons) and reasons[0] == "ConditionalCheckFailed"


def _session(item: AnalyticsModel) -> ListeningSession:
    def at(ms: Any) -> datetime:
        return datetime.fromtimestamp(int(ms) / 1000, tz=timezone.utc)

    return ListeningSession(
        user_id=item.user_id or item.item.split("#")[1],
        start=at(item.start),
        end=at(item.end) if item.end is not None else None,
        spoke=bool(item.spoke),
    )
