"""HTTP of the media server (aiohttp): WHIP, WHEP, their sessions, and the control API.

    POST   /stages/{stage_id}/whip      publish (RFC 9725): SDP offer in, 201 + answer + Location
    POST   /stages/{stage_id}/whep      subscribe (WHEP draft): offer with 12 recvonly audio m-lines
    GET    /sessions/{id}               a subscriber's slots: who is heard on which mid
    DELETE /sessions/{id}               leave
    GET    /health                      no auth
    /control/...                        the API's MediaPort; loopback peers with the shared secret
    GET    /hls/{stage_id}/{file}?token=  overflow HLS of a stage's mixed audio (when started), for
                                        the bearer of a playback token of the stage's channel

Refusals are JSON {"code", "message"}, checked in the order 401, 403, 404, then 4xx of the body,
and logged. docs/media.md is the reference.
"""
from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import logging
import os
import re
from pathlib import Path
from typing import Optional
from urllib.parse import quote

from aiohttp import web
from aiortc import RTCPeerConnection, RTCSessionDescription

from mediaserver.auth import Participant, Refused, TokenVerifier
from mediaserver.hls import Overflow
from mediaserver.recorder import Recorder, S3Store
from mediaserver.rooms import COUNTERS, SLOTS, Rooms, Session, Subscriber

log = logging.getLogger("mediaserver")

ROOMS = web.AppKey("rooms", Rooms)
VERIFIER = web.AppKey("verifier", TokenVerifier)
SECRET = web.AppKey("control_secret", str)
HLS = web.AppKey("hls", Overflow)
RECORDER = web.AppKey("recorder", Recorder)

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, DELETE, PATCH, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, If-Match",
    "Access-Control-Expose-Headers": "Location, ETag, Link",
    "Access-Control-Max-Age": "600",
}


def refusal(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=status)


@web.middleware
async def cors_and_refusals(request: web.Request, handler) -> web.StreamResponse:
    if request.method == "OPTIONS":
        return web.Response(status=204, headers=CORS_HEADERS)
    try:
        response = await handler(request)
    except Refused as exc:
        log.warning("refused %s %s: %d %s (%s)", request.method, request.path, exc.status, exc.code, exc.message)
        response = refusal(exc.status, exc.code, exc.message)
    except web.HTTPException as exc:
        if exc.status >= 400:
            response = refusal(exc.status, exc.reason.lower().replace(" ", "_"), exc.reason)
        else:
            raise
    response.headers.update(CORS_HEADERS)
    return response


# --- participants -------------------------------------------------------------------------------


def _admit(request: web.Request, *, publish: bool) -> Participant:
    """The token's bearer, if it may publish (or subscribe) on the stage of the URL; else Refused."""
    stage_id = request.match_info["stage_id"]
    who = request.app[VERIFIER].participant(request.headers.get("Authorization"))
    rooms = request.app[ROOMS]
    if who.stage_id != stage_id:
        raise Refused(403, "wrong_stage", "the token is for another stage")
    if publish and not who.allow_publish:
        raise Refused(403, "publish_not_allowed", "the token does not carry the PUBLISH capability")
    if not publish and not who.allow_subscribe:
        raise Refused(403, "subscribe_not_allowed", "the token does not carry the SUBSCRIBE capability")
    disconnected_at = rooms.disconnected.get((stage_id, who.participant_id))
    if disconnected_at is not None and who.issued_at <= disconnected_at:
        raise Refused(403, "participant_disconnected", "this participant was disconnected from the stage")
    if stage_id in rooms.deleted:
        raise Refused(404, "stage_not_found", "the stage was deleted")
    return who


async def _offer(request: web.Request) -> RTCSessionDescription:
    if request.content_type != "application/sdp":
        raise Refused(415, "unsupported_media_type", "the offer must be Content-Type: application/sdp")
    sdp = await request.text()
    if not sdp.startswith("v=0"):
        raise Refused(400, "invalid_offer", "the body is not an SDP offer")
    return RTCSessionDescription(sdp=sdp, type="offer")


