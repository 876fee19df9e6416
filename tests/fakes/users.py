"""An in-memory fake of the UserRepository port, on the same `SpaceStore` as the Space
repositories' fakes (a host's live Space, blocks and blocked filters are read by both, as the
DynamoDB adapters share tables). Held to DynamoUserRepository by
tests/integration/test_user_repository_contract.py."""
from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.domain import blocked_filter as bf
from chalicelib.domain.spaces import ENDED, LIVE
from chalicelib.domain.commands.people import EditProfile
from chalicelib.domain.users import Profile, User
from tests.fakes.spaces import SpaceStore


class FakeUserRepository:
    def __init__(self, store: SpaceStore) -> None:
        self._store = store
        self.stored_profiles: dict[str, Profile] = {}
        self.profile_reads: list[list[str]] = []  # each call of `profiles`: the ids asked for

    def profile(self, user_id: str) -> Profile:
        return self.stored_profiles.get(user_id, Profile(user_id))

    def profiles(self, user_ids: list[str]) -> dict[str, Profile]:
        wanted = list(dict.fromkeys(user_ids))
        assert len(wanted) <= 100, "one BatchGetItem holds at most 100 keys"
        if wanted:
            self.profile_reads.append(wanted)
        return {uid: self.profile(uid) for uid in wanted}

    def save_claims(self, user_id: str, name: str | None, picture: str | None) -> None:
        current = self.profile(user_id)
        self.stored_profiles[user_id] = Profile(user_id, current.display_name, current.avatar_url, name, picture)

    def edit_profile(self, user_id: str, edit: EditProfile) -> Profile:
        current = self.profile(user_id)
        name = current.display_name if edit.display_name is None else (edit.display_name or None)
        avatar = current.avatar_url if edit.avatar_url is None else (edit.avatar_url or None)
        self.stored_profiles[user_id] = Profile(user_id, name, avatar, current.claimed_name, current.claimed_picture)
        return self.stored_profiles[user_id]

    def _counts(self, user_id: str) -> list[int]:
        return self._store.users.setdefault(user_id, [0, 0])

    def get(self, user_id: str, now: datetime, *, with_history: bool = True) -> User:
        followers, following = self._store.users.get(user_id, [0, 0])
        hosted = self.spaces_hosted_since(user_id, now - timedelta(days=30)) if with_history else 0
        return User(user_id, followers, following, hosted, barred_from_hosting=user_id in self._store.barred_hosts)

    def set_follower_count(self, user_id: str, followers: int) -> None:
        self._counts(user_id)[0] = followers

    def live_space_of(self, user_id: str) -> str | None:
        host = self._store.hosts.get(user_id)
        return host.live_space_id if host else None

    def spaces_hosted_since(self, user_id: str, since: datetime) -> int:
        return sum(
            1
            for row in self._store.spaces.values()
            if row.space.creator_id == user_id
            and row.space.state in (LIVE, ENDED)
            and (row.space.started_at or row.space.created_at) >= since
        )

    def follow(self, follower_id: str, followee_id: str, now: datetime) -> bool:
        if (follower_id, followee_id) in self._store.follows:
            return False
        self._store.follows.add((follower_id, followee_id))
        self._counts(followee_id)[0] += 1
        self._counts(follower_id)[1] += 1
        return True

    def unfollow(self, follower_id: str, followee_id: str) -> bool:
        if (follower_id, followee_id) not in self._store.follows:
            return False
        self._store.follows.discard((follower_id, followee_id))
        self._counts(followee_id)[0] -= 1
        self._counts(follower_id)[1] -= 1
        return True

    def followees(self, user_id: str, limit: int) -> list[str]:
        return sorted(followee for follower, followee in self._store.follows if follower == user_id)[:limit]

    def block(self, blocker_id: str, blocked_id: str, now: datetime) -> bool:
        if (blocker_id, blocked_id) in self._store.blocks:
            return False
        self._store.blocks.add((blocker_id, blocked_id))
        return True

    def unblock(self, blocker_id: str, blocked_id: str) -> bool:
        if (blocker_id, blocked_id) not in self._store.blocks:
            return False
        self._store.blocks.discard((blocker_id, blocked_id))
        return True

    def is_blocked(self, blocker_id: str, blocked_id: str) -> bool:
        return (blocker_id, blocked_id) in self._store.blocks

    def blockers_of(self, user_id: str) -> set[str]:
        return {blocker for blocker, blocked in self._store.blocks if blocked == user_id}

    def blocked_filter(self, shape: bf.FilterShape) -> dict[int, bytes]:
        return {shard: bits for shard, (bits, _) in self._store.blocked_filter_shards.items()}

    def host_blocks_filter(self, host_id: str) -> tuple[bytes | None, int | None]:
        stored = self._store.host_filters.get(host_id)
        return (stored[0], stored[1]) if stored else (None, None)

    def add_to_blocked_filter(self, slot: bf.Slot, shape: bf.FilterShape, *, host_id: str | None = None) -> bool:
        if host_id:
            bits, version = self.host_blocks_filter(host_id)
        else:
            bits, version = self._store.blocked_filter_shards.get(slot.shard, (None, None))
        updated = bf.with_member(bits, slot, shape)
        if updated is None:
            return False
        if host_id:
            self._store.host_filters[host_id] = (updated, (version or 0) + 1)
        else:
            self._store.blocked_filter_shards[slot.shard] = (updated, (version or 0) + 1)
        return True
