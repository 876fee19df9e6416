"""Cold-start import cost: the app against its declared dependencies alone.

Each sample is a fresh `python -c` process that times, with time.perf_counter, only its imports and
client builds (interpreter start-up is outside the window) and prints milliseconds. App and
baseline runs alternate so background load hits both alike; each side's value is the median of
`RUNS` processes, after one discarded warm-up run each (which also writes the .pyc files a fresh
clone lacks).

app       `import app` (the Chalice app and every blueprint; routes and jobs name their service
          modules lazily, chalicelib/lazy.py, so each Lambda loads only the ones it runs), then
          what the first request builds:
          `bootstrap.deps()` (settings, the repositories, which make every PynamoDB model share one
          connection, Powertools Metrics), `bootstrap.verifier()`, and the DynamoDB client.
          Diagnostic, not in the ratio: what a container's first join imports on top (its service,
          `chalicelib.services.stage`, and its body's parser, `chalicelib.api.bodies.stage`), and
          the whole first join against the baseline. And, where valgrind is installed, the same
          window counted in instructions (callgrind), which no other load on the machine moves.
baseline  `import boto3`, `import pynamodb.models`, `from chalice import Chalice`,
          `from aws_lambda_powertools import Logger`, and the same DynamoDB client: one, built by
          PynamoDB's own `Connection(...).client` (PynamoDB's client Config).

Both run with the `local` stage's environment from .chalice/config.json (key paths pointed at
this run's keys, DynamoDB at an endpoint nothing listens on: no request is made), but with
SPACES_STAGE `bench`, as the rest of the bench runs: the local stage alone also registers the web client and patches
`chalice.local`'s gateway (chalicelib/api/local_routes.py), which no Lambda loads. Nothing is
sent over the network.
"""
from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

RUNS = 15
ROOT = Path(__file__).resolve().parent.parent

APP = """
import time
_c0, _t0 = time.process_time(), time.perf_counter()
import app
from chalicelib import bootstrap
from chalicelib.adapters.dynamodb.models import ALL_MODELS
bootstrap.deps()  # as the first request does: this also makes the models share one connection
bootstrap.verifier()
_m0 = time.perf_counter()
[m._get_connection().connection.client for m in ALL_MODELS]
_m1 = time.perf_counter()
_t1, _c1 = time.perf_counter(), time.process_time()
{extra}
_f = time.perf_counter()
import chalicelib.services.stage, chalicelib.api.bodies.stage  # what a first join imports on top (routes load services and parsers lazily)
_f = (time.perf_counter() - _f) * 1000
print((_t1 - _t0) * 1000, (time.perf_counter() - _t0) * 1000 - _f, (_c1 - _c0) * 1000, (_m1 - _m0) * 1000, _f)
"""

# What chalicelib/api/middleware.py also builds on the first HTTP request (diagnostic only).
FIRST_REQUEST_EXTRA = "bootstrap.logger()"  # the tracer only when SPACES_TRACING_ENABLED

BASELINE = """
import time
_c0, _t0 = time.process_time(), time.perf_counter()
import boto3
import pynamodb.models
from chalice import Chalice
from aws_lambda_powertools import Logger
from pynamodb.connection import Connection
_clients = [Connection(region={region!r}, host={host!r}).client for _ in range({n})]
_t1, _c1 = time.perf_counter(), time.process_time()
print((_t1 - _t0) * 1000, (_t1 - _t0) * 1000, (_c1 - _c0) * 1000, 0.0, 0.0)
"""


# The DynamoDB endpoint both sides are configured with. Nothing listens there and nothing is sent:
# building a client opens no connection, so the probe runs before the bench starts DynamoDB Local.
UNUSED_ENDPOINT = "http://127.0.0.1:9"


def child_environment(keys, dynamodb_url: str) -> dict[str, str]:
    from scripts.keys import local_stage_environment

    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "SPACES_", "POWERTOOLS_", "PYTHON"))
    }
    stage = local_stage_environment(ROOT)
    stage.update(
        {
            "SPACES_JWKS_PATH": str(keys.jwks),
            "SPACES_IVS_PRIVATE_KEY_PATH": str(keys.ivs_private),
            "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_url,
            # As a deployed function imports the app: no web client, no chalice.local.
            "SPACES_STAGE": "bench",
        }
    )
    return {**base, **stage}


def _sample(code: str, env: dict) -> tuple[float, ...]:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        raise RuntimeError(f"import probe failed:\n{done.stderr[-2000:]}")
    return tuple(float(v) for v in done.stdout.strip().splitlines()[-1].split())


def _instructions(code: str, env: dict) -> int | None:
    """Instructions one `python -c code` process executes, counted by valgrind's callgrind: the
    same for every run of the same code, whatever else the machine is doing. None without
    valgrind (it is a diagnostic: the ratio's target is on time)."""
    if shutil.which("valgrind") is None:
        return None
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c", code],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    return int(found.group(1)) if done.returncode == 0 and found else None


