"""A page's last key between DynamoDB's form and the plain values a use case and a cursor carry.

Queries return `LastEvaluatedKey` as attribute values (`{"rank": {"N": "12"}}`); use cases and
cursors see `{"rank": 12}`, without the key parts the request already fixes (whose list, whose
tickets), which are put back from the request here, never taken from a client.
"""
from __future__ import annotations


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
