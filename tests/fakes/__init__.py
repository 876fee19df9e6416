"""In-memory fakes of the ports, for service tests that need no DynamoDB, AWS or Java.

`fake_deps()` wires them into a `Deps`; the Space repositories' fakes are held to the DynamoDB
adapters by tests/integration/test_space_repositories_contract.py, the ticket and subscription
fakes by tests/integration/test_commerce_repositories_contract.py.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from tests.fakes.analytics import FakeAnalytics
from tests.fakes.commerce import FakeSubscriptionRepository, FakeTicketRepository
from tests.fakes.media import FakeMedia, FakeTokens
from tests.fakes.spaces import SpaceStore
from tests.fakes.users import FakeUserRepository


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
    """Deps on fakes: the Space, user and ticket repositories over `store`, subscriptions, media
    and tokens in memory, a fixed clock, a telemetry that remembers, the default settings with `settings` changed. Ports the
    use cases under test do not reach stay unwired."""
    from chalicelib.config import Settings
    from chalicelib.services.context import Deps

    store = store or SpaceStore()
    return Deps(
        settings=replace(Settings(), **settings),
        users=FakeUserRepository(store),
        media=FakeMedia(),
        tokens=FakeTokens(),
        clock=FakeClock(at or datetime(2026, 12, 1, 18, 0, tzinfo=timezone.utc)),
        telemetry=CountingTelemetry(),
        dispatcher=_dispatch_and_keep,
        tickets=FakeTicketRepository(store),
        subscriptions=FakeSubscriptionRepository(),
        analytics=FakeAnalytics(store.count_shards),
        **store.repositories(),
    )


def _dispatch_and_keep(deps: Any, event: object) -> list[Exception]:
    """The real dispatcher (its reactions run on the fakes), keeping each event for the test."""
    from chalicelib.services import dispatch

    if not hasattr(deps, "published"):
        deps.published = []
    deps.published.append(event)
    return dispatch.publish(deps, event)
