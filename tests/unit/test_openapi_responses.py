"""The hook that holds every functional response to openapi.yaml (tests/support/openapi_responses.py)
fails on drift: a missing required field, an undeclared status, a missing declared header."""
from __future__ import annotations

import json

import pytest

from tests.support.openapi_responses import ContractDrift, browser_drift, check_response

ERROR = json.dumps({"code": "space_not_found", "message": "no such Space"}).encode()
HEADERS = {"Content-Type": "application/json", "X-Request-Id": "req-1"}


def test_a_declared_error_passes():
    check_response("GET", "/spaces/01SPACE", 404, HEADERS, ERROR)


def test_a_body_missing_a_required_field_fails():
    with pytest.raises(ContractDrift, match="required property"):
        check_response("GET", "/spaces/01SPACE", 404, HEADERS, json.dumps({"code": "space_not_found"}).encode())


def test_an_undeclared_status_fails():
    with pytest.raises(ContractDrift, match="418"):
        check_response("GET", "/spaces/01SPACE", 418, HEADERS, ERROR)


def test_a_missing_declared_header_fails():
    with pytest.raises(ContractDrift, match="Retry-After"):
        check_response("GET", "/spaces/01SPACE", 503, HEADERS, json.dumps({"code": "database_busy", "message": "m"}).encode())


def test_only_accept_invitations_missing_events_is_excused():
    body = {"space_id": "01SPACE", "role": "speaker", "heartbeat_interval_seconds": 30}
    with pytest.raises(ContractDrift):  # `media` is missing too: not excused
        check_response("POST", "/spaces/01SPACE/invitations/accept", 200, HEADERS, json.dumps(body).encode())
    with pytest.raises(ContractDrift, match="events"):  # the same shape from join is not excused
        check_response("POST", "/spaces/01SPACE/join", 200, HEADERS, json.dumps(body).encode())


def test_an_undocumented_path_is_not_checked():
    check_response("GET", "/no/such/route", 404, HEADERS, b"")


class _Request:
    method = "GET"
    headers = {"authorization": "Bearer t"}


class _BrowserResponse:
    """The parts of a Playwright response the browser tests' listener reads."""

    def __init__(self, url: str, status: int, body: bytes, headers=None) -> None:
        self.url, self.status, self._body = url, status, body
        self.headers = headers or {"content-type": "application/json", "x-request-id": "req-1"}
        self.request = _Request()

    def body(self) -> bytes:
        if isinstance(self._body, Exception):
            raise self._body
        return self._body


BASE = "http://127.0.0.1:8123"


def test_the_browser_listener_records_drift_from_the_stacks_own_api():
    assert browser_drift(_BrowserResponse(f"{BASE}/spaces/01SPACE", 404, ERROR), BASE) == []
    drift = browser_drift(_BrowserResponse(f"{BASE}/spaces/01SPACE", 404, b'{"code": "x"}'), BASE)
    assert len(drift) == 1 and "GET /spaces/01SPACE -> 404" in drift[0]


def test_the_browser_listener_passes_other_origins_and_undocumented_paths():
    assert browser_drift(_BrowserResponse("http://127.0.0.1:9999/spaces/01SPACE", 404, b"{}"), BASE) == []
    assert browser_drift(_BrowserResponse(f"{BASE}/web/vendor/x/y.js", 200, b"x", {}), BASE) == []


def test_a_body_the_browser_lost_is_not_drift():
    # A long poll answered as the test closes the page: nothing left to check.
    lost = _BrowserResponse(f"{BASE}/spaces/01SPACE", 200, RuntimeError("Target page, context or browser has been closed"))
    assert browser_drift(lost, BASE) == []


def test_a_redirect_is_checked_without_its_body():
    headers = {"location": "/web/index.html", "x-request-id": "req-1"}
    redirect = _BrowserResponse(f"{BASE}/", 302, RuntimeError("unavailable for redirect responses"), headers)
    assert browser_drift(redirect, BASE) == []
