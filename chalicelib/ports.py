"""The values that cross the ports: frozen Structs and exceptions, real classes every layer uses.

The ports themselves (the Protocol classes services depend on and adapters implement) are in
`chalicelib/port_protocols.py`, which imports these values: the dependency goes one way only, so
a Lambda that needs just these values never builds the Protocol classes.

Values that belong to one area's port live in that area's domain module, so a cold start builds
only the ones it uses: payments in `domain/payments.py`, the replay store's and transcription's
answers in `domain/replays.py`, the media queue's calls in `domain/media_queue.py`."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from msgspec import Struct

from chalicelib.domain.paging import DEFAULT_LIMIT, MAX_LIMIT
from chalicelib.domain.people import Listener as Listener  # noqa: F401 (a value the participants port returns)


class Refused(Exception):
    """A repository's conditional write was refused. `part` names the condition that failed
    (e.g. "state", "space", "participant", "request"); the service turns it into the precise
    domain error, re-reading only on this failure path."""

    def __init__(self, part: str):
        super().__init__(part)
        self.part = part
        # What the refused write found, when the caller needs it (a ticket purchase refused
        # because the buyer holds one: that ticket).
        self.ticket: Any = None


class MediaToken(Struct, frozen=True):
    """A participant token for a Space's stage, and what it allows."""

    token: str
    participant_id: str
    expires_at: datetime
    allow_publish: bool
    allow_subscribe: bool


class ChatToken(Struct, frozen=True):
    """Credentials for one user's connection to a Space's chat room (IVS Chat CreateChatToken)."""

    token: str
    token_expires_at: datetime  # connect before this
    session_expires_at: datetime  # the connection ends at this time; ask for a new token
    capabilities: tuple[str, ...]


class RoomEvent(Struct, frozen=True):
    """One event as the local event log stores it (GET /spaces/{id}/events)."""

    seq: int
    name: str
    attributes: dict[str, str]
    sent_at: datetime


class Participant(Struct, frozen=True):
    """One user's place in one Space, as the participants table keeps it."""

    space_id: str
    user_id: str
    role: str
    connected: bool
    participant_id: str | None = None
    removed: bool = False
    hand_raised_at: datetime | None = None
    # Connected to the overflow channel (a playback URL), not to the stage.
    playback: bool = False
    # The host blocked this user while the Space was live (joins refused while set).
    blocked: bool = False
    # Joined incognito: counted, in no list of people, until they raise a hand or go on stage.
    incognito: bool = False


class JoinOutcome(Struct, frozen=True):
    """What a join wrote: the participant, and whether this call connected them."""

    participant: Participant
    newly_connected: bool


# --------------------------------------------------------------------------- reminders and pushes


class EndpointGone(Exception):
    """The push service says this device endpoint is disabled or deleted: forget the device."""


# A list page's last key as plain values (strings, whole numbers): what a repository returns and
# takes back, and what the API seals into an opaque cursor (chalicelib/api/pages.py).
PageKey = dict[str, Any]


class PageCursor:
    """A list page as asked for: where it starts, how many entries it holds, and how its
    `next_cursor` is written, for a use case that lists.

    The cursor is opaque on the wire (chalicelib/api/pages.py signs and checks it); a use case
    sees only plain values: `after(shape)` the previous page's last key, a dict with exactly
    `shape`'s names and types (str or int; None on the first page), called after the use case's permission checks so a refusal
    comes before a bad cursor; `seal(values)` the cursor for the page's last key (None: no more).
    `limit(default, maximum)` the page's size (the `limit` parameter, domain/paging.py), also
    read after the permission checks.
    This base class is the first page of the default size with no way on, for callers that want
    only that."""

    def after(self, shape: dict[str, type]) -> dict[str, Any] | None:
        return None

    def limit(self, default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT) -> int:
        return default

    def seal(self, values: dict[str, Any] | None) -> str | None:
        return None


FIRST_PAGE = PageCursor()
