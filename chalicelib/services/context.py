"""What every use case is given: its ports, the clock and the settings."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable

from chalicelib.config import Settings
from chalicelib.domain.spaces import SpaceRules
from chalicelib.domain.tickets import TicketRules
from chalicelib.domain.users import HostingRules

if TYPE_CHECKING:  # annotations only: the ports
    from chalicelib.port_protocols import (
        AnalyticsRepository, AppealRepository, Clock, DeviceRepository, ListingRepository, MediaPort, MediaQueuePort, MixerPort,
        ModerationLogRepository, OverflowClaimRepository, ParticipantRepository, PaymentsPort, PushClaims,
        PushPort, QueuePort, RateLimits, RecordingRepository, ReminderRepository, ReplayStorePort,
        ReportRepository, RoomEventsPort, RoomPool, SchedulerPort, SpaceRepository, StageMemberRepository,
        StagePool, SubscriptionRepository, Telemetry, TicketRepository, TokenMinter, TranscriptionPort,
        UserRepository,
    )


class SystemClock:
    def now(self) -> datetime:
        from chalicelib.domain.spaces import utcnow

        return utcnow()


class MediaCache:
    """Per-container memory of live Spaces' media details, so a warm join reads nothing.

    Entries live `ttl_seconds`; ending a Space in this container drops its entry at once. Another
    container may serve a join for up to `ttl_seconds` after an end: that join gets a token for a
    deleted stage, which connects to nothing.
    """

    def __init__(self, ttl_seconds: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl_seconds
        self._monotonic = monotonic
        self._entries: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, space_id: str) -> Any:
        """What `put` stored for this Space, while fresh; else None."""
        with self._lock:
            entry = self._entries.get(space_id)
            if entry is None:
                return None
            if entry[0] <= self._monotonic():
                del self._entries[space_id]
                return None
            return entry[1]

    def put(self, space_id: str, value: Any) -> None:
        if self._ttl <= 0:
            return
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[space_id] = (self._monotonic() + self._ttl, value)

    def drop(self, space_id: str) -> None:
        with self._lock:
            self._entries.pop(space_id, None)


class BlockersCache(MediaCache):
    """Per-container memory of who blocked whom, for discovery (a block shows there within the
    TTL; joins check blocks in the database on every call)."""


# The default of a port a caller does not need (tests, jobs): None at run time. Typed Any so the
# field keeps its port's type: services use the ports their callers wire.
NOT_WIRED: Any = None


class NullTelemetry:
    def count(self, event: str, value: int = 1) -> None:
        return None


@dataclass(eq=False, repr=False)  # ~50 fields: nothing compares or prints Deps (each method is compiled at import)
class Deps:
    """The ports, clock, settings and per-container caches a use case is given."""

    settings: Settings
    users: UserRepository
    # The Space aggregate, one repository per consistency boundary (chalicelib/port_protocols.py).
    spaces: SpaceRepository  # lifecycle: create, read, transitions, edits
    participants: ParticipantRepository  # joins, leaves, presence, blocks, removals
    stage_members: StageMemberRepository  # hands, invitations, speakers, co-hosts, mutes
    overflow_claims: OverflowClaimRepository  # the overflow audience's claim and state
    listings: ListingRepository  # the Spaces tab: discovery lists and search
    media: MediaPort
    tokens: TokenMinter
    clock: Clock = field(default_factory=SystemClock)
    telemetry: Telemetry = field(default_factory=NullTelemetry)
    media_cache: MediaCache = NOT_WIRED  # built in __post_init__ unless given
    # Reminders and pushes (None where a caller does not need them).
    reminders: ReminderRepository = NOT_WIRED
    devices: DeviceRepository = NOT_WIRED
    push_claims: PushClaims = NOT_WIRED
    push: PushPort = NOT_WIRED
    scheduler: SchedulerPort = NOT_WIRED
    fanout_queue: QueuePort = NOT_WIRED
    push_queue: QueuePort = NOT_WIRED
    sleep: Callable[[float], Any] = time.sleep  # backoff between publish attempts (tests pass a no-op)
    # Ticket sales and subscriptions (None where a caller does not need them).
    tickets: TicketRepository = NOT_WIRED
    payments: PaymentsPort = NOT_WIRED
    tickets_queue: QueuePort = NOT_WIRED  # refunds of canceled Spaces
    subscriptions: SubscriptionRepository = NOT_WIRED
    # Room events (None: an app wired without them; emit then sends nothing).
    room_events: RoomEventsPort = NOT_WIRED
    reactions: RateLimits = NOT_WIRED
    chat_limits: RateLimits = NOT_WIRED  # messages sent straight to IVS Chat
    # Recording, replays and captions (None where a caller does not need them).
    recordings: RecordingRepository = NOT_WIRED
    replays: ReplayStorePort = NOT_WIRED
    transcription: TranscriptionPort = NOT_WIRED
    mixer: MixerPort = NOT_WIRED  # participant recordings -> one replay file; clips
    # The IVS control plane (docs/capacity.md): ready stages a start claims, the queue of IVS
    # calls that can wait, and the media adapter whose IVS client gives way to requests (the
    # pool and queue jobs use it). None: starts call CreateStage and calls are made at once.
    stage_pool: StagePool | None = None
    media_queue: MediaQueuePort | None = None
    background_media: MediaPort | None = None
    # The same for IVS Chat rooms (CreateRoom/DeleteRoom: 5 TPS too): ready rooms a start claims
    # and the room events adapter whose client gives way to requests. None: starts call CreateRoom.
    room_pool: RoomPool | None = None
    background_room_events: RoomEventsPort | None = None
    # Until room events land, what services/recording.py `announce` would have told each room,
    # as (space_id, name, attributes), when a list is given here (tests); None in production.
    room_announcements: list[Any] | None = None
    # The moderation ledger's reads (docs/moderation.md); entries are written by the acts.
    moderation_log: ModerationLogRepository = NOT_WIRED
    appeals: AppealRepository = NOT_WIRED  # removed users' appeals, lifting a removal
    reports: ReportRepository = NOT_WIRED  # reports of Spaces and people, for operators
    # Host analytics (docs/analytics.md): listening sessions and counted events.
    analytics: AnalyticsRepository = NOT_WIRED

    # Domain events: who reacts to what a use case publishes (services/dispatch.py `publish`,
    # wired by bootstrap and the tests). Unwired, publishing raises rather than drop reactions.
    dispatcher: Callable[[Deps, object], list[Exception]] | None = None

    blockers_cache: BlockersCache = NOT_WIRED  # built in __post_init__ unless given
    # The "blocked by someone" filter's shards (services/users.py blockers_of), a minute.
    blocked_filter_cache: MediaCache = NOT_WIRED  # built in __post_init__ unless given
    # "Hosts I follow": a caller's followees (a minute), and the live / scheduled lists they are
    # intersected with (10 s), per container.
    followees_cache: MediaCache = NOT_WIRED  # built in __post_init__ unless given
    lists_cache: MediaCache = NOT_WIRED  # built in __post_init__ unless given

    def __post_init__(self) -> None:
        if self.media_cache is None:
            self.media_cache = MediaCache(self.settings.media_cache_seconds)
        if self.blockers_cache is None:
            self.blockers_cache = BlockersCache(60)
        if self.blocked_filter_cache is None:
            self.blocked_filter_cache = MediaCache(60)
        if self.followees_cache is None:
            self.followees_cache = MediaCache(60)
        if self.lists_cache is None:
            self.lists_cache = MediaCache(10)

    def publish(self, event: object) -> list[Exception]:
        """Hand a domain event (chalicelib/domain/events/) to its reactions, after the write
        that made it happen committed; returns the failures, each already logged."""
        if self.dispatcher is None:
            raise RuntimeError("these Deps have no dispatcher: wire chalicelib.services.dispatch.publish")
        return self.dispatcher(self, event)

    @property
    def hosting_rules(self) -> HostingRules:
        s = self.settings
        return HostingRules(s.host_min_followers, s.ticketed_host_min_followers, s.ticketed_host_min_spaces_30d)

    @property
    def ticket_rules(self) -> TicketRules:
        s = self.settings
        return TicketRules(
            min_price_cents=s.ticket_min_price_cents,
            max_price_cents=s.ticket_max_price_cents,
            currencies=tuple(s.ticket_currencies),
            max_capacity=s.ticket_max_capacity,
            hold_seconds=s.ticket_hold_seconds,
        )

    @property
    def space_rules(self) -> SpaceRules:
        s = self.settings
        return SpaceRules(
            max_cohosts=s.max_cohosts,
            max_on_stage=s.max_on_stage,
            max_scheduled_per_host=s.max_scheduled_per_host,
            max_schedule_ahead_days=s.max_schedule_ahead_days,
            max_topics=s.max_topics,
            max_title_length=s.max_title_length,
        )
