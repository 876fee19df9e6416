"""TransactWriteItems with named parts.

PynamoDB sends a transaction's items grouped by kind (condition checks, deletes, puts, updates),
not in the order they were added, and DynamoDB reports cancellation reasons in the order sent.
This wrapper names each part and maps the reasons back to names, so callers ask "did the `space`
condition fail?" instead of counting positions.
"""
from __future__ import annotations

from contextlib import contextmanager

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.dynamodb.errors import dependency_failure


class ConditionsFailed(Exception):
    """Some named conditions failed; `items` holds what each failed part saw (with ALL_OLD)."""

    def __init__(self, names: list[str], items: dict):
        super().__init__(", ".join(names))
        self.names = names
        self.items = items

    def __contains__(self, name: str) -> bool:
        return name in self.names


class NamedTransaction:
    def __init__(self, connection, client_request_token: str | None = None):
        self._tx = TransactWrite(connection=connection, client_request_token=client_request_token)
        self._names: dict[str, list[str]] = {"check": [], "delete": [], "put": [], "update": []}

    def check(self, name: str, model_cls, hash_key, condition, range_key=None) -> None:
        self._tx.condition_check(model_cls, hash_key, range_key=range_key, condition=condition)
        self._names["check"].append(name)

    def delete(self, name: str, model, condition=None) -> None:
        self._tx.delete(model, condition=condition)
        self._names["delete"].append(name)

    def save(self, name: str, model, condition=None, return_values: str | None = None) -> None:
        self._tx.save(model, condition=condition, return_values=return_values)
        self._names["put"].append(name)

    def update(self, name: str, model, actions, condition=None, return_values: str | None = None) -> None:
        self._tx.update(model, actions=actions, condition=condition, return_values=return_values)
        self._names["update"].append(name)

    def sent_order(self) -> list[str]:
        return self._names["check"] + self._names["delete"] + self._names["put"] + self._names["update"]

    def commit(self) -> None:
        try:
            with self._tx:
                pass
        except TransactWriteError as exc:
            reasons = exc.cancellation_reasons or []
            failed, items = [], {}
            for name, reason in zip(self.sent_order(), reasons):
                if reason is not None and reason.code == "ConditionalCheckFailed":
                    failed.append(name)
                    items[name] = reason.raw_item
            if failed:
                raise ConditionsFailed(failed, items) from exc
            raise dependency_failure(exc) from exc


@contextmanager
def transaction(connection, client_request_token: str | None = None):
    """`with transaction(conn) as tx: tx.update("space", ...)`; commits on exit.

    Raises ConditionsFailed naming the parts whose conditions failed, or DependencyFailed.
    """
    tx = NamedTransaction(connection, client_request_token)
    yield tx
    tx.commit()
