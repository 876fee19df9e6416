"""The local API server of `make run` (scripts/local_api.py) takes a burst of connections without
resetting any: `chalice local` listens with a backlog of 5 and resets connections past it."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

import pytest

from bench.load import connection_burst
from scripts.dynamodb_local import free_port
from scripts.keys import local_stage_environment
from tests.support.local_stack import ROOT

pytestmark = pytest.mark.slow

HOST = "127.0.0.1"
CLIENTS = 200


@pytest.fixture
def local_api(tmp_path):
    port = free_port(HOST)
    log = open(tmp_path / "local_api.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "scripts.local_api", "--stage", "local", "--host", HOST, "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, **local_stage_environment(ROOT), "PYTHONUNBUFFERED": "1"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(600):
            if process.poll() is not None:
                pytest.fail((tmp_path / "local_api.log").read_text()[-3000:])
            try:
                with urllib.request.urlopen(f"http://{HOST}:{port}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_200_connections_at_once_are_all_answered_and_none_is_reset(local_api):
    outcomes = connection_burst(HOST, local_api, CLIENTS)

    assert outcomes.get("reset", 0) == 0, outcomes
    assert outcomes == {"ok": CLIENTS}, outcomes
