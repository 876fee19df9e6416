"""The stage pool's use cases: a start takes a ready stage; a job keeps the pool filled.

`acquire_stage` is what a start (or a creation live) calls instead of CreateStage: it claims a
ready stage with one conditional write and makes no IVS call. Only when the pool is empty does it
create a stage, through the request-priority IVS client (the limiter): if no token comes within
`ivs_request_max_wait_seconds`, the client gets 503 `media_busy` with Retry-After.

`refill_stage_pool` (every minute) sizes the pool from demand (domain/stage_pool.py) and creates
the missing stages through the client that gives way to requests, within its time budget.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from aws_lambda_powertools import Logger
from msgspec.structs import replace

from chalicelib.config import SERVICE_NAME
from chalicelib.domain import stage_pool as rules
from chalicelib.domain.errors import DependencyFailed
from chalicelib.domain.ids import new_ulid
from chalicelib.domain.spaces import StageInfo
from chalicelib.services.context import Deps

logger = Logger(child=True, service=SERVICE_NAME)

# Pooled stages are created before any Space exists: their tags name a pool id, not a Space.
POOL_ID_PREFIX = "pool-"


def _claim_from(deps: Deps, pool: Any, space_id: str, kind: str) -> Any:
    """A ready stage or room from `pool` (metrics `<kind>PoolHit` / `<kind>PoolEmpty`), or None
    when the pool is empty and the caller must create one on the request."""
    claimed = pool.claim(space_id)
    if claimed is not None:
        deps.telemetry.count(f"{kind}PoolHit")
        return claimed
    deps.telemetry.count(f"{kind}PoolEmpty")
    logger.info(f"{kind.lower()} pool empty: creating a {kind.lower()} on the request", space_id=space_id)
    return None


def acquire_stage(deps: Deps, space_id: str) -> StageInfo:
    pool = deps.stage_pool
    stage = _claim_from(deps, pool, space_id, "Stage") if pool is not None else None
    return stage if stage is not None else deps.media.create_stage(space_id)


def pool_rules(deps: Deps) -> rules.PoolRules:
    s = deps.settings
    return rules.PoolRules(
        lookahead_minutes=s.stage_pool_lookahead_minutes,
        lead_minutes=s.stage_pool_lead_minutes,
        min_size=s.stage_pool_min_size,
        stage_quota=s.stage_quota,
        quota_headroom=s.stage_quota_headroom,
        margin_percent=s.stage_pool_margin_percent,
    )


def acquire_room(deps: Deps, space_id: str) -> str | None:
    """A start's IVS Chat room: a ready one from the room pool (no IVS Chat call), else
    CreateRoom through the request-priority chat client (its limiter: 503 `media_busy` with
    Retry-After when no token comes in time). None when the app has no room events."""
    if deps.room_events is None:
        return None
    pool = deps.room_pool
    room = _claim_from(deps, pool, space_id, "Room") if pool is not None else None
    return room if room is not None else deps.room_events.create_room(space_id)


def refill_stage_pool(deps: Deps, budget_seconds: float | None = None) -> int:
    """Create the stages the pool is short of. Returns how many were added."""
    media = deps.background_media
    if deps.stage_pool is None or media is None:
        return 0
    return _refill(deps, deps.stage_pool, media.create_stage, deps.settings.stage_quota, "stage", budget_seconds)


def refill_room_pool(deps: Deps, budget_seconds: float | None = None) -> int:
    """Create the IVS Chat rooms the room pool is short of: the same demand as stages (every
    start takes one of each), within the room quota. Returns how many were added."""
    rooms = deps.background_room_events
    if deps.room_pool is None or rooms is None:  # the local event log: no rooms to pool
        return 0
    return _refill(deps, deps.room_pool, rooms.create_room, deps.settings.room_quota, "room", budget_seconds)


def _refill(
    deps: Deps, pool: Any, create: Callable[[str], Any], quota: int, kind: str, budget_seconds: float | None
) -> int:
    r = replace(pool_rules(deps), stage_quota=quota)
    now = deps.clock.now().timestamp()
    budget = deps.settings.media_queue_drain_seconds if budget_seconds is None else budget_seconds
    available = pool.available_count()
    previous, scheduled_before, last_ms = pool.last_refill()
    scheduled, live = pool.demand(now, r.lookahead_minutes * 60)
    minutes = (now * 1000 - last_ms) / 60_000 if last_ms else 0
    recent = rules.recent_start_rate(
        previous, available, minutes, scheduled_before=scheduled_before, scheduled_now=scheduled
    )
    target = rules.target_size(r, scheduled_soon=scheduled, recent_starts_per_minute=recent, live_stages=live)
    missing = rules.to_create(target, available)
    added = 0
    for _ in range(missing):
        if deps.clock.now().timestamp() - now >= budget:
            break
        try:
            made = create(f"{POOL_ID_PREFIX}{new_ulid()}")
        except DependencyFailed as exc:
            logger.warning(f"{kind} pool refill stopped", reason=exc.code, added=added, missing=missing)
            break
        pool.add(made)
        added += 1
    pool.note_refill(available + added, scheduled)
    if added:
        deps.telemetry.count(f"{kind.capitalize()}PoolRefilled", added)
    logger.info(
        f"{kind} pool refilled",
        available=available + added,
        added=added,
        target=target,
        scheduled_soon=scheduled,
        live=live,
        recent_starts_per_minute=round(recent, 2),
    )
    return added


def resolve_pooled(pool: Any, listed: Iterable[tuple[str, str, int]]) -> list[tuple[str, str, int]]:
    """The orphan sweep's view of this app's stages (or rooms, given the room pool): a pooled one
    still ready is left alone; a claimed one is judged by the Space that claimed it; any other
    keeps its tag."""
    listed = list(listed)
    if pool is None or not any(space_id.startswith(POOL_ID_PREFIX) for _, space_id, _ in listed):
        return listed
    ready = pool.available_arns()
    resolved = []
    for arn, space_id, created_at in listed:
        if space_id.startswith(POOL_ID_PREFIX):
            if arn in ready:
                continue
            space_id = pool.claimed_by(arn) or space_id
        resolved.append((arn, space_id, created_at))
    return resolved
