"""The security linter (infra/nag.py): cdk-nag's AwsSolutions and Serverless packs run in every
synth, a finding stops it, and what the stacks accept is acknowledged in code with a reason."""
from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow

NAG_PLUGINS = {"AwsSolutions", "Serverless"}


def test_the_session_synth_ran_both_packs_and_left_no_finding(assembly_dir, templates):
    # The session's synth succeeded (the fixture fails otherwise): a finding would have stopped it.
    report = assembly_dir / "validation-report.json"
    plugins = json.loads(report.read_text())["pluginReports"] if report.exists() else []
    findings = [p for p in plugins if p["pluginName"] in NAG_PLUGINS and p["violations"]]
    assert findings == [], json.dumps(findings, indent=1)[:4000]
    # ... and the packs did run on it: they write each acknowledgement next to its resource.
    acknowledged = {
        rule["id"]
        for template in templates.values()
        for resource in template["Resources"].values()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    }
    assert {"AwsSolutions-COG2", "Serverless-SQSRedrivePolicy"} <= acknowledged, acknowledged


def test_every_acknowledgement_gives_a_reason(templates):
    for template in templates.values():
        for logical_id, resource in template["Resources"].items():
            for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []):
                assert len(rule.get("reason", "").split()) >= 5, (logical_id, rule)


def test_no_point_of_the_hardening_is_acknowledged_away(templates):
    """WAF, access logs, tracing, TLS-only queues and the like are built, never acknowledged."""
    forbidden = {
        "AwsSolutions-CFR2",  # CloudFront without WAF
        "AwsSolutions-SQS4",  # queue without TLS-only policy
        "AwsSolutions-SQS2",  # queue without encryption
        "AwsSolutions-SNS3",
        "AwsSolutions-APIG1",  # API stage without access logs
        "AwsSolutions-APIG3",  # API stage without WAF
        "AwsSolutions-APIG6",
        "Serverless-APIGWXrayEnabled",
        "Serverless-APIGWAccessLogging",
    }
    for template in templates.values():
        for logical_id, resource in template["Resources"].items():
            rules = resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
            assert not forbidden & {r["id"] for r in rules}, logical_id


def test_a_finding_stops_the_synth(tmp_path):
    """The same wiring on a stack with a plain queue (no TLS-only policy, no redrive): synth fails."""
    import aws_cdk as cdk
    from aws_cdk import aws_sqs as sqs

    from infra.nag import check

    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Lint")
    sqs.Queue(stack, "Plain", encryption=sqs.QueueEncryption.SQS_MANAGED)
    check(app)

    with pytest.raises(Exception, match="ValidationFailed"):
        app.synth()

    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = {v["ruleName"] for p in report["pluginReports"] for v in p["violations"]}
    assert {"AwsSolutions-SQS4", "Serverless-SQSRedrivePolicy"} <= rules

