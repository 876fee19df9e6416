"""The listener list of a big Space, spread over shards (docs/people.md "Sharded listener list").

A Space's listener index takes every join of that Space on one index key when it has one shard.
An index key takes about 1,000 writes a second, and a famous host's Space is built for 1,700 joins
a second (docs/joins.md), so such a Space gets `listener_shards` keys at creation, chosen from the
host's follower count (`listener_shards_for`), and each listener's entry goes to the key of their
shard (`listed_in`), which never changes while they are in the Space.

A page then reads each shard once (one Query per shard) and merges the shards newest first
(`merge_pages`). The cursor keeps each shard's own position, so paging is exact: every listener
who stays is seen exactly once, and the joined_at order of the whole page sequence never goes back
up. No AWS here: the adapter runs the Queries, this module decides what they mean.
"""
from __future__ import annotations

import heapq
import json
import zlib
from datetime import datetime, timedelta, timezone
from typing import Union

from msgspec import Struct

from chalicelib.domain.errors import BadRequest
from chalicelib.domain.people import Listener

# A shard's place in a walk through the list: not read yet, read to its end, just after the
# entry (joined_at, user_id) that was read last (the Query's exclusive start, DynamoDB's own paging,
# so entries that joined in the same microsecond are neither skipped nor repeated), or `Upto`.
START = None
DONE = "done"


class Upto(Struct, frozen=True):
    """A shard read once, none of it taken yet: from its start again next page, but only entries
    that joined at or before its newest entry then (a Query's key condition), so a listener who
    joins during the walk does not appear in it (they are newer than everything the walk shows)."""

    joined_at: datetime


Position = Union[None, str, tuple[datetime, str], Upto]


def listener_shards_for(follower_count: int, min_followers: int, shards: int) -> int:
    """How many index keys a new Space's listener list gets: `shards` for a host with at least
    `min_followers` followers (whose Space may be joined faster than one key takes), else 1 (one
    Query per page, as before)."""
    return max(1, shards) if follower_count >= min_followers else 1


def listener_shard(user_id: str, shards: int) -> int:
    """A listener's shard: stable (crc32, like the counter and presence shards), so a leave removes
    the entry its join made, from any container."""
    return zlib.crc32(user_id.encode()) % shards


def listed_in(space_id: str, user_id: str, shards: int) -> str:
    """The listener index key of a user's entry: the Space id itself with one shard (what every
    Space had before sharding, so their entries still read), else "<space_id>#<shard>"."""
    return space_id if shards <= 1 else f"{space_id}#{listener_shard(user_id, shards)}"


class ShardPage(Struct, frozen=True):
    """One shard's Query answer: its listeners (people on stage already filtered out), newest first
    as the index gave them, and where the Query stopped (`last`, its LastEvaluatedKey as
    (joined_at, user_id)), None when the shard has nothing more."""

    listeners: list[Listener]
    last: tuple[datetime, str] | None


def merge_pages(pages: list[ShardPage], positions: list[Position], limit: int) -> tuple[list[Listener], list[Position]]:
    """At most `limit` listeners of the whole Space, newest first, and each shard's new position.

    A listener is taken only if no shard that still has unread entries could hold a newer one:
    its joined_at is at least that of every such shard's stop (`last`). Taken listeners of a shard
    are always a prefix of what it returned (the merge keeps each shard's own order, ties across
    shards by shard number), so a shard's new position is its last taken entry; a shard all of
    whose returned entries were taken moves to where its Query stopped (past people on stage it
    filtered out), or to DONE; a shard read for the first time with none of it taken is held to
    `Upto` its newest entry. Every page moves some shard on, so a walk always ends."""
    bound = max((page.last[0] for page in pages if page.last is not None), default=None)
    streams = [
        [(-_micros(entry.joined_at), shard, i, entry) for i, entry in enumerate(page.listeners)]
        for shard, page in enumerate(pages)
    ]
    taken: list[Listener] = []
    taken_per_shard = [0] * len(pages)
    for _, shard, _, entry in heapq.merge(*streams):
        if len(taken) >= limit or (bound is not None and entry.joined_at < bound):
            break
        taken.append(entry)
        taken_per_shard[shard] += 1
    moved: list[Position] = []
    for shard, page in enumerate(pages):
        if positions[shard] == DONE:
            moved.append(DONE)
        elif taken_per_shard[shard] == len(page.listeners):
            moved.append(page.last if page.last is not None else DONE)
        elif taken_per_shard[shard]:
            last = page.listeners[taken_per_shard[shard] - 1]
            moved.append((last.joined_at, last.user_id))
        elif positions[shard] is START:
            moved.append(Upto(page.listeners[0].joined_at))
        else:
            moved.append(positions[shard])
    return taken, moved


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _micros(at: datetime) -> int:
    """Whole microseconds since the epoch, exactly (a float timestamp loses the last digit)."""
    return (at.astimezone(timezone.utc) - _EPOCH) // timedelta(microseconds=1)


# ------------------------------------------------------------------ the cursor's one value


def seal_positions(positions: list[Position]) -> str | None:
    """The cursor value for the shards' positions (one string: a cursor holds a few flat values),
    None when every shard is done. Times as whole microseconds, so it stays short."""
    if all(position == DONE for position in positions):
        return None
    return json.dumps(
        [_sealed(p) for p in positions], separators=(",", ":")
    )


def _sealed(position: Position) -> object:
    if isinstance(position, tuple):
        return [_micros(position[0]), position[1]]
    if isinstance(position, Upto):
        return [_micros(position.joined_at)]
    return position


def open_positions(value: str | None, shards: int) -> list[Position]:
    """The positions a cursor carries (signed by us, so a mismatch means a cursor of another
    shape: 400 invalid_cursor, as any cursor this list did not return)."""
    if value is None:
        return [START] * shards
    try:
        raw = json.loads(value)
        if not isinstance(raw, list) or len(raw) != shards:
            raise ValueError("shard count")
        return [p if p in (START, DONE) else _position(p) for p in raw]
    except (ValueError, TypeError) as exc:
        raise BadRequest("cursor is not one this list returned", code="invalid_cursor") from exc


def _position(raw: object) -> tuple[datetime, str] | Upto:
    if isinstance(raw, list) and len(raw) == 1 and isinstance(raw[0], int):
        return Upto(_EPOCH + timedelta(microseconds=raw[0]))
    if not (isinstance(raw, list) and len(raw) == 2 and isinstance(raw[0], int) and isinstance(raw[1], str)):
        raise ValueError("position")
    return _EPOCH + timedelta(microseconds=raw[0]), raw[1]
