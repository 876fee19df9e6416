"""Reading the moderation ledger (docs/moderation.md). Entries are written by the acts themselves
(services/stage.py), in the same transaction; nothing here writes, edits or deletes one."""
from __future__ import annotations

from typing import Any

from chalicelib.domain.moderation import ModerationEntry
from chalicelib.domain.paging import page_limit
from chalicelib.domain.permissions import require_can_moderate, require_moderator
from chalicelib.ports import FIRST_PAGE, PageCursor
from chalicelib.services.context import Deps


def check_may_remove(deps: Deps, user_id: str, space_id: str, target: str) -> None:
    """The removal's permission alone: a malformed body is 400 only for a caller who may remove."""
    space = deps.spaces.get(space_id, with_count=False)
    require_can_moderate(space, user_id, target, "remove")


def space_log(
    deps: Deps, user_id: str, space_id: str, params: dict[str, Any], page: PageCursor = FIRST_PAGE
) -> dict[str, Any]:
    """`GET /spaces/{id}/moderation-log`: the Space's acts, oldest first, for its host and co-hosts."""
    space = deps.spaces.get(space_id, with_count=False)
    require_moderator(space, user_id, "read this Space's moderation log")
    limit = page_limit(params.get("limit"))
    entries, last = deps.moderation_log.for_space(space_id, limit=limit, after=page.after({"entry_id": str}))
    return _page(entries, page.seal(last))


def my_moderation(deps: Deps, user_id: str, params: dict[str, Any], page: PageCursor = FIRST_PAGE) -> dict[str, Any]:
    """`GET /me/moderation`: every act done to the caller, in any Space, oldest first."""
    limit = page_limit(params.get("limit"))
    after = page.after({"entry_id": str, "space_id": str})
    entries, last = deps.moderation_log.for_target(user_id, limit=limit, after=after)
    return _page(entries, page.seal(last))


def _page(entries: list[ModerationEntry], next_cursor: str | None) -> dict[str, Any]:
    return {"entries": [e.view() for e in entries], "next_cursor": next_cursor}
