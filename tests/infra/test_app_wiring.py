"""The Chalice app is wired to what the stack creates: queues with dead-letter queues, the
consumers bound to those queues, every setting the app needs, and no token in config.json."""
from __future__ import annotations

import json

import pytest

from tests.infra.conftest import ROOT
from tests.infra.helpers import app_setting_names, flatten, ref_id, resources_of

pytestmark = pytest.mark.slow

# What a deployed stage cannot run without (chalicelib/config.py's defaults are the local stack's).
REQUIRED_SETTINGS = {
    "SPACES_STAGE", "SPACES_TABLE_PREFIX", "SPACES_ACCOUNT_ID",
    "SPACES_JWT_ISSUER", "SPACES_JWT_AUDIENCE", "SPACES_JWKS_URL",
    "SPACES_MEDIA_BACKEND", "SPACES_IVS_PUBLIC_KEY_ARN", "SPACES_IVS_PRIVATE_KEY_SECRET_ARN",
    "SPACES_CURSOR_KEYS_SECRET_ARN",
    "SPACES_SCHEDULE_GROUP", "SPACES_SCHEDULER_ROLE_ARN", "SPACES_SCHEDULE_DLQ_ARN",
    "SPACES_FANOUT_QUEUE", "SPACES_PUSH_QUEUE", "SPACES_SNS_APNS_ARN", "SPACES_SNS_FCM_ARN",
}


def _queues(template) -> dict[str, tuple[str, dict]]:
    return {v["Properties"]["QueueName"]: (k, v["Properties"]) for k, v in resources_of(template, "AWS::SQS::Queue").items()}


def test_work_queues_have_dead_letter_queues_and_outlast_their_consumers(templates, stage):
    template = templates[stage]
    queues = _queues(template)
    functions = resources_of(template, "AWS::Serverless::Function")
    for name, consumer in (
        (f"spaces-{stage}-fanout", "ReminderFanout"),
        (f"spaces-{stage}-push", "PushWorker"),
        (f"spaces-{stage}-tickets", "TicketWorker"),
    ):
        _, props = queues[name]
        redrive = props["RedrivePolicy"]
        assert redrive["maxReceiveCount"] >= 3
        dlq_id = ref_id(redrive["deadLetterTargetArn"])
        assert template["Resources"][dlq_id]["Properties"]["QueueName"] == f"{name}-dlq"
        assert props["VisibilityTimeout"] >= 6 * functions[consumer]["Properties"]["Timeout"]
    assert f"spaces-{stage}-schedules-dlq" in queues


def test_queue_consumers_listen_to_the_queues_the_stack_creates(templates, stage):
    functions = resources_of(templates[stage], "AWS::Serverless::Function")
    for function_id, queue in (("ReminderFanout", "fanout"), ("PushWorker", "push"), ("TicketWorker", "tickets")):
        [event] = functions[function_id]["Properties"]["Events"].values()
        assert event["Type"] == "SQS"
        assert flatten(event["Properties"]["Queue"]).endswith(f":spaces-{stage}-{queue}")
        # Only the messages that failed come back (chalicelib/jobs/batch.py answers per message).
        assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert event["Properties"]["BatchSize"] == {"TicketWorker": 1}.get(function_id, 10)


def test_every_function_gets_every_setting_a_deployed_stage_needs(templates, stage):
    for function_id, function in resources_of(templates[stage], "AWS::Serverless::Function").items():
        variables = function["Properties"]["Environment"]["Variables"]
        assert REQUIRED_SETTINGS <= set(variables), REQUIRED_SETTINGS - set(variables)
        empty = [k for k, v in variables.items() if v == ""]
        assert not empty, f"{function_id}: empty settings {empty}"
        assert variables["SPACES_STAGE"] == stage
        assert variables["SPACES_TABLE_PREFIX"] == f"spaces-{stage}"
        assert variables["SPACES_FANOUT_QUEUE"] == f"spaces-{stage}-fanout"
        assert variables["SPACES_PUSH_QUEUE"] == f"spaces-{stage}-push"
        assert variables["SPACES_TICKETS_QUEUE"] == f"spaces-{stage}-tickets"
        assert variables["SPACES_PAYMENTS_PROVIDER"] == "stripe"
        assert variables["SPACES_MEDIA_BACKEND"] == "ivs"


