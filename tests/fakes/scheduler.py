"""One-time schedules in memory (SchedulerPort), with what the EventBridge Scheduler adapter
(adapters/scheduler.py) promises: a name is 1-64 characters of [0-9a-zA-Z-_.] (ValueError
otherwise); putting a schedule again moves it; deleting one that is gone is fine; the time is
kept to the whole second (the `at()` expression's) and the payload as the JSON it is sent as.
`get` and `list_due` answer as the adapter's do. tests/integration/test_outside_ports_contract.py
runs the same tests on this and on EventBridgeScheduler over moto.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from chalicelib.adapters.json_body import json_text
from chalicelib.adapters.scheduler import at_expression, parse_at_expression, validate_schedule_name


class FakeScheduler:
    def __init__(self) -> None:
        self.schedules: dict[str, tuple[str, str]] = {}  # name -> (at() expression, JSON payload)

    def put_one_time(self, name: str, at: datetime, payload: Any) -> None:
        self.schedules[validate_schedule_name(name)] = (at_expression(at), json_text(payload, compact=False))

    def delete(self, name: str) -> None:
        self.schedules.pop(validate_schedule_name(name), None)

    def get(self, name: str) -> dict[str, Any] | None:
        """The part of GetSchedule's answer the app reads: ScheduleExpression and Target.Input."""
        kept = self.schedules.get(validate_schedule_name(name))
        if kept is None:
            return None
        return {"Name": name, "ScheduleExpression": kept[0], "Target": {"Input": kept[1]}}

    def list_due(self, now: datetime) -> list[tuple[str, dict[str, Any]]]:
        if now.tzinfo is None:
            now = now.replace(tzinfo=timezone.utc)
        due = []
        for name, (expression, payload) in sorted(self.schedules.items()):
            when = parse_at_expression(expression)
            if when is not None and when <= now:
                due.append((name, json.loads(payload)))
        return due
