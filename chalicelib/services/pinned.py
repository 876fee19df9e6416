"""A live Space's pinned post (domain/pinned.py): the host and co-hosts pin one link with a short
text, or take it down. Each is one write with its moderation ledger entry (`pin` / `unpin`, target
the Space), then the room hears it (`post_pinned` / `post_unpinned`), best effort like every room
event: a listener who missed it reads `pinned` in the Space's view.
"""
from __future__ import annotations

from typing import Callable, TypeVar

from aws_lambda_powertools import Logger

from chalicelib.config import SERVICE_NAME
from chalicelib.domain import room_events as ev
from chalicelib.domain.commands.room import PinPost
from chalicelib.domain.errors import Conflict, DependencyFailed
from chalicelib.domain.moderation import PIN, UNPIN, space_entry
from chalicelib.domain.permissions import require_moderator
from chalicelib.domain.pinned import PinChange, PinnedPost
from chalicelib.domain.spaces import Space, require_live
from chalicelib.ports import Refused
from chalicelib.services import room_events
from chalicelib.services.context import Deps

logger = Logger(child=True, service=SERVICE_NAME)
T = TypeVar("T")


def may_pin(deps: Deps, actor_id: str, space_id: str) -> Space:
    """Who may pin or unpin, and when: the host and co-hosts (404, 403) of a live Space (409)."""
    space = deps.spaces.get(space_id, with_count=False)
    require_moderator(space, actor_id, "pin a post")
    require_live(space)
    return space


def pin(deps: Deps, actor_id: str, space_id: str, post: PinPost) -> PinChange:
    """`PUT /spaces/{id}/pinned`: pin the link, replacing the one pinned before."""
    space = may_pin(deps, actor_id, space_id)
    now = deps.clock.now()
    pinned = PinnedPost(post.url, post.text, actor_id, now)
    _with_lists_as_read(
        deps, actor_id, space,
        lambda current: deps.stage_members.pin(current, pinned, space_entry(space_id, PIN, actor_id, now)),
    )
    deps.telemetry.count("PostPinned")
    logger.info("post pinned", space_id=space_id, by=actor_id)
    room_events.emit(deps, space, ev.POST_PINNED, **pinned.event_attributes())
    return PinChange(space_id, pinned)


def unpin(deps: Deps, actor_id: str, space_id: str) -> PinChange:
    """`DELETE /spaces/{id}/pinned`: take the pinned post down. Nothing pinned: 200, nothing
    written or logged (`changed` false), so a retried request is harmless."""
    space = may_pin(deps, actor_id, space_id)
    now = deps.clock.now()
    changed = _with_lists_as_read(
        deps, actor_id, space,
        lambda current: deps.stage_members.unpin(current, actor_id, now, space_entry(space_id, UNPIN, actor_id, now)),
    )
    if changed:
        deps.telemetry.count("PostUnpinned")
        room_events.emit(deps, space, ev.POST_UNPINNED, by=actor_id)
    return PinChange(space_id, None, changed)


LIST_ATTEMPTS = 3


def _with_lists_as_read(deps: Deps, actor_id: str, space: Space, write: Callable[[Space], T]) -> T:
    """Run the pin's write on `space` as read. Its list items are part of the write; when a PATCH
    moved them meanwhile ("listings"), read the Space again and retry. When the Space ended or the
    caller stopped being a host, answer as `may_pin` would now (or 409 space_changed)."""
    for _attempt in range(LIST_ATTEMPTS):
        try:
            return write(space)
        except Refused as exc:
            space = may_pin(deps, actor_id, space.id)
            if exc.part != "listings":
                raise Conflict("the Space changed meanwhile; try again", code="space_changed") from exc
    raise DependencyFailed("the Space kept changing; try again", code="write_conflict", retry_after=1)
