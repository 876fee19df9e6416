"""People: profiles (GET / PATCH /me) and a Space's listener list (docs/people.md).

A profile is read with the people it names: one GetItem for the caller's own, one BatchGetItem
of at most 100 for a page of people. The token's `name` / `picture` claims reach the profile on
GET /me, and only when they differ from what is stored: no request pays a write for them.
"""
from __future__ import annotations

from typing import Any

from chalicelib.domain.commands.people import EditProfile
from chalicelib.domain.listener_list import merge_pages, open_positions, seal_positions
from chalicelib.domain.people import Listener, ListenerPage
from chalicelib.domain.permissions import require_may_see_listeners
from chalicelib.domain.spaces import LISTENER, require_live
from chalicelib.domain.users import Profile, claims_of
from chalicelib.ports import FIRST_PAGE, PageCursor
from chalicelib.services.context import Deps


def my_profile(deps: Deps, user_id: str, name: object = None, picture: object = None) -> Profile:
    """The caller's profile, with the token's claims stored first when they changed (or were
    never stored): one read, and one write only then."""
    profile = deps.users.profile(user_id)
    claimed = claims_of(name, picture)
    if claimed != (profile.claimed_name, profile.claimed_picture):
        deps.users.save_claims(user_id, *claimed)
        profile = Profile(user_id, profile.display_name, profile.avatar_url, *claimed)
        deps.telemetry.count("ProfileClaimsSaved")
    return profile


def edit_my_profile(deps: Deps, user_id: str, edit: EditProfile) -> Profile:
    profile = deps.users.edit_profile(user_id, edit)
    deps.telemetry.count("ProfileEdited")
    return profile


def listeners(deps: Deps, user_id: str, space_id: str, page: PageCursor = FIRST_PAGE) -> ListenerPage:
    """`GET /spaces/{id}/listeners`: most recent join first, ONE Query per page (one per shard,
    at once, for a Space whose list is sharded) and one BatchGetItem of the page's profiles. Who
    may read it: domain/permissions.py."""
    space = deps.spaces.get(space_id)
    me = None if space.role_of(user_id) != LISTENER else deps.participants.get_participant(space_id, user_id)
    require_may_see_listeners(space, user_id, bool(me and me.connected and not me.removed))
    require_live(space)
    limit = page.limit()
    if space.listener_shards > 1:
        found, last = _sharded_page(deps, space_id, space.listener_shards, limit, page)
    else:
        found, last = deps.participants.listeners_page(
            space_id, limit=limit, after=page.after({"key": str, "joined_at": str})
        )
    return ListenerPage(
        space_id=space_id,
        listeners=found,
        profiles=deps.users.profiles([entry.user_id for entry in found]),
        next_cursor=page.seal(last),
        participant_count=space.participant_count,
        incognito_count=space.incognito_count if space.is_moderator(user_id) else None,
    )


def _sharded_page(
    deps: Deps, space_id: str, shards: int, limit: int, page: PageCursor
) -> tuple[list[Listener], dict[str, Any] | None]:
    """A page of a sharded listener list: one Query per shard not yet read to its end, merged
    newest first; the cursor carries every shard's position (domain/listener_list.py)."""
    opened = page.after({"shards": str})
    positions = open_positions(opened["shards"] if opened else None, shards)
    pages = deps.participants.listener_shard_pages(space_id, shards=shards, limit=limit, positions=positions)
    found, moved = merge_pages(pages, positions, limit)
    sealed = seal_positions(moved)
    return found, None if sealed is None else {"shards": sealed}
