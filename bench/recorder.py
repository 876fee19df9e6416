"""Counting AWS calls per benchmark step, and the partition keys the writes touch.

`tests.support.aws_calls.AwsCallRecorder` records on botocore's `before-parameter-build` event
(since commit 5222e2f; before that it used `before-call`, which never sees a call a botocore
Stubber answers and carries the serialized request instead of the API parameters). That event
fires for every API call, before serialization and before any stub answers, with the API
parameters. `ApiCallRecorder` adds a thread-local tag (what the driver was doing, e.g. the join
index) and a lock, for the threaded burst, and pins the event so the bench keeps counting
stubbed calls whatever the shared recorder does.
"""
from __future__ import annotations

import re
import threading

from tests.support.aws_calls import AwsCallRecorder

_EVENT = "before-parameter-build"


class ApiCallRecorder(AwsCallRecorder):
    """AwsCallRecorder pinned to `before-parameter-build` (stubbed calls, API parameters), tagged.

    `tag` (thread-local) labels each call with what the driver was doing, e.g. the join index.
    """

    def __init__(self):
        super().__init__()
        self.tagged: list[tuple[object, str, str, dict]] = []
        self.tag = threading.local()
        self._lock = threading.Lock()

    def attach(self, client) -> "ApiCallRecorder":
        client.meta.events.register(_EVENT, self._record, unique_id=self._id)
        self._attached.append(client)
        return self

    def detach(self) -> None:
        for client in self._attached:
            client.meta.events.unregister(_EVENT, unique_id=self._id)
        self._attached.clear()

    def _record(self, model, params, **_):
        service = model.service_model.service_name
        with self._lock:
            self.calls.append((service, model.name, params))
            self.tagged.append((getattr(self.tag, "value", None), service, model.name, params))

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.tagged.clear()


def hash_key_names() -> dict[str, str]:
    """table name -> partition (hash) key attribute, from the app's PynamoDB models."""
    from chalicelib.adapters.dynamodb.models import ALL_MODELS

    return {m.Meta.table_name: m._hash_keyname for m in ALL_MODELS}


def _value(attribute: dict) -> str:
    # {"S": "abc"} / {"N": "1"}: the partition key's value as text.
    return str(next(iter(attribute.values())))


def written_partition_keys(operation: str, params: dict, hash_keys: dict[str, str]) -> list[tuple[str, str]]:
    """(table, partition key value) for every item a DynamoDB write call writes.

    Transaction condition checks are included: DynamoDB charges them write capacity on their
    item's partition like the writes beside them.
    """
    out: list[tuple[str, str]] = []

    def add(table: str, key_or_item: dict) -> None:
        name = hash_keys.get(table)
        if name and name in key_or_item:
            out.append((table, _value(key_or_item[name])))

    if operation == "PutItem":
        add(params["TableName"], params["Item"])
    elif operation in ("UpdateItem", "DeleteItem"):
        add(params["TableName"], params["Key"])
    elif operation == "TransactWriteItems":
        for action in params.get("TransactItems", []):
            for kind, body in action.items():
                add(body["TableName"], body["Item"] if kind == "Put" else body["Key"])
    elif operation == "BatchWriteItem":
        for table, requests in (params.get("RequestItems") or {}).items():
            for request in requests:
                if "PutRequest" in request:
                    add(table, request["PutRequest"]["Item"])
                elif "DeleteRequest" in request:
                    add(table, request["DeleteRequest"]["Key"])
    return out


def index_key_names() -> dict[str, dict[str, str]]:
    """table name -> {global secondary index name: its partition key attribute}, from the models.
    An index partition takes about 1,000 writes a second like a table's, and a write whose item
    carries the index key writes that index partition too."""
    from pynamodb.indexes import GlobalSecondaryIndex

    from chalicelib.adapters.dynamodb.models import ALL_MODELS

    return {
        m.Meta.table_name: {
            name: index._hash_key_attribute().attr_name
            for name, index in m._indexes.items()
            if isinstance(index, GlobalSecondaryIndex)
        }
        for m in ALL_MODELS
        if m._indexes
    }


_SET = re.compile(r"(#\w+)\s*=\s*(:\w+)")


def written_index_keys(operation: str, params: dict, index_keys: dict[str, dict[str, str]]) -> list[tuple[str, str]]:
    """("<table>/<index>", index partition key value) for every index entry a PutItem writes or
    an UpdateItem (alone or in a transaction) sets with `SET #name = :value`. An entry an
    update removes (REMOVE) also writes its old index partition, which the request does not name:
    not counted here (a leave's; the joins of a burst set, they do not remove)."""
    out: list[tuple[str, str]] = []

    def put(table: str, item: dict) -> None:
        for index, name in index_keys.get(table, {}).items():
            if name in item:
                out.append((f"{table}/{index}", _value(item[name])))

    def update(body: dict) -> None:
        names, values = body.get("ExpressionAttributeNames") or {}, body.get("ExpressionAttributeValues") or {}
        for index, name in index_keys.get(body["TableName"], {}).items():
            for placeholder, value in _SET.findall(body.get("UpdateExpression", "")):
                if names.get(placeholder) == name and value in values:
                    out.append((f"{body['TableName']}/{index}", _value(values[value])))

    if operation == "PutItem":
        put(params["TableName"], params["Item"])
    elif operation == "UpdateItem":
        update(params)
    elif operation == "TransactWriteItems":
        for action in params.get("TransactItems", []):
            for kind, body in action.items():
                if kind == "Put":
                    put(body["TableName"], body["Item"])
                elif kind == "Update":
                    update(body)
    return out
