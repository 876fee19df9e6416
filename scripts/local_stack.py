"""`make run`: the whole product on this machine, no AWS account needed.

    DynamoDB Local   127.0.0.1:8100   tables from the PynamoDB models, demo users seeded
    moto server      127.0.0.1:5100   every other AWS service the app calls
    chalice local    127.0.0.1:8000   the API, with the `local` stage of .chalice/config.json
    media server     127.0.0.1:8300   WHIP/WHEP audio of the local stage (mediaserver/, docs/media.md)

Each process runs in its own process group; Ctrl-C or SIGTERM stops all of them (SIGKILL after a
grace period), so the next run finds its ports free. A port already taken is reported with the
process holding it, and the run exits non-zero instead of waiting.

To run one more long-lived process (a local scheduler poller, say), add a `Process` to
`processes()`: it is started, health-checked, watched and stopped like the others.
"""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from scripts.dynamodb_local import (
    DynamoDBLocal,
    DynamoDBLocalError,
    child_preexec,
    ensure_dynamodb_local,
    port_is_free,
    stop_process_group,
)
from scripts.keys import ensure_local_keys, local_stage_environment

ROOT = Path(__file__).resolve().parent.parent
LOCAL_DIR = ROOT / ".local"
LOG_DIR = LOCAL_DIR / "logs"
BIN = Path(sys.executable).parent

HOST = "127.0.0.1"
API_PORT = 8000
DYNAMODB_PORT = 8100
MOTO_PORT = 5100
MEDIA_PORT = 8300
API_URL = f"http://{HOST}:{API_PORT}"

SEEDED_USERS = (
    ("alice", "1,200 followers: may host"),
    ("bob", "12 followers: may not host"),
    ("carol", "5,000 followers, 3 Spaces hosted in the last 30 days: may host ticketed Spaces"),
)


class StackError(RuntimeError):
    """The stack cannot start; the message says why and what to do."""


@dataclass
class Process:
    """A long-running child: how to start it, how to know it is up, where its output goes."""

    name: str
    argv: list[str]
    port: Optional[int] = None
    ready: Optional[Callable[[], bool]] = None
    ready_timeout: float = 60.0
    env: Optional[dict[str, str]] = None
    cwd: Path = ROOT
    log: Optional[Path] = None  # None: straight to this terminal
    popen: Optional[subprocess.Popen] = field(default=None, repr=False)

    def start(self) -> None:
        output = open(self.log, "ab") if self.log else None
        try:
            self.popen = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT if output else None,
                start_new_session=True,  # its own group: stopped as a whole, deaf to the tty's ^C
                preexec_fn=child_preexec(),
            )
        finally:
            if output:
                output.close()

    def exited(self) -> Optional[int]:
        return None if self.popen is None else self.popen.poll()

    def stop(self) -> None:
        if self.popen is not None:
            stop_process_group(self.popen)


# --- readiness probes -------------------------------------------------------------------------


def http_ok(url: str, accept: Callable[[int], bool] = lambda status: status == 200) -> Callable[[], bool]:
    def probe() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return accept(response.status)
        except urllib.error.HTTPError as exc:
            return accept(exc.code)
        except (urllib.error.URLError, OSError):
            return False

    return probe


def dynamodb_answers(port: int) -> Callable[[], bool]:
    server = DynamoDBLocal(port)

    def probe() -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            server.client().list_tables(Limit=1)
            return True
        except (BotoCoreError, ClientError):
            return False

    return probe


# --- what runs --------------------------------------------------------------------------------


def stage_environment() -> dict[str, str]:
    """This shell's environment plus the `local` stage's variables (the app's own view)."""
    stage = local_stage_environment(ROOT)
    if not stage:
        raise StackError(".chalice/config.json has no `local` stage environment_variables")
    # The media server's control API trusts whoever holds this run's secret: the API and the
    # worker (both call the MediaPort) get it through their environment, nobody else.
    return {**os.environ, **stage, "SPACES_MEDIA_CONTROL_SECRET": secrets.token_hex(16)}


