"""The local room-events adapter: RoomEventsPort over a DynamoDB event log, and the per-user
reaction rate limit (used with either adapter).

`make run` and the tests have no IVS Chat, so rooms here are partitions of the `room-events`
table (RoomEventModel) that `GET /spaces/{id}/events` reads with a Query, long-polling. Room ids
have the shape of IVS Chat room ARNs (arn:aws:ivschat:<region>:<account>:room/<12 alphanumerics>)
so the same code paths and validation run on both. Chat tokens are opaque random strings: there
is no chat server locally to present them to; clients of the local stage read the event log.

What happened is public, for assertions, as in LocalMedia: `rooms` (room -> (space_id,
created_at epoch seconds), this process's rooms not deleted), `created` (room ids, in order),
`deleted` (each once), `disconnected` ((room, user_id, reason) per call), `tokens` ((room,
user_id, capabilities) per call). `fail_next("send_event", times=2)` makes the next two calls of
that method raise DependencyFailed, as IVS throttling or an outage would.
"""
from __future__ import annotations

import random
import secrets
import string
import threading
import time
from datetime import datetime, timedelta

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.adapters.dynamodb.errors import dependency_failure, error_code
from chalicelib.adapters.dynamodb.models import ReactionLimitModel, RoomEventModel
from chalicelib.adapters.dynamodb.transactions import ConditionsFailed, transaction
from chalicelib.domain.errors import DependencyFailed
from chalicelib.domain.room_events import event_attributes, validate_event_name
from chalicelib.domain.spaces import utcnow
from chalicelib.ports import ChatToken, RoomEvent

ROOM_EVENTS_UNAVAILABLE = "room_events_unavailable"
HEAD = 0
_ALNUM = string.ascii_letters + string.digits
_METHODS = ("create_room", "delete_room", "chat_token", "send_event", "disconnect_user", "list_rooms")
SEND_ATTEMPTS = 25


