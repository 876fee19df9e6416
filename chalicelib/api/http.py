"""The HTTP edge: JSON in, JSON out, and the ONE place domain errors become status codes."""
from __future__ import annotations

from functools import wraps
from typing import Any, Callable, TypeVar

from aws_lambda_powertools import Logger

from chalicelib.config import SERVICE_NAME
from chalice import Response

from chalicelib.domain.errors import BadRequest, DependencyFailed, DomainError, RuleViolation, Throttled
from chalicelib.domain.text import parse_json_body

logger = Logger(child=True, service=SERVICE_NAME)

JSON_HEADERS = {"Content-Type": "application/json"}


def error_response(exc: DomainError) -> Response:
    headers: dict[str, str | list[str]] = dict(JSON_HEADERS)
    if isinstance(exc, (DependencyFailed, Throttled)):
        headers["Retry-After"] = str(exc.retry_after)
    body: dict[str, Any] = {"code": exc.code, "message": exc.message}
    if exc.details:
        body["details"] = exc.details
    return Response(body=body, status_code=exc.status, headers=headers)


def _is_dependency_error(exc: Exception) -> bool:
    """AWS SDK or PynamoDB failures an adapter did not translate: still the dependency's fault."""
    from botocore.exceptions import BotoCoreError, ClientError
    from pynamodb.exceptions import PynamoDBException

    return isinstance(exc, (BotoCoreError, ClientError, PynamoDBException))


MAX_CAUSE_CHARS = 500  # enough for DynamoDB's error code and message, bounded for the log line


def cause_of(exc: BaseException) -> str | None:
    """What the dependency answered, as the adapter chained it (`raise ... from exc`): its repr,
    cut to MAX_CAUSE_CHARS. The client's message stays generic; the log says what happened."""
    cause = exc.__cause__
    if cause is None:
        return None
    text = repr(cause)
    return text if len(text) <= MAX_CAUSE_CHARS else text[: MAX_CAUSE_CHARS - 1] + "…"


def endpoint(status: int = 200):
    """Wrap a view: its dict result becomes the JSON body, any DomainError the contract's error."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            try:
                result = view(*args, **kwargs)
            except DomainError as exc:
                if exc.status >= 500:
                    logger.warning("dependency failed", code=exc.code, error=exc.message, cause=cause_of(exc))
                return error_response(exc)
            except Exception as exc:
                if _is_dependency_error(exc):
                    logger.exception("untranslated dependency failure")
                    return error_response(DependencyFailed("a dependency failed; retry shortly"))
                raise
            if isinstance(result, Response):
                return result
            return Response(body=result, status_code=status, headers=dict(JSON_HEADERS))

        return wrapper

    return decorate


def json_body(request, *, required: bool = True) -> dict:
    """The request's JSON object body, or a 400 that says what is wrong with it."""
    raw = request.raw_body
    if not raw:
        if required:
            raise BadRequest("a JSON object body is required", code="body_required")
        return {}
    try:
        body = parse_json_body(raw)  # the size, depth and text bounds (chalicelib/domain/text.py)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("the body is not valid JSON", code="invalid_json") from exc
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object", code="invalid_json")
    return body


C = TypeVar("C")


def command(
    request,
    parse: Callable[[dict], C],
    *,
    authorize: Callable[[], object] | None,
    required: bool = True,
) -> C:
    """The request's body as the use case's command (`parse` turns the JSON object into it).

    Who may act is judged before what was sent (401, 403, 404, then 400/422), on every route
    with a body: when the body is not JSON, breaks the bounds or is not a valid command,
    `authorize` runs first. It is the use case's own read-only check of the caller and the
    target (the use case makes the same call before it acts), so a caller who may not act hears
    its 403/404 whatever the body holds, and only then does a caller who may hear the 400/422.
    A valid body pays nothing for this. `authorize=None` says the route has nobody to refuse
    before the body (any signed-in caller may try it).
    """
    try:
        return parse(json_body(request, required=required))
    except (BadRequest, RuleViolation):
        if authorize is not None:
            authorize()
        raise


def current_user_id(request) -> str:
    """The verified caller, set by the auth middleware (chalicelib/api/middleware.py)."""
    return request.context["authorizer"]["principalId"]
