"""In-memory fakes of the ports, for service tests that need no DynamoDB, AWS or Java.

`fake_deps()` wires every port of `Deps` with its fake, so a use case on fakes never meets an
unwired port by accident. Each fake is held to its real adapter by a contract suite in
tests/integration/ (docs/architecture.md has the table: port, Protocol, adapters, fake, suite).
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from typing import Any, Callable

from tests.fakes.analytics import FakeAnalytics
from tests.fakes.commerce import FakeSubscriptionRepository, FakeTicketRepository
from tests.fakes.media import FakeMedia, FakeTokens
from tests.fakes.pools import FakeRoomPool, FakeStagePool
from tests.fakes.push import FakePush
from tests.fakes.queues import FakeMediaQueue, FakeQueue, FakeRateLimits
from tests.fakes.recording import FakeRecordingRepository
from tests.fakes.reminders import FakeDeviceRepository, FakePushClaims, FakeReminderRepository
from tests.fakes.room_events import FakeRoomEvents
from tests.fakes.scheduler import FakeScheduler
from tests.fakes.spaces import SpaceStore
from tests.fakes.storage import FakeMixer, FakeReplayStore, FakeTranscription
from tests.fakes.users import FakeUserRepository
from tests.support.payments import FakePayments


class FakeClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


class ManualClock:
    """An epoch clock (seconds or milliseconds, as the adapter under test counts) that a test
    moves by hand through `at`; each read moves it on by `tick` first."""

    def __init__(self, at: float, *, tick: float = 0) -> None:
        self.at = at
        self.tick = tick

    def __call__(self) -> float:
        self.at += self.tick
        return self.at


class CountingTelemetry:
    def __init__(self) -> None:
        self.events: list[str] = []

    def count(self, event: str, value: int = 1) -> None:
        self.events.extend([event] * value)


def fake_deps(store: SpaceStore | None = None, *, at: datetime | None = None, **settings: Any) -> Any:
    """Deps with every port on its fake: the repositories over `store`, the outside systems
    (media, rooms, push, scheduler, queues, payments, the bucket, transcription, the mixer, the
    pools) in memory, a fixed clock at `at`, a telemetry that remembers, sleeps that return at
    once, and the default settings with `settings` changed.

    The fakes live on the store (`store.outside`), so Deps built again on the same store, say
    with a later clock, see the same rooms, queues and pushes; the fakes that read a clock read
    the clock of the Deps built last. A test that wants its own fake of a port passes it with
    `dataclasses.replace(fake_deps(store), payments=...)`."""
    from chalicelib.config import Settings
    from chalicelib.services.context import Deps

    store = store or SpaceStore()
    config = replace(Settings(), **settings)
    clock = FakeClock(at or datetime(2026, 12, 1, 18, 0, tzinfo=timezone.utc))
    store.outside["clock"] = clock
    return Deps(
        settings=config,
        users=FakeUserRepository(store),
        clock=clock,
        telemetry=CountingTelemetry(),
        dispatcher=_dispatch_and_keep,
        sleep=_no_sleep,
        tickets=FakeTicketRepository(store),
        reminders=FakeReminderRepository(store, shards=config.reminder_shards),
        recordings=FakeRecordingRepository(store),
        analytics=FakeAnalytics(store.count_shards),
        stage_pool=FakeStagePool(store, clock_ms=_store_clock_ms(store)),
        room_pool=FakeRoomPool(store, clock_ms=_store_clock_ms(store)),
        **_outside_systems(store, config),
        **store.repositories(),
    )


def _outside_systems(store: SpaceStore, config: Any) -> dict[str, Any]:
    """The fakes that keep state of their own, built once per store."""
    if "media" not in store.outside:
        now = lambda: store.outside["clock"].now()  # noqa: E731
        media, rooms, replays = FakeMedia(), FakeRoomEvents(clock=now), FakeReplayStore()
        store.outside.update(
            media=media,
            background_media=media,  # one IVS; production gives the jobs their own client of it
            tokens=FakeTokens(),
            room_events=rooms,
            background_room_events=rooms,
            reactions=FakeRateLimits(interval_ms=config.reaction_interval_ms),
            chat_limits=FakeRateLimits(interval_ms=config.chat_message_interval_ms),
            media_queue=FakeMediaQueue(clock_ms=_store_clock_ms(store)),
            devices=FakeDeviceRepository(),
            push_claims=FakePushClaims(
                lease_seconds=config.push_claim_lease_seconds, clock=lambda: store.outside["clock"].now().timestamp()
            ),
            push=FakePush(),
            scheduler=FakeScheduler(),
            fanout_queue=FakeQueue(),
            push_queue=FakeQueue(),
            tickets_queue=FakeQueue(),
            payments=FakePayments(),
            subscriptions=FakeSubscriptionRepository(),
            replays=replays,
            transcription=FakeTranscription(),
            mixer=FakeMixer(replays),
        )
    return {name: port for name, port in store.outside.items() if name != "clock"}


def _store_clock_ms(store: SpaceStore) -> Callable[[], int]:
    return lambda: int(store.outside["clock"].now().timestamp() * 1000)


def _no_sleep(seconds: float) -> None:
    """Deps.sleep (the backoff between publish attempts): a unit test never waits."""


def _dispatch_and_keep(deps: Any, event: object) -> list[Exception]:
    """The real dispatcher (its reactions run on the fakes), keeping each event for the test."""
    from chalicelib.services import dispatch

    if not hasattr(deps, "published"):
        deps.published = []
    deps.published.append(event)
    return dispatch.publish(deps, event)
