"""The security linter of the CDK app: cdk-nag's AwsSolutions and Serverless packs run on every
synth (`make synth`, `make deploy`, the infra tests). A finding fails the synth, and the report is
written to cdk.out/validation-report.json. A finding the stacks accept is acknowledged in code,
next to the resource, with its reason (docs/operations.md, "Security checks").

cdk-nag reads CDK's constructs: the functions and the API that `chalice package` writes as SAM
resources (AWS::Serverless::*) are outside its rules, and tests/infra/test_hardening.py holds
them to the same points (tracing, access logs, reserved concurrency, WAF).
"""
from __future__ import annotations

PACKS = ("AwsSolutions", "Serverless")


def check(app) -> None:
    from aws_cdk import Validations
    from cdk_nag import AwsSolutionsChecks, ServerlessChecks

    # The acknowledgements are also written into the templates (Metadata.cdk_nag): an audit trail
    # a reviewer reads next to each resource.
    Validations.of(app).add_plugins(
        AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True),
        ServerlessChecks(app, write_suppressions_to_cloud_formation=True),
    )


def accept(construct, rule: str, reason: str) -> None:
    """Acknowledge one rule (or one finding, `Rule[Finding]`) on a construct and its children."""
    from aws_cdk import Acknowledgment, Validations

    Validations.of(construct).acknowledge(Acknowledgment(id=rule, reason=reason))


def _as_finding_text(value) -> str:
    """A resolved CloudFormation value written as cdk-nag writes it in a finding id:
    Fn::GetAtt as <Id.Attr>, Ref as <Id>, Fn::Join concatenated."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if "Fn::GetAtt" in value:
            return f"<{value['Fn::GetAtt'][0]}.{value['Fn::GetAtt'][1]}>"
        if "Ref" in value:
            return f"<{value['Ref']}>"
        if "Fn::Join" in value:
            sep, parts = value["Fn::Join"]
            return sep.join(_as_finding_text(p) for p in parts)
    raise ValueError(f"cannot write {value!r} as a finding")


def accept_wildcard_resources(role, resources, reason: str) -> None:
    """Acknowledge AwsSolutions-IAM5 for each resource with a wildcard granted to `role`, one
    finding at a time, so a new wildcard grant is still reported."""
    from aws_cdk import Stack

    stack = Stack.of(role)
    for resource in resources:
        text = _as_finding_text(stack.resolve(resource))
        if "*" in text:
            accept(role, f"AwsSolutions-IAM5[Resource::{text}]", reason)
