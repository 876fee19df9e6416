"""A page's last key between DynamoDB's form and the plain values a use case and a cursor carry.

Queries return `LastEvaluatedKey` as attribute values (`{"rank": {"N": "12"}}`); use cases and
cursors see `{"rank": 12}`, without the key parts the request already fixes (whose list, whose
tickets), which are put back from the request here, never taken from a client.
"""
from __future__ import annotations

from typing import Any, Callable, TypeVar

from chalicelib.adapters.dynamodb.errors import dependency_failure

T = TypeVar("T")


def start_key(after: dict | None, **fixed: str) -> dict | None:
    """The ExclusiveStartKey for plain `after` values (strings, whole numbers) plus `fixed` ones."""
    if after is None:
        return None
    key = {name: {"S": value} for name, value in fixed.items()}
    for name, value in after.items():
        key[name] = {"N": str(value)} if isinstance(value, int) else {"S": value}
    return key


def last_values(last_evaluated_key: dict | None, *fixed: str) -> dict | None:
    """The plain values of a LastEvaluatedKey, less the `fixed` parts."""
    if not last_evaluated_key:
        return None
    values = {}
    for name, typed in last_evaluated_key.items():
        if name in fixed:
            continue
        (kind, value), = typed.items()
        values[name] = int(value) if kind == "N" else value
    return values


def query_page(
    query: Callable[..., Any],
    hash_name: str,
    hash_value: str,
    *,
    limit: int,
    after: dict | None,
    convert: Callable[[Any], T],
    **options: Any,
) -> tuple[list[T], dict | None]:
    """One page of a Query and the plain last key after it: `(items, last values or None)`.

    `query` is a model's or an index's `query`; `hash_name` is the partition key's attribute
    name, put back into the start key from the request and left out of the last values.
    `options` go to the query as they are (a range key condition, `scan_index_forward` ...).
    Reading the page and converting its items happen inside the one `try`, since PynamoDB sends
    the request on iteration: any failure there is the database's (a `DependencyFailed`).
    """
    try:
        result = query(
            hash_value,
            limit=limit,
            page_size=limit,
            last_evaluated_key=start_key(after, **{hash_name: hash_value}),
            **options,
        )
        items = [convert(item) for item in result]
    except Exception as exc:
        raise dependency_failure(exc) from exc
    return items, last_values(result.last_evaluated_key, hash_name)
