"""The local media server (mediaserver/) with real WebRTC: aiortc publishers of generated tones
and aiortc subscribers whose decoded audio is measured (numpy FFT). What a listener hears is the
assertion, not what a row says."""
from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from aiohttp import ClientSession

from tests.support.media_clients import (
    Refused,
    ToneTrack,
    dominant_frequency,
    publish,
    subscribe,
    wait_until,
)
from tests.support.media_server import STAGE_ARN_PREFIX, media_server, running_media_server  # noqa: F401
from tests.support.own_loop import run

pytestmark = pytest.mark.slow

TOLERANCE_HZ = 20


def new_stage() -> str:
    return uuid.uuid4().hex[:12]


def near(frequency, target) -> bool:
    return frequency is not None and abs(frequency - target) <= TOLERANCE_HZ


async def hears(listener, frequency, timeout=15.0) -> bool:
    """The listener's last second of decoded audio is dominated by `frequency`."""
    return await wait_until(lambda: near(listener.hears(1.0), frequency), timeout)


async def heard_in_some_slot(listener, frequency, timeout=15.0) -> bool:
    return await wait_until(
        lambda: any(near(dominant_frequency(listener.samples(slot, 1.0)), frequency) for slot in listener.audio),
        timeout,
    )


async def close_all(*peers) -> None:
    for peer in peers:
        await (peer.close() if hasattr(peer, "close") else peer.pc.close())


async def status_of(method: str, url: str, token: str | None = None) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with ClientSession() as http:
        async with http.request(method, url, headers=headers) as response:
            body = await response.json(content_type=None) if response.content_length else {}
            return response.status, body


# --- hearing --------------------------------------------------------------------------------------


def test_a_subscriber_hears_the_publishers_440_hz_tone(media_server):
    stage = new_stage()

    async def scenario():
        host = await publish(media_server.url, stage, media_server.token(stage, publish=True), ToneTrack(440))
        listener = await subscribe(media_server.url, stage, media_server.token(stage, publish=False, user_id="bob"))
        try:
            assert await hears(listener, 440), f"heard {listener.hears()} Hz"
        finally:
            await close_all(host, listener)

    run(scenario())


def test_a_publisher_who_arrives_later_reaches_an_existing_subscriber_without_reconnecting(media_server):
    stage = new_stage()

    async def scenario():
        listener = await subscribe(media_server.url, stage, media_server.token(stage, publish=False))
        first = await publish(media_server.url, stage, media_server.token(stage, publish=True), ToneTrack(440))
        second = None
        try:
            assert await heard_in_some_slot(listener, 440)
            pc_before = listener.pc
            second = await publish(
                media_server.url, stage, media_server.token(stage, publish=True, user_id="carol"), ToneTrack(660)
            )
            assert await heard_in_some_slot(listener, 660), "the later publisher never reached the subscriber"
            assert listener.pc is pc_before and listener.pc.connectionState == "connected"
        finally:
            await close_all(first, listener, *([second] if second else []))

    run(scenario())


def test_a_slot_passes_to_the_next_publisher_and_its_audio_keeps_flowing(media_server):
    stage = new_stage()

    async def scenario():
        listener = await subscribe(media_server.url, stage, media_server.token(stage, publish=False))
        first_token = media_server.token(stage, publish=True)
        first = await publish(media_server.url, stage, first_token, ToneTrack(440))
        second = None
        try:
            assert await hears(listener, 440)
            assert list(listener.audio) == [0]
            assert (await status_of("DELETE", first.location, first_token))[0] == 200
            await first.pc.close()
            # The next publisher takes the freed slot: the same outgoing track of the subscriber.
            second = await publish(
                media_server.url, stage, media_server.token(stage, publish=True, user_id="carol"), ToneTrack(660)
            )
            assert await hears(listener, 660), f"heard {listener.hears()} Hz"
            assert list(listener.audio) == [0] and listener.pc.connectionState == "connected"
            # The slot's timestamps ran on across the change (the gap between the voices, no more):
            # never back to the new publisher's origin.
            assert listener.largest_pts_step[0] < 10 * 48000
        finally:
            await close_all(first, listener, *([second] if second else []))

    run(scenario())


