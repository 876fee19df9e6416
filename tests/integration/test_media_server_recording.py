"""The local media server records a recorded stage's publisher: a real WebRTC publisher (aiortc,
a 440 Hz tone over ICE, DTLS-SRTP and Opus) into the server, run in process on its own loop, and
what its recorder wrote (IVS's participant recording layout) mixed by the app's own mixer."""
from __future__ import annotations

import asyncio
import socket
from datetime import datetime, timezone

import pytest
from aiohttp import web

from chalicelib.adapters.audio_mix import PyAvMixer
from chalicelib.domain.replay_landing import Track, participant_recordings, playlist_key
from mediaserver.app import make_app
from mediaserver.recorder import Recorder
from tests.support.ivs_recordings import decode, dominant_per_second
from tests.support.media_clients import ToneTrack, publish
from tests.support.own_loop import run

pytestmark = pytest.mark.slow

STAGE = "RecStage0001"
SECRET = "test-control-secret"


class DictStore:
    """The bucket, in memory: what the recorder writes and the mixer reads."""

    def __init__(self):
        self.objects: dict[str, bytes] = {}

    def put_bytes(self, key, data, content_type, **kw):
        self.objects[key] = data
        return True

    def get_bytes(self, key):
        return self.objects.get(key)

    def get_json(self, key):
        import json

        data = self.objects.get(key)
        return json.loads(data) if data else None

    def list_keys(self, prefix, limit=100_000):
        prefix = prefix.strip("/") + "/"
        return sorted(k for k in self.objects if k.startswith(prefix))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_publisher_of_a_recorded_stage_is_recorded_and_mixes_into_a_replay(tmp_path):
    from chalicelib.adapters.ivs_tokens import IvsTokenMinter
    from chalicelib.domain.spaces import StageInfo
    from scripts.keys import generate_ivs_keypair

    private_pem, public_pem = generate_ivs_keypair()
    store = DictStore()
    recorder = Recorder(lambda: store)
    minter = IvsTokenMinter(private_pem, "arn:aws:ivs:us-east-1:123456789012:public-key/test", 3600)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    token = minter.mint(
        StageInfo(arn=f"arn:aws:ivs:us-east-1:123456789012:stage/{STAGE}", events_url="", whip_url=f"{base}/stages/{STAGE}/whip"),
        participant_id="speakertag000000-p1",
        user_id="alice",
        publish=True,
        now=datetime.now(timezone.utc),
        attributes={"user_id": "alice"},
    ).token

    async def scenario():
        app = make_app(public_key_pem=public_pem, control_secret=SECRET, hls_dir=tmp_path / "hls", recorder=recorder)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            from aiohttp import ClientSession

            async with ClientSession() as http:
                async with http.put(f"{base}/control/stages/{STAGE}/recording", headers={"Authorization": f"Bearer {SECRET}"}) as answer:
                    assert answer.status == 200, await answer.text()
            publisher = await publish(base, STAGE, token, ToneTrack(440))
            await asyncio.sleep(4)  # about 4 s of speech
            # The publisher leaves (WHIP DELETE of its session, as a client does), then hangs up.
            async with ClientSession() as http:
                location = publisher.location if publisher.location.startswith("http") else base + publisher.location
                async with http.delete(location, headers={"Authorization": f"Bearer {token}"}) as answer:
                    assert answer.status in (200, 204), await answer.text()
            await publisher.pc.close()
            for _ in range(100):  # the server notices the publisher left; the recorder uploads
                if recorder.finished:
                    break
                await asyncio.sleep(0.1)
            await recorder.drain()
        finally:
            await runner.cleanup()

    run(scenario())

    [rec] = participant_recordings(STAGE, sorted(store.objects))
    assert rec.participant_id == "speakertag000000-p1" and rec.ended
    playlist = playlist_key(store.get_json(f"{rec.prefix}/events/recording-ended.json"), rec.prefix)
    duration_ms = PyAvMixer(store).mix([Track("alice", rec.prefix, playlist, 0)], "replay.m4a")
    audio = decode(store.objects["replay.m4a"])
    per_second = dominant_per_second(audio)
    assert 2500 <= duration_ms <= 6000, duration_ms
    assert [f for f in per_second[1:3] if f is not None and abs(f - 440) <= 20] == per_second[1:3], per_second
