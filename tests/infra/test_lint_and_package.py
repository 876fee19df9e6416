"""The synthesized templates pass cfn-lint with no error, and `chalice package` works on its own
for each AWS stage (binding the queue consumers to that stage's queues)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.infra.conftest import ROOT, STAGES

pytestmark = pytest.mark.slow


def test_cfn_lint_finds_no_error_in_the_synthesized_templates(assembly_dir):
    files = [str(assembly_dir / f"{stage}.template.json") for stage in STAGES]
    result = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), "--format", "json", *files],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.stdout.strip(), result.stderr
    findings = json.loads(result.stdout)
    errors = [f for f in findings if f["Level"] == "Error"]
    assert not errors, json.dumps(errors, indent=1)[:4000]


@pytest.mark.parametrize("stage", STAGES)
def test_chalice_package_succeeds_and_binds_the_stage_queues(stage, tmp_path, assembly_dir):
    # `assembly_dir`: after the session's synth, which fills .chalice/deployments/ first, so two
    # packagers never download and write the same cached package at once.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPACES_", "AWS_ENDPOINT"))}
    env["AWS_DEFAULT_REGION"] = "us-east-1"  # chalice spells API Gateway's principal from it
    out = tmp_path / "package"
    result = subprocess.run(
        [str(Path(sys.executable).with_name("chalice")), "package", "--stage", stage, str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,  # the first run pip-downloads requirements.txt for Lambda
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert (out / "deployment.zip").stat().st_size > 0
    template = json.loads((out / "sam.json").read_text())
    queues = sorted(
        event["Properties"]["Queue"]["Fn::Sub"].rsplit(":", 1)[-1]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Serverless::Function"
        for event in (resource["Properties"].get("Events") or {}).values()
        if event["Type"] == "SQS"
    )
    assert queues == [f"spaces-{stage}-fanout", f"spaces-{stage}-push", f"spaces-{stage}-tickets"]