def test_the_slot_table_names_who_is_heard_on_which_mid(media_server):
    stage = new_stage()
    token = media_server.token(stage, publish=False, participant_id="listener-1", user_id="bob")

    async def scenario():
        listener = await subscribe(media_server.url, stage, token)
        host = await publish(media_server.url, stage, media_server.token(stage, publish=True, user_id="alice"), ToneTrack(440))
        try:
            assert await heard_in_some_slot(listener, 440)
            status, body = await status_of("GET", listener.location, token)
            assert status == 200
            taken = [entry for entry in body["slots"] if entry]
            assert len(body["slots"]) == 12 and [e["user_id"] for e in taken] == ["alice"]
            assert taken[0]["mid"] in [t.mid for t in listener.pc.getTransceivers()]
        finally:
            await close_all(host, listener)

    run(scenario())


def test_a_speaker_never_receives_their_own_audio(media_server):
    stage = new_stage()

    async def scenario():
        me = media_server.token(stage, publish=True, participant_id="speaker-1")
        mine = await publish(media_server.url, stage, me, ToneTrack(440))
        own_listener = await subscribe(media_server.url, stage, me)
        other = await subscribe(media_server.url, stage, media_server.token(stage, publish=False))
        try:
            assert await hears(other, 440)
            assert own_listener.total_frames() == 0 and own_listener.hears() is None
        finally:
            await close_all(mine, own_listener, other)

    run(scenario())


def test_two_stages_never_leak_into_each_other(media_server):
    one, two = new_stage(), new_stage()

    async def scenario():
        a = await publish(media_server.url, one, media_server.token(one, publish=True), ToneTrack(440))
        b = await publish(media_server.url, two, media_server.token(two, publish=True), ToneTrack(660))
        hears_one = await subscribe(media_server.url, one, media_server.token(one, publish=False))
        hears_two = await subscribe(media_server.url, two, media_server.token(two, publish=False))
        try:
            assert await hears(hears_one, 440) and await hears(hears_two, 660)
            await asyncio.sleep(1.0)
            for listener, foreign in ((hears_one, 660), (hears_two, 440)):
                assert not any(
                    near(dominant_frequency(listener.samples(slot, 1.0)), foreign) for slot in listener.audio
                )
                assert len(listener.audio) == 1  # one publisher's slot, nothing else ever arrived
        finally:
            await close_all(a, b, hears_one, hears_two)

    run(scenario())


# --- who may -------------------------------------------------------------------------------------


def test_a_listener_token_cannot_publish(media_server):
    stage = new_stage()

    async def scenario():
        with pytest.raises(Refused) as refused:
            await publish(media_server.url, stage, media_server.token(stage, publish=False), ToneTrack(880))
        assert refused.value.status == 403 and "publish_not_allowed" in refused.value.body
        assert media_server.stats(stage)["stage_sessions"] == 0

    run(scenario())


def test_forged_expired_and_missing_tokens_are_401(media_server, tmp_path):
    stage = new_stage()
    from chalicelib.adapters.ivs_tokens import IvsTokenMinter
    from chalicelib.domain.spaces import StageInfo
    from scripts.keys import generate_ivs_keypair

    forger = IvsTokenMinter(generate_ivs_keypair()[0], "arn:aws:ivs:us-east-1:123456789012:public-key/x", 3600)
    forged = forger.mint(
        StageInfo(arn=STAGE_ARN_PREFIX + stage, events_url="", whip_url=""),
        participant_id="p1", user_id="mallory", publish=True, now=datetime.now(timezone.utc),
    ).token
    expired = media_server.token(stage, publish=True, now=datetime.now(timezone.utc) - timedelta(hours=2))

    async def scenario():
        for token, code in ((forged, "token_invalid"), (expired, "token_expired"), ("", "token_missing")):
            for attempt in (publish(media_server.url, stage, token, ToneTrack(440)),
                            subscribe(media_server.url, stage, token)):
                with pytest.raises(Refused) as refused:
                    await attempt
                assert refused.value.status == 401 and code in refused.value.body

    run(scenario())


