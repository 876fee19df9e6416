"""People in a Space as the answers show them (docs/people.md): who is on stage, who asked to
speak, who listens, each with the profile a page shows, and what incognito listening hides.

The use cases (services/stage.py, services/people.py) return these; api/views.py turns them into
the wire's shape. No AWS, no wire names here.
"""
from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from msgspec import Struct, field

from chalicelib.domain.room_events import RoomWay
from chalicelib.domain.spaces import Space
from chalicelib.domain.users import Profile

# One BatchGetItem of profiles per answer: DynamoDB's limit, and the largest page of people.
MAX_PROFILES_PER_ANSWER = 100

# Why a join asked incognito is not (the join still connects, as a listener everyone sees).
INCOGNITO_OFF = "incognito_off"  # the host turned incognito listening off for this Space
INCOGNITO_ON_STAGE = "on_stage"  # hosts, co-hosts and speakers are always shown
INCOGNITO_ALREADY_CONNECTED = "already_connected"  # a heartbeat keeps the choice made when connecting


def profile_ids(*groups: list[str]) -> list[str]:
    """The ids whose profiles an answer reads: each once, in the order given, at most
    MAX_PROFILES_PER_ANSWER (the rest are shown by id only; only a Space with a hundred raised
    hands reaches it)."""
    return list(dict.fromkeys(uid for group in groups for uid in group))[:MAX_PROFILES_PER_ANSWER]


class Standing(Struct, frozen=True):
    """The caller's place in a Space (GET /participants' `me`)."""

    user_id: str
    role: str
    connected: bool
    removed: bool
    hand_raised: bool
    invited: bool
    incognito: bool = False


class StagePeople(Struct, frozen=True):
    """GET /spaces/{id}/participants: the Space as read (with its counts), the raised hands
    (`requests`, only for moderators: (user_id, raised_at)), their number, the caller's
    standing, and the profiles of everyone named."""

    space: Space
    request_count: int
    requests: list[tuple[str, datetime]] | None
    me: Standing
    profiles: dict[str, Profile] = field(default_factory=dict)
    moderator: bool = False


class StageMedia(Struct, frozen=True):
    """A participant token for the Space's stage: whether it may publish (send audio), when it
    expires, and where to connect (`endpoints`, named as the media port names them)."""

    kind: ClassVar[str] = "stage"
    stage_arn: str
    participant_id: str
    token: str
    expires_at: datetime
    publish: bool
    endpoints: dict[str, str]


class PlaybackMedia(Struct, frozen=True):
    """An overflow listener's media: the private channel's playback URL (without the token) and
    the playback token signed for them; no stage."""

    kind: ClassVar[str] = "playback"
    playback_url: str
    participant_id: str
    token: str
    expires_at: datetime


class Joined(Struct, frozen=True):
    """A join's answer: the role, the media credentials (`media`: the stage's token, or an
    overflow listener's playback), presence and room-events hints, and how incognito went."""

    space_id: str
    role: str
    media: StageMedia | PlaybackMedia
    heartbeat_interval_seconds: int
    events: RoomWay
    recording_consent_required: bool = False
    incognito: bool = False
    # Set when the caller asked for incognito and did not get it (INCOGNITO_OFF, INCOGNITO_ON_STAGE).
    incognito_refused: str | None = None
    # Accepting an invitation says whether the Space is recorded; a join does not (None).
    recording: bool | None = None


class HandChange(Struct, frozen=True):
    """Raising or lowering one's hand: where it is now, and whether this call moved it."""

    space_id: str
    hand_raised: bool
    changed: bool


class Invitation(Struct, frozen=True):
    """An invitation to speak a moderator just made: to whom, whether it answered a raised hand,
    and the Space as read after it."""

    space_id: str
    user_id: str
    approved_request: bool
    space: Space


class Listener(Struct, frozen=True):
    """One entry of a Space's listener list (a listener connected and not incognito)."""

    user_id: str
    joined_at: datetime


class ListenerPage(Struct, frozen=True):
    """One page of GET /spaces/{id}/listeners."""

    space_id: str
    listeners: list[Listener]
    profiles: dict[str, Profile]
    next_cursor: str | None
    participant_count: int
    incognito_count: int | None  # moderators only
