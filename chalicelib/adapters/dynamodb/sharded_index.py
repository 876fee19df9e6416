"""Reading a sparse index whose partition key is spread over shards ("<prefix>#<n>"), as the
ticket holds and the subscription renewals are: one Query per shard, never a Scan."""
from __future__ import annotations

from chalicelib.adapters.dynamodb.errors import dependency_failure


def query_shards(index, prefix: str, shards: int, range_condition, limit: int) -> list:
    """The items of a sparse index sharded as "<prefix>#<n>" that meet `range_condition`: one
    Query per shard (at most `limit` items each), never a Scan."""
    try:
        return [m for shard in range(shards) for m in index.query(f"{prefix}#{shard}", range_condition, limit=limit)]
    except Exception as exc:
        raise dependency_failure(exc) from exc
