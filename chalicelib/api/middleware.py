"""Per-request plumbing: correlation id, authentication, metrics flush."""
from __future__ import annotations

import uuid

from chalicelib import bootstrap
from chalicelib.api.http import error_response
from chalicelib.domain.errors import DomainError
from chalicelib.domain.text import check_query

# Routes that carry no bearer token: liveness, provider webhooks (the signature is the auth), and
# the local stage's web client: its files and the sign-in that hands out the token
# (chalicelib/api/web.py, registered only when SPACES_STAGE is `local`); and the share page of a
# Space (chalicelib/api/share.py), which chat apps' link crawlers fetch without a token.
PUBLIC_PREFIXES = ("/health", "/webhooks/", "/web/", "/s/")
PUBLIC_PATHS = ("/", "/local/sign-in")


def _is_public(path: str) -> bool:
    if path in PUBLIC_PATHS:
        return True
    return any(path == p.rstrip("/") or path.startswith(p) for p in PUBLIC_PREFIXES)


def _api_error_shape(response):
    """Chalice's own refusals (415 unsupported media type, 400 bad body ...) use
    {"Code", "Message"}; give every error the one shape the contract promises."""
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and set(body) == {"Code", "Message"}:
        code = "".join("_" + c.lower() if c.isupper() else c for c in body["Code"]).lstrip("_")
        response.body = {"code": code.removesuffix("_error"), "message": body["Message"]}
    return response


def http_middleware(event, get_response):
    logger = bootstrap.logger()
    headers = event.headers or {}
    correlation_id = headers.get("x-request-id") or (event.context or {}).get("requestId") or str(uuid.uuid4())
    logger.set_correlation_id(correlation_id)
    path = event.path
    # Tracing is on in AWS stages (X-Ray). Off (locally), the tracer is never even built: it
    # imports the X-Ray SDK, about 300 ms of cold start.
    if bootstrap.settings().tracing_enabled:
        bootstrap.tracer().put_annotation(key="correlation_id", value=correlation_id)
    try:
        try:
            if not _is_public(path):
                user_id, claims = bootstrap.verifier().identify(headers.get("authorization"))
                # The profile claims ride along for GET /me (api/people.py); nothing else reads them.
                event.context.setdefault("authorizer", {}).update(claims, principalId=user_id)
                logger.append_keys(user_id=user_id)
            # Who is asking comes first (401); then the bounds every query string is held to.
            check_query(event.query_params)
        except DomainError as exc:
            logger.info("request refused", status=exc.status, code=exc.code, path=path)
            response = error_response(exc)
            response.headers["X-Request-Id"] = correlation_id
            return response
        response = _api_error_shape(get_response(event))
        logger.info("request", method=event.method, path=path, status=response.status_code)
    finally:
        bootstrap.flush_metrics()
        logger.remove_keys(["user_id"])
    response.headers["X-Request-Id"] = correlation_id
    return response
