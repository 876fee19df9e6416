"""Every error a client can cause, defined once.

Each class carries its HTTP status and a stable machine-readable code; `chalicelib/api/errors.py`
turns any of them into the JSON body of the contract (docs/contract.md). Services raise these; nothing else decides status
codes.
"""
from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or {}


class BadRequest(DomainError):
    """Malformed input: wrong type, missing field, unparsable value."""

    status = 400
    code = "bad_request"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class Forbidden(DomainError):
    """The caller is known but their role does not allow this."""

    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    """The resource is in a state that does not allow this (ended, already answered ...)."""

    status = 409
    code = "conflict"


class Gone(DomainError):
    """It existed and is gone for good (a replay past its retention)."""

    status = 410
    code = "gone"


class RuleViolation(DomainError):
    """Well-formed, but breaks a product rule (not eligible to host, too many topics ...)."""

    status = 422
    code = "rule_violation"


class Throttled(DomainError):
    """Too many requests of one kind from one caller; retry after `retry_after` seconds."""

    status = 429
    code = "throttled"

    def __init__(self, message: str, *, code: str | None = None, retry_after: int = 1):
        super().__init__(message, code=code)
        self.retry_after = retry_after


class DependencyFailed(DomainError):
    """An outside system failed; the request changed nothing and may be retried."""

    status = 503
    code = "dependency_unavailable"

    def __init__(self, message: str, *, code: str | None = None, retry_after: int = 2):
        super().__init__(message, code=code)
        self.retry_after = retry_after
