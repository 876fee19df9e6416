"""Turning PynamoDB/botocore failures into domain errors, by error code (never by message)."""
from __future__ import annotations

from chalicelib.domain.errors import DependencyFailed

_THROTTLING = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TransactionInProgressException",
}


def cancellation_codes(exc) -> list[str | None]:
    """Per-item reasons of a canceled transaction, in the order the items were added."""
    reasons = getattr(exc, "cancellation_reasons", None) or []
    return [r.code if r is not None else None for r in reasons]


def is_conflict(exc) -> bool:
    """A transaction that lost a race with another transaction on the same items."""
    codes = cancellation_codes(exc)
    return "TransactionConflict" in codes


def dependency_failure(exc) -> DependencyFailed:
    code = getattr(exc, "cause_response_code", None)
    if code in _THROTTLING or "ThrottlingError" in cancellation_codes(exc):
        return DependencyFailed("the database is busy; retry shortly", code="database_busy")
    if is_conflict(exc):
        return DependencyFailed(
            "another change to the same Space was in flight; retry", code="write_conflict", retry_after=1
        )
    return DependencyFailed("the database is unavailable; retry shortly", code="database_unavailable")