def backing_services(emulator_dir: Path) -> list[Process]:
    """The stand-ins for AWS, started before tables are created."""
    dynamodb = DynamoDBLocal(DYNAMODB_PORT, emulator_dir)
    return [
        Process(
            name="DynamoDB Local",
            argv=dynamodb.command(),
            cwd=emulator_dir,
            port=DYNAMODB_PORT,
            ready=dynamodb_answers(DYNAMODB_PORT),
            ready_timeout=30,
            log=LOG_DIR / "dynamodb.log",
        ),
        Process(
            name="moto server",
            argv=[str(BIN / "moto_server"), "-H", HOST, "-p", str(MOTO_PORT)],
            port=MOTO_PORT,
            ready=http_ok(f"http://{HOST}:{MOTO_PORT}/moto-api/data.json"),
            ready_timeout=30,
            log=LOG_DIR / "moto.log",
        ),
    ]


def processes(env: dict[str, str]) -> list[Process]:
    """The app's own processes, started once tables exist and users are seeded."""
    return [
        # Before the API: the first join may already point a browser at it.
        Process(
            name="media server",
            argv=[str(BIN / "python"), "-m", "mediaserver", "--host", HOST, "--port", str(MEDIA_PORT)],
            port=MEDIA_PORT,
            env={**env, "PYTHONUNBUFFERED": "1"},
            ready=http_ok(f"http://{HOST}:{MEDIA_PORT}/health"),
            ready_timeout=30,
            log=LOG_DIR / "mediaserver.log",
        ),
        Process(
            name="chalice local",
            argv=[
                str(BIN / "chalice"), "local", "--stage", "local",
                "--host", HOST, "--port", str(API_PORT),
                # The reloader polls every file under the project (.venv, .local, logs) each
                # second and restarts on any write: restart by hand instead.
                "--no-autoreload",
            ],
            port=API_PORT,
            env={**env, "PYTHONUNBUFFERED": "1"},
            ready=http_ok(f"{API_URL}/health"),
            ready_timeout=60,
        ),
        # moto never fires schedules and chalice local runs no queue consumers: this does both.
        Process(
            name="local worker",
            argv=[str(BIN / "python"), "-m", "scripts.local_worker"],
            env={**env, "PYTHONUNBUFFERED": "1"},
        ),
    ]


# --- one-shot setup ---------------------------------------------------------------------------


