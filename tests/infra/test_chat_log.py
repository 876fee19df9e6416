"""The chat log: one IVS Chat logging configuration per stage, writing to a log group of its own,
attached by the app to every room it creates (docs/room-events.md, "The chat log")."""
from __future__ import annotations

import json

import pytest

from tests.infra.helpers import app_setting_names, flatten, grants_of_function, ref_id, resources_of

pytestmark = pytest.mark.slow

RETENTION_DAYS = {"dev": 14, "prod": 180}


def _logging_configuration(template) -> tuple[str, dict]:
    [(logical_id, configuration)] = resources_of(template, "AWS::IVSChat::LoggingConfiguration").items()
    return logical_id, configuration


def _chat_log_group(template) -> tuple[str, dict]:
    _, configuration = _logging_configuration(template)
    group_id = ref_id(configuration["Properties"]["DestinationConfiguration"]["CloudWatchLogs"]["LogGroupName"])
    assert group_id, "the destination is not a log group of this stack"
    return group_id, template["Resources"][group_id]


def test_one_logging_configuration_per_stage_writes_to_the_chat_log_group(templates, stage):
    template = templates[stage]
    _, configuration = _logging_configuration(template)
    assert configuration["Properties"]["Name"] == f"spaces-{stage}-chat-messages"
    assert set(configuration["Properties"]["DestinationConfiguration"]) == {"CloudWatchLogs"}

    _, group = _chat_log_group(template)
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["LogGroupName"] == f"/spaces/{stage}/chat-messages"
    assert group["Properties"]["RetentionInDays"] == RETENTION_DAYS[stage]


def test_prod_keeps_the_chat_log_if_the_stack_goes_and_dev_deletes_it(templates):
    for stage, policy in (("prod", "Retain"), ("dev", "Delete")):
        _, group = _chat_log_group(templates[stage])
        assert group["DeletionPolicy"] == policy
        assert group["UpdateReplacePolicy"] == policy


def test_every_function_creates_rooms_with_the_stage_logging_configuration(templates, stage):
    template = templates[stage]
    configuration_id, _ = _logging_configuration(template)
    functions = resources_of(template, "AWS::Serverless::Function")
    assert "APIHandler" in functions
    for function_id, function in functions.items():
        arn = function["Properties"]["Environment"]["Variables"]["SPACES_CHAT_LOGGING_CONFIGURATION_ARN"]
        assert arn == {"Fn::GetAtt": [configuration_id, "Arn"]}, function_id
    # ... and that variable is the app's setting.
    assert "SPACES_CHAT_LOGGING_CONFIGURATION_ARN" in app_setting_names()


def test_the_api_creates_rooms_on_its_room_grant_alone(templates, stage):
    # ivschat:CreateRoom is authorized on the room only (Service Authorization Reference): naming
    # a logging configuration in it needs no grant on the configuration.
    grants = grants_of_function(templates[stage], "APIHandler")
    assert grants["ivschat:CreateRoom"] and all(r.endswith(":room/*") for r in grants["ivschat:CreateRoom"])


def test_no_function_may_change_the_logging_configuration_or_read_the_chat_log(templates, stage):
    template = templates[stage]
    configuration_id, _ = _logging_configuration(template)
    group_id, _ = _chat_log_group(template)
    for function_id in resources_of(template, "AWS::Serverless::Function"):
        grants = grants_of_function(template, function_id)
        assert not [a for a in grants if a.startswith("ivschat:") and "LoggingConfiguration" in a], function_id
        for action, resources in grants.items():
            for resource in resources:
                assert f"<{group_id}" not in resource and "chat-messages" not in resource, (function_id, action)


def test_the_stack_leaves_the_log_delivery_policy_to_aws(templates, stage):
    # CloudWatch Logs adds the policy that lets delivery.logs.amazonaws.com write to the group
    # when the logging configuration is created (vended logs); a second one here would compete
    # with it for the account's resource-policy quota.
    template = templates[stage]
    assert not resources_of(template, "AWS::Logs::ResourcePolicy")
    group_id, group = _chat_log_group(template)
    assert "ResourcePolicyDocument" not in group["Properties"]
    # CloudFormation creates the group before the configuration that names it (a Ref).
    _, configuration = _logging_configuration(template)
    assert group_id in json.dumps(configuration["Properties"])


def test_the_chat_log_group_is_a_stack_output(templates, stage):
    outputs = templates[stage]["Outputs"]
    [output] = [o for k, o in outputs.items() if k.startswith("ChatLogGroup")]
    assert flatten(output["Value"]) == f"<{_chat_log_group(templates[stage])[0]}>"
