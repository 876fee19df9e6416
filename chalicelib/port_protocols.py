"""The ports: the interfaces services depend on, as Protocol classes. Adapters implement them;
only bootstrap knows both. The values that cross them (dataclasses, exceptions) are in
`chalicelib/ports.py`.

Services and `Deps` are typed with these, and the type checker (mypy.ini, tests/unit/test_types.py)
holds the adapters that bootstrap wires to them. They are real classes, importable at run time
(`from chalicelib.ports import MediaPort` works too), but nothing on a request path imports this
module: building Protocol classes costs a few milliseconds, so the modules that use them only
as annotations import them under TYPE_CHECKING.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.ports import (
    ChatToken,
    CompositionStatus,
    JoinOutcome,
    MediaToken,
    Participant,
    Payment,
    PaymentEvent,
    PresignedUrl,
    RecordingHandle,
    RemuxStatus,
    RenewalHandle,
    RoomEvent,
    TranscriptionStatus,
)

if TYPE_CHECKING:  # annotations only
    from chalicelib.domain.blocked_filter import FilterShape, Slot
    from chalicelib.domain.reminders import PushMessage
    from chalicelib.domain.spaces import Listing, OverflowInfo, Space, SpaceRules, StageInfo
    from chalicelib.domain.users import User


class Clock(Protocol):
    def now(self) -> datetime: ...


class MediaPort(Protocol):
    """The media plane (IVS real-time stages)."""

    def create_stage(self, space_id: str) -> StageInfo:
        """Provision a stage for a Space. May raise DependencyFailed."""

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

    # Recording (docs/recording.md): one server-side composition of the stage's publishers,
    # written to the recordings bucket.

    def start_recording(self, space_id: str, stage_arn: str) -> RecordingHandle:
        """Start recording a stage. May raise DependencyFailed, or RuleViolation
        `recording_not_available` when this deployment has no recording configured."""

    def stop_recording(self, composition_arn: str) -> str | None:
        """Stop a recording; returns the S3 prefix it was written under when the media service
        can still tell (None otherwise). A recording already stopped is not an error."""

    def recording_status(self, composition_arn: str) -> CompositionStatus:
        """Whether a recording's composition still runs (IVS stops one on its own a minute
        without publishers, or on a failure), and its S3 prefix when IVS still reports it.
        May raise DependencyFailed."""

    def restart_recording(self, space_id: str, stage_arn: str, restart: int) -> RecordingHandle:
        """Start another composition of the stage into the recordings bucket (a new segment,
        under the new prefix IVS gives every composition), idempotent per (Space, `restart`).
        May raise DependencyFailed."""


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


# --------------------------------------------------------------------------- the Space aggregate
#
# One repository per consistency boundary (adapters/dynamodb/spaces.py, participants.py,
# stage_members.py, overflow_claims.py, listings.py; in-memory fakes in tests/fakes/, held to the
# same contract by tests/integration/test_space_repositories_contract.py). A write whose condition
# fails raises Refused(part): the part names which rule refused it; services turn it into the
# precise domain error. Every other failure of the database raises DependencyFailed.

PageKey = dict[str, Any]  # a page's last key as plain values (str, int); the API seals it


class SpaceRepository(Protocol):
    """The Space's lifecycle: create, read, transitions, edits."""

    def get(self, space_id: str, *, with_count: bool = True) -> Space:
        """The Space, with its participant (live only) and subscriber counts unless
        `with_count=False`. NotFound `space_not_found`."""

    def get_with_participant(self, space_id: str, user_id: str) -> tuple[Space, Participant | None]:
        """The Space (without counts) and one user's participant, in one round trip."""

    def landed(self, space: Space) -> bool | None:
        """After a write whose answer was lost: is the Space stored in the state and on the
        stage that write gave it? None when even a consistent read fails."""

    def create(
        self,
        space: Space,
        *,
        max_scheduled: int,
        blocked_filter: tuple[bytes | None, int | None] = (None, None),
    ) -> None:
        """Store a new Space with its host and co-host participants and its listings.
        Refused: "exists", "host_busy" (live: the host is live elsewhere), "too_many_scheduled"
        (the host has `max_scheduled`), "blocks" (the host's blocked filter changed)."""

    def start(
        self,
        space: Space,
        stage: StageInfo,
        now: datetime,
        *,
        room_arn: str | None = None,
        blocked_filter: tuple[bytes | None, int | None] = (None, None),
    ) -> None:
        """scheduled -> live on `stage`. Refused "state", "host_busy" or "blocks"."""

    def end(self, space: Space, now: datetime) -> None:
        """live -> ended; its media is then pending release. Refused "state"."""

    def cancel(self, space: Space, now: datetime) -> None:
        """scheduled -> canceled. Refused "state"."""

    def update_details(self, before: Space, after: Space) -> None:
        """Title, topics, scheduled start (and the listings with them). Refused "state"."""

    def release_pending(self, limit: int = 50) -> list[tuple[str, str]]:
        """Ended Spaces whose stage still needs deleting: (space_id, stage_arn)."""

    def release_pending_media(self, limit: int = 50) -> list[tuple[str, str | None, str | None]]:
        """Ended Spaces whose stage or room still needs deleting: (space_id, stage_arn, room_arn)."""

    def mark_media_released(self, space_id: str) -> None: ...


