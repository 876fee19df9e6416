"""The stage pool and the IVS limiter, measured over an IVS that throttles like IVS.

IVS is `tests/support/throttling_ivs.py`: an in-process `ivs-realtime` client (requests checked
against the real API model by botocore, answers against its output shapes) that throttles the
6th call of a stage operation within any second, as IVS's 5 TPS quota does; IVS Chat is its
`ivschat` twin at IVS Chat's rates (CreateRoom, DeleteRoom 5 a second; SendEvent, DisconnectUser
100; CreateChatToken 200), behind the app's chat bucket, with the room pool. Time is SIMULATED
(`FakeTime`): the limiter, the services, the jobs and the throttling IVS share one clock that
moves when something waits, so "2,000 starts in 60 s" takes the real time DynamoDB Local needs
for the calls, not 60 s. The simulation is sequential: the minute jobs (pool refill, queue
drain) run between requests, never during the top-of-the-hour minute itself (in AWS they run
beside the requests and take only the tokens requests leave).

Measured:
- `aws_calls.start_space`, `ivs_calls.start_space`, `ivs_chat_calls.start_space`: calls per
  start of a scheduled Space with warm pools (every DynamoDB client and the IVS and IVS Chat
  clients watched);
- top of the hour: N scheduled starts in 60 s (default 2,000) with the pool warmed by the refill
  job from the scheduled Spaces ahead, while 500 Spaces of the previous hour end: starts answered
  201, IVS and IVS Chat throttles seen by users, both pools' low-water marks, how long the
  queued deletes (stages, rooms) take;
- a raid: 500 removals from one Space in 60 s: every removed user refused by the API at once,
  every disconnect made, none throttled, the drain time.
"""
from __future__ import annotations

import os
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from bench import environment as env

STARTS = int(os.environ.get("SPACES_BENCH_POOL_STARTS", "2000"))
ENDS = 500
REMOVALS = 500
CALL_SAMPLES = 30


class SimClock:
    def __init__(self, time):
        self.time = time

    def now(self):
        return datetime.fromtimestamp(self.time(), timezone.utc)


class _MemoryQueue:
    def __init__(self):
        self.sent = 0

    def send_batch(self, bodies) -> None:
        self.sent += len(bodies)


def _world(base_deps):
    from chalicelib.adapters.deferred_media import DeferredMedia, DeferredRooms
    from chalicelib.adapters.dynamodb.limiter import DynamoTokenBucket
    from chalicelib.adapters.dynamodb.media_queue import DynamoMediaQueue
    from chalicelib.adapters.dynamodb.stage_pool import DynamoRoomPool, DynamoStagePool
    from chalicelib.adapters.ivs import IvsMedia
    from chalicelib.adapters.ivs_chat import IvsChatRooms
    from chalicelib.adapters.ivs_limiter import ROOM_CONTROL, LimitedClient
    from tests.support.throttling_ivs import FakeTime, ThrottlingIvs, ThrottlingIvsChat

    time = FakeTime(datetime.now(timezone.utc).timestamp())
    ivs, chat = ThrottlingIvs(time), ThrottlingIvsChat(time)
    s = base_deps.settings
    bucket = DynamoTokenBucket(env.new_id("ivs-bucket"), rate=s.ivs_control_rate, burst=s.ivs_control_burst, clock_ms=time.ms)
    chat_bucket = DynamoTokenBucket(
        env.new_id("chat-bucket"), rate=s.chat_control_rate, burst=s.chat_control_burst, clock_ms=time.ms
    )
    queue = DynamoMediaQueue(queue=env.new_id("ivs-queue"), clock_ms=time.ms)

    def media(reserve, max_wait):
        return IvsMedia(LimitedClient(ivs.client, bucket, reserve=reserve, max_wait=max_wait, sleep=time.sleep), clock=time)

    def rooms(reserve, max_wait):
        limited = LimitedClient(
            chat.client, chat_bucket, reserve=reserve, max_wait=max_wait, sleep=time.sleep, operations=ROOM_CONTROL
        )
        return IvsChatRooms(limited, tags={"app": "spaces", "stage": "bench"}, clock=time)

    deps = replace(
        base_deps,
        # The quota raised as docs/capacity.md says it must be for this peak (live + pool).
        settings=replace(s, stage_quota=5000, stage_pool_min_size=2),
        clock=SimClock(time),
        media=DeferredMedia(media(0, s.ivs_request_max_wait_seconds), now=media(1, 0), queue=queue),
        background_media=media(1, 5),  # media_wiring.BACKGROUND_MAX_WAIT_SECONDS
        stage_pool=DynamoStagePool(pool=env.new_id("pool"), clock_ms=time.ms),
        room_events=DeferredRooms(rooms(0, s.ivs_request_max_wait_seconds), now=rooms(1, 0), queue=queue),
        background_room_events=rooms(1, 5),
        room_pool=DynamoRoomPool(pool=env.new_id("rooms"), clock_ms=time.ms),
        media_queue=queue,
        fanout_queue=_MemoryQueue(),
        media_cache=None,
    )
    return deps, ivs, chat, time


