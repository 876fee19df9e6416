"""The local media server (mediaserver/) on a free port, for the tests that need real audio.

    from tests.support.media_server import media_server  # the pytest fixture (session scope)

    def test_x(media_server):
        token = media_server.token("stage1", publish=True)      # an IVS participant token
        media_server.playback_token(channel_arn)                 # an overflow playback token
        media_server.whip_url("stage1"), media_server.whep_url("stage1")
        media_server.control("POST", "/control/stages/stage1/disconnect", {...})
        media_server.stats()                                     # peer connections, tasks

`running_media_server(directory, public_key_path=...)` starts one by hand: the browser tests pass
the public key of their API stack's IVS pair, so the server accepts the tokens that API mints.
"""
from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Optional

import pytest

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
STAGE_ARN_PREFIX = "arn:aws:ivs:us-east-1:123456789012:stage/"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class MediaServer:
    url: str
    control_secret: str
    private_key_path: Optional[Path]
    log_path: Path
    process: subprocess.Popen = field(repr=False)
    _minter: object = field(default=None, repr=False)

    def whip_url(self, stage_id: str) -> str:
        return f"{self.url}/stages/{stage_id}/whip"

    def whep_url(self, stage_id: str) -> str:
        return f"{self.url}/stages/{stage_id}/whep"

    def token(
        self,
        stage_id: str,
        *,
        publish: bool,
        participant_id: Optional[str] = None,
        user_id: str = "alice",
        now: Optional[datetime] = None,
    ) -> str:
        """A participant token as the API mints it (same minter, same key pair)."""
        from chalicelib.domain.ids import new_participant_id
        from chalicelib.domain.spaces import StageInfo

        stage = StageInfo(arn=STAGE_ARN_PREFIX + stage_id, events_url="", whip_url=self.whip_url(stage_id))
        return self.minter().mint(
            stage,
            participant_id=participant_id or new_participant_id(),
            user_id=user_id,
            publish=publish,
            now=now or datetime.now(timezone.utc),
            attributes={"user_id": user_id},
        ).token

    def playback_token(self, channel_arn: str, *, user_id: str = "carol", now: Optional[datetime] = None) -> str:
        """A playback token of a private overflow channel, as the API mints it for a join."""
        return self.minter().mint_playback(channel_arn, user_id=user_id, now=now or datetime.now(timezone.utc))[0]

    def minter(self):
        from chalicelib.adapters.ivs_tokens import IvsTokenMinter

        if self._minter is None:
            self._minter = IvsTokenMinter(
                self.private_key_path.read_bytes(), "arn:aws:ivs:us-east-1:123456789012:public-key/test", 3600
            )
        return self._minter

    def control(self, method: str, path: str, body: Optional[dict] = None, secret: Optional[str] = None):
        """(status, JSON body) of a control API call, with the shared secret unless given."""
        request = urllib.request.Request(
            self.url + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.control_secret if secret is None else secret}",
                     "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def stats(self, stage_id: str = "") -> dict:
        status, body = self.control("GET", f"/control/stats?stage_id={stage_id}")
        assert status == 200, body
        return body

    def log_tail(self, limit: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-limit:]
        except OSError:
            return ""


def _wait_healthy(url: str, process: subprocess.Popen, log_path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"media server exited ({process.returncode}):\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"media server not healthy within {timeout} s:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.2)


@contextmanager
def running_media_server(
    directory: Path,
    *,
    public_key_path: Optional[Path] = None,
    private_key_path: Optional[Path] = None,
    max_subscribers: int = 100,
    port: Optional[int] = None,
) -> Iterator[MediaServer]:
    """A media server on a free port; with no key given, a fresh IVS key pair in `directory`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if public_key_path is None:
        from scripts.keys import generate_ivs_keypair

        private_pem, public_pem = generate_ivs_keypair()
        private_key_path, public_key_path = directory / "ivs_private.pem", directory / "ivs_public.pem"
        private_key_path.write_bytes(private_pem)
        public_key_path.write_bytes(public_pem)
    port = port or free_port()
    secret = secrets.token_hex(16)
    log_path = directory / "mediaserver.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "mediaserver", "--host", HOST, "--port", str(port),
             "--ivs-public-key", str(public_key_path), "--max-subscribers", str(max_subscribers),
             "--hls-dir", str(directory / "hls")],
            cwd=ROOT,
            env={**os.environ, "SPACES_MEDIA_CONTROL_SECRET": secret, "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://{HOST}:{port}"
    try:
        _wait_healthy(url, process, log_path)
        yield MediaServer(url=url, control_secret=secret, private_key_path=private_key_path,
                          log_path=log_path, process=process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def media_server(tmp_path_factory) -> Iterator[MediaServer]:
    with running_media_server(tmp_path_factory.mktemp("mediaserver")) as server:
        yield server
