"""The interfaces services depend on. Adapters implement them; only bootstrap knows both."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from chalicelib.domain.reminders import PushMessage  # noqa: F401  (part of the push port)
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

    def list_stages(self) -> list[tuple[str, str, int]]:
        """This app's stages: (arn, space_id, created_at epoch seconds)."""


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
    def get(self, user_id: str, now: datetime, *, with_history: bool = True) -> User: ...

    def follow(self, follower_id: str, followee_id: str, now: datetime) -> bool:
        """True when the edge was created, False when it already existed. Counts stay exact."""

    def unfollow(self, follower_id: str, followee_id: str) -> bool: ...


# --------------------------------------------------------------------------- reminders and pushes


class EndpointGone(Exception):
    """The push service says this device endpoint is disabled or deleted: forget the device."""


class PushPort(Protocol):
    """Mobile push (SNS platform endpoints over APNs and FCM)."""

    def create_endpoint(self, platform: str, token: str, user_id: str) -> str:
        """The endpoint ARN for a device token; the same token gives the same endpoint."""

    def delete_endpoint(self, endpoint_arn: str) -> None:
        """Delete an endpoint; one already gone is not an error."""

    def publish(self, endpoint_arn: str, platform: str, message: PushMessage) -> None:
        """Send one push. Raises EndpointGone, or DependencyFailed (throttled, 5xx, timeout)."""


class SchedulerPort(Protocol):
    """One-time schedules that deliver a JSON payload to the app's fan-out queue."""

    def put_one_time(self, name: str, at: datetime, payload: dict) -> None:
        """Create the schedule, or move it if it exists. `at` is UTC."""

    def delete(self, name: str) -> None:
        """Delete a schedule; one already gone (fired, or never made) is not an error."""


class QueuePort(Protocol):
    def send_batch(self, bodies: list[dict]) -> None:
        """Enqueue JSON bodies, 10 per SendMessageBatch; entries that fail are retried, and
        DependencyFailed is raised if some still fail."""
