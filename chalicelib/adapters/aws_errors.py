"""AWS SDK failures, translated the same way by every adapter: by error code, never by message."""
from __future__ import annotations

from typing import NoReturn

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
