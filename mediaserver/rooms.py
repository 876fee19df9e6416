"""Stages, their publishers and subscribers, and the slots that carry audio between them.

Every stage has 12 publisher slots (IVS's publisher limit). A WHEP subscriber's peer connection
has one outgoing track per slot (`SlotTrack`); a slot's track plays whichever publisher sits in
that slot of the stage, read through aiortc's MediaRelay, and sends nothing while the slot is
empty. So a publisher who arrives later is heard by existing subscribers without renegotiation.

All of this runs on one asyncio loop: no locks.
"""
from __future__ import annotations

import asyncio
import fractions
import logging
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Optional

from aiortc import MediaStreamTrack, RTCPeerConnection
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame

from mediaserver.auth import Participant

log = logging.getLogger("mediaserver")

SLOTS = 12
SAMPLE_RATE = 48000
TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)
# A peer connection whose ICE + DTLS has not completed by then is dropped (a client that POSTed
# an offer and went away must not hold a slot).
CONNECT_TIMEOUT_SECONDS = 20.0
QUEUE_FRAMES = 10  # 200 ms of audio per slot and subscriber, at most
# A frame further behind real time than this when a sender asks for it is dropped, not sent:
# late speech is worse than a gap (a muted speaker's last words must not arrive seconds later).
MAX_LAG_SECONDS = 0.25
# How fast the lag baseline may rise (seconds per second): well above any sound card's clock
# drift against ours (~0.0001), so a publisher whose clock runs slow is never dropped for it.
BASELINE_CREEP = 0.002
# Frames handed to subscribers' senders; frames dropped because a sender fell behind by more
# than QUEUE_FRAMES; frames dropped because they were more than MAX_LAG_SECONDS late. The
# benchmark's measure of whether the server keeps up.
COUNTERS = {"frames_sent": 0, "frames_dropped": 0, "frames_stale": 0}


class Lag:
    """How far behind real time a publisher's frames reach us.

    A frame's media time (its pts: aiortc stamps decoded audio with the RTP timestamp, which
    advances with the publisher's sampling clock, gaps included) against our clock: the smallest
    `clock - media time` seen is the baseline (the network's own, unavoidable delay), and a
    frame's lag is how far beyond that baseline it arrives. Audio held anywhere upstream (socket
    buffers, aiortc's receive queue, the relay) while the machine is overloaded shows as lag.
    """

    def __init__(self, clock: Callable[[], float]):
        self._clock = clock
        self._baseline: Optional[float] = None
        self._seen = 0.0

    def of(self, frame: AudioFrame) -> float:
        media = frame.time
        if media is None:
            return 0.0  # nothing to go by: never dropped
        now = self._clock()
        offset = now - media
        if self._baseline is None:
            self._baseline = offset
        else:
            self._baseline = min(self._baseline + BASELINE_CREEP * (now - self._seen), offset)
        self._seen = now
        return offset - self._baseline


