"""`Idempotency-Key` on the routes that send notifications or charge money (docs/contract.md).

A key belongs to one request: its user, method, concrete path (`/spaces/S1/cancel`, not the route
template) and body, the body compared as canonical JSON so key order and whitespace do not matter.
A replay of that request returns the first response, status included, without running the route
again; the same key on another path, method or body is 422 `idempotency_key_reused`, never a
replay of someone else's answer; a replay while the first is still running is 409
`request_in_progress`. A request that failed (any error response) is not remembered, so it can
be retried with the same key. Records live 24 hours.

Built on Powertools idempotency (`idempotent_function`) with its DynamoDB persistence layer on the
app's idempotency table. The Powertools module is imported only when a request carries the header.
"""
from __future__ import annotations

import json
from functools import wraps

from chalice import Response

from chalicelib import bootstrap
from chalicelib.api.http import JSON_HEADERS, current_user_id, error_response
from chalicelib.domain.errors import BadRequest, Conflict, DependencyFailed, RuleViolation

HEADER = "idempotency-key"
RECORD_SECONDS = 24 * 3600


def idempotent(bp, required: bool = False):
    """Wrap an `@endpoint` view of blueprint `bp`: with an Idempotency-Key header, run it at
    most once per key."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            request = bp.current_request
            key = (request.headers or {}).get(HEADER)
            if key is None:
                if required:
                    return error_response(BadRequest("an Idempotency-Key header is required", code="idempotency_key_required"))
                return view(*args, **kwargs)
            if not (1 <= len(key) <= 255) or not key.isprintable():
                return error_response(BadRequest("Idempotency-Key must be 1-255 printable characters", code="invalid_idempotency_key"))
            return _run_once(view, args, kwargs, request, key, bp.lambda_context)

        return wrapper

    return decorate


def _run_once(view, args, kwargs, request, key, lambda_context):
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyPersistenceLayerError,
        IdempotencyValidationError,
    )

    class _Failed(Exception):
        def __init__(self, response):
            self.response = response

    # The record is found by user and key alone, and what the key was first used for is the
    # payload Powertools compares: a key reused on another Space, user or body is then refused
    # (IdempotencyValidationError) instead of being stored as a fresh, unrelated record.
    record = {
        "key": f"{current_user_id(request)}:{key}",
        "request": f"{request.method} {concrete_path(request)} {canonical_body(request.raw_body)}",
    }

    config = IdempotencyConfig(
        event_key_jmespath="key",
        payload_validation_jmespath="request",
        expires_after_seconds=RECORD_SECONDS,
        use_local_cache=False,
    )
    # The in-progress record expires with the invocation, so a request that died (or whose
    # clean-up failed) does not block its key for 24 hours. Off Lambda (chalice local), no
    # request outlives API Gateway's 29 s limit either: the same bound.
    config.register_lambda_context(lambda_context or _ApiGatewayDeadline())

    @idempotent_function(
        data_keyword_argument="record",
        persistence_store=bootstrap.idempotency_store(),
        config=config,
    )
    def run(record: dict) -> dict:
        response = view(*args, **kwargs)
        if response.status_code >= 400:
            raise _Failed(response)  # not recorded: the client may retry with the same key
        return {"status": response.status_code, "body": response.body}

    try:
        stored = run(record=record)
    except _Failed as failed:
        return failed.response
    except IdempotencyValidationError:
        return error_response(
            RuleViolation("this Idempotency-Key was used with a different body", code="idempotency_key_reused")
        )
    except IdempotencyAlreadyInProgressError:
        return error_response(Conflict("a request with this Idempotency-Key is still running", code="request_in_progress"))
    except IdempotencyPersistenceLayerError:
        return error_response(DependencyFailed("could not record the Idempotency-Key; retry", code="database_unavailable"))
    headers = dict(JSON_HEADERS)
    return Response(body=stored["body"], status_code=stored["status"], headers=headers)


def concrete_path(request) -> str:
    """The path this request was for. Chalice's `request.path` is the route template
    (`/spaces/{space_id}/cancel`) both under `chalice local` and on API Gateway; the template
    filled in with the decoded `uri_params` is the same on both, stage prefix aside."""
    path = request.path
    for name, value in (request.uri_params or {}).items():
        path = path.replace("{" + name + "}", value)
    return path


def canonical_body(raw: bytes | str | None) -> str:
    """The body as canonical JSON (sorted keys, no whitespace), or as sent when it is not JSON
    (the route will refuse it; a refused request is not remembered)."""
    if not raw:
        return ""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    try:
        return json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (ValueError, RecursionError):
        return text


class _ApiGatewayDeadline:
    """Stands in for the Lambda context where there is none: 30 s left, API Gateway's timeout."""

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000
