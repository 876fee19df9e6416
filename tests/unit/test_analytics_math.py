"""The arithmetic of host analytics (chalicelib/domain/analytics.py), on sessions written by hand."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from chalicelib.domain.analytics import (
    CLIP, REACTION, REPLAY_LISTENER, REPLAY_PLAY, ListeningSession, TicketRevenue, compute, median, peak_concurrent,
    per_minute,
)

T0 = datetime(2026, 12, 1, 18, 0, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def s(user, start, end=None, spoke=False):
    return ListeningSession(user, at(start), at(end) if end is not None else None, spoke)


def test_a_leave_and_a_join_at_the_same_instant_do_not_overlap():
    assert peak_concurrent([(0, 10), (10, 20)]) == 1
    assert peak_concurrent([(0, 11), (10, 20)]) == 2


def test_the_median_is_exact_for_odd_and_even_counts():
    assert median([]) == 0.0
    assert median([1.0, 5.0, 9.0]) == 5.0
    assert median([1.0, 2.0, 4.0, 10.0]) == 3.0


def test_a_scripted_space_gives_each_number():
    sessions = [
        s("host", 0, None, spoke=True),  # open: counted up to the end (600 s)
        s("ann", 10, 130),  # 120 s
        s("ann", 200, 260),  # back for 60 s more: one listener, 180 s in all
        s("bob", 30, 90, spoke=True),  # 60 s
        s("cy", 70, 75),  # 5 s
    ]
    result = compute(
        "S1", sessions, {REACTION: 4, REPLAY_PLAY: 3, REPLAY_LISTENER: 2, CLIP: 1},
        started_at=at(0), ended_at=at(600), now=at(9999),
    )
    assert result.final and result.as_of == at(600)
    assert result.unique_listeners == 4
    assert result.speakers == 2
    # host, ann, bob, cy all in at 70..75 s.
    assert result.peak_concurrent_listeners == 4
    durations = sorted([600.0, 180.0, 60.0, 5.0])
    assert result.average_listening_seconds == round(sum(durations) / 4, 3)
    assert result.median_listening_seconds == (60.0 + 180.0) / 2
    # minute 0: host, ann, bob; 1: + cy; 2: host and ann (till 130 s); 3-4: ann is back
    # (200..260 s); then the host alone until the end at 600 s: ten minutes in all.
    assert [p.listeners for p in result.listeners_per_minute] == [3, 4, 2, 2, 2, 1, 1, 1, 1, 1]
    assert result.listeners_per_minute[0].minute == T0
    assert (result.reactions, result.replay_plays, result.replay_listeners, result.clips) == (4, 3, 2, 1)


def test_a_live_space_counts_open_sessions_up_to_now():
    result = compute("S1", [s("a", 0), s("b", 30, 60)], {}, started_at=at(0), ended_at=None, now=at(120))
    assert not result.final
    assert result.average_listening_seconds == (120 + 30) / 2
    assert [p.listeners for p in result.listeners_per_minute] == [2, 1]


def test_a_join_after_the_end_is_not_a_listen():
    result = compute("S1", [s("a", 0, 50), s("late", 70)], {}, started_at=at(0), ended_at=at(60), now=at(99))
    assert result.unique_listeners == 1


def test_a_leave_and_rejoin_within_one_minute_counts_the_listener_once_in_it():
    assert per_minute({"a": [(0, 10_000), (20_000, 30_000)]}, 0, 59_000) == [1]


def test_ticket_revenue_nets_out_refunds():
    revenue = TicketRevenue("USD", 500, sold=10, refunded=3, gross_cents=5000)
    assert revenue.net_cents == 3500


def brute_force(sessions, first_ms, closes_ms):
    """The numbers by the definition, one millisecond instant and one minute at a time."""
    spans = {}
    for x in sessions:
        start = int(x.start.timestamp() * 1000)
        end = int(x.end.timestamp() * 1000) if x.end else closes_ms
        spans.setdefault(x.user_id, []).append((start, max(end, start + 1)))
    instants = sorted({p for v in spans.values() for span in v for p in span})
    peak = max((sum(1 for v in spans.values() for a, b in v if a <= t < b) for t in instants), default=0)
    minutes = []
    m = first_ms
    while m < closes_ms:
        minutes.append(sum(1 for v in spans.values() if any(a < m + 60_000 and b > m for a, b in v)))
        m += 60_000
    totals = sorted(sum(b - a for a, b in v) / 1000 for v in spans.values())
    return peak, minutes, totals


def test_random_spaces_agree_with_the_definitions():
    rng = random.Random(18)
    for _ in range(200):
        sessions = []
        for u in range(rng.randint(1, 12)):
            t = rng.uniform(0, 300)
            for _ in range(rng.randint(1, 3)):
                end = t + rng.choice([0, rng.uniform(0, 200)])
                sessions.append(s(f"u{u}", round(t, 3), round(end, 3) if rng.random() < 0.8 else None))
                t = end + rng.uniform(0, 60)
                if sessions[-1].end is None:
                    break
        result = compute("S", sessions, {}, started_at=at(0), ended_at=at(900), now=at(900))
        peak, minutes, totals = brute_force(sessions, int(T0.timestamp() * 1000), int(at(900).timestamp() * 1000))
        assert result.peak_concurrent_listeners == peak
        assert [p.listeners for p in result.listeners_per_minute] == minutes
        assert result.median_listening_seconds == median(totals)
        assert result.unique_listeners == len(totals)
