"""Least privilege: no `*` action anywhere, a role of its own per Lambda, resources scoped."""
from __future__ import annotations

import pytest

from tests.infra.helpers import (
    as_list,
    flatten,
    policy_statements,
    ref_id,
    resources_of,
    role_of_function,
    statements_of_role,
)

pytestmark = pytest.mark.slow

# The only actions AWS defines without resource-level permissions that the app needs.
ACTIONS_WITHOUT_RESOURCE_TYPES = {
    "xray:PutTraceSegments", "xray:PutTelemetryRecords", "ivs:ListStages", "ivs:ListChannels", "ivschat:ListRooms",
    "dynamodb:ListStreams",
}


# Workers that call the payment provider: refunds, voids of expired holds, renewal charges.
PAYMENT_WORKERS = ("TicketWorker", "ExpireTicketHolds", "RenewSubscriptions")


def _app_functions(template) -> dict[str, dict]:
    return resources_of(template, "AWS::Serverless::Function")


def _actions(statement) -> list[str]:
    return as_list(statement.get("Action", []))


def _resources(statement) -> list[str]:
    return [flatten(r) for r in as_list(statement.get("Resource", []))]


def test_no_policy_statement_has_a_wildcard_action(templates, stage):
    statements = list(policy_statements(templates[stage]))
    assert statements, "the template has no IAM policy at all?"
    for logical_id, statement in statements:
        assert "NotAction" not in statement, logical_id
        for action in _actions(statement):
            assert "*" not in action, f"{logical_id} grants {action!r}"


def test_only_actions_without_resource_types_are_granted_on_every_resource(templates, stage):
    for logical_id, statement in policy_statements(templates[stage]):
        if "*" in _resources(statement):
            assert set(_actions(statement)) <= ACTIONS_WITHOUT_RESOURCE_TYPES, (logical_id, statement)


