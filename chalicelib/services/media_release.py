"""Letting go of a Space's media: its stage, its event room, its overflow channel.

Ending commits `ended` first (a Space can never be stuck live), then releases the media here, a
reaction to SpaceEnded (services/dispatch.py). Each delete is tried a few times; what is still
there leaves the Space `release_pending`, and the `release_pending_media` job retries it
(services/spaces.py). A start whose write was refused releases the stage it took the same way.
"""
from __future__ import annotations

from aws_lambda_powertools import Logger

from chalicelib.config import SERVICE_NAME
from chalicelib.domain.errors import DependencyFailed
from chalicelib.domain.events.lifecycle import SpaceEnded
from chalicelib.domain.spaces import Space
from chalicelib.services import overflow, room_events
from chalicelib.services.context import Deps

logger = Logger(child=True, service=SERVICE_NAME)

STAGE_DELETE_ATTEMPTS = 3


def release_stage(deps: Deps, space: Space) -> bool:
    """Delete a Space's stage, retrying a few times. False when it is still there. (A recorded
    stage records each participant into the bucket by itself: deleting it ends that too.)"""
    if space.stage is None:
        return True
    for attempt in range(1, STAGE_DELETE_ATTEMPTS + 1):
        try:
            deps.media.delete_stage(space.stage.arn)
            return True
        except DependencyFailed:
            logger.warning("stage delete failed", space_id=space.id, attempt=attempt)
    deps.telemetry.count("StageReleaseDeferred")
    return False


def release_media_after_end(deps: Deps, event: SpaceEnded) -> None:
    """The ended Space's overflow (the latest known: one started while the end ran is on the
    read after it), then its stage and room; when all are gone, clear `release_pending`."""
    space = event.space
    released = overflow.release_overflow(deps, space.id, event.overflow)
    released = release_stage(deps, space) & room_events.release_room(deps, space.id, space.room_arn) & released
    if (space.stage is not None or space.room_arn is not None) and released:
        try:
            deps.spaces.mark_media_released(space.id)
        except DependencyFailed:
            # The Space is ended and its stage gone; the sweeper deletes it again (idempotent)
            # and clears the flag. Not worth failing a request that did what it was asked.
            logger.warning("could not clear release_pending", space_id=space.id)
