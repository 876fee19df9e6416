"""The contract tests' stack: a whole local stack on free ports (tests/support/local_stack.py)."""
from __future__ import annotations

import pytest

from tests.support.local_stack import EXTRA_USERS, LocalStack, running_local_stack  # noqa: F401
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"

# scripts/seed.py seeds alice (may host), bob (may not) and carol (may host ticketed Spaces); the
# stack adds these (user id -> follower count; 1,200 may host).
EXTRA_USERS = {"dave": 0, "erin": 1200, "frank": 0}


@dataclass
class LocalStack:
    base_url: str
    jwt_private_key: Path
    kid: str
    table_prefix: str
    log_path: Path
    _tokens: dict[str, str] = field(default_factory=dict, repr=False)

    def token(self, user_id: str) -> str:
        """A bearer token for `user_id` (12 h), minted once: loading the RSA key costs ~50 ms."""
        from scripts.keys import mint_local_jwt

        if user_id not in self._tokens:
            self._tokens[user_id] = mint_local_jwt(user_id, self.jwt_private_key, self.kid)
        return self._tokens[user_id]

    def auth(self, user_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user_id)}"}

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


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory):
    """DynamoDB Local, moto, tables, demo users, keys and `chalice local`, all on free ports."""
    with running_local_stack(tmp_path_factory.mktemp("contract-stack")) as stack:
        yield stack
