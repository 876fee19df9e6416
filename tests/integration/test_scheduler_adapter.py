"""EventBridgeScheduler against a moto server (real HTTP, botocore end to end) and, for the failure
paths moto cannot produce on demand, against botocore's Stubber (every request checked against the
real API model, `expected_params` pinning it).

What moto does here: it stores schedules, answers ConflictException / ResourceNotFoundException
like AWS, and paginates ListSchedules 50 at a time; it never fires a schedule (hence `list_due`),
and its UpdateSchedule ignores ActionAfterCompletion (the value set at creation stays).
"""
from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber

from chalicelib.adapters.scheduler import EventBridgeScheduler, at_expression, parse_at_expression
from chalicelib.domain.errors import DependencyFailed
from tests.support.aws_calls import AwsCallRecorder
from tests.support.moto_server import boto_client, moto_endpoint  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[2]
TARGET = "arn:aws:sqs:us-east-1:123456789012:spaces-test-fanout"
ROLE = "arn:aws:iam::123456789012:role/spaces-test-scheduler"
DLQ = "arn:aws:sqs:us-east-1:123456789012:spaces-test-schedules-dlq"
NOW = datetime(2031, 5, 4, 18, 30, 0, tzinfo=timezone.utc)


def make_adapter(client, group, **overrides):
    return EventBridgeScheduler(
        client, group_name=group, target_arn=TARGET, role_arn=ROLE, dead_letter_arn=DLQ, **overrides
    )


@pytest.fixture(scope="module")
def client(moto_endpoint):  # noqa: F811
    return boto_client("scheduler", moto_endpoint)


@pytest.fixture
def group(client):
    """A fresh schedule group per test: the moto backends are shared by every server."""
    name = f"spaces-test-{uuid.uuid4().hex[:12]}"
    client.create_schedule_group(Name=name)
    return name


@pytest.fixture
def scheduler(client, group):
    return make_adapter(client, group)


@pytest.fixture
def calls(client):
    with AwsCallRecorder().attach(client) as recorder:
        yield recorder


# ---------------------------------------------------------------- against moto


