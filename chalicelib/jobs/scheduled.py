"""Every scheduled job of the app, in one table: its name, its schedule, what it runs.

The Chalice app registers one scheduled Lambda per row (below), and the local worker of
`make run` (scripts/local_worker.py), which stands in for EventBridge there, runs the same rows
more often (`local_seconds`) so a person trying the stack sees results within seconds. A job is
a list of steps, each a service function that takes the `Deps` and returns how many things it
did; the Lambda answers `{counted: n}` for each step.

`name` is the Lambda function's name: infra/ (permissions, alarms) and the tests know the jobs by
it, so it stays as deployed. Service modules are named, not imported (chalicelib/lazy.py): every
Lambda imports app.py, and a job imports only what it runs, on its first run.
"""
from __future__ import annotations

from typing import Any, Callable

from chalice import Blueprint
from msgspec import Struct

from chalicelib import bootstrap
from chalicelib.lazy import service


class Step(Struct, frozen=True):
    """One step of a job: a service function that takes the Deps and returns a count."""

    service: str  # chalicelib.services.<service>
    function: str  # takes the Deps, returns a count
    counted: str  # the key the count is reported under

    def __call__(self, deps: Any) -> int:
        count: int = getattr(service(self.service), self.function)(deps)
        return count


class Job(Struct, frozen=True):
    """One scheduled job: its Lambda's name, its schedules and its steps."""

    name: str
    rate: str  # the EventBridge schedule in AWS stages
    local_seconds: float  # how often the local worker runs it
    steps: tuple[Step, ...]
    what: str  # for a reader of the table and the logs


JOBS: tuple[Job, ...] = (
    # The counts it sums are published (LiveCountsRefreshed): overflow starts and restarts react.
    Job("refresh_live_ranks", "rate(1 minute)", 10.0,
        (Step("discovery", "refresh_live_ranks", "changed"),),
        "copy participant counts into the live lists' ranks; start and restart overflow audiences"),
    Job("release_pending_media", "rate(5 minutes)", 60.0,
        (Step("spaces", "release_pending_media", "released"),),
        "delete the stages and rooms of ended Spaces whose first delete failed"),
    Job("sweep_presence", "rate(1 minute)", 30.0,
        (Step("stage", "sweep_live_presence", "disconnected"),),
        "disconnect clients of live Spaces that stopped refreshing their place"),
    # Stages, then the overflow channels of the same Spaces: the same rule, the same grace.
    Job("reconcile_stages", "rate(15 minutes)", 300.0,
        (Step("spaces", "reconcile_stages", "deleted"), Step("overflow", "reconcile_channels", "channels_deleted")),
        "delete IVS stages and overflow channels no live Space uses"),
    Job("reconcile_rooms", "rate(15 minutes)", 300.0,
        (Step("room_events", "reconcile_rooms", "deleted"),),
        "delete IVS Chat rooms no live Space uses"),
    Job("expire_ticket_holds", "rate(1 minute)", 10.0,
        (Step("tickets", "expire_holds", "expired"),),
        "let go of ticket holds whose buyer did not pay in time"),
    Job("renew_subscriptions", "rate(15 minutes)", 60.0,
        (Step("renewals", "renew_subscriptions", "renewed"),),
        "charge the subscriptions whose renewal is due"),
    Job("land_recordings", "rate(1 minute)", 10.0,
        (Step("replay_landing", "land_recordings", "changed"),),
        "mix the replays whose recordings IVS finished writing; cut clips; follow transcriptions"),
    # IVS calls that could wait (stage deletes, disconnects of removed users), at the rate the
    # control plane leaves over after requests (docs/capacity.md).
    Job("drain_media_queue", "rate(1 minute)", 5.0,
        (Step("media_queue", "drain_media_queue", "calls"),),
        "make the queued IVS stage deletes and disconnects, within the control-plane rate"),
    Job("refill_stage_pool", "rate(1 minute)", 5.0,
        (Step("stage_pool", "refill_stage_pool", "stages_added"),),
        "create stages ahead of the Spaces about to start, within the rate and the stage quota"),
    # A Lambda of its own, beside the stage refill: IVS Chat has its own 5 TPS and its own bucket,
    # so both pools fill in the same minute (each run up to 50 s).
    Job("refill_room_pool", "rate(1 minute)", 5.0,
        (Step("stage_pool", "refill_room_pool", "rooms_added"),),
        "create IVS Chat rooms ahead of the Spaces about to start, within IVS Chat's room rate"),
)


def run(job: Job, deps: Any) -> dict[str, int]:
    """The Lambda's run: the job's steps in order, each logged and its metrics flushed; a step
    that raises stops the job (the next run starts again from the first: every step is safe to
    repeat)."""
    done: dict[str, int] = {}
    for step in job.steps:
        try:
            count = step(deps)
            bootstrap.logger().info("scheduled job done", job=step.function, **{step.counted: count})
            done[step.counted] = count
        finally:
            bootstrap.flush_metrics()
    return done


bp = Blueprint(__name__)


def _lambda_handler(job: Job) -> Callable[[Any], dict[str, int]]:
    def handler(event: Any) -> dict[str, int]:
        return run(job, bootstrap.deps())

    # Chalice points the Lambda at `<this module>.<handler's name>`: each is a module attribute.
    handler.__name__ = handler.__qualname__ = job.name
    return handler


for _job in JOBS:
    globals()[_job.name] = bp.schedule(_job.rate, name=_job.name)(_lambda_handler(_job))
del _job
