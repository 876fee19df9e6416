"""Every response a test sees, held to openapi.yaml.

One check, used by the functional suite's `Api` client (tests/conftest.py), by the end-to-end and
contract suites' HTTP calls (`LocalStack.request`) and by the browser tests' response listener
(`browser_drift`): the response's status code is one the operation declares, its content type and
headers are the declared ones, and its body validates against the declared schema. The checks are
Schemathesis' own (the ones `make fuzz` runs), applied to responses the tests produce, so a shape
that drifts from the document fails the test that saw it, with the operation and the reason.

Requests to paths openapi.yaml does not document (a deliberately unknown route, say) are not
checked here: there is no operation to hold them to.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Mapping, Optional
from urllib.parse import parse_qsl, unquote, urlsplit

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi.yaml"


class ContractDrift(AssertionError):
    """A response that openapi.yaml does not allow."""


@lru_cache(maxsize=1)
def _schema():
    import schemathesis

    return schemathesis.openapi.from_path(SPEC_PATH)


@lru_cache(maxsize=1)
def _checks():
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    return [
        status_code_conformance,
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
    ]


def check_response(
    method: str,
    path: str,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    request_headers: Optional[Mapping[str, str]] = None,
) -> None:
    """Raise ContractDrift when the response breaks openapi.yaml for `method path`."""
    import requests
    from schemathesis.core.failures import FailureGroup
    from schemathesis.core.transport import Response

    split = urlsplit(path)
    operation = _schema().find_operation_by_path(method.lower(), split.path)
    if operation is None:
        return
    prepared = requests.Request(method.upper(), "http://127.0.0.1" + path, headers=dict(request_headers or {})).prepare()
    sent = {name: [value] for name, value in headers.items()}
    if not any(name.lower() == "content-type" for name in sent):
        # A Lambda proxy answer without one is sent as application/json by API Gateway and by
        # `chalice local`; chalice.test.Client hands back the handler's headers as they are.
        sent["Content-Type"] = ["application/json"]
    response = Response(
        status_code=status, headers=sent, content=body or b"", request=prepared, elapsed=0.0, verify=True
    )
    case = operation.Case(
        method=method.upper(),
        path_parameters=_path_parameters(operation.path, split.path),
        query=dict(parse_qsl(split.query)) or None,
    )
    try:
        case.validate_response(response, checks=_checks())
    except FailureGroup as failure:
        reasons = "\n".join(f"- {exc.title}: {getattr(exc, 'message', exc)}" for exc in failure.exceptions)
        raise ContractDrift(
            f"{method.upper()} {path} -> {status} does not match openapi.yaml ({operation.label}):\n"
            f"{reasons}\nbody: {(body or b'')[:800]!r}"
        ) from None


def browser_drift(response, base_url: str) -> list[str]:
    """What is wrong with a Playwright response a page received, if it is an answer of the
    stack's own API (same origin as `base_url`) that openapi.yaml does not allow: the browser
    tests' `page.on("response")` listener. Another origin (the media server) passes through, and
    so do paths the document does not describe. The listener records; the test fails at
    teardown (an exception in a Playwright event handler would only be swallowed)."""
    url = urlsplit(response.url)
    if f"{url.scheme}://{url.netloc}" != base_url:
        return []
    request = response.request
    path = url.path + (f"?{url.query}" if url.query else "")
    try:
        # A redirect's body is never kept by the browser; its status and headers are checked.
        body = b"" if 300 <= response.status < 400 else response.body()
    except Exception:  # noqa: BLE001 - the page navigated away or closed (a long poll at teardown)
        return []  # no body left to hold to the document
    try:
        check_response(request.method, path, response.status, response.headers, body, request.headers)
    except ContractDrift as exc:
        return [str(exc)]
    return []


def _path_parameters(template: str, path: str) -> dict[str, str]:
    pattern = re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(template))
    match = re.fullmatch(pattern, path)
    return {name: unquote(value) for name, value in match.groupdict().items()} if match else {}