class DynamoRoomEvents:
    """RoomEventsPort kept in DynamoDB, readable with `read` (the local transport)."""

    def __init__(
        self,
        connection=None,
        *,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        ttl_seconds: int = 86400,
        clock=utcnow,
        sleep=time.sleep,
    ):
        self._connection = connection or RoomEventModel._get_connection().connection
        self.region = region
        self.account_id = account_id
        self._ttl = ttl_seconds
        self._clock = clock
        self._sleep = sleep
        self.created: list[str] = []
        self.deleted: list[str] = []
        self.disconnected: list[tuple[str, str, str]] = []
        self.tokens: list[tuple[str, str, tuple[str, ...]]] = []
        self.rooms: dict[str, tuple[str, int]] = {}  # room -> (space_id, created_at), this process
        self._failures: dict[str, int] = {}
        self._lock = threading.Lock()

    def fail_next(self, method_name: str, times: int = 1) -> None:
        """Make the next `times` calls of `method_name` raise DependencyFailed."""
        if method_name not in _METHODS:
            raise ValueError(f"unknown RoomEventsPort method {method_name!r}; one of {_METHODS}")
        with self._lock:
            self._failures[method_name] = self._failures.get(method_name, 0) + times

    # ------------------------------------------------------------------ RoomEventsPort

    def create_room(self, space_id: str) -> str:
        self._maybe_fail("create_room")
        now = self._clock()
        room = f"arn:aws:ivschat:{self.region}:{self.account_id}:room/{''.join(secrets.choice(_ALNUM) for _ in range(12))}"
        try:
            RoomEventModel(
                room, HEAD, space_id=space_id, head=0, sent_at=now, expires_at=self._expiry(now)
            ).save(condition=RoomEventModel.room.does_not_exist())
        except Exception as exc:
            raise _unavailable("CreateRoom", exc) from exc
        with self._lock:
            self.created.append(room)
            self.rooms[room] = (space_id, int(now.timestamp()))
        return room

    def delete_room(self, room: str) -> None:
        """Marks the room deleted: nothing more can be sent to it. Its events stay readable until
        they expire, so a client long-polling at the end still reads `space_ended`."""
        self._maybe_fail("delete_room")
        try:
            RoomEventModel(room, HEAD).update(
                actions=[RoomEventModel.deleted_at.set(self._clock())],
                condition=RoomEventModel.room.exists() & RoomEventModel.deleted_at.does_not_exist(),
            )
        except UpdateError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise _unavailable("DeleteRoom", exc) from exc
            # Gone already (or never made): success, as DeleteRoom's ResourceNotFound. An earlier
            # delete may have been applied with its answer lost: forget the room now, or
            # list_rooms would hand it to the orphan sweep forever.
            with self._lock:
                self.rooms.pop(room, None)
            return
        with self._lock:
            self.deleted.append(room)
            self.rooms.pop(room, None)

    def chat_token(
        self, room: str, user_id: str, *, capabilities: list[str], session_minutes: int, attributes: dict[str, str]
    ) -> ChatToken:
        self._maybe_fail("chat_token")
        head = self._head(room)
        if head is None or head.deleted_at is not None:
            raise DependencyFailed(f"room {room} does not exist", code=ROOM_EVENTS_UNAVAILABLE)
        now = self._clock()
        with self._lock:
            self.tokens.append((room, user_id, tuple(capabilities)))
        return ChatToken(
            token=f"local-chat-{secrets.token_urlsafe(24)}",
            token_expires_at=now + timedelta(minutes=1),
            session_expires_at=now + timedelta(minutes=session_minutes),
            capabilities=tuple(capabilities),
        )

    def send_event(self, room: str, name: str, attributes: dict[str, str]) -> None:
        """Append one event. Concurrent senders to one room race on the head item; the loser
        reads the head again and takes the next number."""
        self._maybe_fail("send_event")
        validate_event_name(name)
        attributes = event_attributes(**attributes)
        for _ in range(SEND_ATTEMPTS):
            head = self._head(room)
            if head is None or head.deleted_at is not None:
                raise DependencyFailed(f"room {room} does not exist", code=ROOM_EVENTS_UNAVAILABLE)
            last = int(head.head or 0)
            now = self._clock()
            try:
                with transaction(self._connection) as tx:
                    tx.update(
                        "head",
                        RoomEventModel(room, HEAD),
                        actions=[RoomEventModel.head.set(last + 1), RoomEventModel.expires_at.set(self._expiry(now))],
                        condition=(RoomEventModel.head == last) & RoomEventModel.deleted_at.does_not_exist(),
                    )
                    tx.save(
                        "event",
                        RoomEventModel(
                            room,
                            last + 1,
                            name=name,
                            attributes=attributes,
                            sent_at=now,
                            expires_at=self._expiry(now),
                        ),
                        condition=RoomEventModel.room.does_not_exist(),
                    )
                return
            except ConditionsFailed:
                pass  # another event took this number: read the head again
            except DependencyFailed as exc:
                if exc.code != "write_conflict":
                    raise
            self._sleep(random.uniform(0.002, 0.02))
        raise DependencyFailed(f"room {room} is too busy; event {name} not sent", code=ROOM_EVENTS_UNAVAILABLE)

    def disconnect_user(self, room: str, user_id: str, reason: str) -> None:
        # No chat connections locally: readers of the event log are checked on every request.
        self._maybe_fail("disconnect_user")
        with self._lock:
            self.disconnected.append((room, user_id, reason))

    def list_rooms(self) -> list[tuple[str, str, int]]:
        """Rooms this process created and has not deleted (the log has no index of rooms)."""
        self._maybe_fail("list_rooms")
        with self._lock:
            return [(room, space_id, at) for room, (space_id, at) in self.rooms.items()]

    # ------------------------------------------------------------------ the local transport

    def read(self, room: str, after: int, limit: int) -> tuple[list[RoomEvent], int]:
        """Events after seq `after`, oldest first, at most `limit`: (events, the seq to continue
        after). One strongly consistent Query; expired events are skipped (TTL is lazy)."""
        now = self._clock()
        events, cursor = [], after
        try:
            for item in RoomEventModel.query(
                room, RoomEventModel.seq > max(after, HEAD), limit=limit, consistent_read=True
            ):
                cursor = int(item.seq)
                if item.expires_at is not None and item.expires_at <= now:
                    continue
                events.append(
                    RoomEvent(
                        seq=cursor,
                        name=item.name,
                        attributes=dict(item.attributes.as_dict() if item.attributes else {}),
                        sent_at=item.sent_at,
                    )
                )
        except Exception as exc:
            raise dependency_failure(exc) from exc
        return events, cursor

    def latest(self, room: str) -> int:
        """The seq of the last event sent to the room (0 when none)."""
        head = self._head(room)
        return int(head.head or 0) if head is not None else 0

    def is_deleted(self, room: str) -> bool:
        head = self._head(room)
        return head is None or head.deleted_at is not None

    # ------------------------------------------------------------------ helpers

    def _head(self, room: str) -> RoomEventModel | None:
        try:
            return RoomEventModel.get(room, HEAD, consistent_read=True)
        except DoesNotExist:
            return None
        except Exception as exc:
            raise dependency_failure(exc) from exc

    def _expiry(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self._ttl)

    def _maybe_fail(self, method_name: str) -> None:
        with self._lock:
            left = self._failures.get(method_name, 0)
            if left:
                self._failures[method_name] = left - 1
                raise DependencyFailed(
                    f"local room events: injected failure of {method_name}", code=ROOM_EVENTS_UNAVAILABLE
                )


def _unavailable(operation: str, exc: Exception) -> Exception:
    failure = dependency_failure(exc)
    if isinstance(failure, DependencyFailed):
        return DependencyFailed(f"local room events: {operation} failed ({failure.code})", code=ROOM_EVENTS_UNAVAILABLE)
    return failure


class DynamoReactionLimits:
    """At most one reaction per user per Space every `interval_ms`, decided by DynamoDB: the write
    of `last_at` is conditional on the previous one being at least `interval_ms` old, so two
    requests at once cannot both pass."""

    def __init__(self, *, interval_ms: int):
        self._interval = interval_ms

    def acquire(self, space_id: str, user_id: str, now: datetime) -> int:
        """0 when this reaction may go out (and is recorded), else the milliseconds to wait."""
        now_ms = int(now.timestamp() * 1000)
        key = ReactionLimitModel.key_for(space_id, user_id)
        try:
            ReactionLimitModel(key).update(
                actions=[
                    ReactionLimitModel.last_at.set(now_ms),
                    ReactionLimitModel.expires_at.set(now + timedelta(days=1)),
                ],
                condition=ReactionLimitModel.last_at.does_not_exist()
                | (ReactionLimitModel.last_at <= now_ms - self._interval),
            )
            return 0
        except UpdateError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise dependency_failure(exc) from exc
        # Refused: only now read how long to wait (never read-decide-write).
        try:
            last = int(ReactionLimitModel.get(key, consistent_read=True).last_at)
        except DoesNotExist:
            return 1
        except Exception as exc:
            raise dependency_failure(exc) from exc
        return max(last + self._interval - now_ms, 1)
