"""Draining the queue of IVS calls that can wait (docs/capacity.md: the limiter).

The drain job runs every minute for at most `media_queue_drain_seconds`, making the oldest
queued calls through the media adapter that gives way to requests (it waits for tokens but never
takes the last one). A call IVS refuses is retried with backoff, and after
`MAX_ATTEMPTS` it is dropped and counted: a stage left behind is deleted by the orphan sweep, a
participant left connected stops at the end of the Space (their stage is deleted) or when their
token expires.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

from chalicelib.config import SERVICE_NAME
from chalicelib.domain.errors import DependencyFailed
from chalicelib.services.context import Deps

if TYPE_CHECKING:  # annotations only
    from chalicelib.port_protocols import MediaQueuePort
    from chalicelib.domain.media_queue import QueuedCall

logger = Logger(child=True, service=SERVICE_NAME)

# Each queued operation, and the Deps adapter (giving way to requests) that makes it.
OPERATIONS = {
    "delete_stage": "background_media",
    "disconnect_participant": "background_media",
    "delete_room": "background_room_events",  # IVS Chat: a bucket of its own
}
MAX_ATTEMPTS = 8
LEASE_SECONDS = 60
BUSY = "media_busy"


def drain_media_queue(deps: Deps, budget_seconds: float | None = None) -> int:
    """Make queued calls until the queue is empty or the time budget is spent. Returns how many
    calls were made."""
    queue = deps.media_queue
    if queue is None or deps.background_media is None:
        return 0
    budget = deps.settings.media_queue_drain_seconds if budget_seconds is None else budget_seconds
    started = deps.clock.now().timestamp()

    def time_left() -> bool:
        return deps.clock.now().timestamp() - started < budget

    made = 0
    oldest_wait_ms = 0
    busy: set[str] = set()  # adapters out of tokens for this run
    while time_left():
        calls = queue.peek()
        if not calls:
            break
        progressed = False
        for call in calls:
            if not time_left():
                break
            if not _make(deps, queue, call, busy):
                continue
            made += 1
            progressed = True
            oldest_wait_ms = max(oldest_wait_ms, int(deps.clock.now().timestamp() * 1000) - call.enqueued_ms)
        if not progressed:
            break
    return _finish(deps, made, oldest_wait_ms)


def _make(deps: Deps, queue: MediaQueuePort, call: QueuedCall, busy: set[str]) -> bool:
    """Lease one queued call and make it through its adapter. True when it was made; a call
    another drain holds, or whose adapter is out of tokens this run, is left for later."""
    target = OPERATIONS.get(call.operation)
    if target in busy or not queue.lease(call, LEASE_SECONDS):
        return False  # out of tokens, or another drain (or the request itself) has it
    adapter = getattr(deps, target) if target else None
    if target is None or adapter is None:
        logger.error("unknown queued media call dropped", operation=call.operation)
        queue.done(call)
        return False
    try:
        getattr(adapter, call.operation)(*call.args)
    except DependencyFailed as exc:
        if exc.code == BUSY:
            # Out of time for a token: the next run takes it; the other bucket's calls (stages
            # or rooms) go on.
            queue.release(call)
            busy.add(target)
        else:
            _failed(deps, queue, call)
        return False
    queue.done(call)
    return True


def _failed(deps: Deps, queue: MediaQueuePort, call: QueuedCall) -> None:
    if call.attempts + 1 >= MAX_ATTEMPTS:
        logger.error("queued media call abandoned", operation=call.operation, call_args=call.args, attempts=call.attempts + 1)
        deps.telemetry.count("MediaCallAbandoned")
        queue.done(call)
        return
    logger.warning("queued media call failed; retried later", operation=call.operation, attempts=call.attempts + 1)
    queue.failed(call, retry_in_seconds=min(600, 5 * 2**call.attempts))


def _finish(deps: Deps, made: int, oldest_wait_ms: int) -> int:
    if made:
        deps.telemetry.count("MediaCallDrained", made)
        logger.info("media queue drained", calls=made, longest_wait_ms=oldest_wait_ms)
    return made
