"""The ports: the interfaces services depend on, as Protocol classes. Adapters implement them;
only bootstrap knows both. The values that cross them (frozen Structs, exceptions) are in
`chalicelib/ports.py`. The Space aggregate's repositories are declared in `chalicelib/space_ports.py`,
the other repositories in `chalicelib/repository_ports.py`; all are importable from here.

Services and `Deps` are typed with these, and the type checker (mypy.ini, tests/unit/test_types.py)
holds the adapters that bootstrap wires to them. They are real classes, importable at run time
(`from chalicelib.port_protocols import MediaPort`), but nothing on a request path imports this
module: building Protocol classes costs a few milliseconds, so the modules that use them only
as annotations import them under TYPE_CHECKING.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from msgspec import Struct

from chalicelib.domain.payments import Payment, PaymentEvent, RenewalHandle
from chalicelib.domain.replays import PresignedUrl, TranscriptionStatus
from chalicelib.ports import ChatToken, MediaToken, RoomEvent
from chalicelib.repository_ports import AnalyticsRepository as AnalyticsRepository
from chalicelib.repository_ports import DeviceRepository as DeviceRepository
from chalicelib.repository_ports import MediaQueuePort as MediaQueuePort
from chalicelib.repository_ports import PushClaims as PushClaims
from chalicelib.repository_ports import RateLimits as RateLimits
from chalicelib.repository_ports import RecordingRepository as RecordingRepository
from chalicelib.repository_ports import ReminderRepository as ReminderRepository
from chalicelib.repository_ports import RoomPool as RoomPool
from chalicelib.repository_ports import StagePool as StagePool
from chalicelib.repository_ports import SubscriptionRepository as SubscriptionRepository
from chalicelib.repository_ports import TicketRepository as TicketRepository
from chalicelib.space_ports import AppealRepository as AppealRepository
from chalicelib.space_ports import ListingRepository as ListingRepository
from chalicelib.space_ports import ModerationLogRepository as ModerationLogRepository
from chalicelib.space_ports import OverflowClaimRepository as OverflowClaimRepository
from chalicelib.space_ports import ParticipantRepository as ParticipantRepository
from chalicelib.space_ports import ReportRepository as ReportRepository
from chalicelib.space_ports import SpaceRepository as SpaceRepository
from chalicelib.space_ports import StageMemberRepository as StageMemberRepository

if TYPE_CHECKING:  # annotations only
    from chalicelib.domain.blocked_filter import FilterShape, Slot
    from chalicelib.domain.replay_landing import Track
    from chalicelib.domain.reminders import PushMessage
    from chalicelib.domain.spaces import OverflowInfo, StageInfo
    from chalicelib.domain.commands.people import EditProfile
    from chalicelib.domain.users import Profile, User


# What a queue or a schedule carries: a typed message (chalicelib/domain/messages.py), or a
# plain JSON object (the sandbox payment provider's outbox). Both travel as a JSON object.
Message = Struct | dict[str, Any]


class Clock(Protocol):
    def now(self) -> datetime: ...


class MediaPort(Protocol):
    """The media plane (IVS real-time stages)."""

    def create_stage(self, space_id: str, *, record: bool = False) -> StageInfo:
        """Provision a stage for a Space. `record`: with individual participant recording of
        every publisher's audio into the recordings bucket (docs/recording.md). May raise
        DependencyFailed, or RuleViolation `recording_not_available` when this deployment has
        no recording configured."""

    def delete_stage(self, stage_arn: str) -> None:
        """Delete a stage (disconnects everyone). Deleting a stage already gone succeeds."""

    def disconnect_participant(self, stage_arn: str, participant_id: str, reason: str) -> None:
        """Disconnect one participant. A participant already gone is not an error."""

    def endpoints(self, stage: StageInfo) -> dict[str, str]:
        """What a client connects to, for the join's `media` (no call made): IVS gives `whip`
        and `events`; the local media server `whip` and `whep` (docs/media.md)."""

    def list_stages(self) -> list[tuple[str, str, int]]:
        """This app's stages: (arn, space_id, created_at epoch seconds)."""

    def start_overflow(self, space_id: str, stage_arn: str) -> OverflowInfo:
        """Compose the stage into a new low-latency channel for overflow listeners (CreateChannel,
        then StartComposition with the Space id as idempotency token). If the composition cannot
        start, the channel is deleted again. May raise DependencyFailed."""

    def stop_overflow(self, info: OverflowInfo) -> None:
        """Stop the composition and delete the channel. Either already gone is success."""

    def list_overflow_channels(self) -> list[tuple[str, str, int]]:
        """This app's overflow channels: (arn, space_id, created_at epoch seconds)."""

    def overflow_running(self, info: OverflowInfo) -> bool:
        """Whether the overflow's composition still runs (IVS stops one on its own after a minute
        without publishers, or when broadcasting fails). May raise DependencyFailed."""

    def restart_overflow(self, space_id: str, stage_arn: str, info: OverflowInfo) -> str:
        """Compose the stage again into the overflow's existing channel (idempotency token: the
        Space id and `info.restarts + 1`); returns the new composition's ARN."""

    def revoke_playback(self, channel_arn: str, user_id: str) -> None:
        """Stop a user's playback of a private overflow channel and refuse their tokens
        (StartViewerSessionRevocation of the viewer id their tokens carry). May raise
        DependencyFailed."""


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
        attributes: dict[str, Any] | None = None,
    ) -> MediaToken: ...

    def mint_playback(self, channel_arn: str, *, user_id: str, now: datetime) -> tuple[str, datetime]:
        """A playback token for a private overflow channel: (token, expires_at)."""
        ...


