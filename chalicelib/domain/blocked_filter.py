"""The "blocked by someone" filter: a Bloom filter of every user any host has blocked.

Discovery must hide the Spaces of hosts who blocked the viewer. Who blocked a viewer is a Query
(the `blocked_by` index), and most viewers were never blocked by anyone: the filter answers
"certainly never blocked" without a request, so a page costs its one Query. Only a viewer the
filter may contain (everyone really blocked, plus a small share of false positives) costs the
`blocked_by` Query too (docs/discovery.md).

A Bloom filter never forgets: an unblock leaves the user in it (they keep paying the extra
Query; nothing is shown wrongly). Pure logic, no AWS: the bits are stored by the user repository
as `shards` items of `bits_per_shard` bits; a user's `hashes` bits all lie in one shard, so a
block rewrites one item.
"""
from __future__ import annotations

import hashlib
import math

from msgspec import Struct


class FilterShape(Struct, frozen=True):
    """The blocked filter's size: shards, bits per shard and hashes per user."""

    shards: int = 4
    bits_per_shard: int = 1 << 18  # 32 KB per shard item
    hashes: int = 5

    def __post_init__(self) -> None:
        if self.shards < 1 or self.hashes < 1 or self.bits_per_shard < 8 or self.bits_per_shard % 8:
            raise ValueError("a filter needs >= 1 shard, >= 1 hash and a whole number of bytes per shard")

    @property
    def bytes_per_shard(self) -> int:
        return self.bits_per_shard // 8

    def false_positive_rate(self, members: int) -> float:
        """The expected share of never-blocked users the filter says "maybe" for, with `members`
        blocked users spread evenly over the shards."""
        per_shard = members / self.shards
        return (1 - math.exp(-self.hashes * per_shard / self.bits_per_shard)) ** self.hashes


class Slot(Struct, frozen=True):
    """Where a user lives in the filter: one shard, `hashes` bit positions in it."""

    shard: int
    positions: tuple[int, ...]


def slot_of(user_id: str, shape: FilterShape) -> Slot:
    """Stable across processes (SHA-256, not Python's salted hash), double hashing for the bits."""
    digest = hashlib.sha256(f"blocked-filter:{user_id}".encode()).digest()
    shard = int.from_bytes(digest[0:4], "big") % shape.shards
    h1 = int.from_bytes(digest[4:12], "big")
    h2 = int.from_bytes(digest[12:20], "big") | 1
    return Slot(shard, tuple(sorted({(h1 + i * h2) % shape.bits_per_shard for i in range(shape.hashes)})))


def may_contain(bits: bytes | None, slot: Slot) -> bool:
    """False only when the user is certainly not in the filter (no block was ever recorded)."""
    if not bits:
        return False
    return all(bits[p >> 3] & (1 << (p & 7)) for p in slot.positions)


def with_member(bits: bytes | None, slot: Slot, shape: FilterShape) -> bytes | None:
    """The shard's bits with the user added; None when they were in it already."""
    current = bytearray(bits or bytes(shape.bytes_per_shard))
    if len(current) != shape.bytes_per_shard:
        raise ValueError(f"a shard holds {shape.bytes_per_shard} bytes, not {len(current)}")
    if may_contain(bytes(current), slot):
        return None
    for p in slot.positions:
        current[p >> 3] |= 1 << (p & 7)
    return bytes(current)


# One host's blocked users (docs/joins.md): 32,768 bits (4 KB, one item), 5 hashes. Copied onto
# each of the host's Spaces as it goes live, so a join knows from the Space it already read
# whether the user might be blocked; only those "maybe"s pay a block check in the database.
# False "maybe"s: 0.006 % of joins with 1,000 blocked users, 4 % with 5,000 (computed).
HOST_BLOCKS = FilterShape(shards=1, bits_per_shard=1 << 15, hashes=5)


def host_may_have_blocked(bits: bytes | None, user_id: str) -> bool:
    """False only when the host certainly had not blocked `user_id` when their Space went live."""
    return may_contain(bits, slot_of(user_id, HOST_BLOCKS))
