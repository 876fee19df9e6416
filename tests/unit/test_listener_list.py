"""The sharded listener list's merge (domain/listener_list.py), against a model of the index that
behaves as DynamoDB's does where it matters: a Query evaluates at most `limit` entries from its
exclusive start, filters people on stage out after that (so a page may come back short, or empty,
with a LastEvaluatedKey), and orders entries that joined in the same microsecond in an order of
its own, not by user id."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain.errors import BadRequest
from chalicelib.domain.listener_list import (
    DONE,
    ShardPage,
    Upto,
    listed_in,
    listener_shard,
    listener_shards_for,
    merge_pages,
    open_positions,
    seal_positions,
)
from chalicelib.domain.people import Listener

T0 = datetime(2026, 12, 7, 3, 0, tzinfo=timezone.utc)


class ModelIndex:
    """Each shard: (joined_at, user_id, role) newest first; ties in a shuffled order of its own."""

    def __init__(self, entries, shards, seed):
        rng = random.Random(seed)
        self.shards = []
        for shard in range(shards):
            mine = [e for e in entries if listener_shard(e[1], shards) == shard]
            rng.shuffle(mine)
            mine.sort(key=lambda e: e[0], reverse=True)  # stable: ties keep the shuffled order
            self.shards.append(mine)
        self.queries = 0

    def pages(self, positions, limit):
        out = []
        for shard, position in enumerate(positions):
            if position == DONE:
                out.append(ShardPage([], None))
                continue
            self.queries += 1
            entries = self.shards[shard]
            if isinstance(position, Upto):
                entries, start = [e for e in entries if e[0] <= position.joined_at], 0
            else:
                start = 0 if position is None else [(e[0], e[1]) for e in entries].index(position) + 1
            evaluated = entries[start : start + limit]
            more = start + limit < len(entries)
            out.append(
                ShardPage(
                    [Listener(user, at) for at, user, role in evaluated if role == "listener"],
                    (evaluated[-1][0], evaluated[-1][1]) if more else None,
                )
            )
        return out


def walk(index, shards, limit):
    positions, pages = open_positions(None, shards), []
    while True:
        before = index.queries
        found, positions = merge_pages(index.pages(positions, limit), positions, limit)
        assert index.queries - before <= shards
        pages.append(found)
        sealed = seal_positions(positions)
        if sealed is None:
            return pages
        positions = open_positions(sealed, shards)
        assert len(pages) < 10_000, "a walk ends"


def population(n, seed, *, ties=True, stage=5):
    rng = random.Random(seed)
    entries = []
    for i in range(n):
        # Many share a microsecond (as 1,700 joins a second do), within and across shards.
        at = T0 + timedelta(microseconds=rng.randrange(n // 4 if ties else n * 1000))
        entries.append((at, f"user-{seed}-{i:05d}", "listener"))
    for i in range(stage):
        entries.append((T0 + timedelta(microseconds=rng.randrange(n)), f"speaker-{i}", "speaker"))
    return entries


@pytest.mark.parametrize("shards,limit,seed", [(10, 100, 1), (10, 7, 2), (3, 1, 3), (10, 1, 4), (4, 20, 5)])
def test_a_walk_lists_every_listener_exactly_once_newest_first(shards, limit, seed):
    entries = population(600, seed)
    pages = walk(ModelIndex(entries, shards, seed), shards, limit)

    seen = [entry for page in pages for entry in page]
    assert all(len(page) <= limit for page in pages)
    assert len(seen) == len({e.user_id for e in seen}), "nobody twice"
    assert {e.user_id for e in seen} == {user for _, user, role in entries if role == "listener"}, "everyone"
    assert [e.joined_at for e in seen] == sorted((e.joined_at for e in seen), reverse=True), "newest first"


def test_listeners_who_join_during_a_walk_are_not_in_it_whatever_shard_they_land_in():
    """Few listeners, many shards: after the first page most shards have had nothing taken. A
    joiner landing in any of them is newer than the walk and must not show up later in it."""
    shards, entries = 10, population(30, 11, ties=False, stage=0)
    index = ModelIndex(entries, shards, 11)
    positions, seen, joined_late = open_positions(None, shards), [], []
    for page_number in range(100):
        found, positions = merge_pages(index.pages(positions, 3), positions, 3)
        seen += found
        if page_number == 0:
            for i in range(40):  # newer than everyone, spread over every shard
                late = (T0 + timedelta(days=1, microseconds=i), f"late-{i}", "listener")
                joined_late.append(late[1])
                index.shards[listener_shard(late[1], shards)].insert(0, late)
        if seal_positions(positions) is None:
            break
    assert not {e.user_id for e in seen} & set(joined_late)
    assert {e.user_id for e in seen} == {user for _, user, _ in entries}


def test_pages_are_full_when_nothing_is_filtered_out():
    entries = population(500, 9, ties=False, stage=0)
    pages = walk(ModelIndex(entries, 10, 9), 10, 100)
    assert [len(page) for page in pages][:4] == [100, 100, 100, 100]


def test_a_famous_hosts_space_is_sharded_and_an_ordinary_one_is_not():
    assert listener_shards_for(9_999, 10_000, 10) == 1
    assert listener_shards_for(10_000, 10_000, 10) == 10
    assert listed_in("S1", "ann", 1) == "S1", "one shard: the key every Space had before"
    assert listed_in("S1", "ann", 10) == f"S1#{listener_shard('ann', 10)}"


def test_a_cursor_from_another_shape_is_refused():
    positions = [DONE, None, (T0, "ann"), Upto(T0)]
    assert open_positions(seal_positions(positions), 4) == positions
    for wrong in ('["done"]', "{}", '[[1, 2], null, "done"]', "not json"):
        with pytest.raises(BadRequest):
            open_positions(wrong, 3)