class RoomEventsPort(Protocol):
    """A live Space's room: the channel the backend sends server events on (IVS Chat rooms in
    AWS stages; a DynamoDB-backed event log under `make run` and in tests).

    Every failure of the outside system raises DependencyFailed (code "room_events_unavailable").
    """

    def create_room(self, space_id: str) -> str:
        """Create the room of a Space; returns its identifier (an IVS Chat room ARN)."""

    def delete_room(self, room: str) -> None:
        """Delete a room. A room already gone is not an error."""

    def chat_token(
        self, room: str, user_id: str, *, capabilities: list[str], session_minutes: int, attributes: dict[str, str]
    ) -> ChatToken:
        """Credentials for `user_id` to connect to the room with these capabilities."""

    def send_event(self, room: str, name: str, attributes: dict[str, str]) -> None:
        """Send one server event to everyone in the room (name ≤ 100 chars, attributes ≤ 1 KB)."""

    def disconnect_user(self, room: str, user_id: str, reason: str) -> None:
        """Close every connection of `user_id` to the room. Nobody connected is not an error."""

    def list_rooms(self) -> list[tuple[str, str, int]]:
        """This app's rooms: (room, space_id, created_at epoch seconds), for the orphan sweep."""


class RoomEventLog(RoomEventsPort, Protocol):
    """The local stage's room events: a log clients read (GET /spaces/{id}/events) as well."""

    def read(self, room: str, after: int, limit: int) -> tuple[list[RoomEvent], int]:
        """Events after the cursor `after`, oldest first, and the next cursor."""

    def latest(self, room: str) -> int:
        """The cursor of the room's newest event."""


class Telemetry(Protocol):
    """Business metrics: one count per business event (SpaceStarted, ListenerJoined ...)."""

    def count(self, event: str, value: int = 1) -> None: ...


class UserRepository(Protocol):
    def get(self, user_id: str, now: datetime, *, with_history: bool = True) -> User: ...

    def follow(self, follower_id: str, followee_id: str, now: datetime) -> bool:
        """True when the edge was created, False when it already existed. Counts stay exact."""

    def unfollow(self, follower_id: str, followee_id: str) -> bool: ...

    def blockers_of(self, user_id: str) -> set[str]:
        """Everyone who blocked `user_id` (one Query)."""

    def blocked_filter(self, shape: FilterShape) -> dict[int, bytes]:
        """The "blocked by someone" filter's shards (domain/blocked_filter.py), one request."""

    def add_to_blocked_filter(self, slot: Slot, shape: FilterShape, *, host_id: str | None = None) -> bool:
        """Add a user to the "blocked by someone" filter, or to `host_id`'s own (a conditional
        write on their shard). May raise DependencyFailed."""

    def host_blocks_filter(self, host_id: str) -> tuple[bytes | None, int | None]:
        """`host_id`'s blocked-users filter and its version; (None, None) if they blocked nobody."""

    def live_space_of(self, user_id: str) -> str | None:
        """The Space `user_id` hosts live now, strongly consistent."""

    def block(self, blocker_id: str, blocked_id: str, now: datetime) -> bool:
        """True when newly blocked, False when already blocked."""

    def unblock(self, blocker_id: str, blocked_id: str) -> bool:
        """True when a block was removed, False when there was none."""

    def is_blocked(self, blocker_id: str, blocked_id: str) -> bool:
        """Has `blocker_id` blocked `blocked_id`? One read."""

    def followees(self, user_id: str, limit: int) -> list[str]:
        """Who `user_id` follows, at most `limit`."""

    # Profiles (docs/people.md), on the same items.
    def profile(self, user_id: str) -> Profile:
        """One read; an empty profile for a user never stored."""

    def profiles(self, user_ids: list[str]) -> dict[str, Profile]:
        """Up to 100 profiles in one request; every id asked for is in the answer."""

    def save_claims(self, user_id: str, name: str | None, picture: str | None) -> None:
        """Store the token's `name` / `picture` claims as now seen."""

    def edit_profile(self, user_id: str, edit: EditProfile) -> Profile:
        """The user's own name and avatar ("" clears one); returns the profile as stored."""


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

    def put_one_time(self, name: str, at: datetime, payload: Message) -> None:
        """Create the schedule, or move it if it exists. `at` is UTC; the payload is delivered
        as its JSON object."""

    def delete(self, name: str) -> None:
        """Delete a schedule; one already gone (fired, or never made) is not an error."""


