"""A listener promoted to speaker, at the local media server (mediaserver/, docs/media.md): the
same participant, subscribed by WHEP with its listener token, publishes by WHIP with the publish
token the API hands out on accept (same participant id, PUBLISH). The server takes the publish
beside the subscription: the subscription keeps its session and keeps receiving, the new voice is
heard by everyone else and never played back to its own participant."""
from __future__ import annotations

import pytest
from aiohttp import ClientSession

from tests.integration.test_media_server import close_all, heard_in_some_slot, hears, near, new_stage
from tests.support.media_clients import ToneTrack, dominant_frequency, publish, subscribe, wait_until
from tests.support.media_server import media_server  # noqa: F401
from tests.support.own_loop import run

pytestmark = pytest.mark.slow


async def session_kind(location: str, token: str) -> tuple[int, str | None]:
    async with ClientSession() as http:
        async with http.get(location, headers={"Authorization": f"Bearer {token}"}) as response:
            body = await response.json(content_type=None) if response.status == 200 else {}
            return response.status, body.get("kind")


def test_a_promoted_listener_publishes_beside_its_subscription_and_never_hears_itself(media_server):
    stage = new_stage()

    async def scenario():
        host = await publish(media_server.url, stage, media_server.token(stage, publish=True), ToneTrack(440))
        listening = media_server.token(stage, publish=False, participant_id="promoted-1", user_id="dave")
        promoted = await subscribe(media_server.url, stage, listening)
        other = await subscribe(media_server.url, stage, media_server.token(stage, publish=False, user_id="frank"))
        voice = None
        try:
            assert await hears(promoted, 440)
            frames_before = promoted.total_frames()

            # When the API's accept hands the same participant a token with PUBLISH
            speaking = media_server.token(stage, publish=True, participant_id="promoted-1", user_id="dave")
            voice = await publish(media_server.url, stage, speaking, ToneTrack(660))

            # Then the others hear it, and the promoted participant's subscription goes on
            assert await heard_in_some_slot(other, 660)
            assert await wait_until(lambda: promoted.total_frames() > frames_before + 50, 10)
            assert promoted.pc.connectionState == "connected"
            assert await session_kind(promoted.location, speaking) == (200, "subscribe")
            assert await hears(promoted, 440)
            for _ in range(10):
                assert not any(near(dominant_frequency(promoted.samples(slot, 0.5)), 660) for slot in promoted.audio)
                await wait_until(lambda: False, 0.3)
            # host publish, two subscriptions, the new publish: the subscription was not replaced
            assert media_server.stats(stage)["stage_sessions"] == 4
        finally:
            await close_all(*(p for p in (host, promoted, other, voice) if p is not None))

    run(scenario())