async def _answer(request: web.Request, session: Session, offer: RTCSessionDescription) -> web.Response:
    rooms = request.app[ROOMS]
    pc = session.pc
    try:
        await pc.setRemoteDescription(offer)
        if isinstance(session, Subscriber):
            audio = [t for t in pc.getTransceivers() if t.kind == "audio"]
            if len(audio) != SLOTS or len(audio) != len(pc.getTransceivers()):
                raise ValueError(f"a WHEP offer carries exactly {SLOTS} audio m-lines, got {len(audio)}")
            for track in session.slots:
                pc.addTrack(track)
        elif session.track is None:
            raise ValueError("a WHIP offer carries one audio m-line the client sends")
        # aiortc gathers every candidate here: the answer is complete (no trickle ICE).
        await pc.setLocalDescription(await pc.createAnswer())
    except Exception as exc:  # aiortc raises ValueError and friends on SDP it cannot use
        await rooms.close(session, "bad offer")
        raise Refused(400, "invalid_offer", f"the offer cannot be answered: {exc}") from exc
    rooms.watch(session)
    if isinstance(session, Subscriber):
        rooms.subscriber_ready(session)
    location = f"/sessions/{session.id}"
    log.info("session opened stage=%s participant=%s kind=%s id=%s",
             session.stage_id, session.who.participant_id, session.kind, session.id)
    return web.Response(
        status=201,
        text=pc.localDescription.sdp,
        content_type="application/sdp",
        headers={"Location": location, "ETag": f'"{session.id}"'},
    )


async def whip(request: web.Request) -> web.Response:
    who = _admit(request, publish=True)
    rooms = request.app[ROOMS]
    offer = await _offer(request)
    stage = rooms.stage(who.stage_id)
    # The same participant publishing again replaces its earlier session (a page reload).
    for earlier in [p for p in stage.publishers if p is not None and p.who.participant_id == who.participant_id]:
        await rooms.close(earlier, "replaced by a new WHIP session")
    slot = stage.free_slot()
    if slot is None:
        raise Refused(409, "stage_full", f"the stage already has {SLOTS} publishers")
    pc = RTCPeerConnection()
    publisher = rooms.add_publisher(who, pc, slot)

    @pc.on("track")
    def on_track(track) -> None:
        if track.kind == "audio" and publisher.track is None:
            publisher.track = track

    return await _answer(request, publisher, offer)


async def whep(request: web.Request) -> web.Response:
    who = _admit(request, publish=False)
    rooms = request.app[ROOMS]
    stage = rooms.stage(who.stage_id)
    offer = await _offer(request)
    if len(stage.subscribers) >= rooms.max_subscribers:
        raise Refused(409, "subscriber_limit", f"the stage already has {rooms.max_subscribers} subscribers")
    subscriber = rooms.add_subscriber(who, RTCPeerConnection())
    return await _answer(request, subscriber, offer)


def _own_session(request: web.Request) -> Session:
    who = request.app[VERIFIER].participant(request.headers.get("Authorization"))
    session = request.app[ROOMS].sessions.get(request.match_info["session_id"])
    if session is not None and (session.stage_id, session.who.participant_id) != (who.stage_id, who.participant_id):
        raise Refused(403, "not_your_session", "the session belongs to another participant")
    if session is None:
        raise Refused(404, "session_not_found", "no such session (it ended, or never was)")
    return session


async def session_slots(request: web.Request) -> web.Response:
    session = _own_session(request)
    if not isinstance(session, Subscriber):
        return web.json_response({"kind": "publish", "slot": session.slot})
    return web.json_response({"kind": "subscribe", "slots": request.app[ROOMS].slot_table(session)})


async def session_delete(request: web.Request) -> web.Response:
    session = _own_session(request)
    await request.app[ROOMS].close(session, "left (DELETE)")
    return web.Response(status=200)


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


# --- control (the API's MediaPort) --------------------------------------------------------------


def _control(request: web.Request) -> None:
    peer = (request.remote or "").split("%")[0]
    try:
        loopback = ipaddress.ip_address(peer).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise Refused(403, "not_loopback", "the control API answers loopback peers only")
    expected = f"Bearer {request.app[SECRET]}"
    if not hmac.compare_digest(request.headers.get("Authorization", "").encode(), expected.encode()):
        raise Refused(401, "control_secret_invalid", "the control API needs the shared secret")