class TestPutOneTime:
    def test_schedule_fires_once_at_the_utc_time_into_the_queue_with_retries_and_a_dlq(
        self, scheduler, client, group
    ):
        scheduler.put_one_time("sp1-start", NOW, {"space_id": "sp1", "moment": "start"})

        schedule = client.get_schedule(Name="sp1-start", GroupName=group)
        assert schedule["GroupName"] == group
        assert schedule["ScheduleExpression"] == "at(2031-05-04T18:30:00)"
        assert schedule["ScheduleExpressionTimezone"] == "UTC"
        assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
        assert schedule["ActionAfterCompletion"] == "DELETE"
        assert schedule["State"] == "ENABLED"
        target = schedule["Target"]
        assert target["Arn"] == TARGET
        assert target["RoleArn"] == ROLE
        assert json.loads(target["Input"]) == {"space_id": "sp1", "moment": "start"}
        assert target["DeadLetterConfig"] == {"Arn": DLQ}
        assert target["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}

    def test_retry_policy_is_configurable(self, client, group):
        make_adapter(client, group, max_retry_attempts=3, max_event_age_seconds=600).put_one_time(
            "sp2-start", NOW, {}
        )

        policy = client.get_schedule(Name="sp2-start", GroupName=group)["Target"]["RetryPolicy"]
        assert policy == {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 600}

    def test_a_time_in_another_zone_is_scheduled_at_the_same_instant_in_utc(self, scheduler):
        paris_summer = timezone(timedelta(hours=2))
        scheduler.put_one_time("sp3-start", datetime(2031, 5, 4, 20, 30, 0, tzinfo=paris_summer), {})

        assert scheduler.get("sp3-start")["ScheduleExpression"] == "at(2031-05-04T18:30:00)"

    def test_putting_the_same_name_again_moves_the_schedule_instead_of_failing(
        self, scheduler, client, group, calls
    ):
        scheduler.put_one_time("sp4-start", NOW, {"version": 1})
        scheduler.put_one_time("sp4-start", NOW + timedelta(hours=3), {"version": 2})

        assert calls.operations() == ["CreateSchedule", "CreateSchedule", "UpdateSchedule"]
        moved = scheduler.get("sp4-start")
        assert moved["ScheduleExpression"] == "at(2031-05-04T21:30:00)"
        assert json.loads(moved["Target"]["Input"]) == {"version": 2}
        # UpdateSchedule replaces the whole definition: nothing of the contract may be lost.
        assert moved["Target"]["DeadLetterConfig"] == {"Arn": DLQ}
        assert moved["Target"]["RetryPolicy"]["MaximumRetryAttempts"] == 185
        assert moved["ActionAfterCompletion"] == "DELETE"
        assert moved["FlexibleTimeWindow"] == {"Mode": "OFF"}
        # AwsCallRecorder sees the serialized request: UpdateSchedule's REST-JSON body.
        [update] = [params for _, op, params in calls.calls if op == "UpdateSchedule"]
        assert update["ActionAfterCompletion"] == "DELETE"  # moto ignores it on update; AWS does not
        assert update["GroupName"] == group
        names = [s["Name"] for s in client.list_schedules(GroupName=group)["Schedules"]]
        assert names == ["sp4-start"]

    @pytest.mark.parametrize(
        "name", ["", "x" * 65, "space/1-start", "space 1", "späce-start", "sp1:start"]
    )
    def test_a_name_the_api_would_refuse_is_refused_before_any_call(self, scheduler, calls, name):
        with pytest.raises(ValueError):
            scheduler.put_one_time(name, NOW, {})
        with pytest.raises(ValueError):
            scheduler.delete(name)

        assert calls.operations() == []

    def test_the_longest_valid_name_is_accepted(self, scheduler):
        name = "a-Z_0." + "x" * 58

        scheduler.put_one_time(name, NOW, {})

        assert len(name) == 64 and scheduler.get(name)["Name"] == name


class TestDeleteAndGet:
    def test_deleting_a_schedule_removes_it(self, scheduler):
        scheduler.put_one_time("sp5-start", NOW, {})

        scheduler.delete("sp5-start")

        assert scheduler.get("sp5-start") is None

    def test_deleting_twice_or_a_schedule_never_made_succeeds(self, scheduler):
        scheduler.put_one_time("sp6-start", NOW, {})
        scheduler.delete("sp6-start")

        scheduler.delete("sp6-start")
        scheduler.delete("never-made")

        assert scheduler.get("sp6-start") is None

    def test_delete_and_get_stay_inside_the_app_group(self, client, group):
        other = f"other-{uuid.uuid4().hex[:8]}"
        client.create_schedule_group(Name=other)
        make_adapter(client, other).put_one_time("sp7-start", NOW, {"group": "other"})

        make_adapter(client, group).delete("sp7-start")

        assert make_adapter(client, group).get("sp7-start") is None
        assert json.loads(make_adapter(client, other).get("sp7-start")["Target"]["Input"]) == {"group": "other"}


class TestListDue:
    def test_only_schedules_whose_time_has_come_are_due_with_their_payloads(self, scheduler):
        scheduler.put_one_time("past-start", NOW - timedelta(minutes=5), {"space_id": "past"})
        scheduler.put_one_time("now-start", NOW, {"space_id": "now"})
        scheduler.put_one_time("soon-start", NOW + timedelta(seconds=1), {"space_id": "soon"})
        scheduler.put_one_time("later-start", NOW + timedelta(days=2), {"space_id": "later"})

        due = dict(scheduler.list_due(NOW))

        assert due == {"past-start": {"space_id": "past"}, "now-start": {"space_id": "now"}}

    def test_a_moved_schedule_is_due_at_its_new_time_only(self, scheduler):
        scheduler.put_one_time("moved-start", NOW - timedelta(minutes=1), {"v": 1})
        scheduler.put_one_time("moved-start", NOW + timedelta(hours=1), {"v": 2})

        assert scheduler.list_due(NOW) == []
        assert scheduler.list_due(NOW + timedelta(hours=1)) == [("moved-start", {"v": 2})]

    def test_a_naive_now_is_read_as_utc(self, scheduler):
        scheduler.put_one_time("naive-start", NOW, {"ok": True})

        assert scheduler.list_due(NOW.replace(tzinfo=None)) == [("naive-start", {"ok": True})]

    def test_other_groups_schedules_are_never_due_here(self, scheduler, client):
        other = f"other-{uuid.uuid4().hex[:8]}"
        client.create_schedule_group(Name=other)
        make_adapter(client, other).put_one_time("foreign-start", NOW - timedelta(hours=1), {})

        assert scheduler.list_due(NOW) == []

    def test_every_page_of_the_group_is_read(self, scheduler, calls):
        # moto pages ListSchedules by 50, as AWS may: 55 schedules need two pages.
        for i in range(55):
            scheduler.put_one_time(f"bulk{i:02d}-start", NOW - timedelta(seconds=i), {"i": i})
        calls.reset()

        due = scheduler.list_due(NOW)

        assert sorted(payload["i"] for _, payload in due) == list(range(55))
        assert calls.operations().count("ListSchedules") == 2


def test_at_expression_round_trips_and_ignores_other_expressions():
    assert at_expression(datetime(2031, 1, 2, 3, 4, 5, 999999)) == "at(2031-01-02T03:04:05)"
    assert parse_at_expression("at(2031-01-02T03:04:05)") == datetime(2031, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert parse_at_expression("rate(5 minutes)") is None
    assert parse_at_expression("cron(0 12 * * ? *)") is None


@pytest.mark.parametrize(
    "overrides", [{"max_retry_attempts": 186}, {"max_retry_attempts": -1}, {"max_event_age_seconds": 59}]
)
def test_a_retry_policy_outside_the_api_bounds_is_refused_at_construction(overrides):
    with pytest.raises(ValueError):
        make_adapter(object(), "g", **overrides)


# ---------------------------------------------------------------- error mapping (Stubber)

GROUP = "spaces-stub"


def definition(name="sp1-start", when=NOW, payload=None):
    return {
        "Name": name,
        "GroupName": GROUP,
        "ScheduleExpression": at_expression(when),
        "ScheduleExpressionTimezone": "UTC",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "ActionAfterCompletion": "DELETE",
        "State": "ENABLED",
        "Target": {
            "Arn": TARGET,
            "RoleArn": ROLE,
            "Input": json.dumps(payload or {"space_id": "sp1"}, sort_keys=True),
            "RetryPolicy": {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400},
            "DeadLetterConfig": {"Arn": DLQ},
        },
    }


@pytest.fixture
def stub_client():
    return boto3.client(
        "scheduler",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}),
    )


