"""The hook that holds every functional response to openapi.yaml (tests/support/openapi_responses.py)
fails on drift: a missing required field, an undeclared status, a missing declared header."""
from __future__ import annotations

import json

import pytest

from tests.support.openapi_responses import ContractDrift, check_response

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