def test_every_lambda_of_the_app_has_a_role_of_its_own(templates, stage):
    template = templates[stage]
    roles = {fid: role_of_function(template, fid) for fid in _app_functions(template)}
    assert set(roles) >= {"APIHandler", "ReminderFanout", "PushWorker", "ReleasePendingMedia"}
    assert len(set(roles.values())) == len(roles), roles
    for role_id in roles.values():
        trust = template["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert [s["Principal"] for s in trust] == [{"Service": "lambda.amazonaws.com"}]


def test_each_function_may_write_only_to_its_own_log_group(templates, stage):
    template = templates[stage]
    for fid, function in _app_functions(template).items():
        name = function["Properties"]["FunctionName"]
        logs = [s for s in statements_of_role(template, role_of_function(template, fid)) if any(a.startswith("logs:") for a in _actions(s))]
        assert len(logs) == 1
        group = template["Resources"][ref_id(logs[0]["Resource"])]
        assert group["Properties"]["LogGroupName"] == f"/aws/lambda/{name}"


def test_workers_cannot_reach_what_only_the_api_uses(templates, stage):
    template = templates[stage]
    for fid in (
        "ReminderFanout", "PushWorker", "ReleasePendingMedia", "TicketWorker", "ExpireTicketHolds", "RenewSubscriptions",
    ):
        actions = {a for s in statements_of_role(template, role_of_function(template, fid)) for a in _actions(s)}
        assert "iam:PassRole" not in actions
        if fid not in PAYMENT_WORKERS:
            assert "secretsmanager:GetSecretValue" not in actions
        assert "ivs:CreateStage" not in actions
        assert "ivschat:CreateRoom" not in actions and "ivschat:CreateChatToken" not in actions
        assert not any(a.startswith("scheduler:") for a in actions)


def test_ivs_secret_and_scheduler_grants_are_scoped(templates, stage):
    template = templates[stage]
    api = statements_of_role(template, role_of_function(template, "APIHandler"))
    by_action = {}
    for statement in api:
        for action in _actions(statement):
            by_action.setdefault(action, []).extend(_resources(statement))
    for action in ("ivs:CreateStage", "ivs:DeleteStage", "ivs:DisconnectParticipant"):
        # CreateStage also names the recordings' storage configuration (a recorded Space's stage).
        allowed = [r for r in by_action[action] if not (action == "ivs:CreateStage" and r == "<RecordingStorage.Arn>")]
        assert allowed and all(r.endswith(":stage/*") for r in allowed), by_action[action]
    for action in (
        "ivschat:CreateRoom", "ivschat:DeleteRoom", "ivschat:CreateChatToken", "ivschat:SendEvent",
        "ivschat:DisconnectUser",
    ):
        assert by_action[action] and all(r.endswith(":room/*") for r in by_action[action]), by_action[action]
    [cursor_keys] = resources_of(template, "AWS::SecretsManager::Secret")  # made by the stack
    assert by_action["secretsmanager:GetSecretValue"] == [
        f"arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:spaces-{stage}/ivs-private-key-v1-??????",
        f"arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:spaces-{stage}/payments/stripe-??????",
        f"<{cursor_keys}>",
    ]
    for fid in PAYMENT_WORKERS:
        secrets = [
            r for s in statements_of_role(template, role_of_function(template, fid))
            if "secretsmanager:GetSecretValue" in _actions(s) for r in _resources(s)
        ]
        assert secrets == [f"arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:spaces-{stage}/payments/stripe-??????"]
    for action in ("scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule"):
        assert all(r.endswith(f":schedule/spaces-{stage}/*") for r in by_action[action]), by_action[action]
    # One role, passed only to the service that assumes it: the Scheduler's execution role
    # (reminder schedules). Recording passes none (no MediaConvert: docs/recording.md).
    pass_role = [s for s in api if "iam:PassRole" in _actions(s)]
    assert len(pass_role) == 1
    passed = {s["Condition"]["StringEquals"]["iam:PassedToService"]: [ref_id(r) for r in as_list(s["Resource"])] for s in pass_role}
    assert all(s["Condition"].keys() == {"StringEquals"} for s in pass_role)
    assert passed == {
        "scheduler.amazonaws.com": [_role_trusted_by(template, "scheduler.amazonaws.com")],
    }


def _role_trusted_by(template, service: str) -> str:
    [role_id] = [
        k for k, v in resources_of(template, "AWS::IAM::Role").items()
        if v["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": service}
    ]
    return role_id


def test_the_scheduler_role_may_only_send_to_the_fanout_queue_and_its_dead_letter_queue(templates, stage):
    template = templates[stage]
    role_id = _role_trusted_by(template, "scheduler.amazonaws.com")
    statements = statements_of_role(template, role_id)
    assert [_actions(s) for s in statements] == [["sqs:SendMessage"]]
    queues = {template["Resources"][ref_id(r)]["Properties"]["QueueName"] for r in as_list(statements[0]["Resource"])}
    assert queues == {f"spaces-{stage}-fanout", f"spaces-{stage}-schedules-dlq"}
    trust = template["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert "aws:SourceAccount" in trust["Condition"]["StringEquals"]
    assert "aws:SourceArn" in trust["Condition"]["ArnEquals"]


def test_every_table_is_granted_to_some_function_and_push_claims_only_to_the_push_worker(templates, stage):
    template = templates[stage]
    tables = {k: v["Properties"]["TableName"] for k, v in resources_of(template, "AWS::DynamoDB::Table").items()}
    granted: dict[str, set[str]] = {}
    for fid in _app_functions(template):
        for statement in statements_of_role(template, role_of_function(template, fid)):
            if any(a.startswith("dynamodb:") for a in _actions(statement)):
                for resource in as_list(statement["Resource"]):
                    if resource == "*":  # ListStreams: an account-wide List action, no table
                        continue
                    table_id = ref_id(resource) or ref_id(resource.get("Fn::Join", [None, [None]])[1][0])
                    granted.setdefault(tables[table_id], set()).add(fid)
    assert set(granted) == set(tables.values())
    assert granted[f"spaces-{stage}-push-claims"] == {"PushWorker"}


def test_overflow_grants_are_scoped_to_channels_and_compositions(templates, stage):
    """Only the rank job starts overflow audiences; the API (end) and the release job stop them."""
    template = templates[stage]

    def grants(fid):
        by_action = {}
        for statement in statements_of_role(template, role_of_function(template, fid)):
            for action in _actions(statement):
                by_action.setdefault(action, []).extend(_resources(statement))
        return by_action

    job = grants("RefreshLiveRanks")
    assert job["ivs:CreateChannel"] and all(r.endswith(":channel/*") for r in job["ivs:CreateChannel"])
    assert all(r.endswith(":channel/*") for r in job["ivs:DeleteChannel"])
    for action in ("ivs:StartComposition", "ivs:GetComposition", "ivs:StopComposition"):
        kinds = sorted({r.rsplit(":", 1)[-1] for r in job[action]})
        # Overflow compositions into channels only: recording uses none (docs/recording.md).
        assert kinds == ["channel/*", "composition/*", "encoder-configuration/*", "stage/*"], job[action]
    for fid in ("APIHandler", "ReleasePendingMedia"):
        other = grants(fid)
        # Neither starts a composition: the API records with participant recording, and it
        # cannot make a channel.
        assert "ivs:CreateChannel" not in other
        assert "ivs:StartComposition" not in other
        assert other["ivs:StopComposition"] and other["ivs:DeleteChannel"]
    assert "ivs:StartComposition" not in grants("ReleasePendingMedia")
    # Only the API revokes a viewer's playback (a moderator's removal), on channels only
    api = grants("APIHandler")
    assert api["ivs:StartViewerSessionRevocation"] and all(
        r.endswith(":channel/*") for r in api["ivs:StartViewerSessionRevocation"]
    )
    for fid in ("RefreshLiveRanks", "ReleasePendingMedia", "SweepPresence"):
        assert "ivs:StartViewerSessionRevocation" not in grants(fid)
    for fid in ("ReminderFanout", "PushWorker", "SweepPresence"):
        assert not any("Channel" in a or "Composition" in a for a in grants(fid))


def test_the_encoder_configuration_is_made_by_the_stack_and_passed_to_the_app(templates, stage):
    template = templates[stage]
    [encoder_id] = resources_of(template, "AWS::IVS::EncoderConfiguration")
    env = next(iter(_app_functions(template).values()))["Properties"]["Environment"]["Variables"]
    assert encoder_id in str(env["SPACES_OVERFLOW_ENCODER_CONFIGURATION_ARN"])


def test_the_renewal_job_reaches_only_the_subscriptions_table(templates, stage):
    template = templates[stage]
    tables = {k: v["Properties"]["TableName"] for k, v in resources_of(template, "AWS::DynamoDB::Table").items()}
    reached, actions = set(), set()
    for statement in statements_of_role(template, role_of_function(template, "RenewSubscriptions")):
        if any(a.startswith("dynamodb:") for a in _actions(statement)):
            actions.update(_actions(statement))
            for resource in as_list(statement["Resource"]):
                table_id = ref_id(resource) or ref_id(resource.get("Fn::Join", [None, [None]])[1][0])
                reached.add(tables[table_id])
    assert reached == {f"spaces-{stage}-subscriptions"}
    assert {"dynamodb:Query", "dynamodb:GetItem", "dynamodb:UpdateItem"} <= actions
    assert "dynamodb:Scan" not in actions


def test_the_renewal_job_may_send_only_to_the_push_queue(templates, stage):
    """Its notices (a renewal declined, a subscription lapsed) ride the push queue; the API's
    renewal webhook queues the same notices."""
    template = templates[stage]

    def queues_sent_to(function_id):
        return {
            template["Resources"][ref_id(r)]["Properties"]["QueueName"]
            for s in statements_of_role(template, role_of_function(template, function_id))
            if "sqs:SendMessage" in _actions(s)
            for r in as_list(s["Resource"])
        }

    assert queues_sent_to("RenewSubscriptions") == {f"spaces-{stage}-push"}
    assert f"spaces-{stage}-push" in queues_sent_to("APIHandler")


def test_the_room_pool_job_may_create_rooms_and_nothing_a_request_does(templates, stage):
    template = templates[stage]
    by_action: dict[str, list] = {}
    for statement in statements_of_role(template, role_of_function(template, "RefillRoomPool")):
        for action in _actions(statement):
            by_action.setdefault(action, []).extend(_resources(statement))
    for action in ("ivschat:CreateRoom", "ivschat:TagResource"):
        assert by_action[action] and all(r.endswith(":room/*") for r in by_action[action]), by_action[action]
    assert not {"ivschat:CreateChatToken", "ivschat:SendEvent", "ivschat:DeleteRoom", "ivs:CreateStage"} & set(by_action)
    # Queued room deletes are made by the drain job.
    drain = {a for s in statements_of_role(template, role_of_function(template, "DrainMediaQueue")) for a in _actions(s)}
    assert "ivschat:DeleteRoom" in drain and "ivschat:CreateRoom" not in drain


def test_the_moderation_ledger_can_only_be_appended_to_and_read(templates, stage):
    """docs/moderation.md: no role may update or delete an entry; only the API reaches the table."""
    template = templates[stage]
    tables = {k: v["Properties"]["TableName"] for k, v in resources_of(template, "AWS::DynamoDB::Table").items()}
    ledger = f"spaces-{stage}-moderation-log"
    actions_by_function: dict[str, set[str]] = {}
    for fid in _app_functions(template):
        for statement in statements_of_role(template, role_of_function(template, fid)):
            if not any(a.startswith("dynamodb:") for a in _actions(statement)):
                continue
            for resource in as_list(statement["Resource"]):
                if resource == "*":
                    continue
                table_id = ref_id(resource) or ref_id(resource.get("Fn::Join", [None, [None]])[1][0])
                if tables[table_id] == ledger:
                    actions_by_function.setdefault(fid, set()).update(_actions(statement))
    assert actions_by_function == {"APIHandler": {"dynamodb:PutItem", "dynamodb:Query"}}
