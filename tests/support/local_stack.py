"""A whole local stack, like `make run` (scripts/local_stack.py) on free ports, for the contract
tests (tests/contract) and the browser tests (tests/e2e): DynamoDB Local with the tables and demo
users, a moto server for every other AWS service (with the queues / schedule group / push apps
that `scripts/local_aws.py` provisions, when it exists), fresh keys, and `chalice local --stage
local` (which serves the web client too).

Everything is started here, on free ports, so these suites run on a fresh machine with
nothing else running (and next to a developer's `make run`, whose ports it never touches).

Why a temporary project directory: `chalice local` loads the stage's `environment_variables`
from `.chalice/config.json` *over* the process environment (chalice/cli/factory.py,
`load_chalice_app`: `self._environ.update(environment_variables)`), so the `local` stage's
endpoint (:8100), key paths (`.local/`) and table prefix would win over anything set here. The
fixture therefore writes a copy of `.chalice/config.json` whose `local` stage points at this
test's DynamoDB Local, keys and table prefix, into a temp dir where `app.py` and `chalicelib/` are
symlinks to the real ones, and runs `chalice local --stage local` there: the same server, the
same code, only the configuration differs.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"

# scripts/seed.py seeds alice (may host), bob (may not) and carol (may host ticketed Spaces); the
# stack adds these (user id -> follower count; 1,200 may host).
EXTRA_USERS = {"dave": 0, "erin": 1200, "frank": 0, "gina": 1200, "hank": 1200}


@dataclass
class LocalStack:
    base_url: str
    jwt_private_key: Path
    kid: str
    table_prefix: str
    log_path: Path
    # With `with_fake_chat`: the IVS Chat emulator's control-plane URL (and its test hooks) and
    # messaging WebSocket URL.
    chat_api_url: str = ""
    chat_ws_url: str = ""
    # With `with_media_server`: the local media server (mediaserver/) the stage's media points at,
    # and its control API's shared secret.
    media_url: str = ""
    media_control_secret: str = ""
    _tokens: dict[str, str] = field(default_factory=dict, repr=False)

    def token(self, user_id: str) -> str:
        """A bearer token for `user_id` (12 h), minted once: loading the RSA key costs ~50 ms."""
        from scripts.keys import mint_local_jwt

        if user_id not in self._tokens:
            self._tokens[user_id] = mint_local_jwt(user_id, self.jwt_private_key, self.kid)
        return self._tokens[user_id]

    def auth(self, user_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user_id)}"}

    def request(self, method: str, path: str, user: str | None = None, *, json=None, timeout: float = 30):
        """One HTTP call to the stack's API as `user` (anonymous when None), its answer held to
        openapi.yaml (tests/support/openapi_responses.py): every call a test makes through here
        fails on a status, header or body shape the document does not allow."""
        import requests

        from tests.support.openapi_responses import check_response

        headers = self.auth(user) if user else {}
        response = requests.request(method, self.base_url + path, json=json, headers=headers, timeout=timeout)
        check_response(method, path, response.status_code, response.headers, response.content, headers)
        return response

    def log_tail(self, limit: int = 4000) -> str:
        """The end of `chalice local`'s output without its access-log lines (tracebacks, app logs)."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(line for line in lines if not line.startswith(f"{HOST} - - "))[-limit:]


def _stage_project(directory: Path, overrides: dict[str, str]) -> Path:
    """A Chalice project dir whose `local` stage carries `overrides`; code symlinked, not copied."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "app.py").symlink_to(ROOT / "app.py")
    (directory / "chalicelib").symlink_to(ROOT / "chalicelib", target_is_directory=True)
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    stage = config["stages"]["local"]
    stage["environment_variables"] = {**stage.get("environment_variables", {}), **overrides}
    (directory / ".chalice").mkdir()
    (directory / ".chalice" / "config.json").write_text(json.dumps(config, indent=2))
    return directory


def _start(name: str, argv: list[str], log_path: Path, ready_url: str, timeout: float = 60.0, **popen):
    """Start a long-running child in its own process group; return it once `ready_url` answers 200."""
    import requests

    from scripts.dynamodb_local import child_preexec, stop_process_group

    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=child_preexec(), **popen,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{name} exited with code {process.returncode} while starting:\n"
                + log_path.read_text(errors="replace")[-4000:]
            )
        try:
            if requests.get(ready_url, timeout=2).status_code == 200:
                return process
        except requests.RequestException:
            pass
        time.sleep(0.2)
    stop_process_group(process)
    raise RuntimeError(
        f"{name} did not answer {ready_url} within {timeout:.0f} s:\n"
        + log_path.read_text(errors="replace")[-4000:]
    )


# Run in a fresh interpreter with the stage's environment, as `make run` does: tables from the
# PynamoDB models, AWS resources in moto (scripts/local_aws.py, when the project has it), the demo
# users, and the extra users above.
SETUP = f"""
import importlib.util
from chalicelib.adapters.dynamodb.models import create_tables
from chalicelib.adapters.dynamodb.users import DynamoUserRepository
from scripts.seed import seed
create_tables()
if importlib.util.find_spec("scripts.local_aws") is not None:
    from scripts.local_aws import provision
    provision(with_bucket=True)
seed()
for user_id, followers in {EXTRA_USERS!r}.items():
    DynamoUserRepository().set_follower_count(user_id, followers)