@pytest.fixture
def stubber(stub_client):
    with Stubber(stub_client) as stub:
        yield stub
        stub.assert_no_pending_responses()


@pytest.fixture
def stubbed(stub_client):
    return make_adapter(stub_client, GROUP)


ARN = f"arn:aws:scheduler:us-east-1:123456789012:schedule/{GROUP}/sp1-start"
def expect(stubber, method, response_or_error, params):
    if isinstance(response_or_error, tuple):
        code, status = response_or_error
        stubber.add_client_error(method, service_error_code=code, http_status_code=status, expected_params=params)
    else:
        stubber.add_response(method, response_or_error, params)


class TestErrorMapping:
    def test_an_existing_schedule_is_replaced_with_the_same_full_definition(self, stubber, stubbed):
        expect(stubber, "create_schedule", ("ConflictException", 409), definition())
        expect(stubber, "update_schedule", {"ScheduleArn": ARN}, definition())

        stubbed.put_one_time("sp1-start", NOW, {"space_id": "sp1"})

    @pytest.mark.parametrize(
        "code,status",
        [
            ("ThrottlingException", 429),
            ("InternalServerException", 500),
            ("ServiceQuotaExceededException", 402),
            ("ValidationException", 400),
            ("ResourceNotFoundException", 404),  # the group is missing: an outage of config, not "gone"
        ],
    )
    def test_a_failed_create_is_scheduler_unavailable(self, stubber, stubbed, code, status):
        expect(stubber, "create_schedule", (code, status), definition())

        with pytest.raises(DependencyFailed) as caught:
            stubbed.put_one_time("sp1-start", NOW, {"space_id": "sp1"})

        assert caught.value.code == "scheduler_unavailable"
        assert caught.value.status == 503
        assert isinstance(caught.value.__cause__, ClientError)
        assert caught.value.__cause__.response["Error"]["Code"] == code

    def test_a_throttled_update_after_a_conflict_is_scheduler_unavailable(self, stubber, stubbed):
        expect(stubber, "create_schedule", ("ConflictException", 409), definition())
        expect(stubber, "update_schedule", ("ThrottlingException", 429), definition())

        with pytest.raises(DependencyFailed) as caught:
            stubbed.put_one_time("sp1-start", NOW, {"space_id": "sp1"})

        assert caught.value.code == "scheduler_unavailable"
        assert caught.value.__cause__.response["Error"]["Code"] == "ThrottlingException"

    def test_deleting_a_schedule_already_gone_succeeds(self, stubber, stubbed):
        expect(stubber, "delete_schedule", ("ResourceNotFoundException", 404), {"Name": "sp1-start", "GroupName": GROUP})

        stubbed.delete("sp1-start")

    def test_a_throttled_delete_is_scheduler_unavailable(self, stubber, stubbed):
        expect(stubber, "delete_schedule", ("ThrottlingException", 429), {"Name": "sp1-start", "GroupName": GROUP})

        with pytest.raises(DependencyFailed) as caught:
            stubbed.delete("sp1-start")

        assert caught.value.code == "scheduler_unavailable"

    def test_get_of_a_missing_schedule_is_none_and_other_errors_are_unavailable(self, stubber, stubbed):
        params = {"Name": "sp1-start", "GroupName": GROUP}
        expect(stubber, "get_schedule", ("ResourceNotFoundException", 404), params)
        expect(stubber, "get_schedule", ("InternalServerException", 500), params)

        assert stubbed.get("sp1-start") is None
        with pytest.raises(DependencyFailed):
            stubbed.get("sp1-start")

    def test_a_failed_listing_is_scheduler_unavailable(self, stubber, stubbed):
        stubber.add_client_error(
            "list_schedules", service_error_code="ThrottlingException", http_status_code=429,
            expected_params={"GroupName": GROUP},
        )

        with pytest.raises(DependencyFailed):
            stubbed.list_due(NOW)

    @pytest.mark.parametrize("network_error", [EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError])
    @pytest.mark.parametrize("call", ["put", "delete"])
    def test_connection_or_timeout_error_is_scheduler_unavailable(self, stub_client, stubbed, network_error, call):
        def refuse(request, **_):
            raise network_error(endpoint_url=request.url)

        stub_client.meta.events.register("before-send.scheduler", refuse)

        with pytest.raises(DependencyFailed) as caught:
            if call == "put":
                stubbed.put_one_time("sp1-start", NOW, {})
            else:
                stubbed.delete("sp1-start")

        assert caught.value.code == "scheduler_unavailable"
        assert isinstance(caught.value.__cause__, network_error)


def test_importing_the_adapter_imports_no_aws_sdk():
    code = (
        "import sys; import chalicelib.adapters.scheduler, chalicelib.adapters.sns_push, "
        "chalicelib.adapters.sqs; print(sorted(m for m in ('boto3', 'botocore') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