def test_a_token_of_another_stage_is_403(media_server):
    stage, other = new_stage(), new_stage()

    async def scenario():
        for attempt in (publish(media_server.url, stage, media_server.token(other, publish=True), ToneTrack(440)),
                        subscribe(media_server.url, stage, media_server.token(other, publish=False))):
            with pytest.raises(Refused) as refused:
                await attempt
            assert refused.value.status == 403 and "wrong_stage" in refused.value.body

    run(scenario())


def test_bad_offers_are_refused_and_change_nothing(media_server):
    stage = new_stage()
    token = media_server.token(stage, publish=True)

    async def offer_with(transceivers: int) -> str:
        from aiortc import RTCPeerConnection

        pc = RTCPeerConnection()
        for _ in range(transceivers):
            pc.addTransceiver("audio", direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        sdp = pc.localDescription.sdp
        await pc.close()
        return sdp

    async def post(url, body, content_type="application/sdp"):
        async with ClientSession() as http:
            async with http.post(url, data=body, headers={
                "Authorization": f"Bearer {token}", "Content-Type": content_type,
            }) as response:
                return response.status, (await response.json())["code"]

    async def scenario():
        assert await post(media_server.whip_url(stage), "v=0", "text/plain") == (415, "unsupported_media_type")
        assert await post(media_server.whip_url(stage), "hello") == (400, "invalid_offer")
        # WHEP wants 12 audio m-lines; a WHIP offer must carry audio the client sends.
        assert await post(media_server.whep_url(stage), await offer_with(3)) == (400, "invalid_offer")
        assert await post(media_server.whip_url(stage), await offer_with(1)) == (400, "invalid_offer")
        assert media_server.stats(stage)["stage_sessions"] == 0

    run(scenario())


def test_a_page_of_another_origin_may_call_it_cors(media_server):
    stage = new_stage()
    origin = {"Origin": "http://127.0.0.1:8000"}

    async def scenario():
        async with ClientSession() as http:
            async with http.options(media_server.whip_url(stage), headers={
                **origin, "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            }) as preflight:
                assert preflight.status == 204
                allowed = preflight.headers["Access-Control-Allow-Headers"].lower()
                assert "authorization" in allowed and "content-type" in allowed
            async with http.post(media_server.whep_url(stage), headers=origin, data="v=0") as refused:
                # Even a refusal is readable by the page, and the session headers are exposed.
                assert refused.status == 401 and refused.headers["Access-Control-Allow-Origin"] == "*"
                exposed = refused.headers["Access-Control-Expose-Headers"]
                assert "Location" in exposed and "ETag" in exposed

    run(scenario())


def test_the_13th_publisher_of_a_stage_is_refused(media_server):
    stage = new_stage()

    async def scenario():
        publishers = []
        try:
            for n in range(12):
                publishers.append(await publish(
                    media_server.url, stage, media_server.token(stage, publish=True, user_id=f"u{n}"), ToneTrack(440)
                ))
            with pytest.raises(Refused) as refused:
                await publish(media_server.url, stage, media_server.token(stage, publish=True), ToneTrack(440))
            assert refused.value.status == 409 and "stage_full" in refused.value.body
        finally:
            await close_all(*publishers)

    run(scenario())


def test_the_subscriber_cap_is_configurable(tmp_path):
    stage = new_stage()
    with running_media_server(tmp_path, max_subscribers=1) as server:
        async def scenario():
            first = await subscribe(server.url, stage, server.token(stage, publish=False))
            try:
                with pytest.raises(Refused) as refused:
                    await subscribe(server.url, stage, server.token(stage, publish=False))
                assert refused.value.status == 409 and "subscriber_limit" in refused.value.body
            finally:
                await first.close()

        run(scenario())


# --- the MediaPort's effects ----------------------------------------------------------------------


def disconnect(media_server, stage: str, participant_id: str):
    """What LocalMedia.disconnect_participant sends: (status, JSON body)."""
    return media_server.control(
        "POST", f"/control/stages/{stage}/disconnect", {"participant_id": participant_id, "reason": "removed"}
    )


def test_a_control_disconnect_closes_the_participants_connections_and_refuses_its_token(media_server):
    stage = new_stage()
    removed = media_server.token(stage, publish=False, participant_id="removed-1")

    async def scenario():
        host = await publish(media_server.url, stage, media_server.token(stage, publish=True), ToneTrack(440))
        listener = await subscribe(media_server.url, stage, removed)
        try:
            assert await hears(listener, 440)
            # The server closed the connection before answering.
            assert disconnect(media_server, stage, "removed-1") == (200, {"closed": 1})
            assert await wait_until(lambda: listener.pc.connectionState in ("closed", "failed"), 10)
            frames = listener.total_frames()
            await asyncio.sleep(0.5)
            assert listener.total_frames() == frames
            with pytest.raises(Refused) as refused:
                await subscribe(media_server.url, stage, removed)
            assert refused.value.status == 403 and "participant_disconnected" in refused.value.body
            assert host.pc.connectionState == "connected"  # the others stay
        finally:
            await close_all(host, listener)

    run(scenario())


def test_a_participant_disconnected_and_handed_a_new_token_comes_back(media_server):
    # A speaker moved back to listening: the API disconnects its participant id, the app joins
    # again and gets a new token for the same id (docs/media.md). Only tokens issued up to the
    # disconnect are refused.
    stage = new_stage()
    old = media_server.token(stage, publish=True, participant_id="demoted-1")

    async def scenario():
        host = await publish(media_server.url, stage, media_server.token(stage, publish=True), ToneTrack(440))
        try:
            assert disconnect(media_server, stage, "demoted-1") == (200, {"closed": 0})
            with pytest.raises(Refused) as refused:
                await subscribe(media_server.url, stage, old)
            assert refused.value.status == 403
            await asyncio.sleep(1.1)  # token times are whole seconds: the next one is issued later
            fresh = media_server.token(stage, publish=False, participant_id="demoted-1")
            listener = await subscribe(media_server.url, stage, fresh)
            try:
                assert await hears(listener, 440)
            finally:
                await listener.close()
        finally:
            await host.pc.close()

    run(scenario())


def test_deleting_the_stage_closes_every_connection_and_refuses_its_tokens(media_server):
    stage = new_stage()

    async def scenario():
        host = await publish(media_server.url, stage, media_server.token(stage, publish=True), ToneTrack(440))
        listeners = [await subscribe(media_server.url, stage, media_server.token(stage, publish=False)) for _ in range(2)]
        try:
            assert await hears(listeners[0], 440)
            assert media_server.control("DELETE", f"/control/stages/{stage}") == (200, {"closed": 3})
            for peer in (host, *listeners):
                assert await wait_until(lambda: peer.pc.connectionState in ("closed", "failed"), 10)
            with pytest.raises(Refused) as refused:
                await subscribe(media_server.url, stage, media_server.token(stage, publish=False))
            assert refused.value.status == 404 and "stage_not_found" in refused.value.body
        finally:
            await close_all(host, *listeners)

    run(scenario())


def test_the_control_api_needs_the_shared_secret(media_server):
    status, body = media_server.control("DELETE", f"/control/stages/{new_stage()}", secret="wrong")
    assert status == 401 and body["code"] == "control_secret_invalid"


def test_leaving_frees_every_peer_connection_and_task(media_server):
    stage = new_stage()
    host_token = media_server.token(stage, publish=True)
    listener_token = media_server.token(stage, publish=False)

    async def scenario():
        # Earlier tests' clients have gone: let the server notice before taking the baseline.
        await wait_until(lambda: media_server.stats()["sessions"] == 0, 10)
        before = media_server.stats()
        host = await publish(media_server.url, stage, host_token, ToneTrack(440))
        listener = await subscribe(media_server.url, stage, listener_token)
        try:
            assert await hears(listener, 440)
            assert media_server.stats()["peer_connections"] == before["peer_connections"] + 2
            assert (await status_of("DELETE", listener.location, listener_token))[0] == 200
            assert (await status_of("DELETE", host.location, host_token))[0] == 200
        finally:
            await close_all(host, listener)
        # Relay readers and senders wind down once their tracks end.
        assert await wait_until(lambda: media_server.stats()["tasks"] <= before["tasks"], 10), media_server.stats()
        after = media_server.stats()
        assert after["peer_connections"] == before["peer_connections"]
        assert after["sessions"] == before["sessions"] and after["session_tasks"] == before["session_tasks"]
        assert after["stages"] == before["stages"]

    run(scenario())


def test_sigterm_closes_every_connection_and_exits_cleanly(tmp_path):
    stage = new_stage()
    with running_media_server(tmp_path) as server:
        async def scenario():
            host = await publish(server.url, stage, server.token(stage, publish=True), ToneTrack(440))
            listener = await subscribe(server.url, stage, server.token(stage, publish=False))
            try:
                assert await hears(listener, 440)
                server.process.terminate()
                loop = asyncio.get_running_loop()
                assert await loop.run_in_executor(None, server.process.wait, 10) == 0
                for peer in (host, listener):
                    assert await wait_until(lambda: peer.pc.connectionState in ("closed", "failed"), 10)
            finally:
                await close_all(host, listener)

        run(scenario())
        assert server.log_tail(20000).count("reason=server stopping") == 2


# --- through the API's adapter ---------------------------------------------------------------------


def test_the_api_adapter_makes_disconnect_and_stage_deletion_real(media_server):
    from chalicelib.adapters.local_media import LocalMedia

    media = LocalMedia(media_server_url=media_server.url, control_secret=media_server.control_secret)
    stage_info = media.create_stage("space-1")
    stage = stage_info.stage_id
    assert stage_info.whip_url == media_server.whip_url(stage)
    assert media.endpoints(stage_info) == {"whip": media_server.whip_url(stage), "whep": media_server.whep_url(stage)}

    async def scenario():
        loop = asyncio.get_running_loop()
        host = await publish(media_server.url, stage, media_server.token(stage, publish=True), ToneTrack(440))
        removed = await subscribe(media_server.url, stage, media_server.token(stage, publish=False, participant_id="p-removed"))
        stays = await subscribe(media_server.url, stage, media_server.token(stage, publish=False))
        try:
            assert await hears(removed, 440)
            await loop.run_in_executor(None, media.disconnect_participant, stage_info.arn, "p-removed", "removed")
            assert removed.pc.connectionState in ("closed", "failed") or await wait_until(
                lambda: removed.pc.connectionState in ("closed", "failed"), 10)
            assert stays.pc.connectionState == "connected"
            await loop.run_in_executor(None, media.delete_stage, stage_info.arn)
            for peer in (host, stays):
                assert await wait_until(lambda: peer.pc.connectionState in ("closed", "failed"), 10)
        finally:
            await close_all(host, removed, stays)

    run(scenario())


def test_the_api_adapter_logs_an_unreachable_media_server_instead_of_failing():
    from chalicelib.adapters.local_media import LocalMedia
    from tests.support.media_server import free_port

    media = LocalMedia(media_server_url=f"http://127.0.0.1:{free_port()}", control_secret="x")
    stage = media.create_stage("space-2")
    media.disconnect_participant(stage.arn, "p1", "removed")
    media.delete_stage(stage.arn)
    assert media.disconnected == [(stage.arn, "p1", "removed")] and media.deleted == [stage.arn]


# --- overflow HLS -----------------------------------------------------------------------------------


def _decode_segment(data: bytes):
    import io

    import av
    import numpy as np

    with av.open(io.BytesIO(data), format="mpegts") as container:
        chunks = [frame.to_ndarray().reshape(-1, len(frame.layout.channels)).mean(axis=1)
                  for frame in container.decode(audio=0)]
    return np.concatenate(chunks) if chunks else np.zeros(0)


CHANNEL_PREFIX = "arn:aws:ivs:us-east-1:123456789012:channel/"


async def fetch(url: str) -> tuple[int, bytes, str]:
    async with ClientSession() as http:
        async with http.get(url) as response:
            return response.status, await response.read(), response.content_type


def segment_uris(playlist: str) -> list[str]:
    return [line for line in playlist.splitlines() if line and not line.startswith("#")]


async def playlist_with_segments(url: str, count: int = 1) -> str:
    """The playlist once it names `count` segments (the mixer cuts one a second)."""
    for _ in range(40):
        status, body, _ = await fetch(url)
        assert status == 200, body
        playlist = body.decode()
        if len(segment_uris(playlist)) >= count:
            return playlist
        await asyncio.sleep(0.5)
    raise AssertionError(f"fewer than {count} segments: {playlist}")


def test_overflow_hls_carries_the_stages_mixed_audio(media_server):
    stage, channel = new_stage(), CHANNEL_PREFIX + new_stage()
    token = media_server.playback_token(channel)

    async def scenario():
        host = await publish(media_server.url, stage, media_server.token(stage, publish=True), ToneTrack(440))
        try:
            listener = await subscribe(media_server.url, stage, media_server.token(stage, publish=False))
            assert await hears(listener, 440)  # the publisher's audio flows
            await listener.close()
            status, body = media_server.control("POST", f"/control/stages/{stage}/overflow", {"channel_arn": channel})
            assert status == 200 and body == {"playlist": f"/hls/{stage}/index.m3u8"}
            playlist_url = f"{media_server.url}{body['playlist']}?token={token}"
            # A few segments in: past the mixer's first, partly silent one.
            playlist = await playlist_with_segments(playlist_url, 3)
            assert playlist.startswith("#EXTM3U")
            status, data, content_type = await fetch(f"{media_server.url}/hls/{stage}/{segment_uris(playlist)[-1]}")
            assert status == 200 and content_type == "video/mp2t"
            audio = _decode_segment(data)
            assert len(audio) > 0 and near(dominant_frequency(audio), 440)  # AAC decodes to floats
            assert media_server.control("DELETE", f"/control/stages/{stage}/overflow")[0] == 200
            assert (await fetch(playlist_url))[0] == 404
        finally:
            await host.pc.close()

    run(scenario())


def test_overflow_hls_is_served_only_with_a_playback_token_of_the_stages_channel(media_server):
    from chalicelib.adapters.ivs_tokens import IvsTokenMinter
    from scripts.keys import generate_ivs_keypair

    stage, channel = new_stage(), CHANNEL_PREFIX + new_stage()
    token = media_server.playback_token(channel)
    forger = IvsTokenMinter(generate_ivs_keypair()[0], "arn:aws:ivs:us-east-1:123456789012:public-key/x", 3600)
    refusals = {
        "": (401, "token_missing"),
        forger.mint_playback(channel, user_id="mallory", now=datetime.now(timezone.utc))[0]: (401, "token_invalid"),
        media_server.token(stage, publish=False): (401, "token_invalid"),  # a participant token is no playback token
        media_server.playback_token(channel, now=datetime.now(timezone.utc) - timedelta(hours=2)): (401, "token_expired"),
        media_server.playback_token(CHANNEL_PREFIX + new_stage()): (403, "wrong_channel"),
    }

    async def scenario():
        assert media_server.control("POST", f"/control/stages/{stage}/overflow", {"channel_arn": channel})[0] == 200
        try:
            base = f"{media_server.url}/hls/{stage}"
            playlist = await playlist_with_segments(f"{base}/index.m3u8?token={token}")
            # The token of the playlist URL is on every segment URI, so the player carries it on.
            segment = segment_uris(playlist)[-1]
            assert segment.endswith(f".ts?token={token}")
            assert (await fetch(f"{base}/{segment}"))[0] == 200
            bare = segment.split("?")[0]
            for bad, (status, code) in refusals.items():
                for url in (f"{base}/index.m3u8?token={bad}", f"{base}/{bare}?token={bad}"):
                    got, body, _ = await fetch(url)
                    assert (got, json.loads(body)["code"]) == (status, code), url
            assert (await fetch(f"{base}/nothing.ts?token={token}"))[0] == 404  # 401/403 first, then 404
        finally:
            media_server.control("DELETE", f"/control/stages/{stage}/overflow")

    run(scenario())


def test_a_revoked_viewer_is_refused_the_playlist_and_its_segments_through_the_api_adapter(media_server):
    from chalicelib.adapters.local_media import LocalMedia

    media = LocalMedia(media_server_url=media_server.url, control_secret=media_server.control_secret)
    stage_info = media.create_stage("space-overflow")
    info = media.start_overflow("space-overflow", stage_info.arn)
    assert info.playback_url == f"{media_server.url}/hls/{stage_info.stage_id}/index.m3u8"
    removed, stays = media_server.playback_token(info.channel_arn, user_id="mallory"), media_server.playback_token(info.channel_arn)

    async def scenario():
        loop = asyncio.get_running_loop()
        try:
            playlist = await playlist_with_segments(f"{info.playback_url}?token={removed}")
            segment = f"{media_server.url}/hls/{stage_info.stage_id}/{segment_uris(playlist)[-1]}"
            assert (await fetch(segment))[0] == 200
            await loop.run_in_executor(None, media.revoke_playback, info.channel_arn, "mallory")
            for url in (f"{info.playback_url}?token={removed}", segment):
                status, body, _ = await fetch(url)
                assert (status, json.loads(body)["code"]) == (403, "viewer_revoked")
            assert (await fetch(f"{info.playback_url}?token={stays}"))[0] == 200  # only that viewer
        finally:
            await loop.run_in_executor(None, media.stop_overflow, info)

    run(scenario())


def test_a_playback_started_before_its_token_expired_goes_on(media_server):
    stage, channel = new_stage(), CHANNEL_PREFIX + new_stage()
    # Minted an hour ago less 3 s (the test minter's tokens live an hour): expires in 3 s.
    now = datetime.now(timezone.utc)
    started, unused = (media_server.playback_token(channel, user_id=u, now=now - timedelta(seconds=3597))
                       for u in ("carol", "dave"))

    async def scenario():
        assert media_server.control("POST", f"/control/stages/{stage}/overflow", {"channel_arn": channel})[0] == 200
        try:
            url = f"{media_server.url}/hls/{stage}/index.m3u8?token="
            assert (await fetch(url + started))[0] == 200
            while datetime.now(timezone.utc) < now + timedelta(seconds=4):
                assert (await fetch(url + started))[0] == 200  # the player keeps asking
                await asyncio.sleep(0.5)
            assert (await fetch(url + started))[0] == 200
            status, body, _ = await fetch(url + unused)  # as old, but never started: refused
            assert (status, json.loads(body)["code"]) == (401, "token_expired")
        finally:
            media_server.control("DELETE", f"/control/stages/{stage}/overflow")

    run(scenario())


def test_overflow_control_needs_the_channel_whose_tokens_it_admits(media_server):
    stage = new_stage()
    status, body = media_server.control("POST", f"/control/stages/{stage}/overflow", {})
    assert (status, body["code"]) == (422, "invalid_channel_arn")
    token = media_server.playback_token(CHANNEL_PREFIX + stage)
    assert run(fetch(f"{media_server.url}/hls/{stage}/index.m3u8?token={token}"))[0] == 404  # nothing started
    status, body = media_server.control("POST", "/control/playback/revoke", {"channel_arn": "x"})
    assert (status, body["code"]) == (422, "invalid_revocation")
