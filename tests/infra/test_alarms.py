"""Something wrong pages someone: API 5xx rate, Lambda errors and throttles, any dead letter,
DynamoDB throttling, reminder deliveries dropped or failing; the dashboard shows every business
metric the app emits."""
from __future__ import annotations

import json
import re

import pytest

from tests.infra.conftest import ROOT
from tests.infra.helpers import flatten, resources_of

pytestmark = pytest.mark.slow


def _alarms(template) -> list[dict]:
    return [a["Properties"] for a in resources_of(template, "AWS::CloudWatch::Alarm").values()]


def _metric_names(alarm: dict) -> set[str]:
    if "MetricName" in alarm:
        return {alarm["MetricName"]}
    return {m["MetricStat"]["Metric"]["MetricName"] for m in alarm.get("Metrics", []) if "MetricStat" in m}


def _dimensions(alarm: dict) -> list[dict]:
    if "Dimensions" in alarm:
        return [{d["Name"]: flatten(d["Value"]) for d in alarm["Dimensions"]}]
    return [
        {d["Name"]: flatten(d["Value"]) for d in m["MetricStat"]["Metric"].get("Dimensions", [])}
        for m in alarm.get("Metrics", []) if "MetricStat" in m
    ]


def test_every_alarm_notifies_the_alarm_topic(templates, stage):
    template = templates[stage]
    [topic_id] = resources_of(template, "AWS::SNS::Topic")
    for alarm in _alarms(template):
        assert alarm["AlarmActions"] == [{"Ref": topic_id}], alarm["AlarmName"]


def test_api_5xx_rate_is_watched(cdk_templates, stage):
    cdk_templates[stage].has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": "AWS/ApiGateway",
            "MetricName": "5XXError",
            "Statistic": "Average",
            "Dimensions": [{"Name": "ApiName", "Value": f"spaces-{stage}"}, {"Name": "Stage", "Value": "api"}],
        },
    )


def test_every_lambda_has_error_and_throttle_alarms(templates, stage):
    template = templates[stage]
    names = {f["Properties"]["FunctionName"] for f in resources_of(template, "AWS::Serverless::Function").values()}
    watched = {(next(iter(_metric_names(a))), _dimensions(a)[0].get("FunctionName")) for a in _alarms(template)}
    for name in names:
        assert ("Errors", name) in watched and ("Throttles", name) in watched, name


def test_any_dead_letter_makes_an_alarm(templates, stage):
    template = templates[stage]
    dlqs = {k for k, v in resources_of(template, "AWS::SQS::Queue").items() if v["Properties"]["QueueName"].endswith("-dlq")}
    assert len(dlqs) == 5  # fan-out, push, tickets, schedules, count fold
    watched = set()
    for alarm in _alarms(template):
        if alarm.get("MetricName") == "ApproximateNumberOfMessagesVisible":
            assert alarm["Threshold"] == 1 and alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
            watched.add(alarm["Dimensions"][0]["Value"]["Fn::GetAtt"][0])
    assert watched == dlqs


def test_every_table_has_a_throttling_alarm(templates, stage):
    template = templates[stage]
    tables = {t["Properties"]["TableName"] for t in resources_of(template, "AWS::DynamoDB::Table").values()}
    watched = set()
    for alarm in _alarms(template):
        if _metric_names(alarm) == {"ReadThrottleEvents", "WriteThrottleEvents"}:
            watched.update(d["TableName"] for d in _dimensions(alarm))
    assert watched == tables


def test_reminder_delivery_failures_make_alarms(templates, stage):
    scheduler = [a for a in _alarms(templates[stage]) if a.get("Namespace") == "AWS/Scheduler"]
    assert {a["MetricName"] for a in scheduler} == {"InvocationDroppedCount", "TargetErrorCount"}
    for alarm in scheduler:
        assert alarm["Dimensions"] == [{"Name": "ScheduleGroup", "Value": f"spaces-{stage}"}]


def _emitted_by_the_app() -> set[str]:
    names = set()
    for path in (ROOT / "chalicelib").rglob("*.py"):
        for call in re.findall(r"telemetry\.count\(([^)]*)\)", path.read_text()):
            names.update(re.findall(r'"([A-Za-z]+)"', call))
    return names


def test_the_dashboard_shows_every_business_metric_the_app_emits(templates, stage):
    [dashboard] = resources_of(templates[stage], "AWS::CloudWatch::Dashboard").values()
    body = json.loads(flatten(dashboard["Properties"]["DashboardBody"]).replace("<AWS::Region>", "us-east-1"))
    shown = set()
    for widget in body["widgets"]:
        for metric in widget.get("properties", {}).get("metrics", []):
            if metric and metric[0] == "Spaces":
                assert metric[2:4] == ["service", "spaces-api"]
                shown.add(metric[1])
    emitted = _emitted_by_the_app()
    assert {"SpaceStarted", "ListenerJoined", "PushSent"} <= emitted
    assert emitted <= shown, emitted - shown
