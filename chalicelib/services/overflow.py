"""Overflow audiences: when a live Space nears its stage's subscriber capacity, its stage is
composed (IVS server-side composition) into a low-latency channel, once, and later listeners
get that channel's playback URL instead of a stage token (docs/overflow.md).

Decided off the join path: the rank-refresh job (every minute) already sums each live Space's
sharded participant count and hands the counts here. Joins only read the playback URL the Space
item carries (cold) or the container's cache holds (warm): no IVS call, no extra read.
"""
from __future__ import annotations

import math
from collections.abc import Iterable

from aws_lambda_powertools import Logger

from chalicelib.config import SERVICE_NAME
from chalicelib.domain.errors import DependencyFailed, NotFound
from chalicelib.domain.events.lifecycle import LiveCountsRefreshed
from chalicelib.domain.spaces import LIVE, OverflowInfo, Space
from chalicelib.ports import Refused
from chalicelib.services import compositions, orphans
from chalicelib.services.context import Deps

logger = Logger(child=True, service=SERVICE_NAME)

STOP_ATTEMPTS = 3


def threshold(deps: Deps) -> int:
    """The participant count at which a Space's overflow starts: headroom below capacity, so
    the channel is playing before the stage is full."""
    s = deps.settings
    return max(1, math.ceil(s.stage_subscriber_capacity * s.overflow_headroom_percent / 100))


def start_needed(deps: Deps, counts: dict[str, int]) -> int:
    """Start the overflow of every live Space whose count reached the threshold and has none.
    Returns how many were started. One Space's failure does not stop the others; it stays
    retryable by the next run."""
    at = threshold(deps)
    started = 0
    for space_id, count in counts.items():
        if count < at:
            continue
        try:
            started += start_overflow(deps, space_id)
        except DependencyFailed:
            logger.warning("overflow start failed; next run retries", space_id=space_id, count=count)
    return started


def start_overflows_needed(deps: Deps, event: LiveCountsRefreshed) -> None:
    """Reaction to the rank job's counts (services/dispatch.py): `start_needed`."""
    start_needed(deps, event.counts)


def restart_stopped_overflows(deps: Deps, event: LiveCountsRefreshed) -> None:
    """Reaction to the rank job's counts (services/dispatch.py): `keep_alive` for the Spaces its
    live list flags as overflowing."""
    keep_alive(deps, event.overflowing)


def start_overflow(deps: Deps, space_id: str) -> int:
    """Start one Space's overflow, exactly once across job runs: a conditional claim on the
    Space item, then CreateChannel + StartComposition (idempotency token: the Space id), then
    the result stored on the Space item. 1 when this call started it, else 0."""
    try:
        space = deps.spaces.get(space_id, with_count=False)
    except NotFound:
        return 0
    if space.state != LIVE or space.stage is None or space.overflow is not None:
        return 0
    now = deps.clock.now()
    if not deps.overflow_claims.claim_overflow(space_id, now, lease_seconds=deps.settings.overflow_claim_lease_seconds):
        return 0  # another run holds it, or it is on already
    try:
        info = deps.media.start_overflow(space_id, space.stage.arn)
    except DependencyFailed:
        _give_back(deps, space_id)
        deps.telemetry.count("OverflowStartFailed")
        raise
    try:
        deps.overflow_claims.set_overflow(space_id, info)
    except Refused:
        # The Space ended while the composition started: nobody will play it back.
        logger.info("space ended while its overflow started; stopping it", space_id=space_id)
        release_overflow(deps, space_id, info)
        return 0
    except DependencyFailed:
        # Not recorded: stop what was started and let the next run try again from the start.
        release_overflow(deps, space_id, info)
        _give_back(deps, space_id)
        raise
    deps.media_cache.drop(space_id)
    deps.telemetry.count("OverflowStarted")
    logger.info("overflow started", space_id=space_id, channel_arn=info.channel_arn)
    return 1


def keep_alive(deps: Deps, space_ids: Iterable[str]) -> int:
    """Start again the overflow compositions IVS stopped on its own (a minute without any
    publisher, or a broadcast failure), into the same channel, so playback listeners hear the
    stage again. Called by the rank job with the Spaces its "live" list flags (no extra read to
    find them): one GetItem and one GetComposition per overflowing Space per run. Returns how
    many were restarted; one Space's failure does not stop the others (services/compositions.py)."""
    return compositions.check_each(deps, space_ids, lambda space: _keep_alive(deps, space), what="overflow")


def _keep_alive(deps: Deps, space: Space) -> int:
    space_id, info = space.id, space.overflow
    if info is None:
        return 0
    if deps.media.overflow_running(info):
        return 0
    assert space.stage is not None  # a live Space with an overflow has its stage
    new_arn = deps.media.restart_overflow(space_id, space.stage.arn, info)
    restarted = compositions.record_restart(
        deps,
        space_id,
        new_arn,
        record=lambda: deps.overflow_claims.replace_overflow_composition(space_id, info.composition_arn, new_arn, info.restarts + 1),
        names=lambda: _names_overflow(deps, space_id, new_arn),
        discard=lambda: deps.media.stop_overflow(OverflowInfo("", info.playback_url, new_arn)),
        what="overflow",
        metric="OverflowRestarted",
        discard_failed_metric="OverflowReleaseDeferred",
    )
    if restarted:
        logger.info("overflow composition restarted", space_id=space_id, composition_arn=new_arn, restarts=info.restarts + 1)
    return restarted


def _names_overflow(deps: Deps, space_id: str, composition_arn: str) -> bool:
    overflow = deps.spaces.get(space_id, with_count=False).overflow
    return overflow is not None and overflow.composition_arn == composition_arn


def reconcile_channels(deps: Deps, grace_seconds: int = orphans.ORPHAN_GRACE_SECONDS) -> int:
    """Delete overflow channels no live Space uses (services/orphans.py): a CreateChannel whose
    answer was lost, a clean-up after a failed start or end that failed too. IVS refuses to
    delete a channel a stopping composition still feeds; the next run tries again."""
    return orphans.sweep(
        deps,
        deps.media.list_overflow_channels(),
        in_use=lambda space, arn: space.overflow is not None and space.overflow.channel_arn == arn,
        delete=lambda arn: deps.media.stop_overflow(OverflowInfo(arn, "", "")),
        what="channel",
        metric="OrphanChannelDeleted",
        grace_seconds=grace_seconds,
    )


def release_overflow(deps: Deps, space_id: str, info: OverflowInfo | None) -> bool:
    """Stop the composition and delete the channel, a few attempts. False when still there
    (the release job retries: the Space keeps release_pending)."""
    if info is None:
        return True
    for attempt in range(1, STOP_ATTEMPTS + 1):
        try:
            deps.media.stop_overflow(info)
            return True
        except DependencyFailed:
            logger.warning("overflow stop failed", space_id=space_id, attempt=attempt)
    deps.telemetry.count("OverflowReleaseDeferred")
    return False


def release_for(deps: Deps, space: Space) -> bool:
    return release_overflow(deps, space.id, space.overflow)


def _give_back(deps: Deps, space_id: str) -> None:
    try:
        deps.overflow_claims.release_overflow_claim(space_id)
    except DependencyFailed:
        logger.warning("overflow claim kept; it expires after the lease", space_id=space_id)
