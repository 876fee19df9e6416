"""Packaging the Chalice app for one stage, inside a process that may package several.

`chalice.cdk.Chalice` runs `chalice package` in this process: it puts the stage's
environment_variables (config.json's, merged with `stage_config`'s) into `os.environ`, then
imports `app.py`. The SQS consumers in `chalicelib/jobs/reminders.py` read their queue names from
those settings at import time, so a second stage packaged in the same process would reuse the
first stage's already-imported module, and its queue names. Each stage therefore gets a fresh
import of the app, and the environment is put back afterwards.
"""
from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path


def _forget_app_modules() -> None:
    for name in list(sys.modules):
        if name == "app" or name == "chalicelib" or name.startswith("chalicelib."):
            del sys.modules[name]


@contextmanager
def fresh_app_import():
    saved = dict(os.environ)
    # `chalice package` asks botocore for a region only to spell API Gateway's service principal
    # (apigateway.amazonaws.com in every commercial region); the template itself uses
    # ${AWS::Region}. Synth must not need AWS configuration, so a region is supplied if none is.
    os.environ.setdefault("AWS_DEFAULT_REGION", os.environ.get("CDK_DEFAULT_REGION") or "us-east-1")
    _forget_app_modules()
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        _forget_app_modules()


def packaged_template(construct) -> dict:
    """The SAM template `chalice package` wrote for this construct (before CDK's changes)."""
    # `_sam_package_dir` is the construct's own output directory; it exposes no public accessor.
    return json.loads((Path(construct._sam_package_dir) / "sam.json").read_text())


def sqs_event_queues(template: dict) -> dict[str, str]:
    """Function logical id -> the queue name its SQS event source is bound to."""
    bound: dict[str, str] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event in (resource["Properties"].get("Events") or {}).values():
            if event.get("Type") != "SQS":
                continue
            queue = event["Properties"]["Queue"]
            arn = queue.get("Fn::Sub") if isinstance(queue, dict) else queue
            bound[logical_id] = str(arn).rsplit(":", 1)[-1]
    return bound
