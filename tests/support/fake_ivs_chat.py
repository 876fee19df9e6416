"""A stand-in for Amazon IVS Chat on this machine: the control-plane API the backend calls with
boto3 (`ivschat`: CreateRoom, DeleteRoom, ListRooms, CreateChatToken, SendEvent, DisconnectUser)
and the messaging WebSocket the browser's `amazon-ivs-chat-messaging` SDK connects to.

It lets a local stack run room events over IVS Chat with the production adapter
(`chalicelib/adapters/ivs_chat.py`), pointed here by `AWS_ENDPOINT_URL_IVSCHAT`, and the web page
speak to it with the official SDK, pointed here by `SPACES_CHAT_ENDPOINT_URL` (the join's
`events.url`).

Where the protocol comes from, and where it is a guess:
- The control plane follows botocore's ivschat model (rest-json: POST /<Operation>, JSON bodies,
  errors named by `x-amzn-ErrorType`); boto3 parses every answer against that model.
- Messaging follows the IVS Chat Messaging API reference and the SDK's source (1.1.1,
  dist/esm/ChatConnection.js, ChatRoom.js, utils/deserialize.js): the token is the WebSocket
  subprotocol (`new WebSocket(url, token)`); the server sends JSON objects with `Type` "EVENT"
  (`Id, EventName, Attributes, SendTime, RequestId?`), "MESSAGE" (`Id, Content, Attributes,
  Sender{UserId, Attributes}, SendTime, RequestId?`) or "ERROR" (`Id, ErrorCode, ErrorMessage,
  RequestId?`); clients send `{"Action": "SEND_MESSAGE", "RequestId", "Content", "Attributes"}`.
  A token is accepted once.
- Guessed (not documented where we looked, and never compared with the real service): that the
  server echoes the token as the selected subprotocol (browsers refuse the connection
  otherwise, so it must); how a refused handshake answers (here HTTP 401, or 503 while
  refusing); the close code when a user is disconnected or the session ends (here 1000, after
  an `aws:DISCONNECT_USER` event); and `tokenExpirationTime` (here equal to the session's end:
  the SDK opens its next connection a minute before it, so a short one would make it reconnect
  every 30 s). Only SEND_MESSAGE is answered among client actions; others get an ERROR 400.

Test hooks (not IVS): GET /_fake/health, GET /_fake/connections (every connection with its
user, room and how it ended), POST /_fake/drop `{"user_id"?, "how": "close"|"abort",
"refuse_seconds"?}` (close or cut matching connections, and refuse new ones for a while), and
`outage` (the next n control-plane calls answer ThrottlingException) in process.

Run alone: `python -m tests.support.fake_ivs_chat --api-port 8300 --ws-port 8301`.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import string
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOST = "127.0.0.1"
_ALNUM = string.ascii_letters + string.digits


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Room:
    arn: str
    name: str
    tags: dict
    created: datetime
    max_rate: int
    max_length: int


@dataclass
class Token:
    room: str
    user_id: str
    capabilities: tuple[str, ...]
    attributes: dict
    token_expires: datetime
    session_expires: datetime
    used: bool = False


@dataclass
class Connection:
    id: str
    room: str
    user_id: str
    token: Token
    opened_at: float
    socket: object = field(repr=False, default=None)
    closed_at: float | None = None
    close_code: int | None = None
    received: list[str] = field(default_factory=list)  # EventName / "MESSAGE" of each frame sent


class FakeIvsChat:
    """Both halves of the fake, in background threads of this process. `start()` then use
    `api_url` (for boto3) and `ws_url` (for the SDK); `stop()` when done."""

    def __init__(self, host: str = HOST, api_port: int = 0, ws_port: int = 0,
                 region: str = "us-east-1", account_id: str = "123456789012"):
        self.host, self.region, self.account_id = host, region, account_id
        self._api_port, self._ws_port = api_port, ws_port
        self.rooms: dict[str, Room] = {}
        self.tokens: dict[str, Token] = {}
        self.connections: list[Connection] = []
        self.outage = 0  # the next n control-plane calls answer ThrottlingException
        self.refuse_until = 0.0  # time.monotonic() until which handshakes are refused
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ws_server = None
        self._http: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []

    # ------------------------------------------------------------------ life

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self._api_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self._ws_port}"

    def start(self) -> FakeIvsChat:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run_loop():
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            try:
                self._ws_server = self._loop.run_until_complete(self._serve_ws())
                self._ws_port = self._ws_server.sockets[0].getsockname()[1]
            except BaseException as exc:  # noqa: BLE001 - reported to start()'s caller
                failure.append(exc)
                ready.set()
                return
            ready.set()
            self._loop.run_forever()

        loop_thread = threading.Thread(target=run_loop, name="fake-ivs-chat-ws", daemon=True)
        loop_thread.start()
        ready.wait(10)
        if failure:
            raise failure[0]
        self._http = ThreadingHTTPServer((self.host, self._api_port), _handler_for(self))
        self._http.daemon_threads = True
        self._api_port = self._http.server_address[1]
        http_thread = threading.Thread(target=self._http.serve_forever, name="fake-ivs-chat-api", daemon=True)
        http_thread.start()
        self._threads = [loop_thread, http_thread]
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        if self._loop is not None and self._ws_server is not None:
            async def close():
                self._ws_server.close()
                await self._ws_server.wait_closed()

            asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
        for thread in self._threads:
            thread.join(10)

    def client(self):
        """A boto3 `ivschat` client that calls this fake (no retries: an outage shows at once)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "ivschat", region_name=self.region, endpoint_url=self.api_url,
            aws_access_key_id="testing", aws_secret_access_key="testing",
            config=Config(retries={"total_max_attempts": 1}),
        )

    def __enter__(self) -> FakeIvsChat:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------ control plane

    def call(self, operation: str, body: dict) -> tuple[int, dict | None]:
        """One control-plane call: (HTTP status, JSON answer or None for no body)."""
        with self._lock:
            if self.outage:
                self.outage -= 1
                raise ApiError(429, "ThrottlingException", "Rate exceeded (fake outage)")
        method = getattr(self, f"_op_{operation}", None)
        if method is None:
            raise ApiError(400, "ValidationException", f"operation {operation} is not emulated")
        return method(body)

    def _op_CreateRoom(self, body):
        now = _now()
        room_id = "".join(secrets.choice(_ALNUM) for _ in range(12))
        arn = f"arn:aws:ivschat:{self.region}:{self.account_id}:room/{room_id}"
        room = Room(arn, body.get("name", ""), dict(body.get("tags") or {}), now,
                    body.get("maximumMessageRatePerSecond", 10), body.get("maximumMessageLength", 500))
        with self._lock:
            self.rooms[arn] = room
        return 200, {**self._room_summary(room), "maximumMessageRatePerSecond": room.max_rate,
                     "maximumMessageLength": room.max_length, "loggingConfigurationIdentifiers": []}

    def _op_DeleteRoom(self, body):
        room = self._room(body.get("identifier"))
        with self._lock:
            del self.rooms[room.arn]
            doomed = [c for c in self.connections if c.room == room.arn and c.closed_at is None]
        self._on_loop(self._close_all(doomed, 1000, "room deleted"))
        return 204, None

    def _op_ListRooms(self, body):
        with self._lock:
            rooms = sorted(self.rooms.values(), key=lambda r: r.arn)
        start = int(body.get("nextToken") or 0)
        size = int(body.get("maxResults") or 50)
        page = rooms[start:start + size]
        answer = {"rooms": [self._room_summary(r) for r in page]}
        if start + size < len(rooms):
            answer["nextToken"] = str(start + size)
        return 200, answer

    def _op_CreateChatToken(self, body):
        room = self._room(body.get("roomIdentifier"))
        now = _now()
        session_end = now + timedelta(minutes=int(body.get("sessionDurationInMinutes") or 60))
        value = "AQICAHfake" + secrets.token_urlsafe(32)  # tchar only: a valid subprotocol
        with self._lock:
            self.tokens[value] = Token(room.arn, body["userId"], tuple(body.get("capabilities") or ()),
                                       dict(body.get("attributes") or {}), session_end, session_end)
        return 200, {"token": value, "tokenExpirationTime": _iso(session_end),
                     "sessionExpirationTime": _iso(session_end)}

    def _op_SendEvent(self, body):
        room = self._room(body.get("roomIdentifier"))
        event_id = _entity_id()
        frame = {"Type": "EVENT", "Id": event_id, "EventName": body["eventName"],
                 "Attributes": dict(body.get("attributes") or {}), "SendTime": _iso(_now())}
        self._on_loop(self._broadcast(room.arn, frame))
        return 200, {"id": event_id}

    def _op_DisconnectUser(self, body):
        room = self._room(body.get("roomIdentifier"))
        self._on_loop(self._disconnect_user(room.arn, body["userId"], body.get("reason", "")))
        return 200, {}

    def _room(self, arn) -> Room:
        with self._lock:
            room = self.rooms.get(arn)
        if room is None:
            raise ApiError(404, "ResourceNotFoundException", f"room {arn} not found")
        return room

    @staticmethod
    def _room_summary(room: Room) -> dict:
        return {"arn": room.arn, "id": room.arn.rsplit("/", 1)[-1], "name": room.name, "tags": room.tags,
                "createTime": _iso(room.created), "updateTime": _iso(room.created)}

    # ------------------------------------------------------------------ messaging

    async def _serve_ws(self):
        from websockets.asyncio.server import serve

        return await serve(
            self._session, self.host, self._ws_port,
            process_request=self._handshake,
            select_subprotocol=lambda connection, offered: offered[0] if offered else None,
        )

    def _handshake(self, connection, request):
        """Accept a handshake whose subprotocol is an unused, unexpired token of a live room."""
        if time.monotonic() < self.refuse_until:
            return connection.respond(503, "refusing connections (test hook)\n")
        offered = request.headers.get("Sec-WebSocket-Protocol", "")
        value = offered.split(",")[0].strip()
        with self._lock:
            token = self.tokens.get(value)
            valid = (token is not None and not token.used and token.room in self.rooms
                     and _now() < token.token_expires)
            if valid:
                token.used = True
        if not valid:
            return connection.respond(401, "invalid, used or expired chat token\n")
        connection.fake_token = token
        return None

    async def _session(self, socket):
        token: Token = socket.fake_token
        conn = Connection(uuid.uuid4().hex, token.room, token.user_id, token, time.time(), socket)
        with self._lock:
            self.connections.append(conn)
        expiry = asyncio.get_running_loop().call_later(
            max(0.0, (token.session_expires - _now()).total_seconds()),
            lambda: asyncio.ensure_future(socket.close(1000, "session expired")),
        )
        try:
            async for raw in socket:
                await self._client_request(conn, raw)
        except Exception:  # noqa: BLE001 - a cut connection ends the session like a closed one
            pass
        finally:
            expiry.cancel()
            conn.closed_at = time.time()
            conn.close_code = socket.close_code if socket.close_code is not None else 1006

    async def _client_request(self, conn: Connection, raw) -> None:
        try:
            request = json.loads(raw)
            action, request_id = request.get("Action"), request.get("RequestId")
        except (ValueError, AttributeError):
            await self._send(conn, _error(400, "request is not a JSON object", None))
            return
        if action != "SEND_MESSAGE":
            await self._send(conn, _error(400, f"action {action!r} is not emulated", request_id))
            return
        if "SEND_MESSAGE" not in conn.token.capabilities:
            await self._send(conn, _error(403, "the token does not allow SEND_MESSAGE", request_id))
            return
        frame = {"Type": "MESSAGE", "Id": _entity_id(), "RequestId": request_id,
                 "Content": str(request.get("Content", "")), "Attributes": request.get("Attributes") or {},
                 "Sender": {"UserId": conn.user_id, "Attributes": conn.token.attributes},
                 "SendTime": _iso(_now())}
        await self._broadcast(conn.room, frame)

    async def _broadcast(self, room: str, frame: dict) -> None:
        with self._lock:
            targets = [c for c in self.connections if c.room == room and c.closed_at is None]
        for conn in targets:
            await self._send(conn, frame)

    async def _send(self, conn: Connection, frame: dict) -> None:
        try:
            await conn.socket.send(json.dumps(frame))
            conn.received.append(frame.get("EventName") or frame["Type"])
        except Exception:  # noqa: BLE001 - a connection closing meanwhile misses it, as it would
            pass

    async def _disconnect_user(self, room: str, user_id: str, reason: str) -> None:
        await self._broadcast(room, {"Type": "EVENT", "Id": _entity_id(), "EventName": "aws:DISCONNECT_USER",
                                     "Attributes": {"UserId": user_id, "Reason": reason}, "SendTime": _iso(_now())})
        with self._lock:
            doomed = [c for c in self.connections if c.room == room and c.user_id == user_id and c.closed_at is None]
        await self._close_all(doomed, 1000, reason or "disconnected")

    @staticmethod
    async def _close_all(connections, code: int, reason: str) -> None:
        for conn in connections:
            await conn.socket.close(code, reason[:100])

    def _on_loop(self, coroutine, timeout: float = 10):
        """Run a coroutine on the WebSocket loop from an HTTP thread and wait for it, so a
        SendEvent answers once the event was written to every socket."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    # ------------------------------------------------------------------ test hooks

    def connections_report(self) -> list[dict]:
        with self._lock:
            return [
                {"id": c.id, "room": c.room, "user_id": c.user_id, "capabilities": list(c.token.capabilities),
                 "opened_at": c.opened_at,
                 "closed_at": c.closed_at, "close_code": c.close_code, "received": list(c.received)}
                for c in self.connections
            ]

    def drop(self, user_id: str | None = None, how: str = "close", refuse_seconds: float = 0) -> int:
        """Close (`how="close"`: a clean close, code 1000) or cut (`"abort"`: the TCP connection
        dropped, which the browser reports as 1006) the open connections of `user_id` (everyone's
        when None), and refuse new handshakes for `refuse_seconds`."""
        if how not in ("close", "abort"):
            raise ApiError(400, "ValidationException", "how must be close or abort")
        if refuse_seconds:
            self.refuse_until = time.monotonic() + float(refuse_seconds)
        with self._lock:
            doomed = [c for c in self.connections
                      if c.closed_at is None and (user_id is None or c.user_id == user_id)]

        async def act():
            for conn in doomed:
                if how == "close":
                    await conn.socket.close(1000, "closed by the test")
                else:
                    conn.socket.transport.abort()

        self._on_loop(act())
        return len(doomed)


def _entity_id() -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(12))


def _error(code: int, message: str, request_id) -> dict:
    frame = {"Type": "ERROR", "Id": _entity_id(), "ErrorCode": code, "ErrorMessage": message}
    if request_id:
        frame["RequestId"] = request_id
    return frame


def _handler_for(fake: FakeIvsChat):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet: the stack's logs are read on failure
            pass

        def do_GET(self):
            if self.path == "/_fake/health":
                self._answer(200, {"ok": True})
            elif self.path == "/_fake/connections":
                self._answer(200, {"connections": fake.connections_report()})
            else:
                self._answer(404, {"message": "not found"})

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                self._error(ApiError(400, "ValidationException", "body is not JSON"))
                return
            try:
                if self.path == "/_fake/drop":
                    dropped = fake.drop(body.get("user_id"), body.get("how", "close"), body.get("refuse_seconds", 0))
                    self._answer(200, {"dropped": dropped})
                    return
                status, answer = fake.call(self.path.strip("/").split("?")[0], body)
            except ApiError as exc:
                self._error(exc)
                return
            self._answer(status, answer)

        def _error(self, exc: ApiError):
            self._answer(exc.status, {"message": exc.message}, {"x-amzn-ErrorType": exc.code})

        def _answer(self, status: int, body: dict | None, headers: dict | None = None):
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=HOST)
    parser.add_argument("--api-port", type=int, required=True)
    parser.add_argument("--ws-port", type=int, required=True)
    parser.add_argument("--region", default="us-east-1")
    args = parser.parse_args()
    fake = FakeIvsChat(args.host, args.api_port, args.ws_port, region=args.region).start()
    print(f"fake IVS Chat: API {fake.api_url}, messaging {fake.ws_url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
