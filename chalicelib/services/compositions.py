"""Keeping a live Space's server-side compositions running: the overflow audience's
(docs/overflow.md: a composition into a channel). Recording uses no composition.

IVS stops a composition on its own (a minute without publishers, a failure). Every minute the rank
job asks IVS about each one and starts another under a deterministic idempotency token; the new
composition is recorded by a write conditional on the Space still live and still naming the
stopped one, so of two job runs one records it.
"""
from __future__ import annotations

from typing import Callable, Iterable

from aws_lambda_powertools import Logger

from chalicelib.config import SERVICE_NAME
from chalicelib.domain.errors import DependencyFailed, NotFound
from chalicelib.domain.spaces import LIVE, Space
from chalicelib.ports import Refused
from chalicelib.services.context import Deps

logger = Logger(child=True, service=SERVICE_NAME)


def check_each(deps: Deps, space_ids: Iterable[str], keep_alive_one: Callable[[Space], int], *, what: str) -> int:
    """`keep_alive_one` for every one of the Spaces that is (still) live with a stage, read once
    each, in a stable order; returns how many were restarted. One Space's failure (IVS or
    DynamoDB unavailable) does not stop the others: the next run retries."""
    restarted = 0
    for space_id in sorted(space_ids):
        try:
            space = deps.spaces.get(space_id, with_count=False)
            if space.state == LIVE and space.stage is not None:
                restarted += keep_alive_one(space)
        except NotFound:
            continue
        except DependencyFailed:
            logger.warning("composition check failed; next run retries", space_id=space_id, composition=what)
    return restarted


def record_restart(
    deps: Deps,
    space_id: str,
    new_arn: str,
    *,
    record: Callable[[], None],
    names: Callable[[], bool],
    discard: Callable[[], object],
    what: str,
    metric: str,
    discard_failed_metric: str,
) -> int:
    """Record a composition just started again (`record`, a conditional write raising Refused).
    1 when this call recorded it. When refused (the Space ended, or another run recorded a restart
    first) the new composition is stopped (`discard`), unless the Space `names` it: two runs that
    sent StartComposition with the same idempotency token got the same composition, and the one
    that lost the write must not stop what the winner recorded."""
    try:
        record()
    except Refused:
        if names():
            logger.info("composition restarted by another run", space_id=space_id, composition=what, composition_arn=new_arn)
            return 0
        logger.info("composition restart not recorded; stopping it", space_id=space_id, composition=what)
        try:
            discard()
        except DependencyFailed:
            deps.telemetry.count(discard_failed_metric)
        return 0
    deps.telemetry.count(metric)
    return 1
