"""RoomEventsPort over Amazon IVS Chat (the `ivschat` API): one chat room per live Space.

The boto3 client is injected (bootstrap builds it once per container); nothing here builds a
client or imports boto3. Failures are translated by error code only, as in adapters/ivs.py:

- ResourceNotFoundException on DeleteRoom / DisconnectUser means the room (or the user's
  connection) is already gone, which is what the caller wanted: success.
- every other ClientError (ThrottlingException, AccessDenied, ServiceQuotaExceeded, 5xx ...) and
  every connection / timeout error becomes `DependencyFailed(code="room_events_unavailable")`,
  raised from the original. SendEvent to a room that no longer exists is such a failure too: the
  caller (services/room_events.emit) logs and counts it.

Rate limits inside the room: `maximumMessageRatePerSecond` (1..100, default 10) is a cap on the
messages of ALL clients of a room together, not per user (CreateRoom in the ivschat API model:
"Maximum number of messages per second that can be sent to the room (by all clients)"). A per-user
limit on messages clients send straight to IVS Chat needs a message review handler (a Lambda IVS
calls for every message); `review_handler_arn` attaches one when configured. Reactions sent
through the API (POST /spaces/{id}/reactions) are limited per user by the backend itself.

Chat log: `logging_configuration_arn` (the stage's AWS::IVSChat::LoggingConfiguration, made by
infra/) is attached to every room created, so IVS Chat records the room's messages and events at
that configuration's destination (docs/room-events.md, "The chat log").
"""
from __future__ import annotations

import re
import time
from typing import Any

from chalicelib.adapters.aws_errors import aws_call
from chalicelib.domain.room_events import validate_event_name
from chalicelib.ports import ChatToken

ROOM_EVENTS_UNAVAILABLE = "room_events_unavailable"
NOT_FOUND = "ResourceNotFoundException"

# CreateRoom `name`: pattern [a-zA-Z0-9-_]*, at most 128 characters (ivschat API model).
_NAME_FORBIDDEN = re.compile(r"[^A-Za-z0-9_-]")
_NAME_PREFIX = "space-"
_NAME_MAX = 128


def room_name_for(space_id: str) -> str:
    """A room name valid for CreateRoom that a person can map back to the Space."""
    return (_NAME_PREFIX + _NAME_FORBIDDEN.sub("-", space_id))[:_NAME_MAX]


class IvsChatRooms:
    """RoomEventsPort implemented with the IVS Chat API."""

    def __init__(
        self,
        client,
        *,
        tags: dict | None = None,
        max_message_rate: int = 10,
        max_message_length: int = 500,
        review_handler_arn: str = "",
        logging_configuration_arn: str = "",
        clock=time.time,
    ):
        self._client = client
        self._tags = dict(tags or {})
        self._max_rate = max_message_rate
        self._max_length = max_message_length
        self._review_handler_arn = review_handler_arn
        self._logging_configuration_arn = logging_configuration_arn
        self._clock = clock

    def create_room(self, space_id: str) -> str:
        # created_at lets the orphan sweep leave alone a room whose Space is being written now.
        params: dict[str, Any] = {
            "name": room_name_for(space_id),
            "maximumMessageRatePerSecond": self._max_rate,
            "maximumMessageLength": self._max_length,
            "tags": {**self._tags, "space_id": space_id, "created_at": str(int(self._clock()))},
        }
        if self._review_handler_arn:
            # If the handler fails or times out, let the message through: a broken limiter must
            # not silence every room.
            params["messageReviewHandler"] = {"uri": self._review_handler_arn, "fallbackResult": "ALLOW"}
        if self._logging_configuration_arn:
            params["loggingConfigurationIdentifiers"] = [self._logging_configuration_arn]
        return self._call("CreateRoom", self._client.create_room, **params)["arn"]

    def delete_room(self, room: str) -> None:
        self._call("DeleteRoom", self._client.delete_room, gone_is_ok=True, identifier=room)

    def chat_token(
        self, room: str, user_id: str, *, capabilities: list[str], session_minutes: int, attributes: dict[str, str]
    ) -> ChatToken:
        response = self._call(
            "CreateChatToken",
            self._client.create_chat_token,
            roomIdentifier=room,
            userId=user_id,
            capabilities=list(capabilities),
            sessionDurationInMinutes=session_minutes,
            attributes=dict(attributes),
        )
        return ChatToken(
            token=response["token"],
            token_expires_at=response["tokenExpirationTime"],
            session_expires_at=response["sessionExpirationTime"],
            capabilities=tuple(capabilities),
        )

    def send_event(self, room: str, name: str, attributes: dict[str, str]) -> None:
        self._call(
            "SendEvent",
            self._client.send_event,
            roomIdentifier=room,
            eventName=validate_event_name(name),
            attributes=dict(attributes),
        )

    def disconnect_user(self, room: str, user_id: str, reason: str) -> None:
        self._call(
            "DisconnectUser",
            self._client.disconnect_user,
            gone_is_ok=True,
            roomIdentifier=room,
            userId=user_id,
            reason=reason,
        )

    def list_rooms(self) -> list[tuple[str, str, int]]:
        """This app's rooms (tagged like the ones it creates): (arn, space_id, created_at)."""
        found, token = [], None
        while True:
            params: dict[str, Any] = {"maxResults": 50, **({"nextToken": token} if token else {})}
            page = self._call("ListRooms", self._client.list_rooms, **params)
            for room in page.get("rooms", []):
                tags = room.get("tags") or {}
                if "space_id" in tags and all(tags.get(k) == v for k, v in self._tags.items()):
                    found.append((room["arn"], tags["space_id"], int(tags.get("created_at", "0") or 0)))
            token = page.get("nextToken")
            if not token:
                return found

    @staticmethod
    def _call(operation: str, method, *, gone_is_ok: bool = False, **params: Any):
        gone = (NOT_FOUND,) if gone_is_ok else ()
        return aws_call("IVS Chat", operation, method, code=ROOM_EVENTS_UNAVAILABLE, tolerate=gone, **params)
