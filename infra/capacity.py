"""The capacity model: how far one AWS account and region carry Spaces, and what binds first.

    .venv/bin/python -m infra.capacity --profile top_of_hour
    .venv/bin/python -m infra.capacity --profile all [--no-pool] [--json]

A profile is a workload: operations per second over a window (starts, joins, removals, pushes
...) and things held at once (live stages, listeners, chat connections). Each operation costs
units of quotas (`OPERATIONS`); every number a quota has comes from infra/quotas.py, the one
table of quotas with their sources. For each quota a profile touches the model prints the peak
use, the headroom, the share used, and the raise or design change that lifts it, then which
quota binds first.

Work that can wait (deleting stages, disconnecting removed users, refilling the stage pool) is
queued behind the IVS limiter (docs/capacity.md): it does not count against a quota's share at
the peak; the model prints how long its backlog takes to drain at what the quota leaves over.

The per-operation costs are estimates from the code's call counts (`make bench`: aws_calls.*)
and the assumptions written next to each; the docs say which were measured.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass, field

from infra.quotas import BY_KEY, LEVEL, RATE, Quota


@dataclass(frozen=True)
class Operation:
    """What one operation costs. For a "rate" operation (per second) a cost on a rate quota is
    calls per operation and on a level quota the seconds it holds a unit (a Lambda's duration:
    Little's law); for a "level" operation (things held at once) a cost on a level quota is units
    per thing held and on a rate quota calls per second per thing held (heartbeats)."""

    kind: str  # RATE or LEVEL
    costs: dict[str, float]
    # Quotas whose calls this operation queues rather than makes on the request (the limiter's
    # deferrable work): they drain after the peak.
    deferred: frozenset[str] = frozenset()
    note: str = ""


HEARTBEAT_S = 150  # the join response asks for a heartbeat every 150 s (docs/joins.md)

OPERATIONS: dict[str, Operation] = {
    "start_space": Operation(
        RATE,
        {
            "apigw.rps": 1,
            "lambda.concurrency": 0.25,  # seconds of a warm start: a few DynamoDB round trips
            "ddb.table_wru": 12,  # hottest table (discovery): 1 + topics + host list items, transactional (x2)
            "ddb.table_rru": 4,
            "ddb.partition_wcu": 3,  # the "live" list key (2, transactional) + the pool's available index (1)
            # a pooled stage: no IVS call (see no_pool); but one Space in ten is recorded, and a
            # recorded Space's stage is created at its start (docs/recording.md)
            "ivs_rt.stage_control_tps": 0.1,
            "ivschat.room_control_tps": 0,  # a pooled room: no IVS Chat call (see no_pool)
            "scheduler.schedule_api_tps": 2,  # the Space's two pending schedules are deleted
        },
        note="a start claims a pooled stage and a pooled IVS Chat room (0 IVS, 0 IVS Chat calls)",
    ),
    "pool_refill": Operation(
        RATE,
        {"ivs_rt.stage_control_tps": 1, "ivschat.room_control_tps": 1, "ddb.table_wru": 2},
        deferred=frozenset({"ivs_rt.stage_control_tps", "ivschat.room_control_tps"}),
        note="the pool jobs create the stage and the room a start took (CreateStage, CreateRoom: queued)",
    ),
    "end_space": Operation(
        RATE,
        {
            "apigw.rps": 1,
            "lambda.concurrency": 0.3,
            "ddb.table_wru": 12,
            "ivs_rt.stage_control_tps": 1,  # DeleteStage: queued
            "ivschat.room_control_tps": 1,  # DeleteRoom: queued
            "ivschat.send_event_tps": 1,  # space_ended
        },
        deferred=frozenset({"ivs_rt.stage_control_tps", "ivschat.room_control_tps"}),
    ),
    "join": Operation(
        RATE,
        {
            "apigw.rps": 1,
            "lambda.concurrency": 0.05,
            # participant PutItem + presence index + listeners index (docs/people.md) + the fold's
            # counted flag (x2)
            "ddb.table_wru": 5,
            "ddb.table_rru": 0.1,  # a cold container reads the Space (1 in 10 joins)
            "ddb.partition_rcu": 0.1,  # ... on the Space's key
            # the fold moves a counter shard once per stream batch. The join's listeners index
            # entry lands on a per-Space key this model (which adds every join's units onto one
            # key) cannot place across many Spaces: `famous_join_listing` adds it for one famous
            # host's Space; docs/capacity.md, docs/people.md
            "ddb.partition_wcu": 0.02,
            "ivs_rt.create_participant_token_tps": 0,  # tokens are minted in-process
            "ivschat.create_chat_token_tps": 1,  # each listener opens the room once per session
        },
    ),
    # A join into one famous host's Space, on top of "join": its listeners index entry. The Space's
    # list is spread over 10 index keys (docs/people.md), so each key takes one join in ten.
    "famous_join_listing": Operation(RATE, {"ddb.partition_wcu": 1 / 10}),
    "listener": Operation(
        LEVEL,
        {
            "apigw.rps": 1 / HEARTBEAT_S,
            "lambda.concurrency": 0.05 / HEARTBEAT_S,
            "ddb.table_wru": 2 / HEARTBEAT_S,  # heartbeat: one conditional UpdateItem (+ index)
            "ivschat.concurrent_connections": 1,
            "ivschat.create_chat_token_tps": 1 / 3600,  # a chat session lasts 60 min
        },
        note="a connected listener: heartbeats, one chat connection",
    ),
    "stage_listener_biggest_space": Operation(LEVEL, {"ivs_rt.subscribers_per_stage": 1}),
    "speaker_biggest_space": Operation(LEVEL, {"ivs_rt.publishers_per_stage": 1}),
    "overflow_listener": Operation(LEVEL, {"ivs_ll.concurrent_views": 1}),
    "live_stage": Operation(LEVEL, {"ivs_rt.stages": 1}, note="a live Space's stage"),
    "pooled_stage": Operation(LEVEL, {"ivs_rt.stages": 1}, note="a stage waiting in the pool"),
    # Overflow only: recording uses individual participant recording, no composition.
    "overflowing_space": Operation(LEVEL, {"ivs_rt.compositions": 1}),
    "overflow_start": Operation(
        RATE, {"ivs_ll.channel_control_tps": 1, "ivs_rt.composition_control_tps": 1}
    ),
    "remove_user": Operation(
        RATE,
        {
            "apigw.rps": 1,
            "lambda.concurrency": 0.1,
            "ddb.table_wru": 4,  # the ban on the participant item, counts
            "ivs_rt.stage_control_tps": 1,  # DisconnectParticipant: queued
            "ivschat.disconnect_user_tps": 1,
            "ivschat.send_event_tps": 1,  # participant_removed
        },
        deferred=frozenset({"ivs_rt.stage_control_tps"}),
        note="the API refuses the user at once; the media disconnect is queued",
    ),
    "room_event": Operation(RATE, {"ivschat.send_event_tps": 1}),
    "reminder_push": Operation(
        RATE,
        {
            "sns.publish_tps": 1,
            "ddb.table_wru": 2,  # the push claim (conditional PutItem) and its release
            "lambda.concurrency": 0.02,  # a push worker's share of a 100-message batch
        },
    ),
    "schedule_fires": Operation(RATE, {"scheduler.invocations_tps": 1}),
    "schedule_space": Operation(RATE, {"apigw.rps": 1, "scheduler.schedule_api_tps": 2, "ddb.table_wru": 8}),
}

# The pools change what a start costs: without them each start is a CreateStage and a CreateRoom
# on the request.
NO_POOL_START = {"ivs_rt.stage_control_tps": 1, "ivschat.room_control_tps": 1}
NO_POOL_REMOVED = ("pool_refill", "pooled_stage")


@dataclass(frozen=True)
class Profile:
    name: str
    title: str
    window_seconds: int  # how long the peak rates last (backlogs are rate x window)
    rates: dict[str, float]  # operation -> per second
    levels: dict[str, float]  # operation -> held at once
    ramp_seconds: int = 60  # how fast Lambda concurrency must grow to its peak
    assumptions: tuple[str, ...] = ()


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            "normal_day",
            "A normal day's busiest hour",
            3600,
            rates={
                "start_space": 1000 / 3600,
                "pool_refill": 1000 / 3600,
                "end_space": 1000 / 3600,
                "join": 150,
                "remove_user": 0.1,
                "room_event": 5,
                "reminder_push": 50_000 / 3600,
                "schedule_fires": 2000 / 3600,
                "schedule_space": 1000 / 3600,
            },
            levels={
                "live_stage": 500,
                "pooled_stage": 50,
                "overflowing_space": 0,  # the biggest Space (8,000) stays under the overflow threshold
                "listener": 300_000,
                "stage_listener_biggest_space": 8_000,
                "speaker_biggest_space": 12,
            },
            assumptions=(
                "1,000 Spaces start and 1,000 end in the hour; 500 live at once; 1 in 10 recorded",
                "300,000 listeners connected, 150 joins/s, the biggest Space 8,000 listeners",
                "50,000 reminder pushes in the hour",
            ),
        ),
        Profile(
            "top_of_hour",
            "Top of the hour: 2,000 scheduled starts in one minute",
            60,
            rates={
                "start_space": 2000 / 60,
                "pool_refill": 2000 / 60,
                "end_space": 1500 / 60,
                "join": 400_000 / 120,
                "room_event": 50,
                "reminder_push": 200_000 / 60,
                "schedule_fires": 2000 / 60,
            },
            levels={
                "live_stage": 2500,
                "pooled_stage": 2200,  # the 2,000 scheduled + the 10 % margin
                "overflowing_space": 1,  # the biggest Space (9,000) reaches 90 % of its stage
                "listener": 600_000,
                "stage_listener_biggest_space": 9_000,
                "speaker_biggest_space": 12,
            },
            assumptions=(
                "2,000 scheduled Spaces start in the minute, their stages and chat rooms pooled "
                "ahead; 1,500 of the last hour's end in the same minute",
                "each scheduled Space has 100 reminders (200,000 pushes) and 200 listeners who "
                "join over two minutes (3,333 joins/s)",
                "the pool holds the 2,000 stages and a margin of 200 before the minute (so the "
                "stage quota must fit live + pool), and refills after it; the room pool likewise",
            ),
        ),
        Profile(
            "million_listener_space",
            "One Space with 1,000,000 listeners (stage + overflow) and 1,000,000 reminder pushes",
            600,
            rates={
                "start_space": 1 / 600,
                "pool_refill": 1 / 600,
                "overflow_start": 1 / 600,
                "join": 1_000_000 / 600,
                "famous_join_listing": 1_000_000 / 600,  # the same joins' listeners index entries
                "room_event": 10,
                "reminder_push": 1_000_000 / 300,
                "schedule_fires": 1 / 600,
            },
            levels={
                "live_stage": 1,
                "overflowing_space": 1,
                "listener": 1_000_000,
                "stage_listener_biggest_space": 9_000,
                "overflow_listener": 991_000,
                "speaker_biggest_space": 12,
            },
            ramp_seconds=120,
            assumptions=(
                "1,000,000 listeners join over 10 minutes; 9,000 on the stage (overflow starts at 90 %), 991,000 on the "
                "overflow channel; every listener opens the chat room",
                "1,000,000 reminder pushes go out over 5 minutes",
            ),
        ),
        Profile(
            "raid_500_removals",
            "A raid: moderators remove 500 listeners from one Space in a minute",
            60,
            rates={"remove_user": 500 / 60, "room_event": 500 / 60},
            levels={
                "live_stage": 1,
                "listener": 20_000,
                "stage_listener_biggest_space": 9_000,
                "speaker_biggest_space": 12,
            },
            assumptions=("500 removals in 60 s from one Space of 20,000 listeners",),
        ),
    )
}


@dataclass
class Use:
    quota: Quota
    now: float = 0.0  # used at the peak, on requests and jobs that cannot wait
    deferred: float = 0.0  # per second, queued (rate quotas only)
    by: dict[str, float] = field(default_factory=dict)
    backlog: float = 0.0
    drain_seconds: float | None = None

    @property
    def share(self) -> float:
        return self.now / self.quota.limit if self.quota.limit else math.inf

    @property
    def headroom(self) -> float:
        return self.quota.limit - self.now


def operations_for(pool: bool = True) -> dict[str, Operation]:
    if pool:
        return OPERATIONS
    ops = {k: v for k, v in OPERATIONS.items() if k not in NO_POOL_REMOVED}
    start = ops["start_space"]
    ops["start_space"] = Operation(start.kind, {**start.costs, **NO_POOL_START}, note="CreateStage and CreateRoom on the request")
    return ops


def quotas_touched(profile: Profile, pool: bool = True) -> set[str]:
    """Every quota the profile's operations cost anything on (the Lambda scaling rate follows
    from Lambda concurrency)."""
    ops = operations_for(pool)
    keys = {k for name in {**profile.rates, **profile.levels} if name in ops for k in ops[name].costs}
    if "lambda.concurrency" in keys:
        keys.add("lambda.scaling_rate")
    return keys


def evaluate(profile: Profile, pool: bool = True) -> list[Use]:
    ops = operations_for(pool)
    uses: dict[str, Use] = {}
    for amounts in (profile.rates, profile.levels):
        for name, amount in amounts.items():
            if name not in ops:
                continue  # the pool's own operations when modelling without one
            op = ops[name]
            for key, cost in op.costs.items():
                use = uses.setdefault(key, Use(BY_KEY[key]))
                value = amount * cost
                if key in op.deferred:
                    use.deferred += value
                else:
                    use.now += value
                use.by[name] = use.by.get(name, 0.0) + value
    if "lambda.concurrency" in uses:
        scaling = uses.setdefault("lambda.scaling_rate", Use(BY_KEY["lambda.scaling_rate"]))
        scaling.now = uses["lambda.concurrency"].now / profile.ramp_seconds
        scaling.by["ramp to peak concurrency"] = scaling.now
    for use in uses.values():
        if use.deferred:
            use.backlog = use.deferred * profile.window_seconds
            ceiling = use.quota.app_ceiling or use.quota.limit
            spare = ceiling - use.now
            use.drain_seconds = use.backlog / spare if spare > 0 else None
    return sorted(uses.values(), key=lambda u: (-u.share, u.quota.key))


def binding(uses: list[Use]) -> Use:
    """The quota closest to (or furthest past) its limit at the peak, of those the app does not
    itself keep under their limit."""
    return max((u for u in uses if not u.quota.enforced_by_app), key=lambda u: u.share)


def _n(x: float) -> str:
    if x == 0:
        return "0"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 1:
        return f"{x:,.1f}"
    return f"{x:.3g}"


def render(profile: Profile, pool: bool = True) -> str:
    uses = evaluate(profile, pool)
    lines = [f"## {profile.name}: {profile.title}" + ("" if pool else " (without the stage pool)"), ""]
    lines += [f"- {a}" for a in profile.assumptions]
    lines += [
        "",
        "| service | quota | limit | peak use | headroom | used | adjustable | queued (drain) | lifts it |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for u in uses:
        q = u.quota
        queued = "-"
        if u.deferred:
            drain = "never (no spare)" if u.drain_seconds is None else f"{u.drain_seconds:,.0f} s"
            queued = f"{_n(u.deferred)} {q.unit} deferred, backlog {_n(u.backlog)} ({drain})"
        lines.append(
            f"| {q.service} | {q.name} | {_n(q.limit)} {q.unit} | {_n(u.now)} | {_n(u.headroom)} | "
            f"{u.share:.0%} | {'yes' if q.adjustable else 'no'} | {queued} | {q.lift} |"
        )
    first = binding(uses)
    lines += [
        "",
        f"Binds first: {first.quota.service} {first.quota.name} at {first.share:.0%} "
        f"({_n(first.now)} of {_n(first.quota.limit)} {first.quota.unit}). Lift: {first.quota.lift}.",
    ]
    fixed = binding([u for u in uses if not u.quota.adjustable] or uses)
    lines += [
        f"Hardest wall (not adjustable): {fixed.quota.service} {fixed.quota.name} at {fixed.share:.0%}. "
        f"Lift: {fixed.quota.lift}.",
        "",
    ]
    return "\n".join(lines)


def as_json(profile: Profile, pool: bool = True) -> dict:
    uses = evaluate(profile, pool)
    return {
        "profile": profile.name,
        "pool": pool,
        "binds_first": binding(uses).quota.key,
        "quotas": [
            {
                "key": u.quota.key,
                "limit": u.quota.limit,
                "peak": round(u.now, 3),
                "headroom": round(u.headroom, 3),
                "share": round(u.share, 4),
                "deferred_per_s": round(u.deferred, 3),
                "backlog": round(u.backlog, 1),
                "drain_seconds": None if u.drain_seconds is None else round(u.drain_seconds, 1),
                "source": u.quota.source,
                "lift": u.quota.lift,
            }
            for u in uses
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.capacity", description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", required=True, help=f"one of {', '.join(PROFILES)}, or all")
    parser.add_argument("--no-pool", action="store_true", help="model starts that call CreateStage (today's code)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    names = list(PROFILES) if args.profile == "all" else [args.profile]
    unknown = [n for n in names if n not in PROFILES]
    if unknown:
        parser.error(f"unknown profile {unknown[0]!r}; one of {', '.join(PROFILES)}, or all")
    pool = not args.no_pool
    if args.json:
        print(json.dumps([as_json(PROFILES[n], pool) for n in names], indent=2))
    else:
        print("\n".join(render(PROFILES[n], pool) for n in names))
    return 0


if __name__ == "__main__":
    sys.exit(main())
