"""The interfaces services depend on. Adapters implement them; only bootstrap knows both."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from chalicelib.domain.spaces import Space, StageInfo
from chalicelib.domain.users import User


class Refused(Exception):
    """A repository's conditional write was refused. `part` names the condition that failed
    (e.g. "state", "space", "participant", "request"); the service turns it into the precise
    domain error, re-reading only on this failure path."""

    def __init__(self, part: str):
        super().__init__(part)
        self.part = part


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True)
class MediaToken:
    token: str
    participant_id: str
    expires_at: datetime
    allow_publish: bool
    allow_subscribe: bool


class MediaPort(Protocol):
    """The media plane (IVS real-time stages)."""

    def create_stage(self, space_id: str) -> StageInfo:
        """Provision a stage for a Space. May raise DependencyFailed."""

    def delete_stage(self, stage_arn: str) -> None:
        """Delete a stage (disconnects everyone). Deleting a stage already gone succeeds."""

    def disconnect_participant(self, stage_arn: str, participant_id: str, reason: str) -> None:
        """Disconnect one participant. A participant already gone is not an error."""


class TokenMinter(Protocol):
    """Mints participant tokens in-process (no API call: CreateParticipantToken is capped at 50 TPS)."""

    def mint(
        self,
        stage: StageInfo,
        *,
        participant_id: str,
        user_id: str,
        publish: bool,
        now: datetime,
        attributes: dict | None = None,
    ) -> MediaToken: ...


@dataclass(frozen=True)
class Participant:
    space_id: str
    user_id: str
    role: str
    connected: bool
    participant_id: str | None = None
    removed: bool = False
    hand_raised_at: datetime | None = None


@dataclass(frozen=True)
class JoinOutcome:
    participant: Participant
    newly_connected: bool


class Telemetry(Protocol):
    """Business metrics: one count per business event (SpaceStarted, ListenerJoined ...)."""

    def count(self, event: str, value: int = 1) -> None: ...


class UserRepository(Protocol):
    def get(self, user_id: str, now: datetime) -> User: ...

    def follow(self, follower_id: str, followee_id: str, now: datetime) -> bool:
        """True when the edge was created, False when it already existed. Counts stay exact."""

    def unfollow(self, follower_id: str, followee_id: str) -> bool: ...
