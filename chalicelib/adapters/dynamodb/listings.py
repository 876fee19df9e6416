"""The Spaces tab's lists on DynamoDB: discovery lists (live / scheduled, by topic, by host) in
rank order, and the title-search index. Every read is one Query on a key built for it (never a
Scan). The lifecycle repository writes a Space's listings in the same transaction as its state
(`put_listings` / `delete_listings`), so a list never shows a Space in a state it left.

Pages come back as domain `Listing`s and the page's last key as plain values (strings and whole
numbers, the key parts the request fixes left out: adapters/dynamodb/pages.py), which the API
seals into an opaque cursor (adapters/cursors.py).
"""
from __future__ import annotations

from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.adapters.dynamodb.errors import dependency_failure, error_code
from chalicelib.adapters.dynamodb.models import CounterModel, DiscoveryModel, TitleSearchModel
from chalicelib.adapters.dynamodb.pages import query_page
from chalicelib.adapters.dynamodb.space_items import SpaceTables
from chalicelib.domain.spaces import LIVE, SCHEDULED, Listing, Space, search_words
from chalicelib.ports import PageKey


def _listing(item: DiscoveryModel | TitleSearchModel, rank: int = 0) -> Listing:
    return Listing(
        space_id=item.space_id,
        state=item.state,
        title=item.title,
        creator_id=item.creator_id,
        topics=tuple(item.topics or ()),
        scheduled_start=item.scheduled_start,
        started_at=item.started_at,
        access=item.access or "public",
        rank=rank,
        overflow=bool(getattr(item, "overflow", None)),
        pinned_url=item.pinned_url,
        pinned_text=item.pinned_text,
    )


def _ranked_listing(item: DiscoveryModel) -> Listing:
    return _listing(item, int(item.rank))


def discovery_lists(space: Space, state: str) -> list[str]:
    """The discovery lists a Space in `state` appears in."""
    return _list_keys(state, space.topics, space.creator_id)


def _list_keys(state: str, topics: tuple[str, ...], creator_id: str) -> list[str]:
    return [state] + [f"{state}#topic#{t}" for t in topics] + [f"{state}#host#{creator_id}"]


def _rank(space: Space, state: str) -> int:
    if state == SCHEDULED:
        return int(space.scheduled_start.timestamp()) if space.scheduled_start else 0
    return int(space.participant_count)


def _summary(space: Space, state: str) -> dict[str, Any]:
    """What a list item and a search item both show of the Space (the `Listing` a page returns)."""
    return {
        "title": space.title,
        "creator_id": space.creator_id,
        "topics": list(space.topics),
        "state": state,
        "scheduled_start": space.scheduled_start,
        "started_at": space.started_at,
        "access": space.access,
        "pinned_url": space.pinned.url if space.pinned else None,
        "pinned_text": space.pinned.text if space.pinned else None,
    }


def _discovery_items(space: Space, state: str) -> list[DiscoveryModel]:
    return [
        DiscoveryModel(
            list_key,
            space.id,
            rank=_rank(space, state),
            **_summary(space, state),
            # Re-put listings (a live PATCH) keep the overflow flag the rank job reads.
            overflow=True if list_key == LIVE and space.overflow is not None else None,
        )
        for list_key in discovery_lists(space, state)
    ]


def _search_keys(space: Space, state: str) -> list[tuple[str, str]]:
    return [(f"{state}#{word[:2]}", f"{word}#{space.id}") for word in search_words(space.title)]


def put_listings(tx: Any, space: Space, state: str) -> None:
    """The Space's discovery list items and title-search items, for `state`."""
    for item in _discovery_items(space, state):
        tx.save(f"list:{item.list_key}", item)
    for bucket, term in _search_keys(space, state):
        tx.save(
            f"search:{bucket}:{term}",
            TitleSearchModel(bucket, term, space_id=space.id, **_summary(space, state)),
        )


def pin_listings(tx: Any, space: Space, url: str | None, text: str | None) -> None:
    """Set (or, with None, remove) the pinned post on the live Space's list and search items, in
    the pin's own transaction. Each on condition it exists: a PATCH that moved the Space's lists
    since `space` was read fails the part ("list:..." / "search:..."), and the caller reads again."""
    for list_key in discovery_lists(space, LIVE):
        tx.update(
            f"list:{list_key}", DiscoveryModel(list_key, space.id),
            actions=_pin_actions(DiscoveryModel, url, text), condition=DiscoveryModel.space_id.exists(),
        )
    for bucket, term in _search_keys(space, LIVE):
        tx.update(
            f"search:{bucket}:{term}", TitleSearchModel(bucket, term),
            actions=_pin_actions(TitleSearchModel, url, text), condition=TitleSearchModel.term.exists(),
        )


def _pin_actions(model: Any, url: str | None, text: str | None) -> list:
    if url is None:
        return [model.pinned_url.remove(), model.pinned_text.remove()]
    return [model.pinned_url.set(url), model.pinned_text.set(text)]


