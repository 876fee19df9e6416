"""The deployment's own defences (docs/operations.md): WAF on the API and the web distribution,
the API stage's access log and tracing, API Gateway's own answers in the contract's error shape,
TLS-only encrypted queues, and consumers that cannot starve the API."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from aws_cdk.assertions import Match

from infra.permissions import profile_for
from infra.stages import API_GATEWAY_STAGE
from infra.stages import stage as stage_settings
from tests.infra.helpers import flatten, resources_of

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def _api(template: dict) -> dict:
    [api] = resources_of(template, "AWS::Serverless::Api").values()
    return api["Properties"]


def _rate_rules(acl: dict) -> dict[str, dict]:
    return {rule["Name"]: rule for rule in acl["Properties"]["Rules"]}


# ------------------------------------------------------------------ WAF


def test_the_api_stage_sits_behind_a_regional_web_acl_limiting_each_ip(templates, stage):
    template = templates[stage]
    settings = stage_settings(stage)
    [(acl_id, acl)] = resources_of(template, "AWS::WAFv2::WebACL").items()
    rules = _rate_rules(acl)

    assert acl["Properties"]["Scope"] == "REGIONAL"
    assert acl["Properties"]["DefaultAction"] == {"Allow": {}}
    every = rules["requests-per-ip"]["Statement"]["RateBasedStatement"]
    assert every == {"AggregateKeyType": "IP", "EvaluationWindowSec": 300, "Limit": settings.api_requests_per_ip_5min}
    joins = rules["joins-per-ip"]["Statement"]["RateBasedStatement"]
    assert joins["AggregateKeyType"] == "IP" and joins["Limit"] == settings.api_joins_per_ip_5min
    matches = [s["ByteMatchStatement"] for s in joins["ScopeDownStatement"]["AndStatement"]["Statements"]]
    assert {(m["PositionalConstraint"], m["SearchString"]) for m in matches} == {("EXACTLY", "POST"), ("ENDS_WITH", "/join")}
    assert all(r["Action"] == {"Block": {}} for r in rules.values())

    [association] = resources_of(template, "AWS::WAFv2::WebACLAssociation").values()
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    assert flatten(association["Properties"]["ResourceArn"]).endswith(f"/restapis/<RestAPI>/stages/{API_GATEWAY_STAGE}")
    # The stage SAM makes from the API: associated once it exists.
    assert association["DependsOn"] == [f"RestAPI{API_GATEWAY_STAGE}Stage"]


def test_the_web_distribution_takes_the_us_east_1_web_acl_of_the_edge_stack(templates, assembly_dir, stage):
    edge = json.loads((assembly_dir / f"{stage}-edge.template.json").read_text())
    [acl] = resources_of(edge, "AWS::WAFv2::WebACL").values()
    manifest = json.loads((assembly_dir / "manifest.json").read_text())

    assert acl["Properties"]["Scope"] == "CLOUDFRONT"
    assert _rate_rules(acl)["requests-per-ip"]["Statement"]["RateBasedStatement"]["AggregateKeyType"] == "IP"
    assert manifest["artifacts"][f"{stage}-edge"]["environment"].endswith("/us-east-1")
    assert "WebAclArn" in edge["Outputs"]

    parameter = templates[stage]["Parameters"]["WebAclArn"]
    assert "Default" not in parameter, "a stage is never deployed without its web ACL"
    assert re.match(parameter["AllowedPattern"], "arn:aws:wafv2:us-east-1:123456789012:global/webacl/x/1")
    assert not re.match(parameter["AllowedPattern"], "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/x/1")
    [distribution] = resources_of(templates[stage], "AWS::CloudFront::Distribution").values()
    assert distribution["Properties"]["DistributionConfig"]["WebACLId"] == {"Ref": "WebAclArn"}


# ------------------------------------------------------------------ the API stage


def test_the_api_stage_writes_a_json_access_log_and_traces_requests(cdk_templates, templates, stage):
    api = _api(templates[stage])
    [(log_id, _)] = [
        (k, v) for k, v in resources_of(templates[stage], "AWS::Logs::LogGroup").items()
        if v["Properties"].get("LogGroupName") == f"/aws/apigateway/spaces-{stage}/access"
    ]
    cdk_templates[stage].has_resource_properties(
        "AWS::Logs::LogGroup",
        {"LogGroupName": f"/aws/apigateway/spaces-{stage}/access", "RetentionInDays": Match.any_value()},
    )

    assert api["TracingEnabled"] is True
    assert api["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": [log_id, "Arn"]}
    fields = json.loads(api["AccessLogSetting"]["Format"])
    assert {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "status": "$context.status",
        "latencyMs": "$context.responseLatency",
    }.items() <= fields.items()


def _error_schema() -> dict:
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    return spec["components"]["schemas"]["Error"]


def _rendered(template_text: str) -> dict:
    """A gateway response body as API Gateway sends it: $context.error.messageString is the
    message as a quoted JSON string."""
    return json.loads(template_text.replace("$context.error.messageString", json.dumps('Missing "quotes"')))


def test_an_unknown_route_is_a_404_not_found_in_the_contracts_shape(templates, stage):
    responses = _api(templates[stage])["DefinitionBody"]["x-amazon-apigateway-gateway-responses"]

    missing = responses["MISSING_AUTHENTICATION_TOKEN"]

    assert missing["statusCode"] == "404"
    body = _rendered(missing["responseTemplates"]["application/json"])
    assert body["code"] == "not_found" and body["message"]
    assert missing["responseParameters"]["gatewayresponse.header.Content-Type"] == "'application/json'"


@pytest.mark.parametrize("kind, code", [
    ("DEFAULT_4XX", "bad_request"),
    ("DEFAULT_5XX", "internal_server"),
    ("THROTTLED", "throttled"),
    ("WAF_FILTERED", "forbidden"),
])
def test_api_gateways_own_errors_carry_the_error_schema(templates, stage, kind, code):
    import jsonschema

    response = _api(templates[stage])["DefinitionBody"]["x-amazon-apigateway-gateway-responses"][kind]

    body = _rendered(response["responseTemplates"]["application/json"])

    jsonschema.validate(body, _error_schema())
    assert body["code"] == code


# ------------------------------------------------------------------ queues and concurrency


def test_every_queue_is_encrypted_and_refuses_plain_http(templates, stage):
    template = templates[stage]
    queues = resources_of(template, "AWS::SQS::Queue")
    tls_only = set()
    for policy in resources_of(template, "AWS::SQS::QueuePolicy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Deny" and statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}:
                tls_only.update(q["Ref"] for q in policy["Properties"]["Queues"])

    assert len(queues) == 8
    assert all(q["Properties"]["SqsManagedSseEnabled"] is True for q in queues.values())
    assert tls_only == set(queues)


def test_queue_and_stream_consumers_have_reserved_concurrency_and_the_api_does_not(templates, stage):
    settings = stage_settings(stage)
    reserved = {}
    for logical_id, function in resources_of(templates[stage], "AWS::Serverless::Function").items():
        profile = profile_for(logical_id)
        value = function["Properties"].get("ReservedConcurrentExecutions")
        if profile.consumes or profile.consumes_stream:
            reserved[profile.chalice_name] = value
        else:
            assert value == settings.api_reserved_concurrency if profile.kind == "api" else value is None, logical_id

    assert reserved == settings.consumer_reserved_concurrency
    assert set(reserved) == {"reminder_fanout", "push_worker", "ticket_worker", "fold_participant_counts"}
    # SQS consumers: Lambda polls a queue with five concurrent batches; fewer would throttle them.
    assert all(reserved[name] >= 5 for name in ("reminder_fanout", "push_worker", "ticket_worker"))


# ------------------------------------------------------------------ TLS


def test_on_its_own_domain_the_web_client_requires_tls_1_2():
    import aws_cdk as cdk
    from aws_cdk import aws_cognito as cognito
    from aws_cdk.assertions import Template

    from infra.stages import StageSettings
    from infra.web import WebClient

    stack = cdk.Stack(cdk.App(), "Web")
    settings = StageSettings(
        name="dev",
        web_domain="spaces.example.org",
        web_certificate_arn="arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d",
    )
    WebClient(stack, "Web", user_pool=cognito.UserPool(stack, "Pool"), settings=settings, keep=cdk.RemovalPolicy.DESTROY)

    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::CloudFront::Distribution", {"DistributionConfig": Match.object_like({
        "Aliases": ["spaces.example.org"],
        "ViewerCertificate": {
            "AcmCertificateArn": settings.web_certificate_arn,
            "MinimumProtocolVersion": "TLSv1.2_2021",
            "SslSupportMethod": "sni-only",
        },
    })})
    template.has_resource_properties("AWS::Cognito::UserPoolClient", {"CallbackURLs": ["https://spaces.example.org/"]})
