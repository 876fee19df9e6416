"""AWS SDK failures, translated the same way by every adapter: by error code, never by message.

`aws_call` is the one way an adapter makes an SDK call: an error code the caller expects (a
delete of something already gone, a create of something that exists) answers None, an error code
that means something to the caller (an SNS endpoint that is gone, a device token SNS refuses) is
raised as the caller's own exception, any other AWS error or no answer at all is DependencyFailed
with the adapter's code (a 503 with Retry-After), and anything else, a bug, propagates untouched.
"""
from __future__ import annotations

from typing import Any, Callable, Collection, Mapping, NoReturn, TypeVar

T = TypeVar("T")

from chalicelib.domain.errors import DependencyFailed


def client_error_code(exc: Exception) -> str | None:
    """The AWS error code of a botocore ClientError; None for anything else."""
    # Only called once a client exists, so botocore.exceptions is already loaded: this import is
    # free, and the adapter modules stay importable without botocore.
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code", "Unknown")
    return None


def raise_unavailable(service: str, operation: str, exc: Exception, *, code: str) -> NoReturn:
    """Raise DependencyFailed(code) from an AWS failure (an error answer, or no answer at all);
    re-raise anything else (a bug) untouched. Call only inside the `except` that caught `exc`."""
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.exceptions import HTTPClientError

    error = client_error_code(exc)
    if error is not None:
        raise DependencyFailed(f"{service} {operation} failed ({error})", code=code) from exc
    if isinstance(exc, (BotoConnectionError, HTTPClientError)):
        raise DependencyFailed(f"{service} {operation} unreachable ({type(exc).__name__})", code=code) from exc
    raise exc


def aws_call(
    service: str,
    operation: str,
    method: Callable[..., T],
    *,
    code: str,
    tolerate: Collection[str] = (),
    meaning: Mapping[str, Callable[[], Exception | None]] | None = None,
    **params: Any,
) -> T | None:
    """`method(**params)`; None when it fails with an error code in `tolerate`; the exception
    `meaning[error code]()` builds, raised from the SDK's (a builder may answer None: that code
    means nothing more this time); else the failure translated by `raise_unavailable`
    (DependencyFailed(code), or the bug itself)."""
    try:
        return method(**params)
    except Exception as exc:
        error = client_error_code(exc)
        if tolerate and error in tolerate:
            return None
        if meaning and error is not None and error in meaning:
            translated = meaning[error]()
            if translated is not None:
                raise translated from exc
        raise_unavailable(service, operation, exc, code=code)
