"""The synthesized stacks, built once per test session for every stage.

Synth runs `python infra/app.py` in a subprocess: it imports the Chalice app once per stage with
that stage's environment (infra/chalice_app.py), which must not leak into the test process, and
it takes 8-14 s and up to 1 GB, which is paid once. Under pytest-xdist the workers share one
synth through a lock file in the run's common temporary directory.
"""
from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STAGES = ("dev", "prod")
SYNTH_TIMEOUT_S = 600


def _shared_dir(tmp_path_factory) -> Path:
    base = tmp_path_factory.getbasetemp()
    # Under xdist each worker has its own basetemp inside the run's directory.
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def synth_environment(outdir: Path) -> dict[str, str]:
    """A clean environment: the test session's AWS_* and SPACES_* settings stay out of synth."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")}
    env.update(
        CDK_OUTDIR=str(outdir),
        JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION="1",
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
    )
    return env


@pytest.fixture(scope="session")
def assembly_dir(tmp_path_factory) -> Path:
    shared = _shared_dir(tmp_path_factory)
    outdir = shared / "cdk.out"
    done = shared / "cdk.out.done"
    with open(shared / "cdk.out.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not done.exists():
                result = subprocess.run(
                    [sys.executable, "infra/app.py"],
                    cwd=ROOT,
                    env=synth_environment(outdir),
                    capture_output=True,
                    text=True,
                    timeout=SYNTH_TIMEOUT_S,
                )
                if result.returncode != 0:
                    pytest.fail(f"synth failed:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}")
                done.write_text(result.stdout)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return outdir


@pytest.fixture(scope="session")
def templates(assembly_dir) -> dict[str, dict]:
    """stage -> the CloudFormation template (JSON) of its stack."""
    return {stage: json.loads((assembly_dir / f"{stage}.template.json").read_text()) for stage in STAGES}


@pytest.fixture(scope="session")
def cdk_templates(templates):
    """stage -> aws_cdk.assertions.Template of its stack."""
    from aws_cdk.assertions import Template

    return {stage: Template.from_json(template) for stage, template in templates.items()}


@pytest.fixture(params=STAGES)
def stage(request) -> str:
    return request.param