class ParticipantRepository(Protocol):
    """Who is in a Space: joins, leaves, presence, blocks and removals."""

    def get_participant(self, space_id: str, user_id: str, *, consistent: bool = False) -> Participant | None: ...

    def shard_for(self, user_id: str) -> int:
        """The counter and presence shard of a user."""

    def fold_count_records(self, records: list[dict[str, Any]]) -> int:
        """Move the participant counters by the participant changes a stream batch shows."""

    def join(
        self,
        space_id: str,
        user_id: str,
        *,
        known: Participant | None,
        participant_id: str,
        now: datetime,
        host_id: str | None = None,
        check_block: bool = True,
        needs_pass: str | None = None,
        playback: bool = False,
    ) -> JoinOutcome:
        """Connect a user (`known`: the participant as read, or None as a guess that they are
        new). Refused: "removed", "blocked" (by `host_id`), "no_pass" (`needs_pass` "ticket"
        or "subscription" missing), "changed" (the item kept changing under a reconnect).
        `playback`: a listener who connects now takes the overflow channel."""

    def leave(
        self, space_id: str, user_id: str, now: datetime, *, if_last_seen: int | None = None
    ) -> Participant | None:
        """Disconnect a user (a speaker steps off the stage); returns the participant as it was.
        `if_last_seen`: only if not seen since. Refused "changed"."""

    def stale_participants(self, space_id: str, cutoff: datetime, limit: int = 500) -> list[tuple[str, int]]:
        """Connected participants not seen since `cutoff`: [(user_id, last_seen epoch)]."""

    def mark_blocked(self, space_id: str, user_id: str, now: datetime) -> None:
        """The host blocked `user_id` during the Space: no join of theirs succeeds from now on."""

    def clear_blocked(self, space_id: str, user_id: str) -> None: ...

    def remove_participant(
        self, space_id: str, user_id: str, by: str, current: Participant | None, now: datetime
    ) -> None:
        """Ban a user: off the stage, disconnected, never let back in. Refused "changed" when
        the participant is no longer `current`."""


class StageMemberRepository(Protocol):
    """Who is on a live Space's stage: hands, invitations, speakers, co-hosts, mutes.
    Refused parts: "space" (the Space is not live, or the user's stage place is not as the
    call needs), "participant" (not connected, removed, or not a listener), "request"."""

    def pending_requests(self, space_id: str, limit: int = 100) -> list[tuple[str, datetime]]:
        """Raised hands: (user_id, raised_at), in user id order."""

    def raise_hand(self, space_id: str, user_id: str, now: datetime) -> bool:
        """True when the hand went up, False when it was already up."""

    def lower_hand(self, space_id: str, user_id: str) -> bool: ...

    def invite(self, space_id: str, user_id: str, now: datetime) -> None: ...

    def approve_request(self, space_id: str, user_id: str, now: datetime) -> None:
        """Answer a raised hand with an invitation; of two answers exactly one wins (the other
        is Refused "request")."""

    def accept_invitation(
        self,
        space_id: str,
        user_id: str,
        participant_id: str,
        now: datetime,
        *,
        rules: SpaceRules,
        consent_at: datetime | None = None,
    ) -> None:
        """Invited -> speaker, within `rules.max_on_stage`; a recorded Space needs the user's
        recording consent (given now as `consent_at`, or before)."""

    def decline_invitation(self, space_id: str, user_id: str, now: datetime) -> bool: ...

    def step_down(self, space_id: str, user_id: str, from_role: str, now: datetime) -> None:
        """A speaker or co-host goes back to listening."""

    def add_cohost(self, space_id: str, user_id: str, *, was_speaker: bool, now: datetime, rules: SpaceRules) -> None:
        """Make a user a co-host, within `rules.max_cohosts` and (from the audience)
        `rules.max_on_stage`."""

    def set_muted(self, space_id: str, user_id: str, muted: bool, now: datetime) -> bool:
        """True when the mute state changed, False when it already was as asked."""


