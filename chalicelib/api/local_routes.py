"""The local stage's answer to a path no route serves: the contract's 404, not API Gateway's 403.

`chalice local` (and `chalice.test.Client`, which the functional tests drive) imitate API
Gateway: a path that matches no route is refused before the app runs, with 403 and
`{"message": "Missing Authentication Token"}` (or a SigV4 complaint when an Authorization header
is present), a shape no client of this API expects. In AWS the stage's gateway responses give the
contract's body (infra/); locally this hook does: it wraps the local gateway's request handling,
and where the path matches no registered route, answers 404 `{"code": "not_found", "message"}`.
Installed by app.py in the local stage only; nothing of it runs in Lambda.
"""
from __future__ import annotations

import json


def install(app) -> None:
    from chalice import local

    if getattr(local.LocalGateway.handle_request, "answers_unknown_routes", False):
        return
    original = local.LocalGateway.handle_request

    class RouteNotFound(local.LocalGatewayException):
        CODE = 404

    def handle_request(self, method, path, headers, body):
        try:
            return original(self, method, path, headers, body)
        except local.ForbiddenError:
            try:
                local.RouteMatcher(list(app.routes)).match_route(path)
            except ValueError:
                message = f"no route serves {method} {path.split('?')[0]}"
                raise RouteNotFound(
                    {"Content-Type": "application/json"},
                    json.dumps({"code": "not_found", "message": message}).encode(),
                ) from None
            raise

    handle_request.answers_unknown_routes = True  # type: ignore[attr-defined]
    local.LocalGateway.handle_request = handle_request  # type: ignore[method-assign]
