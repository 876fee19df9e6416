"""Host analytics of one Space (docs/analytics.md): pure arithmetic over what the stores keep.

The inputs are the Space's listening sessions (one per join: who, from when, until when, and
whether they were on stage during it), folded from the participants table's stream, and the
totals of its counted events (reactions, replay plays, clips, subscriptions). Everything here is
exact: no sampling, no sketches. A session still open is counted up to `closes_at` (the end of
the Space, or now while it is live).

Times are compared in whole milliseconds. A session is the half-open interval [start, end); one
that ends where it starts is taken as one millisecond long, so it is still seen.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from msgspec import Struct

MINUTE_MS = 60_000
# A Space's stage session lasts at most 24 hours: the per-minute series never needs more points.
MAX_MINUTES = 24 * 60

# Kinds of counted events (each counted once per event id by the repository).
REACTION = "reactions"
REPLAY_PLAY = "replay_plays"
REPLAY_LISTENER = "replay_listeners"
CLIP = "clips"
SUBSCRIPTION = "subscriptions"
SUBSCRIPTION_CENTS = "subscription_cents"
COUNTED = (REACTION, REPLAY_PLAY, REPLAY_LISTENER, CLIP, SUBSCRIPTION, SUBSCRIPTION_CENTS)


class ListeningSession(Struct, frozen=True):
    """One connection of one user to a Space: from the join to the leave (or the presence
    sweep, or a removal). `end` is None while it is open."""

    user_id: str
    start: datetime
    end: datetime | None = None
    spoke: bool = False


class MinutePoint(Struct, frozen=True):
    """How many listeners a Space had in one minute."""

    minute: datetime
    listeners: int


class TicketRevenue(Struct, frozen=True):
    """A ticketed Space's sales, refunds and money."""

    currency: str
    price_cents: int
    sold: int
    refunded: int
    gross_cents: int

    @property
    def net_cents(self) -> int:
        return max(self.gross_cents - self.refunded * self.price_cents, 0)


class SubscriptionRevenue(Struct, frozen=True):
    """What subscriptions paid while a subscriber-only Space was live."""

    currency: str
    count: int
    gross_cents: int


class SpaceAnalytics(Struct, frozen=True):
    """Every number host analytics show for one Space (docs/analytics.md)."""

    space_id: str
    final: bool
    as_of: datetime
    peak_concurrent_listeners: int
    unique_listeners: int
    speakers: int
    average_listening_seconds: float
    median_listening_seconds: float
    listeners_per_minute: tuple[MinutePoint, ...]
    reactions: int
    replay_plays: int
    replay_listeners: int
    clips: int
    tickets: TicketRevenue | None = None
    subscriptions: SubscriptionRevenue | None = None


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _interval(session: ListeningSession, closes_at_ms: int) -> tuple[int, int]:
    """The session as [start, end) in ms, an open one closed at `closes_at_ms`, never shorter
    than one millisecond."""
    start = _ms(session.start)
    end = _ms(session.end) if session.end is not None else max(closes_at_ms, start)
    return start, max(end, start + 1)


def peak_concurrent(intervals: list[tuple[int, int]]) -> int:
    """The most sessions open at one instant. A leave and a join at the same millisecond do not
    overlap (the leave goes first), so a reconnect is never counted twice."""
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    best = current = 0
    for _, delta in edges:
        current += delta
        best = max(best, current)
    return best


def listening_seconds(intervals_by_user: dict[str, list[tuple[int, int]]]) -> list[float]:
    """Each listener's total time listening, in seconds (ms precision), sorted ascending."""
    return sorted(sum(end - start for start, end in spans) / 1000 for spans in intervals_by_user.values())


def median(values: list[float]) -> float:
    """The exact median of sorted `values` (the mean of the two middle ones for an even count)."""
    if not values:
        return 0.0
    middle = len(values) // 2
    if len(values) % 2:
        return values[middle]
    return (values[middle - 1] + values[middle]) / 2