def instructions_note(app_code: str, baseline_code: str, env: dict) -> str:
    """The import window's ratio in instructions: each side's process less an empty interpreter's
    (start-up and shutdown), app over baseline. The app side includes the first join's imports."""
    empty, baseline, app = (_instructions(code, env) for code in ("pass", baseline_code, app_code))
    if empty is None or baseline is None or app is None:
        return "import_ms, diagnostic: instructions not counted (no valgrind on PATH)"
    return (
        f"import_ms, diagnostic: instructions (valgrind callgrind; the same every run): app and its "
        f"first join {(app - empty) / 1e6:.0f} M, baseline {(baseline - empty) / 1e6:.0f} M, "
        f"ratio {(app - empty) / (baseline - empty):.3f}"
    )


def run(keys, dynamodb_url: str) -> tuple[list[dict], list[str]]:
    from chalicelib.adapters.dynamodb.models import ALL_MODELS

    env = child_environment(keys, dynamodb_url)
    region = env.get("AWS_DEFAULT_REGION", "us-east-1")
    host = env.get("AWS_ENDPOINT_URL_DYNAMODB") or env.get("AWS_ENDPOINT_URL")
    app_code = APP.format(extra=FIRST_REQUEST_EXTRA)
    baseline_code = BASELINE.format(region=region, host=host, n=1)  # the app shares one client

    # As in the dev and prod stages: IvsMedia over a boto3 `ivs-realtime` client (diagnostic only).
    ivs_env = {**env, "SPACES_MEDIA_BACKEND": "ivs"}

    _sample(app_code, env)
    _sample(baseline_code, env)
    app_ms, first_request_ms, baseline_ms, ivs_ms = [], [], [], []
    app_cpu, baseline_cpu, app_clients, join_services, first_join = [], [], [], [], []
    for i in range(RUNS):
        order = [("app", app_code, env), ("baseline", baseline_code, env), ("ivs", app_code, ivs_env)]
        order = order[i % 3:] + order[: i % 3]
        for side, code, side_env in order:
            build_ms, total_ms, cpu_ms, clients_ms, services_ms = _sample(code, side_env)
            if side == "app":
                app_ms.append(build_ms)
                app_clients.append(clients_ms)
                join_services.append(services_ms)
                first_join.append(build_ms + services_ms)
                first_request_ms.append(total_ms)
                app_cpu.append(cpu_ms)
            elif side == "baseline":
                baseline_ms.append(build_ms)
                baseline_cpu.append(cpu_ms)
            else:
                ivs_ms.append(build_ms)

    app_median = statistics.median(app_ms)
    baseline_median = statistics.median(baseline_ms)
    first_median = statistics.median(first_request_ms)
    results = [
        {"name": "import_ms.app", "value": round(app_median, 1), "unit": "ms"},
        {"name": "import_ms.baseline", "value": round(baseline_median, 1), "unit": "ms"},
        {"name": "import_ratio", "value": round(app_median / baseline_median, 3), "unit": "ratio"},
    ]
    notes = [
        "import_ms samples (ms): app " + " ".join(f"{v:.0f}" for v in app_ms)
        + " | baseline " + " ".join(f"{v:.0f}" for v in baseline_ms),
        f"import_ms, diagnostic: app + bootstrap.logger() (what the HTTP "
        f"middleware builds on the first request) = {first_median:.0f} ms median, "
        f"ratio {first_median / baseline_median:.2f} to baseline",
        f"import_ms, diagnostic: of import_ms.app, building the DynamoDB client the {len(ALL_MODELS)} "
        f"PynamoDB models share took {statistics.median(app_clients):.0f} ms median",
        f"import_ms, diagnostic: app with SPACES_MEDIA_BACKEND=ivs (as dev/prod: boto3 imported, an "
        f"ivs-realtime client built) = {statistics.median(ivs_ms):.0f} ms median, ratio "
        f"{statistics.median(ivs_ms) / baseline_median:.2f} to baseline",
        f"import_ms, diagnostic: routes import their service and their body's parser on first use "
        f"(chalicelib/lazy.py); a container's first join also imports chalicelib.services.stage, "
        f"chalicelib.api.bodies.stage and what they need: {statistics.median(join_services):.0f} ms "
        f"median, not in import_ms.app; the whole first join (app + that) is "
        f"{statistics.median(first_join):.0f} ms, ratio {statistics.median(first_join) / baseline_median:.2f} to baseline",
        f"import_ms, diagnostic: paired, the median of each round's app / baseline (the two run "
        f"one after the other, so a change in the machine's speed hits both): "
        f"{statistics.median(a / b for a, b in zip(app_ms, baseline_ms)):.3f}",
        f"import_ms, diagnostic: CPU time (process_time) of the same window, less sensitive to other "
        f"load on the machine: app {statistics.median(app_cpu):.0f} ms, baseline "
        f"{statistics.median(baseline_cpu):.0f} ms, ratio "
        f"{statistics.median(app_cpu) / statistics.median(baseline_cpu):.2f}",
    ]
    notes.append(instructions_note(app_code, baseline_code, env))
    return results, notes
