"""Counting AWS API calls with a botocore event hook (tests and benchmarks)."""
from __future__ import annotations

import uuid


class AwsCallRecorder:
    """Records every API call made by the clients it is attached to: (service, operation, params)."""

    def __init__(self):
        self.calls: list[tuple[str, str, dict]] = []
        self._attached: list = []
        self._id = f"aws-call-recorder-{uuid.uuid4().hex}"

    # `before-parameter-build` carries the API parameters as the caller gave them (TableName, Key,
    # TransactItems ...) and fires once per API call; `before-call` would carry the serialized
    # HTTP request instead, where no TableName is to be found.
    EVENT = "before-parameter-build"

    def attach(self, client) -> "AwsCallRecorder":
        client.meta.events.register(self.EVENT, self._record, unique_id=self._id)
        self._attached.append(client)
        return self

    def detach(self) -> None:
        for client in self._attached:
            client.meta.events.unregister(self.EVENT, unique_id=self._id)
        self._attached.clear()

    def _record(self, model, params, **_):
        self.calls.append((model.service_model.service_name, model.name, params))

    def reset(self) -> None:
        self.calls.clear()

    def operations(self, service: str | None = None) -> list[str]:
        return [op for svc, op, _ in self.calls if service in (None, svc)]

    def writes_to(self, table_name: str) -> list[str]:
        """Operations that wrote (or would write) an item of `table_name`."""
        hits = []
        for _, op, params in self.calls:
            if op in ("PutItem", "UpdateItem", "DeleteItem") and params.get("TableName") == table_name:
                hits.append(op)
            for action in params.get("TransactItems", []):
                for kind, body in action.items():
                    if kind != "ConditionCheck" and body.get("TableName") == table_name:
                        hits.append(f"TransactWriteItems:{kind}")
            for name in (params.get("RequestItems") or {}):
                if name == table_name and op == "BatchWriteItem":
                    hits.append(op)
        return hits

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.detach()


def dynamodb_clients() -> list:
    """The botocore clients every PynamoDB model uses (one per model connection)."""
    from chalicelib.adapters.dynamodb.models import ALL_MODELS

    clients = {id(c): c for c in (m._get_connection().connection.client for m in ALL_MODELS)}
    return list(clients.values())
