"""Room events: what the backend tells every client of a live Space, and who may do what in its
chat room. Imports nothing from AWS.

One room per live Space (IVS Chat in AWS stages, a DynamoDB-backed log under `make run`). The
backend sends one event per real state change, named below, with a small string-to-string map of
attributes (IVS Chat's SendEvent limit: name ≤ 100 characters, attributes ≤ 1 KB). Events are
best-effort: clients re-sync with GET /spaces/{id}/participants (docs/room-events.md).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from msgspec import Struct

from chalicelib.domain.spaces import COHOST, HOST

# Every event name the backend sends. Clients ignore names they do not know.
HAND_RAISED = "hand_raised"
HAND_LOWERED = "hand_lowered"
SPEAKER_INVITED = "speaker_invited"
INVITATION_DECLINED = "invitation_declined"
SPEAKER_ADDED = "speaker_added"
SPEAKER_REMOVED = "speaker_removed"
COHOST_ADDED = "cohost_added"
COHOST_REMOVED = "cohost_removed"
MUTED = "muted"
UNMUTED = "unmuted"
PARTICIPANT_REMOVED = "participant_removed"
SPACE_UPDATED = "space_updated"
SPACE_ENDED = "space_ended"
REACTION = "reaction"
# Reserved for the recording issue: sent when recording starts or stops (see
# services/room_events.recording_state_changed). Nothing sends it yet.
RECORDING_STATE = "recording_state"
CAPTION = "caption"
POST_PINNED = "post_pinned"  # url, text, by: the Space's pinned post (domain/pinned.py)
POST_UNPINNED = "post_unpinned"  # by

EVENT_NAMES = (
    HAND_RAISED,
    HAND_LOWERED,
    SPEAKER_INVITED,
    INVITATION_DECLINED,
    SPEAKER_ADDED,
    SPEAKER_REMOVED,
    COHOST_ADDED,
    COHOST_REMOVED,
    MUTED,
    UNMUTED,
    PARTICIPANT_REMOVED,
    SPACE_UPDATED,
    SPACE_ENDED,
    REACTION,
    RECORDING_STATE,
    CAPTION,
    POST_PINNED,
    POST_UNPINNED,
)

MAX_EVENT_NAME = 100
MAX_ATTRIBUTES_BYTES = 1024

# IVS Chat token capabilities. Viewing messages and events needs none.
SEND_MESSAGE, DELETE_MESSAGE, DISCONNECT_USER = "SEND_MESSAGE", "DELETE_MESSAGE", "DISCONNECT_USER"
MAX_CHAT_SESSION_MINUTES = 180  # CreateChatToken sessionDurationInMinutes: 1..180

# The reactions a client may send: a small fixed set, so a reaction is never free text.
REACTIONS = ("❤️", "😂", "😮", "😢", "👏", "🔥", "💯", "🙏", "👍", "👎")


def chat_capabilities(role: str, *, incognito: bool = False) -> list[str]:
    """Everyone in the room may send (reactions); hosts and co-hosts also moderate the chat. A
    listener who listens incognito may not send: IVS Chat shows every message with its sender's
    id, so they react with POST /reactions, whose event does not name them (`reaction_attributes`)."""
    if role in (HOST, COHOST):
        return [SEND_MESSAGE, DELETE_MESSAGE, DISCONNECT_USER]
    return [] if incognito else [SEND_MESSAGE]


def reaction_attributes(user_id: str, emoji: str, *, incognito: bool) -> dict[str, str]:
    """A `reaction` event's attributes: who and what, except that a listener who listens
    incognito is not named (counted, in no list of people, and not in the reaction feed either:
    docs/people.md)."""
    return event_attributes(user_id=None if incognito else user_id, emoji=emoji)


def event_attributes(**attrs: object) -> dict[str, str]:
    """An event's attributes as SendEvent takes them: strings only, None dropped, ≤ 1 KB.

    The attributes are ids and short codes the backend chose, so going over the limit is a bug
    here, not something to trim silently.
    """
    out: dict[str, str] = {}
    for key, value in attrs.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        out[key] = str(value)
    size = sum(len(k.encode()) + len(v.encode()) for k, v in out.items())
    if size > MAX_ATTRIBUTES_BYTES:
        raise ValueError(f"event attributes are {size} bytes; IVS Chat allows {MAX_ATTRIBUTES_BYTES}")
    return out


def validate_event_name(name: str) -> str:
    if not name or len(name) > MAX_EVENT_NAME:
        raise ValueError(f"event name {name!r} must be 1..{MAX_EVENT_NAME} characters")
    return name


# ------------------------------------------------------------------ what the use cases answer
# (shown on the wire by chalicelib/api/events.py)


class RoomWay(Struct, frozen=True):
    """Where a client gets a Space's room events (the join answer's `events`): the transport,
    the token route, and `region` (IVS Chat) or `url` (a chat endpoint of the stage's own, or the
    local event log)."""

    transport: str
    token_url: str
    region: str | None = None
    url: str | None = None


class ChatAccess(Struct, frozen=True):
    """Chat credentials for one user's connection to a Space's room, and where to connect:
    `region` on IVS Chat, `url` for a chat endpoint of the stage's own (or the local event log)."""

    space_id: str
    transport: str
    room_arn: str
    role: str
    token: str
    token_expires_at: datetime
    session_expires_at: datetime
    capabilities: tuple[str, ...]
    region: str | None = None
    url: str | None = None


class Reaction(Struct, frozen=True):
    """A reaction sent to a live Space's room."""

    space_id: str
    emoji: str


class ChatMessage(Struct, frozen=True):
    """A message a client sent straight to a Space's IVS Chat room, as the room's review handler
    receives it (read from IVS's payload by chalicelib/jobs/chat.py)."""

    room: str
    user_id: str
    content: str
    attributes: dict[str, Any] = {}


class ChatVerdict(Struct, frozen=True):
    """Whether a chat message goes through: denied for a `reason` ("invalid_message",
    "rate_limited"), with how long the sender should wait when rate limited."""

    allowed: bool
    reason: str | None = None
    retry_after_ms: int | None = None


INVALID_MESSAGE = ChatVerdict(False, "invalid_message")
