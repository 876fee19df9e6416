"""GET /spaces: the Spaces tab. Every page is one Query on a list built for it (never a Scan)."""
from __future__ import annotations

from chalicelib.domain.discovery import ListedSpace, ListRequest, SpacesPage, list_key
from chalicelib.domain.errors import BadRequest
from chalicelib.domain.events.lifecycle import LiveCountsRefreshed
from chalicelib.domain.spaces import LIVE, SCHEDULED, Listing, search_words
from chalicelib.domain.text import MAX_SEARCH_CHARS
from chalicelib.ports import FIRST_PAGE, PageCursor
from chalicelib.services.context import Deps
from chalicelib.services.users import blockers_of

RANKED = {"space_id": str, "rank": int}  # a ranked list's cursor: the last entry's rank and id


def list_spaces(deps: Deps, user_id: str, request: ListRequest, page: PageCursor = FIRST_PAGE) -> SpacesPage:
    """The list `request` picks (api/spaces.py reads it from the query with `list_request`)."""
    state = request.state
    limit = page.limit()
    if request.following:
        return _following(deps, user_id, state, limit, page)
    if request.query:
        return _search(deps, user_id, state, request.query, limit, page)
    key = list_key(request)

    after = page.after(RANKED)
    # Live: most listeners first. Scheduled: soonest first.
    items, last = deps.listings.discovery_page(key, ascending=state == SCHEDULED, limit=limit, after=after)
    hidden = blockers_of(deps, user_id)
    return SpacesPage(
        [ListedSpace(item, int(item.rank) if item.state == LIVE else 0) for item in items if item.creator_id not in hidden],
        page.seal(last) if last and len(items) == limit else None,
    )


def _search(deps: Deps, user_id: str, state: str, query: str, limit: int, page: PageCursor) -> SpacesPage:
    """Title search: every word of `q` must start a word of the title, accents and case aside.
    The longest word drives the one Query; the others filter its page."""
    if len(query) > MAX_SEARCH_CHARS:
        raise BadRequest(f"q is at most {MAX_SEARCH_CHARS} characters", code="invalid_query")
    words = search_words(query)
    if not words:
        raise BadRequest("q needs a word of at least 2 letters or digits", code="invalid_query")
    driver = max(words, key=len)
    after = page.after({"term": str})
    items, last = deps.listings.search_page(state, driver, limit=limit, after=after)
    spaces: list[ListedSpace] = []
    seen = set(blockers_of(deps, user_id))
    for item in items:
        title_words = search_words(item.title)
        if item.space_id in seen or item.creator_id in seen or not all(any(t.startswith(w) for t in title_words) for w in words):
            continue
        seen.add(item.space_id)
        spaces.append(ListedSpace(item, None))
    return SpacesPage(spaces, page.seal(last) if last and len(items) == limit else None)


# "Hosts I follow" (docs/discovery.md): the caller's followees (at most FOLLOWEES_CONSIDERED, one
# Query, remembered a minute per container) intersected with the live list, or with the scheduled
# list's next SCHEDULED_WINDOW_DAYS, each read whole at most every LIST_CACHE_SECONDS per container
# and shared by every caller. The cost does not grow with a host's followers, and for a caller it
# is one Query a minute however many accounts they follow.
FOLLOWEES_CONSIDERED = 5_000
LIST_WINDOW_ITEMS = 20_000
SCHEDULED_WINDOW_DAYS = 7


def _following(deps: Deps, user_id: str, state: str, limit: int, page: PageCursor) -> SpacesPage:
    followees = deps.followees_cache.get(user_id)
    if followees is None:
        followees = frozenset(deps.users.followees(user_id, FOLLOWEES_CONSIDERED))
        deps.followees_cache.put(user_id, followees)
    hidden = blockers_of(deps, user_id) if followees else frozenset()
    picked = [i for i in _window(deps, state) if i.creator_id in followees and i.creator_id not in hidden]
    after = page.after(RANKED)
    if after is not None:
        mark = _order(state, after["rank"], after["space_id"])
        picked = [i for i in picked if _order(state, int(i.rank), i.space_id) > mark]
    shown = picked[:limit]
    last = shown[-1] if len(picked) > limit else None
    return SpacesPage(
        [ListedSpace(i, int(i.rank) if state == LIVE else 0) for i in shown],
        page.seal({"space_id": last.space_id, "rank": int(last.rank)}) if last else None,
    )


def _order(state: str, rank: int, space_id: str) -> tuple[int, str]:
    return (-rank, space_id) if state == LIVE else (rank, space_id)


def _window(deps: Deps, state: str) -> list[Listing]:
    """The live list, or the scheduled one's next days, sorted for the page; per container."""
    items: list[Listing] | None = deps.lists_cache.get(state)
    if items is None:
        if state == LIVE:
            items = deps.listings.discovery_window(LIVE, max_items=LIST_WINDOW_ITEMS)
        else:
            horizon = deps.clock.now().timestamp() + SCHEDULED_WINDOW_DAYS * 86400
            items = deps.listings.discovery_window(SCHEDULED, max_items=LIST_WINDOW_ITEMS, rank_below=int(horizon))
        items = sorted(items, key=lambda i: _order(state, int(i.rank), i.space_id))
        deps.lists_cache.put(state, items)
    return items


def refresh_live_ranks(deps: Deps) -> int:
    """Copy participant counts into the live lists' ranks. The counts, summed once, are then
    published (LiveCountsRefreshed): the overflow reactions start the audience of any Space that
    nears its stage's capacity and restart the overflow compositions IVS stopped."""
    counts: dict[str, int] = {}
    overflowing: set[str] = set()
    changed = deps.listings.refresh_live_ranks(counts_out=counts, overflowing_out=overflowing)
    deps.publish(LiveCountsRefreshed(counts, frozenset(overflowing)))
    return changed