def run_step(description: str, argv: list[str], env: dict[str, str]) -> None:
    print(f"==> {description}", flush=True)
    result = subprocess.run(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise StackError(f"{description} failed (exit {result.returncode})")


def create_tables(env: dict[str, str]) -> None:
    run_step(
        "Creating tables",
        [sys.executable, "-c",
         "from chalicelib.adapters.dynamodb.models import create_tables; create_tables()"],
        env,
    )


def provision_aws(env: dict[str, str]) -> None:
    run_step("Creating queues, schedule group, push apps and the recordings bucket in moto", [sys.executable, "-m", "scripts.local_aws"], env)


def seed(env: dict[str, str]) -> bool:
    if not (ROOT / "scripts" / "seed.py").is_file():
        print("!!  scripts/seed.py does not exist yet: demo users NOT seeded "
              "(the API runs; alice/bob/carol have no followers).", flush=True)
        return False
    run_step("Seeding demo users", [sys.executable, "-m", "scripts.seed"], env)
    return True


# --- orchestration ----------------------------------------------------------------------------


def who_listens(port: int) -> tuple[Optional[int], str]:
    """(pid, command line) of the process listening on `port`; best effort, Linux /proc only."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as handle:
                next(handle)
                for line in handle:
                    fields = line.split()
                    local, state, inode = fields[1], fields[3], fields[9]
                    if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                        inodes.add(inode)
        except (OSError, StopIteration, IndexError, ValueError):
            continue
    if not inodes:
        return None, "an unknown process"
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    with open(f"/proc/{pid}/cmdline", "rb") as handle:
                        cmd = handle.read().replace(b"\0", b" ").decode(errors="replace").strip()
                    return int(pid), cmd
        except OSError:
            continue
    return None, "a process this user cannot see"


def check_ports(all_processes: list[Process]) -> None:
    taken = [p for p in all_processes if p.port is not None and not port_is_free(p.port, HOST)]
    if not taken:
        return
    lines, pids = [], []
    for process in taken:
        pid, cmd = who_listens(process.port)
        holder = f"pid {pid}: {cmd[:200]}" if pid else cmd
        lines.append(f"  port {process.port} ({process.name}) is held by {holder}")
        if pid and pid not in pids:
            pids.append(pid)
    advice = (f"If these are left over from an earlier `make run`, stop them with: kill {' '.join(map(str, pids))}"
              if pids else "Stop whatever holds them")
    raise StackError(
        "ports already in use, so the stack cannot start:\n" + "\n".join(lines)
        + f"\n{advice}\nand run `make run` again."
    )


def wait_ready(process: Process) -> None:
    deadline = time.monotonic() + process.ready_timeout
    while True:
        code = process.exited()
        if code is not None:
            where = f"; see {process.log}" if process.log else ""
            raise StackError(f"{process.name} exited with code {code} while starting{where}")
        if process.ready is None or process.ready():
            return
        if time.monotonic() > deadline:
            raise StackError(f"{process.name} did not become ready within {process.ready_timeout:.0f} s")
        time.sleep(0.25)


def start(process: Process, running: list[Process]) -> None:
    print(f"==> Starting {process.name}" + (f" on {HOST}:{process.port}" if process.port else ""),
          flush=True)
    running.append(process)
    process.start()
    wait_ready(process)


def print_banner(seeded: bool) -> None:
    users = "\n".join(f"    {name:<6} {what}" for name, what in SEEDED_USERS)
    if not seeded:
        users += "\n    (NOT seeded this run: scripts/seed.py is missing)"
    print(f"""
Spaces is running at {API_URL}   (GET {API_URL}/health needs no token)

Web client: {API_URL}/   (pick a user to sign in; two windows, two users: they hear each other)
Media server: http://{HOST}:{MEDIA_PORT}   (WHIP/WHEP; docs/media.md)

Demo users:
{users}

Bearer tokens: any user id works, e.g.
    make token USER=alice          # prints the token as its last line
    TOKEN=$(make -s token USER=alice | tail -n 1)
    curl -H "Authorization: Bearer $TOKEN" {API_URL}/users/alice

Logs: DynamoDB Local {LOG_DIR / 'dynamodb.log'}, moto {LOG_DIR / 'moto.log'},
      media server {LOG_DIR / 'mediaserver.log'}; API requests below.
Ctrl-C stops everything.
""", flush=True)


class _Stop(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_stop(signum, _frame):
    raise _Stop(signum)


def main() -> int:
    signal.signal(signal.SIGINT, _raise_stop)
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGHUP, _raise_stop)
    running: list[Process] = []
    try:
        env = stage_environment()
        ensure_local_keys(LOCAL_DIR)
        emulator_dir = ensure_dynamodb_local(LOCAL_DIR / "dynamodb")
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        backing, apps = backing_services(emulator_dir), processes(env)
        check_ports(backing + apps)

        for process in backing:
            start(process, running)
        create_tables(env)
        provision_aws(env)
        seeded = seed(env)
        for process in apps:
            start(process, running)
        print_banner(seeded)

        while True:
            for process in running:
                code = process.exited()
                if code is not None:
                    raise StackError(f"{process.name} stopped unexpectedly (exit {code})")
            time.sleep(0.5)
    except _Stop as stop:
        print(f"\n==> {stop}: stopping", flush=True)
        return 0 if stop.signum == signal.SIGINT else 128 + stop.signum
    except (StackError, DynamoDBLocalError) as exc:
        print(f"\nmake run: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        # A second ^C while stopping must not leave half the processes behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for process in reversed(running):
            process.stop()
        if running:
            print("==> Stopped: " + ", ".join(p.name for p in reversed(running)), flush=True)


if __name__ == "__main__":
    sys.exit(main())