def test_the_settings_infra_passes_are_settings_the_app_reads():
    read = app_setting_names()
    assert REQUIRED_SETTINGS <= read, REQUIRED_SETTINGS - read


def test_config_json_holds_no_cdk_token_and_no_deployed_resource():
    text = (ROOT / ".chalice" / "config.json").read_text()
    assert "${Token[" not in text
    for stage in ("dev", "prod"):
        variables = json.loads(text)["stages"][stage]["environment_variables"]
        assert not any(str(v).startswith("arn:") for v in variables.values())


def test_prod_keeps_its_users_and_its_schedules(templates):
    prod = templates["prod"]
    [pool] = resources_of(prod, "AWS::Cognito::UserPool").values()
    assert pool["Properties"]["DeletionProtection"] == "ACTIVE"
    assert pool["DeletionPolicy"] == "Retain"
    [group] = resources_of(prod, "AWS::Scheduler::ScheduleGroup").values()
    assert group["DeletionPolicy"] == "Retain"


def test_the_mobile_client_is_public_and_signs_in_with_srp(cdk_templates, stage):
    cdk_templates[stage].has_resource_properties(
        "AWS::Cognito::UserPoolClient",
        {"GenerateSecret": False, "ExplicitAuthFlows": ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]},
    )


def test_ivs_public_key_is_registered_from_the_ssm_parameter(templates, stage):
    template = templates[stage]
    [key] = resources_of(template, "AWS::IVS::PublicKey").values()
    parameter = ref_id(key["Properties"]["PublicKeyMaterial"])
    assert template["Parameters"][parameter]["Default"] == f"/spaces-{stage}/ivs-public-key-v1"
    assert template["Parameters"][parameter]["Type"] == "AWS::SSM::Parameter::Value<String>"

    # The same public half verifies the overflow channels' playback tokens
    [playback] = resources_of(template, "AWS::IVS::PlaybackKeyPair").values()
    assert ref_id(playback["Properties"]["PublicKeyMaterial"]) == parameter


def test_push_applications_come_from_the_custom_resource_with_secret_names_only(templates, stage):
    apps = resources_of(templates[stage], "Custom::SnsPlatformApplication")
    props = sorted((a["Properties"]["Platform"], a["Properties"]["SecretId"]) for a in apps.values())
    apns = "APNS" if stage == "prod" else "APNS_SANDBOX"
    assert props == sorted([(apns, f"spaces-{stage}/push/apns"), ("GCM", f"spaces-{stage}/push/fcm")])


def test_no_resource_for_features_that_do_not_exist_yet(templates, stage):
    types = [r["Type"] for r in templates[stage]["Resources"].values()]
    # Rooms are made by the app at run time (the one logging configuration they name is
    # tests/infra/test_chat_log.py's). The two buckets are the recordings' (tests/infra/
    # test_recordings.py) and the web client's (tests/infra/test_web.py).
    assert "AWS::IVSChat::Room" not in types
    assert types.count("AWS::IVSChat::LoggingConfiguration") == 1
    assert types.count("AWS::S3::Bucket") == 2

def test_ivs_chat_may_invoke_the_message_review_handler_that_rooms_name(templates, stage):
    template = templates[stage]
    [permission] = [
        r["Properties"] for r in resources_of(template, "AWS::Lambda::Permission").values()
        if r["Properties"].get("Principal") == "ivschat.amazonaws.com"
    ]
    assert permission["Action"] == "lambda:InvokeFunction"
    assert permission["FunctionName"] == f"spaces-{stage}-chat_message_review"
    assert "room/*" in json.dumps(permission["SourceArn"]) and permission["SourceAccount"]
    functions = resources_of(template, "AWS::Serverless::Function")
    for fn in functions.values():
        handler_arn = fn["Properties"]["Environment"]["Variables"]["SPACES_CHAT_REVIEW_HANDLER_ARN"]
        assert "chat_message_review" in json.dumps(handler_arn)
