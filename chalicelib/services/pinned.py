"""A live Space's pinned post (domain/pinned.py): the host and co-hosts pin one link with a short
text, or take it down. Each is one write with its moderation ledger entry (`pin` / `unpin`, target
the Space), then the room hears it (`post_pinned` / `post_unpinned`), best effort like every room
event: a listener who missed it reads `pinned` in the Space's view.
"""
from __future__ import annotations

from typing import Any, NoReturn

from aws_lambda_powertools import Logger

from chalicelib.config import SERVICE_NAME
from chalicelib.domain import room_events as ev
from chalicelib.domain.commands import PinPost
from chalicelib.domain.errors import Conflict
from chalicelib.domain.moderation import PIN, UNPIN, space_entry
from chalicelib.domain.permissions import require_moderator
from chalicelib.domain.pinned import PinnedPost
from chalicelib.domain.spaces import Space, require_live
from chalicelib.ports import Refused
from chalicelib.services import room_events
from chalicelib.services.context import Deps

logger = Logger(child=True, service=SERVICE_NAME)


def may_pin(deps: Deps, actor_id: str, space_id: str) -> Space:
    """Who may pin or unpin, and when: the host and co-hosts (404, 403) of a live Space (409)."""
    space = deps.spaces.get(space_id, with_count=False)
    require_moderator(space, actor_id, "pin a post")
    require_live(space)
    return space


def pin(deps: Deps, actor_id: str, space_id: str, post: PinPost) -> dict[str, Any]:
    """`PUT /spaces/{id}/pinned`: pin the link, replacing the one pinned before."""
    space = may_pin(deps, actor_id, space_id)
    now = deps.clock.now()
    pinned = PinnedPost(post.url, post.text, actor_id, now)
    try:
        deps.stage_members.pin(space_id, pinned, space_entry(space_id, PIN, actor_id, now))
    except Refused as exc:
        _explain_refusal(deps, actor_id, space_id, exc)
    deps.telemetry.count("PostPinned")
    logger.info("post pinned", space_id=space_id, by=actor_id)
    room_events.emit(deps, space, ev.POST_PINNED, **pinned.event_attributes())
    return {"space_id": space_id, "pinned": pinned.view()}


def unpin(deps: Deps, actor_id: str, space_id: str) -> dict[str, Any]:
    """`DELETE /spaces/{id}/pinned`: take the pinned post down. Nothing pinned: 200, nothing
    written or logged (`changed` false), so a retried request is harmless."""
    space = may_pin(deps, actor_id, space_id)
    now = deps.clock.now()
    try:
        changed = deps.stage_members.unpin(space_id, actor_id, now, space_entry(space_id, UNPIN, actor_id, now))
    except Refused as exc:
        _explain_refusal(deps, actor_id, space_id, exc)
    if changed:
        deps.telemetry.count("PostUnpinned")
        room_events.emit(deps, space, ev.POST_UNPINNED, by=actor_id)
    return {"space_id": space_id, "pinned": None, "changed": changed}


def _explain_refusal(deps: Deps, actor_id: str, space_id: str, exc: Refused) -> NoReturn:
    """The write's condition failed: the Space ended or the caller stopped being a host meanwhile."""
    may_pin(deps, actor_id, space_id)
    raise Conflict("the Space changed meanwhile; try again", code="space_changed") from exc