def _jobs(deps, time) -> None:
    """The minute's jobs. The two refills are Lambdas of their own, each with its own bucket:
    they run side by side from the same moment (the clock is set back between them, then on to
    whichever ended later)."""
    from chalicelib.services import media_queue, stage_pool

    media_queue.drain_media_queue(deps)
    began = time()
    stage_pool.refill_stage_pool(deps)
    stages_done, time.t = time(), began
    stage_pool.refill_room_pool(deps)
    time.advance_to(stages_done)


def _drain_after(deps, services, time, since: float, *operations: str) -> dict[str, float]:
    """The minute jobs from a minute after `since` until the queue is empty (an hour at most);
    for each operation, seconds from `since` to the last such call IVS (or IVS Chat) answered."""
    minute = since + 60
    while deps.media_queue.depth() and minute < since + 3600:
        time.advance_to(minute)
        _jobs(deps, time)
        minute += 60
    drained = {}
    for operation in operations:
        times = [t for service in services for t, op in service.calls if op == operation and t >= since]
        drained[operation] = (max(times) - since) if times else 0.0
    return drained


def _schedule(deps, hosts, at: datetime) -> list:
    from chalicelib.services import spaces
    from chalicelib.api.bodies.spaces import create_space as space_request

    start = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return [spaces.create_space(deps, host, space_request({"title": "top of the hour", "scheduled_start": start})) for host in hosts]


def _start_calls(deps, ivs, chat) -> dict:
    """Calls per start of a scheduled Space when the pools have a stage and a room for it."""
    from bench.aws_calls import Window
    from chalicelib.services import spaces

    at = deps.clock.now() + timedelta(days=1)
    scheduled = _schedule(deps, [env.seed_host("pool-start") for _ in range(CALL_SAMPLES)], at)
    for _ in range(CALL_SAMPLES):
        deps.stage_pool.add(deps.background_media.create_stage(env.new_id("pool")))
        deps.room_pool.add(deps.background_room_events.create_room(env.new_id("pool")))
    window = Window(ivs, chat.client)
    try:
        measured = window.measure(
            CALL_SAMPLES, lambda i: scheduled[i], lambda space: spaces.start_space(deps, space.creator_id, space.id)
        )
    finally:
        window.close()
    return measured


