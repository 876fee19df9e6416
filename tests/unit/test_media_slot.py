"""The media server's slot track (mediaserver/rooms.py) on a fake clock: audio that reaches it
late (held upstream while the machine was overloaded) is dropped and counted, not delivered
seconds later, and the timestamps it sends never trail real time by a backlog."""
from __future__ import annotations

import asyncio
import fractions

import numpy as np
from aiortc import MediaStreamTrack
from av import AudioFrame

from mediaserver import rooms
from mediaserver.rooms import MAX_LAG_SECONDS, SAMPLE_RATE, Lag, SlotTrack
from tests.support.own_loop import run

FRAME = 960  # 20 ms at 48 kHz
NETWORK = 0.05  # the publisher's ordinary delay to us


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Source(MediaStreamTrack):
    """A publisher's decoded audio as the relay hands it over: frames pushed by the test."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.queue: asyncio.Queue[AudioFrame] = asyncio.Queue()

    async def recv(self) -> AudioFrame:
        return await self.queue.get()


def frame(index: int) -> AudioFrame:
    """The publisher's `index`th 20 ms frame; its samples carry the index, to tell it apart."""
    out = AudioFrame.from_ndarray(np.full((1, FRAME), index, dtype=np.int16), format="s16", layout="mono")
    out.sample_rate = SAMPLE_RATE
    out.pts = index * FRAME
    out.time_base = fractions.Fraction(1, SAMPLE_RATE)
    return out


async def through_the_slot(arrivals: list[tuple[int, float]]) -> list[tuple[int, int]]:
    """(frame index, arrival time) in, one at a time, a sender reading the slot as fast as
    frames come: (frame index, sent pts) of what the sender got."""
    clock = Clock(arrivals[0][1])
    source, slot = Source(), SlotTrack(clock=clock)
    slot.attach(source)
    sent: list[tuple[int, int]] = []

    async def sender() -> None:
        while True:
            out = await slot.recv()
            sent.append((int(out.to_ndarray()[0, 0]), out.pts))

    reader = asyncio.ensure_future(sender())
    for index, at in arrivals:
        clock.now = at
        source.queue.put_nowait(frame(index))
        for _ in range(10):  # the pump and the sender each take their turn
            await asyncio.sleep(0)
    reader.cancel()
    slot.stop()
    return sent


def on_time(index: int) -> float:
    return 100.0 + index * FRAME / SAMPLE_RATE + NETWORK


def test_audio_held_back_by_an_overloaded_machine_is_dropped_not_delivered_late(monkeypatch):
    monkeypatch.setitem(rooms.COUNTERS, "frames_stale", 0)
    before = [(i, on_time(i)) for i in range(10)]
    # The loop stalls: a second of speech (frames 10..59) reaches the slot at once, 1.8 s late or
    # more; meanwhile the speaker was muted. Then fresh audio again (frames 150..159).
    stalled = [(i, on_time(59) + 1.8) for i in range(10, 60)]
    after = [(i, on_time(i)) for i in range(150, 160)]
    assert stalled[-1][1] < after[0][1]

    sent = run(through_the_slot(before + stalled + after))

    assert [i for i, _ in sent] == list(range(10)) + list(range(150, 160))
    assert rooms.COUNTERS["frames_stale"] == 50
    # The sender's clock skipped the gap instead of trailing real time by it.
    first_after = dict(sent)[150]
    assert first_after >= (on_time(150) - 100.0 - MAX_LAG_SECONDS) * SAMPLE_RATE


def test_ordinary_jitter_and_a_slow_sound_card_clock_drop_nothing(monkeypatch):
    monkeypatch.setitem(rooms.COUNTERS, "frames_stale", 0)
    jitter = [0.0, 0.08, 0.02, 0.15, 0.01, 0.12]  # seconds, up to 150 ms
    arrivals = [(i, on_time(i) + jitter[i % len(jitter)]) for i in range(300)]
    sent = run(through_the_slot(arrivals))
    assert [i for i, _ in sent] == list(range(300)) and rooms.COUNTERS["frames_stale"] == 0


class _Timed:
    def __init__(self, time: float) -> None:
        self.time = time


def test_a_publisher_clock_100_ppm_slow_is_never_taken_for_lag():
    # Six hours of 20 ms frames whose media time runs 100 ppm behind ours: 2.2 s apart by the end.
    clock = Clock(0.0)
    lag = Lag(clock)
    worst = 0.0
    for k in range(6 * 3600 * 50):
        clock.now = k * 0.02
        worst = max(worst, lag.of(_Timed(k * 0.02 * (1 - 1e-4))))
    assert worst < MAX_LAG_SECONDS
