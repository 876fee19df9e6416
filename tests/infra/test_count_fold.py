"""The count fold in the stack: the participants table's stream feeds `fold_participant_counts`
through an event source mapping (halving and retrying a failing batch, then recording it in a
dead-letter queue), the fold's role may only update participants, counters and analytics and read that
stream, and a fold that falls behind or gives a batch up pages someone (docs/operations.md)."""
from __future__ import annotations

import pytest

from tests.infra.helpers import grants_of_function, ref_id, resources_of, role_of_function

pytestmark = pytest.mark.slow

FOLD = "FoldParticipantCounts"


def _table_id(template, suffix: str) -> str:
    [table_id] = [
        k for k, v in resources_of(template, "AWS::DynamoDB::Table").items()
        if v["Properties"]["TableName"].endswith(f"-{suffix}")
    ]
    return table_id


def _mapping(template) -> dict:
    [mapping] = resources_of(template, "AWS::Lambda::EventSourceMapping").values()
    return mapping


def test_the_participants_stream_is_the_fold_functions_only_event_source(templates, stage):
    template = templates[stage]
    mapping = _mapping(template)
    props = mapping["Properties"]

    assert props["EventSourceArn"] == {"Fn::GetAtt": [_table_id(template, "participants"), "StreamArn"]}
    fold = template["Resources"][FOLD]
    assert props["FunctionName"] == fold["Properties"]["FunctionName"] == f"spaces-{stage}-fold_participant_counts"
    assert not fold["Properties"].get("Events"), "a plain Lambda: Chalice binds no event source to it"
    # Created after the function and after its role's policy: Lambda checks the role can read
    # the stream when the mapping is made.
    role_id = role_of_function(template, FOLD)
    [policy_id] = [
        k for k, v in resources_of(template, "AWS::IAM::Policy").items()
        if any(ref_id(r) == role_id for r in v["Properties"]["Roles"])
    ]
    assert {FOLD, policy_id} <= set(mapping["DependsOn"])


def test_a_batch_of_up_to_1000_joins_is_folded_within_a_second_from_the_oldest_record(templates, stage):
    props = _mapping(templates[stage])["Properties"]

    assert props["StartingPosition"] == "TRIM_HORIZON"
    assert props["BatchSize"] == 1000
    assert props["MaximumBatchingWindowInSeconds"] == 1
    # One batch per shard at a time: concurrent batches of a Space conflict on its counter shards.
    assert props["ParallelizationFactor"] == 1
    # The fold returns a count, not batchItemFailures: a failure is the whole batch's.
    assert "FunctionResponseTypes" not in props


def test_a_failing_batch_is_halved_retried_then_recorded_in_the_dead_letter_queue(templates, stage):
    template = templates[stage]
    props = _mapping(template)["Properties"]

    assert props["BisectBatchOnFunctionError"] is True
    assert props["MaximumRetryAttempts"] == 10
    destination = ref_id(props["DestinationConfig"]["OnFailure"]["Destination"])
    queue = template["Resources"][destination]
    assert queue["Type"] == "AWS::SQS::Queue"
    assert queue["Properties"]["QueueName"] == f"spaces-{stage}-count-fold-dlq"
    assert queue["Properties"]["SqsManagedSseEnabled"] is True


def test_the_fold_may_only_update_participants_counters_and_analytics_and_read_their_stream(templates, stage):
    template = templates[stage]
    grants = grants_of_function(template, FOLD)
    participants = f"<{_table_id(template, 'participants')}.Arn>"
    counters = f"<{_table_id(template, 'counters')}.Arn>"
    analytics = f"<{_table_id(template, 'analytics')}.Arn>"
    [dlq] = [
        k for k, v in resources_of(template, "AWS::SQS::Queue").items()
        if v["Properties"]["QueueName"] == f"spaces-{stage}-count-fold-dlq"
    ]

    assert {a: sorted(r) for a, r in grants.items() if not a.startswith(("logs:", "xray:"))} == {
        # A transaction of Update actions is authorized per item as UpdateItem.
        "dynamodb:UpdateItem": sorted([participants, counters, analytics]),
        "dynamodb:DescribeStream": [f"{participants}/stream/*"],
        "dynamodb:GetRecords": [f"{participants}/stream/*"],
        "dynamodb:GetShardIterator": [f"{participants}/stream/*"],
        "dynamodb:ListStreams": ["*"],  # no resource type in IAM
        # Lambda writes a failed batch's description to the on-failure queue with this role.
        "sqs:SendMessage": [f"<{dlq}.Arn>"],
    }


def test_no_other_function_reads_a_stream(templates, stage):
    template = templates[stage]
    for function_id in resources_of(template, "AWS::Serverless::Function"):
        if function_id != FOLD:
            grants = grants_of_function(template, function_id)
            assert not {"dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"} & set(grants)


def _alarms(template) -> list[dict]:
    return [a["Properties"] for a in resources_of(template, "AWS::CloudWatch::Alarm").values()]


def test_counts_falling_a_minute_behind_the_joins_for_five_minutes_pages_someone(templates, stage):
    [alarm] = [a for a in _alarms(templates[stage]) if a.get("MetricName") == "IteratorAge"]

    assert alarm["Namespace"] == "AWS/Lambda"
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": f"spaces-{stage}-fold_participant_counts"}]
    assert alarm["Statistic"] == "Maximum" and alarm["Period"] == 60
    assert alarm["Threshold"] == 60_000  # milliseconds
    assert alarm["EvaluationPeriods"] == alarm["DatapointsToAlarm"] == 5
    assert alarm["AlarmName"] == f"spaces-{stage}-{FOLD}-iterator-age"


def test_fold_errors_and_a_given_up_batch_page_someone(templates, stage):
    template = templates[stage]
    names = {a["AlarmName"] for a in _alarms(template)}

    assert {f"spaces-{stage}-{FOLD}-errors", f"spaces-{stage}-count-fold-dlq-not-empty"} <= names
    [errors] = [a for a in _alarms(template) if a["AlarmName"] == f"spaces-{stage}-{FOLD}-errors"]
    assert errors["MetricName"] == "Errors"
    assert errors["Dimensions"] == [{"Name": "FunctionName", "Value": f"spaces-{stage}-fold_participant_counts"}]