def _top_of_hour(deps, ivs, chat, time) -> dict:
    from chalicelib.domain.errors import DomainError
    from chalicelib.services import spaces
    from chalicelib.api.bodies.spaces import create_space as space_request

    t0 = time()
    top = (datetime.fromtimestamp(t0, timezone.utc) + timedelta(hours=1)).replace(second=0, microsecond=0)
    T = top.timestamp()
    # The previous hour's Spaces, live now (their stages made on request: the pool starts empty).
    previous = [spaces.create_space(deps, env.seed_host("prev"), space_request({"title": "previous hour"})) for _ in range(ENDS)]
    scheduled = _schedule(deps, [env.seed_host("top") for _ in range(STARTS)], top)
    # The pool job, every minute from 20 minutes before the hour.
    minute = T - 20 * 60
    while minute < T:
        time.advance_to(minute)
        _jobs(deps, time)
        minute += 60
    ready_at_top = deps.stage_pool.available_count()
    rooms_at_top = deps.room_pool.available_count()
    throttled_before = len(ivs.throttled)
    chat_throttled_before = len(chat.throttled)
    creates_before = ivs.count("CreateStage")
    room_creates_before = chat.count("CreateRoom")

    answered_201 = 0
    failures: dict[str, int] = {}
    low_water = ready_at_top
    events = sorted(
        [(T + i * 60 / STARTS, "start", s) for i, s in enumerate(scheduled)]
        + [(T + j * 60 / ENDS, "end", s) for j, s in enumerate(previous)],
        key=lambda e: e[0],
    )
    for at, kind, space in events:
        time.advance_to(at)
        try:
            if kind == "start":
                spaces.start_space(deps, space.creator_id, space.id)
                answered_201 += 1
            else:
                spaces.end_space(deps, space.creator_id, space.id)
        except DomainError as exc:
            failures[f"{kind}:{exc.code}"] = failures.get(f"{kind}:{exc.code}", 0) + 1
    # No refill runs inside the simulated minute: what is left at its end is the low-water mark.
    low_water = min(low_water, deps.stage_pool.available_count())
    room_low_water = deps.room_pool.available_count()
    throttles_seen = len(ivs.throttled) - throttled_before
    chat_throttles_seen = len(chat.throttled) - chat_throttled_before
    fallback_creates = ivs.count("CreateStage") - creates_before
    fallback_rooms = chat.count("CreateRoom") - room_creates_before
    deletes_at_peak_end = ivs.count("DeleteStage")
    room_deletes_at_peak_end = chat.count("DeleteRoom")
    queued_after_minute = deps.media_queue.depth()
    drained = _drain_after(deps, (ivs, chat), time, T, "DeleteStage", "DeleteRoom")
    return {
        "starts": STARTS,
        "answered_201": answered_201,
        "failures": failures,
        "ivs_throttles_seen_by_users": throttles_seen,
        "ivs_throttles_total": len(ivs.throttled),
        "pool_ready_at_top": ready_at_top,
        "pool_low_water": low_water,
        "fallback_create_stage": fallback_creates,
        "chat_throttles_seen_by_users": chat_throttles_seen,
        "chat_throttles_total": len(chat.throttled),
        "room_pool_ready_at_top": rooms_at_top,
        "room_pool_low_water": room_low_water,
        "fallback_create_room": fallback_rooms,
        "room_deletes_done_in_the_minute": room_deletes_at_peak_end,
        "room_delete_drain_s": drained["DeleteRoom"],
        "max_room_calls_per_s": chat.max_per_second({"CreateRoom": 5, "DeleteRoom": 5}),
        "ends": ENDS,
        "deletes_done_in_the_minute": deletes_at_peak_end,
        "deletes_queued_after_the_minute": queued_after_minute,
        "deletes_left": deps.media_queue.depth(),
        "delete_drain_s": drained["DeleteStage"],
        "max_stage_calls_per_s": ivs.max_per_second(),
    }


