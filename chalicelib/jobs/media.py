"""Scheduled jobs: retry stage and room deletions that failed when a Space ended; refresh the
live discovery ranks from the sharded participant counts; stop counting clients that vanished;
delete stages, overflow channels and chat rooms no live Space uses. The local worker of `make run` runs the same
functions."""
from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.lazy import service

discovery = service("discovery")
media_queue = service("media_queue")
stage_pool = service("stage_pool")
overflow = service("overflow")
room_events = service("room_events")
spaces = service("spaces")
stage = service("stage")

bp = Blueprint(__name__)


def _run(job, what: str) -> dict:
    try:
        done = job(bootstrap.deps())
        bootstrap.logger().info("scheduled job done", job=job.__name__, **{what: done})
        return {what: done}
    finally:
        bootstrap.flush_metrics()


@bp.schedule("rate(5 minutes)", name="release_pending_media")
def release_pending(event):
    return _run(spaces.release_pending_media, "released")


@bp.schedule("rate(1 minute)", name="refresh_live_ranks")
def refresh_ranks(event):
    return _run(discovery.refresh_live_ranks, "changed")


@bp.schedule("rate(1 minute)", name="sweep_presence")
def sweep(event):
    return _run(stage.sweep_live_presence, "disconnected")


@bp.schedule("rate(15 minutes)", name="reconcile_stages")
def reconcile(event):
    # Stages, then the overflow channels of the same Spaces: the same rule, the same grace.
    done = _run(spaces.reconcile_stages, "deleted")
    done.update(_run(overflow.reconcile_channels, "channels_deleted"))
    return done


@bp.schedule("rate(15 minutes)", name="reconcile_rooms")
def reconcile_chat_rooms(event):
    return _run(room_events.reconcile_rooms, "deleted")


@bp.schedule("rate(1 minute)", name="drain_media_queue")
def drain_media(event):
    # IVS calls that could wait (stage deletes, disconnects of removed users), at the rate the
    # control plane leaves over after requests (docs/capacity.md).
    return _run(media_queue.drain_media_queue, "calls")


@bp.schedule("rate(1 minute)", name="refill_stage_pool")
def refill_pool(event):
    return _run(stage_pool.refill_stage_pool, "stages_added")