def per_minute(
    intervals_by_user: dict[str, list[tuple[int, int]]], first_ms: int, closes_at_ms: int
) -> list[int]:
    """Distinct listeners present at some point of each minute [first + 60 s * i, + 60 s), from
    the first minute to the last one begun before `closes_at_ms` (at most MAX_MINUTES)."""
    minutes = min(max(-((first_ms - closes_at_ms) // MINUTE_MS), 0), MAX_MINUTES)
    if minutes == 0:
        return []
    delta = [0] * (minutes + 1)
    for spans in intervals_by_user.values():
        # One user's minutes, merged: a leave and a rejoin within one minute count them once.
        covered: list[list[int]] = []
        for start, end in sorted(spans):
            first = max((start - first_ms) // MINUTE_MS, 0)
            last = min((end - 1 - first_ms) // MINUTE_MS, minutes - 1)
            if last < first:
                continue
            if covered and first <= covered[-1][1] + 1:
                covered[-1][1] = max(covered[-1][1], last)
            else:
                covered.append([first, last])
        for first, last in covered:
            delta[first] += 1
            delta[last + 1] -= 1
    series, running = [], 0
    for i in range(minutes):
        running += delta[i]
        series.append(running)
    return series


def compute(
    space_id: str,
    sessions: list[ListeningSession],
    totals: dict[str, int],
    *,
    started_at: datetime | None,
    ended_at: datetime | None,
    now: datetime,
    tickets: TicketRevenue | None = None,
    subscription_currency: str | None = None,
) -> SpaceAnalytics:
    """The Space's analytics: final once it ended (open sessions close at `ended_at`), live
    (up to `now`) before."""
    closes_at = ended_at or now
    closes_ms = _ms(closes_at)
    by_user: dict[str, list[tuple[int, int]]] = {}
    speakers: set[str] = set()
    for session in sessions:
        if ended_at is not None and session.start > ended_at:
            continue  # a join racing the end (the stage was already gone): not a listen
        by_user.setdefault(session.user_id, []).append(_interval(session, closes_ms))
        if session.spoke:
            speakers.add(session.user_id)
    intervals = [span for spans in by_user.values() for span in spans]
    durations = listening_seconds(by_user)
    first = started_at or (
        datetime.fromtimestamp(min(s for s, _ in intervals) / 1000, tz=timezone.utc) if intervals else None
    )
    series: list[MinutePoint] = []
    if first is not None:
        first = first.replace(second=0, microsecond=0)
        counts = per_minute(by_user, _ms(first), closes_ms)
        series = [MinutePoint(first + timedelta(minutes=i), n) for i, n in enumerate(counts)]
    subscriptions = None
    if subscription_currency is not None:
        subscriptions = SubscriptionRevenue(
            subscription_currency, totals.get(SUBSCRIPTION, 0), totals.get(SUBSCRIPTION_CENTS, 0)
        )
    return SpaceAnalytics(
        space_id=space_id,
        final=ended_at is not None,
        as_of=closes_at,
        peak_concurrent_listeners=peak_concurrent(intervals),
        unique_listeners=len(by_user),
        speakers=len(speakers),
        average_listening_seconds=round(sum(durations) / len(durations), 3) if durations else 0.0,
        median_listening_seconds=median(durations),
        listeners_per_minute=tuple(series),
        reactions=totals.get(REACTION, 0),
        replay_plays=totals.get(REPLAY_PLAY, 0),
        replay_listeners=totals.get(REPLAY_LISTENER, 0),
        clips=totals.get(CLIP, 0),
        tickets=tickets,
        subscriptions=subscriptions,
    )


def expires_at(event_time: datetime, retention_days: int) -> datetime:
    """When what analytics keep about an event of a Space may go: the replay's retention after
    the Space's end, plus the longest a Space can run and a day (the captions' rule)."""
    return event_time + timedelta(days=retention_days + 2)