class QueuePort(Protocol):
    def send_batch(self, bodies: Sequence[Message]) -> None:
        """Enqueue messages as JSON objects, 10 per SendMessageBatch; entries that fail are
        retried, and DependencyFailed is raised if some still fail."""


class PaymentsPort(Protocol):
    """A payment provider (Stripe in AWS stages, the sandbox provider under `make run`).

    Every call that creates something takes an idempotency key: the same key gives the same
    payment or refund, so a retried request never charges or refunds twice.
    Failures of the provider itself (network, 5xx, rate limits) raise DependencyFailed.
    """

    name: str

    def create_payment(
        self,
        *,
        reference: str,
        amount_cents: int,
        currency: str,
        description: str,
        idempotency_key: str,
        payment_method: str | None = None,
        metadata: dict[str, Any] | None = None,
        save_for_renewal: bool = False,
        customer_id: str | None = None,
    ) -> Payment:
        """Create a payment to be confirmed by the app (client_secret), or confirmed at once
        when `payment_method` is given. Raises PaymentDeclined when that confirm is refused.
        With `save_for_renewal` the provider keeps the method for charge_renewal; the handle
        comes on the Payment and on the payment_succeeded event. With `customer_id` too (a
        past-due subscriber's new card), the method is saved on that existing customer instead
        of a new one."""

    def charge_renewal(
        self,
        handle: RenewalHandle,
        *,
        reference: str,
        amount_cents: int,
        currency: str,
        description: str,
        idempotency_key: str,
        metadata: dict[str, Any] | None = None,
    ) -> Payment:
        """Charge a saved method without the payer present. Raises PaymentDeclined when the
        provider refuses (a decline, or the payer must authenticate: they have to act);
        "pending" means the outcome comes by webhook."""

    def cancel_payment(self, payment_id: str) -> None:
        """Void a payment not yet captured. One already canceled, failed or unknown is not an
        error; one that already succeeded raises PaymentDeclined (refund it instead)."""

    def refund(self, payment_id: str, *, idempotency_key: str) -> str:
        """Refund a succeeded payment in full; returns the refund id. The same key returns the
        same refund."""

    def parse_webhook(self, payload: bytes, headers: dict[str, Any]) -> PaymentEvent | None:
        """Verify a webhook's signature and read its event. Raises InvalidWebhook; returns None
        for event types the app does not act on."""


class ReplayStorePort(Protocol):
    """The recordings bucket (S3). Failures raise DependencyFailed(code="storage_unavailable")."""

    def presign_get(self, key: str, expires_in: int) -> PresignedUrl:
        """A GET URL for one object, valid `expires_in` seconds (no request is made)."""

    def get_json(self, key: str) -> dict[str, Any] | None:
        """A JSON object's content; None when there is no such object."""

    def get_text(self, key: str) -> str | None: ...

    def put_text(self, key: str, text: str, content_type: str) -> None: ...

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under `prefix`; returns how many. Nothing there is not an error."""

    def get_bytes(self, key: str) -> bytes | None: ...

    def put_bytes(self, key: str, data: bytes, content_type: str, *, if_absent: bool = False) -> bool:
        """`if_absent`: write only if no object is there (False when one was)."""

    def list_keys(self, prefix: str, limit: int = 100_000) -> list[str]:
        """The keys under `prefix/`, in key order."""

    def delete_keys(self, keys: list[str]) -> int: ...


class TranscriptionPort(Protocol):
    """Batch speech-to-text of a recording (Amazon Transcribe) into WebVTT subtitles."""

    def start(self, job_name: str, media_key: str, output_key: str, language: str) -> None:
        """Start a job on an object of the recordings bucket; subtitles go next to `output_key`.
        Starting a job that already exists is not an error (a retried landing)."""

    def status(self, job_name: str) -> TranscriptionStatus: ...


class MixerPort(Protocol):
    """Mixes participant recordings (HLS in the recordings bucket) into ONE audio file in the
    same bucket, and cuts clips out of it (PyAV, in the landing job's process). Failures raise
    DependencyFailed(code="mix_unavailable")."""

    def mix(self, tracks: list[Track], output_key: str) -> int:
        """Mix `tracks` at their offsets into `output_key` (.m4a, written only if absent);
        returns its length in ms."""

    def cut(self, source_key: str, start_ms: int, duration_ms: int, output_key: str) -> int:
        """Cut a piece of the file at `source_key` into `output_key` (.m4a); its length in ms."""
