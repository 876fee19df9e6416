"""A Space's room in memory (RoomEventLog, chalicelib/port_protocols.py), with what both real
adapters promise (adapters/ivs_chat.py over IVS Chat, adapters/dynamodb/room_events.py, the
local event log):

- a room id has the shape of an IVS Chat room ARN, one per `create_room`;
- deleting a room twice is fine; nothing can be sent to a deleted room, or a room never made, nor
  a chat token asked for it (DependencyFailed "room_events_unavailable"), but what was sent stays
  readable until it expires (a client long-polling at the end still reads `space_ended`);
- disconnecting someone who is not connected is fine;
- an event name is 1..100 characters and its attributes at most 1 KB (ValueError: a bug, never
  sent); events are numbered 1, 2, 3 ... per room, read oldest first after a cursor, and an
  expired one is skipped while the cursor moves past it;
- `fail_next(method)` makes the next call raise DependencyFailed, as an outage would, and the
  call after works.

What happened is public, as on the DynamoDB adapter: `created`, `deleted` (each once),
`disconnected` ((room, user_id, reason) per call), `tokens` ((room, user_id, capabilities) per
call), and `sent(room)`, the (name, attributes) of each event sent to it.
tests/integration/test_room_events_port.py runs the port's contract, and the event log's, on this
fake and on the adapters.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from chalicelib.domain.errors import DependencyFailed
from chalicelib.domain.room_events import event_attributes, validate_event_name
from chalicelib.domain.spaces import utcnow
from chalicelib.ports import ChatToken, RoomEvent

UNAVAILABLE = "room_events_unavailable"
METHODS = ("create_room", "delete_room", "chat_token", "send_event", "disconnect_user", "list_rooms")


@dataclass
class _Room:
    space_id: str
    created_at: int  # epoch seconds
    events: list[tuple[RoomEvent, datetime]] = field(default_factory=list)  # (event, expires at)
    deleted: bool = False


class FakeRoomEvents:
    def __init__(self, *, clock: Callable[[], datetime] = utcnow, ttl_seconds: int = 86400) -> None:
        self._clock = clock
        self._ttl = timedelta(seconds=ttl_seconds)
        self._rooms: dict[str, _Room] = {}
        self._failures: dict[str, int] = {}
        self._lock = threading.Lock()  # senders on threads, as the adapter's callers may be
        self.created: list[str] = []
        self.deleted: list[str] = []
        self.disconnected: list[tuple[str, str, str]] = []
        self.tokens: list[tuple[str, str, tuple[str, ...]]] = []

    def fail_next(self, method_name: str, times: int = 1) -> None:
        if method_name not in METHODS:
            raise ValueError(f"unknown RoomEventsPort method {method_name!r}; one of {METHODS}")
        self._failures[method_name] = self._failures.get(method_name, 0) + times

    # ------------------------------------------------------------------ RoomEventsPort

    def create_room(self, space_id: str) -> str:
        self._maybe_fail("create_room")
        with self._lock:
            room = f"arn:aws:ivschat:us-east-1:123456789012:room/Fake{len(self.created) + 1:08d}"
            self._rooms[room] = _Room(space_id, int(self._clock().timestamp()))
            self.created.append(room)
        return room

    def delete_room(self, room: str) -> None:
        self._maybe_fail("delete_room")
        with self._lock:
            found = self._rooms.get(room)
            if found is not None and not found.deleted:
                found.deleted = True
                self.deleted.append(room)

    def chat_token(
        self, room: str, user_id: str, *, capabilities: list[str], session_minutes: int, attributes: dict[str, str]
    ) -> ChatToken:
        self._maybe_fail("chat_token")
        self._open(room)
        now = self._clock()
        self.tokens.append((room, user_id, tuple(capabilities)))
        return ChatToken(
            token=f"fake-chat-{room.rsplit('/', 1)[-1]}-{user_id}-{len(self.tokens)}",
            token_expires_at=now + timedelta(minutes=1),
            session_expires_at=now + timedelta(minutes=session_minutes),
            capabilities=tuple(capabilities),
        )

    def send_event(self, room: str, name: str, attributes: dict[str, str]) -> None:
        self._maybe_fail("send_event")
        validate_event_name(name)
        attributes = event_attributes(**attributes)
        now = self._clock()
        with self._lock:
            events = self._open(room).events
            events.append((RoomEvent(seq=len(events) + 1, name=name, attributes=attributes, sent_at=now), now + self._ttl))

    def disconnect_user(self, room: str, user_id: str, reason: str) -> None:
        self._maybe_fail("disconnect_user")
        self.disconnected.append((room, user_id, reason))

    def list_rooms(self) -> list[tuple[str, str, int]]:
        self._maybe_fail("list_rooms")
        with self._lock:
            return [(room, r.space_id, r.created_at) for room, r in self._rooms.items() if not r.deleted]

    # ------------------------------------------------------------------ the event log

    def read(self, room: str, after: int, limit: int) -> tuple[list[RoomEvent], int]:
        now = self._clock()
        with self._lock:
            found = self._rooms.get(room)
            later = [(e, expires) for e, expires in (found.events if found else []) if e.seq > after][:limit]
        cursor = later[-1][0].seq if later else after
        return [e for e, expires in later if expires > now], cursor

    def latest(self, room: str) -> int:
        found = self._rooms.get(room)
        return len(found.events) if found else 0

    def is_deleted(self, room: str) -> bool:
        found = self._rooms.get(room)
        return found is None or found.deleted

    def sent(self, room: str) -> list[tuple[str, dict[str, str]]]:
        """(name, attributes) of every event sent to the room, in order."""
        found = self._rooms.get(room)
        return [(e.name, e.attributes) for e, _ in (found.events if found else [])]

    # ------------------------------------------------------------------ helpers

    def _open(self, room: str) -> _Room:
        found = self._rooms.get(room)
        if found is None or found.deleted:
            raise DependencyFailed(f"room {room} does not exist", code=UNAVAILABLE)
        return found

    def _maybe_fail(self, method_name: str) -> None:
        left = self._failures.get(method_name, 0)
        if left:
            self._failures[method_name] = left - 1
            raise DependencyFailed(f"fake room events: injected failure of {method_name}", code=UNAVAILABLE)
