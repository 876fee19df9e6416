"""The one orphan sweep: outside resources (stages, chat rooms, overflow channels) tagged with
the Space they were made for, that no live Space uses any more.

They are left behind when a create or start failed and its clean-up failed too, or when the
outside service made one whose answer was lost. One younger than the grace period may belong to
a write still in flight and is left alone. (Resources of ended Spaces are the release job's:
those Spaces carry release_pending.)
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

from aws_lambda_powertools import Logger

from chalicelib.config import SERVICE_NAME
from chalicelib.domain.errors import DependencyFailed, NotFound
from chalicelib.domain.spaces import LIVE, Space
from chalicelib.services.context import Deps

logger = Logger(child=True, service=SERVICE_NAME)

ORPHAN_GRACE_SECONDS = 900


def sweep(
    deps: Deps,
    listed: Iterable[tuple[str, str, int]],
    *,
    in_use: Callable[[Space, str], bool],
    delete: Callable[[str], None],
    what: str,
    metric: str,
    grace_seconds: int = ORPHAN_GRACE_SECONDS,
) -> int:
    """Delete each listed (resource, space_id, created_at) older than the grace period whose
    Space is not live or does not use it (`in_use(space, resource)`). A failed delete is logged
    and left to the next run. Returns how many were deleted; counts them as `metric`."""
    now = deps.clock.now().timestamp()
    deleted = 0
    for resource, space_id, created_at in listed:
        if now - created_at < grace_seconds:
            continue
        try:
            space = deps.spaces.get(space_id, with_count=False)
        except NotFound:
            space = None
        if space is not None and space.state == LIVE and in_use(space, resource):
            continue
        try:
            delete(resource)
        except DependencyFailed:
            logger.warning(f"orphan {what} delete failed", resource=resource, space_id=space_id)
            continue
        deleted += 1
        logger.info(f"orphan {what} deleted", resource=resource, space_id=space_id)
    if deleted:
        deps.telemetry.count(metric, deleted)
    return deleted
