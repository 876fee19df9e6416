"""Turning PynamoDB/botocore failures into domain errors, by error code (never by message)."""
from __future__ import annotations

from chalicelib.domain.errors import DependencyFailed

_THROTTLING = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TransactionInProgressException",
}


def error_code(exc) -> str | None:
    """The AWS error code of a PynamoDB or botocore exception; None for timeouts and the like."""
    code = getattr(exc, "cause_response_code", None)
    if code:
        return code
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Code")
    return None


def cancellation_codes(exc) -> list[str | None]:
    """Per-item reasons of a canceled transaction, in the order the items were sent: from
    PynamoDB's TransactWriteError, or from botocore's TransactionCanceledException (the raw
    client's transactions: the count and analytics folds)."""
    reasons = getattr(exc, "cancellation_reasons", None)
    if reasons is not None:
        return [r.code if r is not None else None for r in reasons]
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return [r.get("Code") for r in response.get("CancellationReasons", [])]
    return []


def is_conflict(exc) -> bool:
    """A transaction that lost a race with another transaction on the same items."""
    codes = cancellation_codes(exc)
    return "TransactionConflict" in codes


class DatabaseRequestRejected(RuntimeError):
    """DynamoDB refused a request as malformed: a bug in this code, never the client's fault or
    an outage. Not a DependencyFailed, so it is not disguised as "retry later"."""


def dependency_failure(exc) -> Exception:
    code = error_code(exc)
    if code == "ValidationException":
        return DatabaseRequestRejected(str(exc))
    if code in _THROTTLING or "ThrottlingError" in cancellation_codes(exc):
        return DependencyFailed("the database is busy; retry shortly", code="database_busy")
    if is_conflict(exc):
        return DependencyFailed(
            "another change to the same Space was in flight; retry", code="write_conflict", retry_after=1
        )
    return DependencyFailed("the database is unavailable; retry shortly", code="database_unavailable")