def _raid(deps, ivs, chat, time) -> dict:
    from chalicelib.domain.errors import DomainError, Forbidden
    from chalicelib.services import spaces, stage, stage_moderation
    from chalicelib.api.bodies.spaces import create_space as space_request

    host = env.seed_host("raided")
    space = spaces.create_space(deps, host, space_request({"title": "raided"}))
    listeners = [env.new_id("raider") for _ in range(REMOVALS)]
    for user in listeners:
        stage.join_space(deps, user, space.id)
    throttled_before, chat_throttled_before = len(ivs.throttled), len(chat.throttled)
    disconnects_before = ivs.count("DisconnectParticipant")
    t0 = time() + 1
    refused_at_once = 0
    errors = 0
    for i, user in enumerate(listeners):
        time.advance_to(t0 + i * 60 / REMOVALS)
        try:
            stage_moderation.remove_participant(deps, host, space.id, user)
        except DomainError:
            errors += 1
            continue
        try:
            stage.join_space(deps, user, space.id)  # the API must refuse them now
        except Forbidden:
            refused_at_once += 1
    done_in_minute = ivs.count("DisconnectParticipant") - disconnects_before
    drain_s = _drain_after(deps, (ivs,), time, t0, "DisconnectParticipant")["DisconnectParticipant"]
    return {
        "removals": REMOVALS,
        "removal_errors": errors,
        "refused_at_once": refused_at_once,
        "disconnects_done": ivs.count("DisconnectParticipant") - disconnects_before,
        "disconnects_done_within_the_minute": done_in_minute,
        "throttled": len(ivs.throttled) - throttled_before,
        "chat_throttled": len(chat.throttled) - chat_throttled_before,
        "drain_s": drain_s,
        "left_in_queue": deps.media_queue.depth(),
    }


def run(base_deps) -> tuple[list[dict], list[str]]:
    deps, ivs, chat, time = _world(base_deps)
    try:
        calls = _start_calls(deps, ivs, chat)
        top = _top_of_hour(deps, ivs, chat, time)
        raid = _raid(deps, ivs, chat, time)
    finally:
        ivs.close()
        chat.close()
    results = [
        {"name": "aws_calls.start_space", "value": round(calls["per_request"], 3), "unit": "calls/request"},
        {"name": "ivs_calls.start_space", "value": round(calls["ivs_per_request"], 3), "unit": "calls/request"},
        {"name": "ivs_chat_calls.start_space", "value": round(calls["ivs_chat_per_request"], 3), "unit": "calls/request"},
        {"name": "top_of_hour.starts_answered_201", "value": top["answered_201"], "unit": f"of {top['starts']}"},
        {"name": "top_of_hour.ivs_throttles_seen_by_users", "value": top["ivs_throttles_seen_by_users"], "unit": "responses"},
        {"name": "top_of_hour.pool_low_water", "value": top["pool_low_water"], "unit": "stages"},
        {"name": "top_of_hour.chat_throttles_seen_by_users", "value": top["chat_throttles_seen_by_users"], "unit": "responses"},
        {"name": "top_of_hour.room_pool_low_water", "value": top["room_pool_low_water"], "unit": "rooms"},
        {"name": "top_of_hour.room_delete_drain_s", "value": round(top["room_delete_drain_s"], 1), "unit": "s (simulated)"},
        {"name": "top_of_hour.delete_drain_s", "value": round(top["delete_drain_s"], 1), "unit": "s (simulated)"},
        {"name": "raid.refused_at_once", "value": raid["refused_at_once"], "unit": f"of {raid['removals']}"},
        {"name": "raid.disconnects_done", "value": raid["disconnects_done"], "unit": f"of {raid['removals']}"},
        {"name": "raid.throttled", "value": raid["throttled"], "unit": "IVS calls"},
        {"name": "raid.drain_s", "value": round(raid["drain_s"], 1), "unit": "s (simulated)"},
    ]
    ops = ", ".join(f"{op} {n:g}" for op, n in calls["ops"].items())
    notes = [
        f"aws_calls.start_space ({calls['requests']} starts, warm pool): {ops}",
        "stage_pool: simulated time over an in-process IVS that throttles each stage operation past "
        "5 calls in any second, and an IVS Chat at its rates; the minute jobs do not run inside the "
        "peak minute (sequential simulation)",
        f"top_of_hour: {top}",
        f"raid: {raid}",
    ]
    return results, notes