"""


@contextmanager
def running_local_stack(
    base: Path,
    extra_env: dict[str, str] | None = None,
    *,
    with_worker: bool = False,
    with_fake_chat: bool = False,
    with_media_server: bool = False,
):
    """DynamoDB Local, moto, tables, demo users, keys and `chalice local`, all on free ports under
    `base`; stopped on exit. `extra_env` adds settings to the `local` stage's. `with_worker` also
    runs the local worker of `make run` (schedules, queues, the sandbox's payment webhooks).
    `with_fake_chat` runs the IVS Chat emulator (tests/support/fake_ivs_chat.py) and points the
    stage's room events at it: the production IVS Chat adapter through AWS_ENDPOINT_URL_IVSCHAT,
    clients through SPACES_CHAT_ENDPOINT_URL (the join says `transport: "ivs-chat"`).
    `with_media_server` runs the local media server (mediaserver/) with this stack's IVS key and
    points the stage's media at it (the join's `media` then carries `whip` and `whep`); without
    it the stage has no media server (never the one `make run` may have on :8300)."""
    from scripts.dynamodb_local import DynamoDBLocal, ensure_dynamodb_local, free_port, stop_process_group
    from scripts.keys import ensure_local_keys, jwks_kid, local_stage_environment

    ddb = DynamoDBLocal(emulator_dir=ensure_dynamodb_local(), log_path=base / "dynamodb.log")
    processes: list[subprocess.Popen] = []
    try:
        ddb.start()
        moto_port = free_port()
        processes.append(_start(
            "moto server", [str(BIN / "moto_server"), "-H", HOST, "-p", str(moto_port)],
            base / "moto.log", f"http://{HOST}:{moto_port}/moto-api/data.json",
        ))
        chat = {}
        if with_fake_chat:
            api_port, ws_port = free_port(), free_port()
            processes.append(_start(
                "fake IVS Chat",
                [sys.executable, "-m", "tests.support.fake_ivs_chat", "--host", HOST,
                 "--api-port", str(api_port), "--ws-port", str(ws_port)],
                base / "fake-ivs-chat.log", f"http://{HOST}:{api_port}/_fake/health", cwd=ROOT,
            ))
            chat = {"chat_api_url": f"http://{HOST}:{api_port}", "chat_ws_url": f"ws://{HOST}:{ws_port}"}
        keys = ensure_local_keys(base / "keys")
        media = {"media_url": "", "media_control_secret": ""}
        if with_media_server:
            media_port = free_port()
            media = {"media_url": f"http://{HOST}:{media_port}", "media_control_secret": uuid.uuid4().hex}
            processes.append(_start(
                "media server",
                [sys.executable, "-m", "mediaserver", "--host", HOST, "--port", str(media_port),
                 "--ivs-public-key", str(keys["ivs_public"]), "--hls-dir", str(base / "hls")],
                base / "mediaserver.log", f"{media['media_url']}/health", cwd=ROOT,
                env={**os.environ, "SPACES_MEDIA_CONTROL_SECRET": media["media_control_secret"]},
            ))
        prefix = f"stack-{uuid.uuid4().hex[:8]}"
        overrides = {
            **ddb.environment(),
            "AWS_ENDPOINT_URL": f"http://{HOST}:{moto_port}",
            "SPACES_TABLE_PREFIX": prefix,
            "SPACES_JWKS_PATH": str(keys["jwks"]),
            "SPACES_LOCAL_SIGNIN_KEY_PATH": str(keys["jwt_private"]),
            "SPACES_IVS_PRIVATE_KEY_PATH": str(keys["ivs_private"]),
            "SPACES_MEDIA_SERVER_URL": media["media_url"],
            "SPACES_MEDIA_CONTROL_SECRET": media["media_control_secret"],
            "SPACES_CURSOR_KEYS_PATH": str(keys["cursor_keys"]),
            **({"AWS_ENDPOINT_URL_IVSCHAT": chat["chat_api_url"], "SPACES_CHAT_ENDPOINT_URL": chat["chat_ws_url"]}
               if chat else {}),
            **(extra_env or {}),
        }
        env = {**os.environ, **local_stage_environment(ROOT), **overrides, "PYTHONUNBUFFERED": "1"}

        result = subprocess.run(
            [sys.executable, "-c", SETUP], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
            capture_output=True, text=True, timeout=120,
        )
        if result.returncode != 0:
            raise RuntimeError(f"creating tables / seeding failed:\n{result.stdout}\n{result.stderr}")

        project = _stage_project(base / "project", overrides)
        port = free_port()
        log_path = base / "chalice.log"
        processes.append(_start(
            "chalice local",
            [str(BIN / "chalice"), "--project-dir", str(project), "local", "--stage", "local",
             "--no-autoreload", "--host", HOST, "--port", str(port)],
            log_path, f"http://{HOST}:{port}/health", cwd=project, env=env,
        ))
        if with_worker:
            from scripts.dynamodb_local import child_preexec

            with open(base / "worker.log", "wb") as log:
                processes.append(subprocess.Popen(
                    [sys.executable, "-m", "scripts.local_worker"], cwd=ROOT,
                    env={**env, "SPACES_LOCAL_API_URL": f"http://{HOST}:{port}"},
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True, preexec_fn=child_preexec(),
                ))
        yield LocalStack(
            base_url=f"http://{HOST}:{port}",
            jwt_private_key=keys["jwt_private"],
            kid=jwks_kid(keys["jwks"]),
            table_prefix=prefix,
            log_path=log_path,
            **chat,
            **media,
        )
    finally:
        for process in reversed(processes):
            stop_process_group(process)
        ddb.stop()
