"""A 5xx DomainError's log line says what the dependency answered (its chained cause), while the
client's body stays the generic contract error."""
from __future__ import annotations

import io
import json
import logging

from botocore.exceptions import ClientError

from chalicelib.api import http
from chalicelib.domain.errors import DependencyFailed


def _log_lines(monkeypatch) -> io.StringIO:
    """The JSON lines the http module's logger writes (Powertools' formatter, as in Lambda)."""
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(LambdaPowertoolsFormatter())
    target = logging.getLogger(http.logger.name)
    monkeypatch.setattr(target, "handlers", [handler])
    monkeypatch.setattr(target, "level", logging.INFO)
    monkeypatch.setattr(target, "propagate", False)
    return out


def _dynamodb_outage() -> ClientError:
    return ClientError(
        {"Error": {"Code": "ResourceNotFoundException", "Message": "Requested resource not found: Table: spaces-dev-spaces"}},
        "Query",
    )


def test_the_dependency_failed_log_line_carries_what_dynamodb_answered(monkeypatch):
    out = _log_lines(monkeypatch)

    @http.endpoint()
    def view():
        try:
            raise _dynamodb_outage()
        except ClientError as exc:
            raise DependencyFailed("the database is unavailable; retry shortly", code="database_unavailable") from exc

    response = view()

    assert response.status_code == 503
    assert response.body == {"code": "database_unavailable", "message": "the database is unavailable; retry shortly"}
    [line] = [json.loads(x) for x in out.getvalue().splitlines() if "dependency failed" in x]
    assert line["code"] == "database_unavailable"
    assert "ResourceNotFoundException" in line["cause"]
    assert "spaces-dev-spaces" in line["cause"]


def test_a_long_cause_is_cut_and_a_missing_one_is_none():
    long = DependencyFailed("x")
    long.__cause__ = RuntimeError("y" * 10_000)
    text = http.cause_of(long)
    assert text.startswith("RuntimeError('yyy") and len(text) == http.MAX_CAUSE_CHARS
    assert http.cause_of(DependencyFailed("no cause")) is None
