"""What every use case is given: its ports, the clock and the settings."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

from chalicelib.config import Settings
from chalicelib.domain.spaces import SpaceRules
from chalicelib.domain.tickets import TicketRules
from chalicelib.domain.users import HostingRules


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

    def __init__(self, ttl_seconds: float, monotonic=time.monotonic):
        self._ttl = ttl_seconds
        self._monotonic = monotonic
        self._entries: dict[str, tuple[float, object]] = {}
        self._lock = threading.Lock()

    def get(self, space_id: str):
        """What `put` stored for this Space, while fresh; else None."""
        with self._lock:
            entry = self._entries.get(space_id)
            if entry is None:
                return None
            if entry[0] <= self._monotonic():
                del self._entries[space_id]
                return None
            return entry[1]

    def put(self, space_id: str, value) -> None:
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


class NullTelemetry:
    def count(self, event: str, value: int = 1) -> None:
        return None


@dataclass
class Deps:
    settings: Settings
    users: object  # ports.UserRepository
    spaces: object  # the Space repository (adapters.dynamodb.spaces.DynamoSpaceRepository)
    media: object  # ports.MediaPort
    tokens: object  # ports.TokenMinter
    clock: object = field(default_factory=SystemClock)
    telemetry: object = field(default_factory=NullTelemetry)
    media_cache: MediaCache | None = None
    # Reminders and pushes (None where a caller does not need them).
    reminders: object = None  # adapters.dynamodb.reminders.DynamoReminderRepository
    devices: object = None  # adapters.dynamodb.reminders.DynamoDeviceRepository
    push_claims: object = None  # adapters.dynamodb.reminders.DynamoPushClaims
    push: object = None  # ports.PushPort
    scheduler: object = None  # ports.SchedulerPort
    fanout_queue: object = None  # ports.QueuePort
    push_queue: object = None  # ports.QueuePort
    payments: object = None  # ports.PaymentsPort
    sleep: object = time.sleep  # backoff between publish attempts (tests pass a no-op)
    # Ticket sales and subscriptions (None where a caller does not need them).
    tickets: object = None  # adapters.dynamodb.tickets.DynamoTicketRepository
    payments: object = None  # ports.PaymentsPort
    tickets_queue: object = None  # ports.QueuePort: refunds of canceled Spaces
    subscriptions: object = None  # adapters.dynamodb.tickets.DynamoSubscriptionRepository
    # Room events (None: an app wired without them; emit then sends nothing).
    room_events: object = None  # ports.RoomEventsPort
    reactions: object = None  # adapters.dynamodb.room_events.DynamoReactionLimits
    chat_limits: object = None  # the same, for messages sent straight to IVS Chat (review handler)
    # Recording, replays and captions (None where a caller does not need them).
    recordings: object = None  # adapters.dynamodb.recording.DynamoRecordingRepository
    replays: object = None  # ports.ReplayStorePort (the recordings bucket)
    transcription: object = None  # ports.TranscriptionPort
    remux: object = None  # ports.RemuxPort: the HLS recording -> one audio file
    # The IVS control plane (docs/capacity.md): ready stages a start claims, the queue of IVS
    # calls that can wait, and the media adapter whose IVS client gives way to requests (the
    # pool and queue jobs use it). None: starts call CreateStage and calls are made at once.
    stage_pool: object = None  # adapters.dynamodb.stage_pool.DynamoStagePool
    media_queue: object = None  # adapters.dynamodb.media_queue.DynamoMediaQueue
    background_media: object = None  # ports.MediaPort
    # Until room events land, what services/recording.py `_announce` would have told each room,
    # as (space_id, name, attributes), when a list is given here (tests); None in production.
    room_announcements: list | None = None

    blockers_cache: BlockersCache | None = None
    # The "blocked by someone" filter's shards (services/users.py blockers_of), a minute.
    blocked_filter_cache: MediaCache | None = None
    # "Hosts I follow": a caller's followees (a minute), and the live / scheduled lists they are
    # intersected with (10 s), per container.
    followees_cache: MediaCache | None = None
    lists_cache: MediaCache | None = None

    def __post_init__(self):
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