class OverflowClaimRepository(Protocol):
    """A live Space's overflow audience: the claim to start it, and what it is once started."""

    def claim_overflow(self, space_id: str, now: datetime, *, lease_seconds: int) -> bool:
        """Of any number of callers exactly one gets True (a claim older than `lease_seconds`
        may be taken again). False when the Space is not live or is claimed."""

    def set_overflow(self, space_id: str, info: OverflowInfo) -> None:
        """Record the started overflow (and flag the live listing). Refused "state"."""

    def replace_overflow_composition(self, space_id: str, old_arn: str, new_arn: str, restarts: int) -> None:
        """Refused "state" when the Space ended or another run replaced `old_arn` first."""

    def release_overflow_claim(self, space_id: str) -> None:
        """Give a failed start back, so the next run retries it."""

    def release_pending_overflows(self, limit: int = 50) -> dict[str, OverflowInfo]:
        """Ended Spaces pending media release whose overflow channel may still exist."""


class ListingRepository(Protocol):
    """The Spaces tab: discovery lists in rank order, and title search."""

    def discovery_page(
        self, list_key: str, *, ascending: bool, limit: int, after: PageKey | None
    ) -> tuple[list[Listing], PageKey | None]:
        """One page of a list (`live`, `scheduled`, `<state>#topic#<t>`, `<state>#host#<id>`)."""

    def discovery_window(self, list_key: str, *, max_items: int, rank_below: int | None = None) -> list[Listing]:
        """A whole list (or its ranks below `rank_below`), in rank order, up to `max_items`."""

    def search_page(
        self, state: str, word: str, *, limit: int, after: PageKey | None
    ) -> tuple[list[Listing], PageKey | None]:
        """Spaces of `state` with a title word starting with `word`."""

    def live_space_ids(self) -> list[str]: ...

    def refresh_live_ranks(
        self, counts_out: dict[str, int] | None = None, overflowing_out: set[str] | None = None
    ) -> int:
        """Copy each live Space's participant count into its listings' rank; returns how many
        listings changed. `counts_out` receives every live Space's count, `overflowing_out` the
        live Spaces whose overflow is on."""


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

    def put_one_time(self, name: str, at: datetime, payload: dict[str, Any]) -> None:
        """Create the schedule, or move it if it exists. `at` is UTC."""

    def delete(self, name: str) -> None:
        """Delete a schedule; one already gone (fired, or never made) is not an error."""


class QueuePort(Protocol):
    def send_batch(self, bodies: list[dict[str, Any]]) -> None:
        """Enqueue JSON bodies, 10 per SendMessageBatch; entries that fail are retried, and
        DependencyFailed is raised if some still fail."""


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


class TranscriptionPort(Protocol):
    """Batch speech-to-text of a recording (Amazon Transcribe) into WebVTT subtitles."""

    def start(self, job_name: str, media_key: str, output_key: str, language: str) -> None:
        """Start a job on an object of the recordings bucket; subtitles go next to `output_key`.
        Starting a job that already exists is not an error (a retried landing)."""

    def status(self, job_name: str) -> TranscriptionStatus: ...


class RemuxPort(Protocol):
    """Remuxes a recording (its segments' HLS playlists in the recordings bucket) into ONE audio file in the
    same bucket (AWS Elemental MediaConvert in AWS stages; a placeholder writer locally), so a
    single presigned URL plays the replay and Transcribe can read it.

    Failures of the outside system raise DependencyFailed(code="remux_unavailable").
    """

    configured: bool  # False: this deployment cannot remux, so it must not record

    def start(self, name: str, source_keys: list[str], output_key: str) -> str:
        """Start remuxing `source_keys`, one after the other in this order, into `output_key`
        (ends in .m4a); returns the job id.
        `name` identifies the attempt: starting the same name again soon after returns the same
        job (a retried landing)."""

    def status(self, job_id: str) -> RemuxStatus:
        """Where a job is. A job the service does not know is ERROR."""