def delete_listings(tx: Any, space: Space, state: str, keep: "Space | None" = None) -> None:
    """Delete the Space's items for `state`, except those `keep` (its new version) re-puts."""
    kept_lists = set(discovery_lists(keep, state)) if keep else set()
    kept_search = set(_search_keys(keep, state)) if keep else set()
    for list_key in discovery_lists(space, state):
        if list_key not in kept_lists:
            tx.delete(f"unlist:{list_key}", DiscoveryModel(list_key, space.id))
    for bucket, term in _search_keys(space, state):
        if (bucket, term) not in kept_search:
            tx.delete(f"unsearch:{bucket}:{term}", TitleSearchModel(bucket, term))


class DynamoListingRepository(SpaceTables):
    def discovery_page(
        self, list_key: str, *, ascending: bool, limit: int, after: PageKey | None
    ) -> tuple[list[Listing], PageKey | None]:
        """One page of a discovery list in rank order: (listings, last key or None). One Query.
        Keys are plain: `{"space_id": ..., "rank": n}` (the list is the request's)."""
        return query_page(
            DiscoveryModel.by_rank.query, "list_key", list_key,
            limit=limit, after=after, convert=_ranked_listing, scan_index_forward=ascending,
        )

    def discovery_window(self, list_key: str, *, max_items: int, rank_below: int | None = None) -> list[Listing]:
        """A whole discovery list (or its part with rank < `rank_below`), in rank order, up to
        `max_items`: what "hosts I follow" intersects with. Query pages of the rank index."""
        try:
            condition = DiscoveryModel.rank < rank_below if rank_below is not None else None
            return [
                _ranked_listing(item)
                for item in DiscoveryModel.by_rank.query(list_key, condition, limit=max_items, page_size=1000)
            ]
        except Exception as exc:
            raise dependency_failure(exc) from exc

    def search_page(
        self, state: str, word: str, *, limit: int, after: PageKey | None
    ) -> tuple[list[Listing], PageKey | None]:
        """Spaces of `state` with a title word starting with `word` (2+ folded characters):
        (listings, last key or None). One Query. Keys are plain: `{"term": ...}`."""
        bucket = f"{state}#{word[:2]}"
        return query_page(
            TitleSearchModel.query, "bucket", bucket,
            limit=limit, after=after, convert=_listing, range_key_condition=TitleSearchModel.term.startswith(word),
        )

    def live_space_ids(self) -> list[str]:
        """Every live Space, from the "live" discovery list (a Query, never a Scan)."""
        try:
            return [item.space_id for item in DiscoveryModel.query("live", attributes_to_get=["space_id"])]
        except Exception as exc:
            raise dependency_failure(exc) from exc

    def refresh_live_ranks(
        self, counts_out: dict[str, int] | None = None, overflowing_out: set[str] | None = None
    ) -> int:
        """Copy each live Space's participant count into its listings' rank. Returns how many
        listings changed. Queries the "live" list (never a Scan), 10 Spaces' counters per
        BatchGetItem. `counts_out`, when given, receives every live Space's count (the overflow
        job decides on them without reading the counters again); `overflowing_out` the live
        Spaces whose overflow is on."""
        try:
            live = list(DiscoveryModel.query("live"))
        except Exception as exc:
            raise dependency_failure(exc) from exc
        changed = 0
        for start in range(0, len(live), 10):
            chunk = live[start : start + 10]
            counts = self._participant_counts([item.space_id for item in chunk])
            for item in chunk:
                count = counts[item.space_id]
                if overflowing_out is not None and item.overflow:
                    overflowing_out.add(item.space_id)
                if counts_out is not None:
                    counts_out[item.space_id] = count
                if int(item.rank) != count:
                    changed += self._set_live_rank(item, count)
        return changed

    def _participant_counts(self, space_ids: list[str]) -> dict[str, int]:
        """Each Space's participant count (its counter shards summed, never below 0): one
        BatchGetItem for up to 10 Spaces."""
        keys = {
            CounterModel.key_for("participants", space_id, shard): space_id
            for space_id in space_ids
            for shard in range(self._shards)
        }
        counts: dict[str, int] = dict.fromkeys(space_ids, 0)
        try:
            for counter in CounterModel.batch_get(list(keys)):
                counts[keys[counter.key]] += int(counter.n or 0)
        except Exception as exc:
            raise dependency_failure(exc) from exc
        return {space_id: max(n, 0) for space_id, n in counts.items()}

    @staticmethod
    def _set_live_rank(item: DiscoveryModel, count: int) -> int:
        """Set `count` as the rank of every live listing of `item`'s Space; how many changed. A
        listing gone meanwhile (the Space ended) is left gone."""
        changed = 0
        for list_key in _list_keys(LIVE, tuple(item.topics or ()), item.creator_id):
            try:
                DiscoveryModel(list_key, item.space_id).update(
                    actions=[DiscoveryModel.rank.set(count)],
                    condition=DiscoveryModel.space_id.exists(),
                )
                changed += 1
            except UpdateError as exc:
                if error_code(exc) != "ConditionalCheckFailedException":  # ended meanwhile
                    raise dependency_failure(exc) from exc
        return changed