async def _json(request: web.Request) -> dict:
    try:
        body = json.loads(await request.text() or "{}")
    except ValueError as exc:
        raise Refused(400, "invalid_json", "the body is not JSON") from exc
    if not isinstance(body, dict):
        raise Refused(400, "invalid_json", "the body must be a JSON object")
    return body


async def control_disconnect(request: web.Request) -> web.Response:
    _control(request)
    body = await _json(request)
    participant_id = body.get("participant_id")
    if not isinstance(participant_id, str) or not participant_id:
        raise Refused(422, "invalid_participant_id", "participant_id (a string) is required")
    reason = str(body.get("reason", ""))
    stage_id = request.match_info["stage_id"]
    closed = await request.app[ROOMS].disconnect(stage_id, participant_id, reason)
    log.info("control disconnect stage=%s participant=%s reason=%s closed=%d", stage_id, participant_id, reason, closed)
    return web.json_response({"closed": closed})


async def control_delete_stage(request: web.Request) -> web.Response:
    _control(request)
    stage_id = request.match_info["stage_id"]
    await request.app[HLS].stop(stage_id)
    request.app[RECORDER].forget(request.app[ROOMS], stage_id)
    closed = await request.app[ROOMS].delete_stage(stage_id)
    log.info("control delete stage=%s closed=%d", stage_id, closed)
    return web.json_response({"closed": closed})


async def control_recording_start(request: web.Request) -> web.Response:
    """The API created a recorded stage: record each of its publishers into the bucket."""
    _control(request)
    stage_id = request.match_info["stage_id"]
    if stage_id in request.app[ROOMS].deleted:
        raise Refused(404, "stage_not_found", "the stage was deleted")
    request.app[RECORDER].watch(request.app[ROOMS], stage_id)
    return web.json_response({"recording": True})


async def control_overflow_start(request: web.Request) -> web.Response:
    _control(request)
    stage_id = request.match_info["stage_id"]
    body = await _json(request)
    channel_arn = body.get("channel_arn")
    if stage_id in request.app[ROOMS].deleted:
        raise Refused(404, "stage_not_found", "the stage was deleted")
    if not isinstance(channel_arn, str) or not channel_arn:
        raise Refused(422, "invalid_channel_arn", "channel_arn (whose playback tokens are let in) is required")
    return web.json_response({"playlist": request.app[HLS].start(stage_id, channel_arn)})


async def control_playback_revoke(request: web.Request) -> web.Response:
    _control(request)
    body = await _json(request)
    channel_arn, viewer_id = body.get("channel_arn"), body.get("viewer_id")
    if not all(isinstance(v, str) and v for v in (channel_arn, viewer_id)):
        raise Refused(422, "invalid_revocation", "channel_arn and viewer_id (strings) are required")
    request.app[HLS].revoke(channel_arn, viewer_id)
    log.info("control playback revoked channel=%s viewer=%s", channel_arn, viewer_id)
    return web.json_response({})


async def control_overflow_stop(request: web.Request) -> web.Response:
    _control(request)
    await request.app[HLS].stop(request.match_info["stage_id"])
    return web.json_response({})


HLS_NAME = re.compile(r"^[a-z0-9]+\.(m3u8|ts)$")
HLS_TYPES = {"m3u8": "application/vnd.apple.mpegurl", "ts": "video/mp2t"}
PLAYLIST_WAIT_SECONDS = 8.0


def _with_token(playlist: str, token: str) -> str:
    """The playlist with the token on every segment URI: the player fetches segments as the
    playlist names them, so the token of the playlist URL reaches them (hls.js or native HLS)."""
    suffix = "?token=" + quote(token, safe="")
    return "\n".join(
        line + suffix if line and not line.startswith("#") else line for line in playlist.split("\n")
    )


