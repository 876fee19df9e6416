"""SchedulerPort over Amazon EventBridge Scheduler: one-time `at()` schedules that deliver a JSON
payload to the app's SQS fan-out queue.

Every schedule lives in the app's schedule group and carries the whole delivery contract:
`ActionAfterCompletion: DELETE` (a fired schedule removes itself, so the group holds only pending
ones), a retry policy (up to 185 attempts over 24 h by default) and an SQS dead-letter queue for
deliveries that exhaust it. Scheduler may deliver more than once: the handlers are idempotent.

The boto3 `scheduler` client is injected; nothing here builds a client or imports boto3.
Failures are translated by error code only:

- ConflictException on CreateSchedule means the schedule exists: it is replaced with
  UpdateSchedule, which takes the full definition (UpdateSchedule resets every field it is not
  given, so the same definition is sent both times).
- ResourceNotFoundException on DeleteSchedule means it fired (and deleted itself) or was never
  made, which is what the caller wanted: success. On GetSchedule it means "no such schedule".
- every other ClientError (throttling, ServiceQuotaExceeded, Validation, 5xx ...) and every
  connection / timeout error becomes `DependencyFailed(code="scheduler_unavailable")`, raised
  from the original so the cause stays in the traceback.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any

from chalicelib.adapters.aws_errors import aws_call
from chalicelib.adapters.json_body import json_text

SCHEDULER_UNAVAILABLE = "scheduler_unavailable"
CONFLICT = "ConflictException"
NOT_FOUND = "ResourceNotFoundException"

# CreateSchedule `Name`: 1 to 64 characters of [0-9a-zA-Z-_.] (scheduler API model).
_NAME = re.compile(r"^[0-9a-zA-Z_.-]{1,64}$")
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_AT_FORMAT = "%Y-%m-%dT%H:%M:%S"
# RetryPolicy bounds in the API model.
_MAX_RETRY_ATTEMPTS = (0, 185)
_MAX_EVENT_AGE_SECONDS = (60, 86400)


def at_expression(when: datetime) -> str:
    """`at(yyyy-mm-ddThh:mm:ss)` in UTC. A naive datetime is taken as UTC already; the
    expression has whole seconds, so any fraction is dropped (the schedule fires at most a
    second early, never late)."""
    if when.tzinfo is not None:
        when = when.astimezone(timezone.utc).replace(tzinfo=None)
    return f"at({when.strftime(_AT_FORMAT)})"


def parse_at_expression(expression: str) -> datetime | None:
    """The UTC instant of an `at()` expression, or None for rate()/cron() expressions."""
    match = _AT.match(expression or "")
    if not match:
        return None
    return datetime.strptime(match.group(1), _AT_FORMAT).replace(tzinfo=timezone.utc)


def validate_schedule_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"schedule name must be 1-64 characters of [0-9a-zA-Z-_.]: {name!r}")
    return name


class EventBridgeScheduler:
    """SchedulerPort implemented with EventBridge Scheduler one-time schedules."""

    def __init__(
        self,
        client,
        *,
        group_name: str,
        target_arn: str,
        role_arn: str,
        dead_letter_arn: str,
        max_retry_attempts: int = 185,
        max_event_age_seconds: int = 86400,
    ):
        if not _MAX_RETRY_ATTEMPTS[0] <= max_retry_attempts <= _MAX_RETRY_ATTEMPTS[1]:
            raise ValueError(f"max_retry_attempts must be within {_MAX_RETRY_ATTEMPTS}")
        if not _MAX_EVENT_AGE_SECONDS[0] <= max_event_age_seconds <= _MAX_EVENT_AGE_SECONDS[1]:
            raise ValueError(f"max_event_age_seconds must be within {_MAX_EVENT_AGE_SECONDS}")
        self._client = client
        self._group = group_name
        self._target_arn = target_arn
        self._role_arn = role_arn
        self._dead_letter_arn = dead_letter_arn
        self._max_retry_attempts = max_retry_attempts
        self._max_event_age_seconds = max_event_age_seconds

    # ------------------------------------------------------------------ SchedulerPort

    def put_one_time(self, name: str, at: datetime, payload: Any) -> None:
        definition = self._definition(validate_schedule_name(name), at, payload)
        created = aws_call(
            "Scheduler", "CreateSchedule", self._client.create_schedule,
            code=SCHEDULER_UNAVAILABLE, tolerate=(CONFLICT,), **definition,
        )
        if created is None:
            # It exists (a reschedule, or a retried request): replace it whole.
            self._call("UpdateSchedule", self._client.update_schedule, **definition)

    def delete(self, name: str) -> None:
        self._call(
            "DeleteSchedule",
            self._client.delete_schedule,
            gone_is_ok=True,
            Name=validate_schedule_name(name),
            GroupName=self._group,
        )

    # ------------------------------------------------------------------ for tests and the local loop

    def get(self, name: str) -> dict | None:
        """The GetSchedule output (Target, ScheduleExpression ...), or None if there is none."""
        response = self._call(
            "GetSchedule",
            self._client.get_schedule,
            gone_is_ok=True,
            Name=validate_schedule_name(name),
            GroupName=self._group,
        )
        if response is None:
            return None
        response.pop("ResponseMetadata", None)
        return response

    def list_due(self, now: datetime) -> list[tuple[str, dict]]:
        """(name, payload) of every one-time schedule of the group whose time is ≤ `now`.

        What EventBridge Scheduler does by itself in AWS; the local loop of `make run` calls this
        because moto stores schedules but never fires them. ListSchedules summaries carry no
        expression or input, so each schedule is read with GetSchedule: fine for a local group of
        a few dozen schedules, never used on a request path.
        """
        if now.tzinfo is None:
            now = now.replace(tzinfo=timezone.utc)
        due: list[tuple[str, dict]] = []
        for name in self._names():
            schedule = self.get(name)
            if schedule is None:  # fired or deleted between the list and the read
                continue
            when = parse_at_expression(schedule.get("ScheduleExpression", ""))
            if when is None or when > now:
                continue
            raw_input = (schedule.get("Target") or {}).get("Input") or "{}"
            due.append((name, json.loads(raw_input)))
        return due

    # ------------------------------------------------------------------ internals

    def _names(self) -> list[str]:
        def every_name() -> list[str]:
            pages = self._client.get_paginator("list_schedules").paginate(GroupName=self._group)
            return [summary["Name"] for page in pages for summary in page.get("Schedules", [])]

        return aws_call("Scheduler", "ListSchedules", every_name, code=SCHEDULER_UNAVAILABLE) or []

    def _definition(self, name: str, at: datetime, payload: Any) -> dict:
        return {
            "Name": name,
            "GroupName": self._group,
            "ScheduleExpression": at_expression(at),
            "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "ActionAfterCompletion": "DELETE",
            "State": "ENABLED",
            "Target": {
                "Arn": self._target_arn,
                "RoleArn": self._role_arn,
                "Input": json_text(payload, compact=False),
                "RetryPolicy": {
                    "MaximumRetryAttempts": self._max_retry_attempts,
                    "MaximumEventAgeInSeconds": self._max_event_age_seconds,
                },
                "DeadLetterConfig": {"Arn": self._dead_letter_arn},
            },
        }

    @staticmethod
    def _call(operation: str, method, *, gone_is_ok: bool = False, **params):
        gone = (NOT_FOUND,) if gone_is_ok else ()
        return aws_call("Scheduler", operation, method, code=SCHEDULER_UNAVAILABLE, tolerate=gone, **params)