class SlotTrack(MediaStreamTrack):
    """One outgoing audio track of a subscriber: the frames of the publisher in its slot.

    A pump task reads the publisher's relay proxy into a short queue (at most `QUEUE_FRAMES`;
    the oldest go first when the sender falls behind), which absorbs the bursts the network and
    decoder deliver without dropping frames, and bounds the lag when the machine is overloaded.

    The queue bounds only what waits here: a frame that reaches it late (held upstream while the
    machine was overloaded) is dropped when it is more than `MAX_LAG_SECONDS` behind (`Lag`), and
    counted as `frames_stale`.

    Its timestamps are its own (a running sample count that also advances over silent gaps), so
    they keep rising when the slot passes from one publisher to the next: the sender's RTP
    timestamps never jump back. They never fall more than `MAX_LAG_SECONDS` behind our clock
    either (after late frames were dropped they jump ahead), so the listener's jitter buffer
    sees a gap, not a backlog to play out.
    """

    kind = "audio"

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._clock = clock
        self._frames: deque[AudioFrame] = deque(maxlen=QUEUE_FRAMES)
        self._ready = asyncio.Event()
        self._pump: Optional[asyncio.Task] = None
        self._lag = Lag(clock)
        self._started = clock()
        self._pts = 0

    @property
    def seated(self) -> bool:
        return self._pump is not None

    def attach(self, source: MediaStreamTrack) -> None:
        self.detach()
        # After a silent gap the clock moves on by the gap, so timing stays true to the wall.
        self._pts = max(self._pts, self._wall_samples())
        self._lag = Lag(self._clock)  # another publisher, another sampling clock
        self._pump = asyncio.ensure_future(self._run_pump(source))

    def detach(self) -> None:
        pump, self._pump = self._pump, None
        if pump is not None:
            pump.cancel()
        self._frames.clear()

    async def _run_pump(self, source: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await source.recv()
                if len(self._frames) == QUEUE_FRAMES:
                    COUNTERS["frames_dropped"] += 1
                self._frames.append(frame)
                self._ready.set()
        except MediaStreamError:
            pass  # the publisher left: the slot falls silent until the next one
        finally:
            source.stop()
            if self._pump is asyncio.current_task():
                self._pump = None

    async def recv(self) -> AudioFrame:
        while True:
            while not self._frames:
                if self.readyState != "live":
                    raise MediaStreamError
                self._ready.clear()
                await self._ready.wait()
            if self.readyState != "live":
                raise MediaStreamError
            frame = self._frames.popleft()
            if self._lag.of(frame) <= MAX_LAG_SECONDS:
                return self._restamp(frame)
            COUNTERS["frames_stale"] += 1

    def _wall_samples(self) -> int:
        return int((self._clock() - self._started) * SAMPLE_RATE)

    def _restamp(self, frame: AudioFrame) -> AudioFrame:
        # The relay hands the same frame to every subscriber, whose encoders run in threads:
        # each gets its own copy to stamp.
        out = AudioFrame.from_ndarray(frame.to_ndarray(), format=frame.format.name, layout=frame.layout.name)
        out.sample_rate = frame.sample_rate
        wall = self._wall_samples()
        if wall - self._pts > MAX_LAG_SECONDS * SAMPLE_RATE:
            self._pts = wall  # fallen behind (frames were dropped): jump, do not lag
        out.pts = self._pts
        out.time_base = TIME_BASE
        self._pts += frame.samples
        COUNTERS["frames_sent"] += 1
        return out

    def stop(self) -> None:
        self.detach()
        super().stop()
        self._ready.set()  # wake a recv() waiting on an empty slot so it sees "ended"


@dataclass(eq=False)
class Session:
    """One peer connection: a WHIP publisher or a WHEP subscriber."""

    id: str
    kind: str  # "publish" | "subscribe"
    who: Participant
    pc: RTCPeerConnection
    tasks: set[asyncio.Task] = field(default_factory=set)
    closed: bool = False

    @property
    def stage_id(self) -> str:
        return self.who.stage_id


@dataclass(eq=False)
class Publisher(Session):
    slot: int = -1
    track: Optional[MediaStreamTrack] = None
    connected: bool = False


@dataclass(eq=False)
class Subscriber(Session):
    slots: list[SlotTrack] = field(default_factory=list)


@dataclass(eq=False)
class Stage:
    id: str
    publishers: list[Optional[Publisher]] = field(default_factory=lambda: [None] * SLOTS)
    subscribers: set[Subscriber] = field(default_factory=set)

    def free_slot(self) -> Optional[int]:
        return next((i for i, p in enumerate(self.publishers) if p is None), None)

    def empty(self) -> bool:
        return not self.subscribers and all(p is None for p in self.publishers)


class Rooms:
    """Every stage and session of the server, and what the control API has refused for good."""

    def __init__(self, max_subscribers: int):
        self.max_subscribers = max_subscribers
        self.stages: dict[str, Stage] = {}
        self.sessions: dict[str, Session] = {}
        self.relay = MediaRelay()
        # (stage id, participant id) -> when the API disconnected it (epoch seconds): its tokens
        # issued until then are refused. A token the API mints later for the same participant id
        # (a speaker moved back to listening keeps its id and gets a new token) is let in; a
        # removed user gets no new token from the API, so it stays out.
        self.disconnected: dict[tuple[str, str], int] = {}
        self.deleted: set[str] = set()
        # Taps on a stage's publishers (the overflow HLS mixer): stage id -> callbacks run with
        # (slot, relay proxy) when a publisher connects.
        self.taps: dict[str, list[Callable[[int, MediaStreamTrack], None]]] = {}

    # --- admission ----------------------------------------------------------------------------

    def stage(self, stage_id: str) -> Stage:
        stage = self.stages.get(stage_id)
        if stage is None:
            stage = self.stages[stage_id] = Stage(stage_id)
        return stage

    def peer_connections(self) -> int:
        return sum(1 for s in self.sessions.values() if not s.closed)

    def new_id(self) -> str:
        return secrets.token_urlsafe(16)

    def add_publisher(self, who: Participant, pc: RTCPeerConnection, slot: int) -> Publisher:
        stage = self.stage(who.stage_id)
        session = Publisher(id=self.new_id(), kind="publish", who=who, pc=pc, slot=slot)
        stage.publishers[slot] = session
        self.sessions[session.id] = session
        return session

    def add_subscriber(self, who: Participant, pc: RTCPeerConnection) -> Subscriber:
        stage = self.stage(who.stage_id)
        session = Subscriber(id=self.new_id(), kind="subscribe", who=who, pc=pc)
        session.slots = [SlotTrack() for _ in range(SLOTS)]
        stage.subscribers.add(session)
        self.sessions[session.id] = session
        return session

    # --- wiring -------------------------------------------------------------------------------

    def publisher_connected(self, publisher: Publisher) -> None:
        """Its audio now flows: seat it in every subscriber's slot (and any tap)."""
        if publisher.closed or publisher.connected or publisher.track is None:
            return
        publisher.connected = True
        stage = self.stage(publisher.stage_id)
        # A drain keeps the relay reading the publisher's track even with no subscriber, so the
        # decoded frames never pile up in aiortc's receive queue.
        drain = self.relay.subscribe(publisher.track, buffered=False)
        self._spawn(publisher, _drain(drain))
        for subscriber in stage.subscribers:
            self._seat(subscriber, publisher)
        for tap in self.taps.get(publisher.stage_id, []):
            tap(publisher.slot, self.relay.subscribe(publisher.track, buffered=True))
        log.info("publisher connected stage=%s participant=%s slot=%d",
                 publisher.stage_id, publisher.who.participant_id, publisher.slot)

    def subscriber_ready(self, subscriber: Subscriber) -> None:
        stage = self.stage(subscriber.stage_id)
        for publisher in stage.publishers:
            if publisher is not None and publisher.connected and not publisher.closed:
                self._seat(subscriber, publisher)

    def _seat(self, subscriber: Subscriber, publisher: Publisher) -> None:
        if subscriber.closed or subscriber.who.participant_id == publisher.who.participant_id:
            return  # nobody hears themselves
        subscriber.slots[publisher.slot].attach(self.relay.subscribe(publisher.track, buffered=True))

    def slot_table(self, subscriber: Subscriber) -> list[Optional[dict]]:
        stage = self.stage(subscriber.stage_id)
        mids = [t.mid for t in subscriber.pc.getTransceivers()]
        table: list[Optional[dict]] = []
        for i, publisher in enumerate(stage.publishers):
            hearable = (
                publisher is not None and publisher.connected and not publisher.closed
                and publisher.who.participant_id != subscriber.who.participant_id
            )
            table.append(
                {"mid": mids[i] if i < len(mids) else str(i),
                 "participant_id": publisher.who.participant_id,
                 "user_id": publisher.who.user_id}
                if hearable else None
            )
        return table

    def _spawn(self, session: Session, coro) -> None:
        task = asyncio.ensure_future(coro)
        session.tasks.add(task)
        task.add_done_callback(session.tasks.discard)

    def watch(self, session: Session) -> None:
        """Close the session when its connection fails or never completes."""
        pc = session.pc

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            state = pc.connectionState
            if state == "connected":
                if isinstance(session, Publisher):
                    self.publisher_connected(session)
            elif state in ("failed", "closed"):
                await self.close(session, f"connection {state}")

        async def deadline() -> None:
            await asyncio.sleep(CONNECT_TIMEOUT_SECONDS)
            if pc.connectionState != "connected":
                await self.close(session, "never connected")

        self._spawn(session, deadline())

    # --- leaving ------------------------------------------------------------------------------

    async def close(self, session: Session, reason: str) -> None:
        """Free everything the session holds: its slot, its tracks, its tasks, its connection."""
        if session.closed:
            return
        session.closed = True
        self.sessions.pop(session.id, None)
        stage = self.stages.get(session.stage_id)
        if isinstance(session, Publisher):
            if stage is not None and stage.publishers[session.slot] is session:
                stage.publishers[session.slot] = None
                for subscriber in stage.subscribers:
                    subscriber.slots[session.slot].detach()
        elif isinstance(session, Subscriber):
            if stage is not None:
                stage.subscribers.discard(session)
            for slot in session.slots:
                slot.stop()
        current = asyncio.current_task()
        for task in list(session.tasks):
            if task is not current:
                task.cancel()
        await session.pc.close()
        if stage is not None and stage.empty() and not self.taps.get(stage.id):
            self.stages.pop(stage.id, None)
        log.info("session closed stage=%s participant=%s kind=%s reason=%s",
                 session.stage_id, session.who.participant_id, session.kind, reason)

    async def disconnect(self, stage_id: str, participant_id: str, reason: str) -> int:
        self.disconnected[(stage_id, participant_id)] = int(time.time())
        doomed = [s for s in self.sessions.values()
                  if s.stage_id == stage_id and s.who.participant_id == participant_id]
        await asyncio.gather(*(self.close(s, f"disconnected: {reason}") for s in doomed))
        return len(doomed)

    async def delete_stage(self, stage_id: str) -> int:
        self.deleted.add(stage_id)
        doomed = [s for s in self.sessions.values() if s.stage_id == stage_id]
        await asyncio.gather(*(self.close(s, "stage deleted") for s in doomed))
        self.stages.pop(stage_id, None)
        return len(doomed)

    async def close_all(self) -> None:
        await asyncio.gather(*(self.close(s, "server stopping") for s in list(self.sessions.values())))


async def _drain(track: MediaStreamTrack) -> None:
    try:
        while True:
            await track.recv()
    except MediaStreamError:
        pass
    finally:
        track.stop()
