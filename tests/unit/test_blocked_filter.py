"""The "blocked by someone" Bloom filter: no false negatives, few false positives, stable slots."""
from __future__ import annotations

import pytest

from chalicelib.domain import blocked_filter as bf

SMALL = bf.FilterShape(shards=2, bits_per_shard=1 << 14, hashes=5)


def build(members, shape=SMALL) -> dict[int, bytes]:
    shards: dict[int, bytes] = {}
    for user in members:
        slot = bf.slot_of(user, shape)
        updated = bf.with_member(shards.get(slot.shard), slot, shape)
        if updated is not None:
            shards[slot.shard] = updated
    return shards


def test_every_member_is_found_and_adding_again_changes_nothing():
    members = [f"u{i}" for i in range(500)]
    shards = build(members)
    for user in members:
        slot = bf.slot_of(user, SMALL)
        assert bf.may_contain(shards.get(slot.shard), slot)
        assert bf.with_member(shards[slot.shard], slot, SMALL) is None


def test_an_empty_filter_contains_nobody():
    slot = bf.slot_of("alice", SMALL)
    assert not bf.may_contain(None, slot)
    assert not bf.may_contain(b"", slot)
    assert not bf.may_contain(bytes(SMALL.bytes_per_shard), slot)


def test_false_positives_stay_near_the_computed_rate():
    members = [f"blocked-{i}" for i in range(2000)]
    shards = build(members)
    others = [f"viewer-{i}" for i in range(20000)]
    hits = sum(bf.may_contain(shards.get(s.shard), s) for s in (bf.slot_of(u, SMALL) for u in others))
    expected = SMALL.false_positive_rate(len(members))
    assert 0 < expected < 0.05
    assert hits / len(others) < 2 * expected + 0.002, (hits, expected)


def test_slots_are_stable_and_in_range():
    shape = bf.FilterShape()
    first, again = bf.slot_of("alice", shape), bf.slot_of("alice", shape)
    assert first == again
    assert 0 <= first.shard < shape.shards
    assert all(0 <= p < shape.bits_per_shard for p in first.positions)
    assert 1 <= len(first.positions) <= shape.hashes


def test_the_production_shape_keeps_one_percent_at_100k_blocked_users():
    from chalicelib.services.users import BLOCKED_FILTER

    assert BLOCKED_FILTER.bytes_per_shard * BLOCKED_FILTER.shards == 128 * 1024
    assert BLOCKED_FILTER.false_positive_rate(100_000) < 0.01


@pytest.mark.parametrize("kwargs", [{"shards": 0}, {"hashes": 0}, {"bits_per_shard": 12}])
def test_a_malformed_shape_is_refused(kwargs):
    with pytest.raises(ValueError):
        bf.FilterShape(**kwargs)


def test_a_shard_of_the_wrong_size_is_refused():
    slot = bf.slot_of("alice", SMALL)
    with pytest.raises(ValueError):
        bf.with_member(b"\x00" * 3, slot, SMALL)
