"""The one edge where list cursors are opened and sealed (chalicelib/adapters/cursors.py).

A cursor is bound to the list it came from: the method, the concrete path and every query
parameter that picks the list (state, topic, q, following ...), so it cannot be replayed on another
list. `limit` and `wait` may change from page to page. It is not bound to the caller: a list that
is the caller's own (`/me/tickets`, `following=true`) takes its owner from the request, never from
the cursor, so a cursor passed to someone else only says where to start in their own list.
"""
from __future__ import annotations

from chalicelib import bootstrap
from chalicelib.api.idempotency import concrete_path
from chalicelib.domain.errors import BadRequest
from chalicelib.domain.paging import DEFAULT_LIMIT, MAX_LIMIT, page_limit
from chalicelib.ports import PageCursor

PAGING_PARAMS = {"limit", "wait"}


class RequestPage(PageCursor):
    def __init__(self, request, names: tuple[str, ...] = ("cursor",), keep: tuple[str, ...] = ()):
        params = request.query_params or {}
        self._limit = params.get("limit")
        # `names`: the parameters that may carry the cursor (captions take `after` or `cursor`);
        # `keep`: words that are not cursors and reach the use case as they are (`latest`).
        self._raw = next((params[n] for n in names if params.get(n)), None)
        self._keep = keep
        picked = sorted((k, v) for k, v in params.items() if k not in PAGING_PARAMS and k not in names)
        self._scope = "\n".join(
            [request.method, concrete_path(request)] + [f"{k}={v}" for k, v in picked]
        )

    def after(self, shape: dict[str, type]):
        if self._raw in self._keep:
            return self._raw
        values = bootstrap.cursors().open(self._scope, self._raw)
        if values is not None and (
            set(values) != set(shape) or not all(type(values[k]) is kind for k, kind in shape.items())
        ):
            raise BadRequest("cursor is not one this list returned", code="invalid_cursor")
        return values

    def limit(self, default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT) -> int:
        return page_limit(self._limit, default, maximum)

    def seal(self, values: dict | None) -> str | None:
        return bootstrap.cursors().seal(self._scope, values)
