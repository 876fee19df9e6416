"""BatchGetItem with its unprocessed keys asked again: the one way this app reads many items."""
from __future__ import annotations

from chalicelib.adapters.dynamodb.errors import dependency_failure

ATTEMPTS = 5


def batch_get_items(client, request: dict) -> dict[str, list[dict]]:
    """table name -> the raw items BatchGetItem returned for `request`, asking again for
    unprocessed keys up to ATTEMPTS times in all; keys still unprocessed then are a dependency
    failure, never a silently missing item."""
    found: dict[str, list[dict]] = {}
    try:
        for _ in range(ATTEMPTS):
            response = client.batch_get_item(RequestItems=request)
            for table, raws in response.get("Responses", {}).items():
                found.setdefault(table, []).extend(raws)
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
    except Exception as exc:
        raise dependency_failure(exc) from exc
    if request:
        raise dependency_failure(RuntimeError("BatchGetItem left keys unprocessed"))
    return found