async def hls_file(request: web.Request) -> web.StreamResponse:
    """A stage's overflow playlist or segment, for the bearer of a playback token of the stage's
    channel (`?token=`, as in the join's `playback_url`; its signature, `exp`, channel, and no
    revocation are checked on every request). The first playlist appears once a segment is cut:
    a request for it waits that long rather than answer 404 to a player that just started."""
    stage_id, name = request.match_info["stage_id"], request.match_info["name"]
    token = request.query.get("token", "")
    overflow = request.app[HLS]
    overflow.admit(stage_id, request.app[VERIFIER].viewer(token), token)
    if not HLS_NAME.match(name):
        raise Refused(404, "not_found", "no such HLS file")
    path = overflow.file(stage_id, name)
    deadline = asyncio.get_running_loop().time() + PLAYLIST_WAIT_SECONDS
    while path is None and name.endswith(".m3u8") and stage_id in overflow.mixers:
        if asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.2)
        path = overflow.file(stage_id, name)
    if path is None:
        raise Refused(404, "not_found", "no such HLS file (is the stage in overflow?)")
    if name.endswith(".m3u8"):
        body = _with_token(path.read_text(), token).encode()
    else:
        body = path.read_bytes()
    return web.Response(
        body=body,
        content_type=HLS_TYPES[name.rsplit(".", 1)[1]],
        headers={"Cache-Control": "no-cache" if name.endswith(".m3u8") else "max-age=60"},
    )


async def control_stats(request: web.Request) -> web.Response:
    _control(request)
    rooms = request.app[ROOMS]
    stage_id = request.query.get("stage_id")
    return web.json_response({
        # With ?stage_id=: that stage's sessions only (tests sharing one server count their own).
        "stage_sessions": sum(1 for s in rooms.sessions.values() if s.stage_id == stage_id),
        "peer_connections": rooms.peer_connections(),
        "sessions": len(rooms.sessions),
        "session_tasks": sum(len(s.tasks) for s in rooms.sessions.values()),
        "stages": len(rooms.stages),
        "tasks": len(asyncio.all_tasks()),
        "mixers": request.app[HLS].running(),
        **COUNTERS,
    })


# --- the application ----------------------------------------------------------------------------


def make_app(
    *,
    public_key_pem: bytes,
    control_secret: str,
    max_subscribers: int = 100,
    hls_dir: Optional[Path] = None,
    recorder: Optional[Recorder] = None,
) -> web.Application:
    app = web.Application(middlewares=[cors_and_refusals], client_max_size=256 * 1024)
    app[ROOMS] = Rooms(max_subscribers=max_subscribers)
    app[VERIFIER] = TokenVerifier(public_key_pem)
    app[SECRET] = control_secret
    app[HLS] = Overflow(app[ROOMS], hls_dir or Path(".local/hls"))
    # The recordings bucket the API reads (its default name, or SPACES_RECORDINGS_BUCKET).
    bucket = os.environ.get("SPACES_RECORDINGS_BUCKET", "spaces-local-recordings")
    app[RECORDER] = recorder or Recorder(lambda: S3Store(bucket))
    app.router.add_get("/health", health)
    app.router.add_post("/stages/{stage_id}/whip", whip)
    app.router.add_post("/stages/{stage_id}/whep", whep)
    app.router.add_get("/sessions/{session_id}", session_slots)
    app.router.add_delete("/sessions/{session_id}", session_delete)
    app.router.add_post("/control/stages/{stage_id}/disconnect", control_disconnect)
    app.router.add_delete("/control/stages/{stage_id}", control_delete_stage)
    app.router.add_get("/control/stats", control_stats)
    app.router.add_post("/control/stages/{stage_id}/overflow", control_overflow_start)
    app.router.add_put("/control/stages/{stage_id}/recording", control_recording_start)
    app.router.add_delete("/control/stages/{stage_id}/overflow", control_overflow_stop)
    app.router.add_post("/control/playback/revoke", control_playback_revoke)
    app.router.add_get("/hls/{stage_id}/{name}", hls_file)
    app.router.add_route("OPTIONS", "/{tail:.*}", lambda request: web.Response(status=204))

    async def stop_everything(app: web.Application) -> None:
        await app[HLS].stop_all()
        await app[ROOMS].close_all()
        await app[RECORDER].drain()  # recordings of the closed publishers are uploaded

    app.on_shutdown.append(stop_everything)
    return app
