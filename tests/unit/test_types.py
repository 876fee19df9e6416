"""The type checker runs with the tests: mypy over chalicelib/ with the repository's mypy.ini
(strict on the domain, the services and the ports, mypy's defaults elsewhere) finds nothing."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # a cold run (no .mypy_cache) reads every module and its dependencies
def test_mypy_finds_no_error(monkeypatch):
    from mypy import api

    monkeypatch.chdir(ROOT)
    report, errors, status = api.run(["--config-file", str(ROOT / "mypy.ini")])
    assert status == 0, report + errors
    assert report.strip().splitlines()[-1].startswith("Success: no issues found")


def test_the_ports_are_importable_at_run_time_and_cost_a_request_nothing():
    code = (
        "import sys; import app; "
        "from chalicelib.services import recording, renewals, room_events, stage, stage_moderation, subscriptions, tickets; "
        "loaded = 'chalicelib.port_protocols' in sys.modules; "
        "from typing import Protocol; from chalicelib.port_protocols import MediaPort, RoomEventLog, UserRepository; "
        "print(loaded, all(Protocol in p.__mro__ for p in (MediaPort, RoomEventLog, UserRepository)))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]
