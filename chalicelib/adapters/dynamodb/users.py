"""Users and the follower graph on DynamoDB.

Follow and unfollow are one transaction each: the edge item (conditional on absence/presence) and
both counters move together, so following twice counts once and concurrent follows stay exact.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.exceptions import DoesNotExist

from chalicelib.adapters.dynamodb.profiles import DynamoProfiles
from chalicelib.adapters.dynamodb.errors import dependency_failure, error_code
from chalicelib.adapters.dynamodb.models import BlockedFilterModel, BlockModel, FollowModel, SpaceModel, UserModel
from chalicelib.adapters.dynamodb.transactions import ConditionsFailed, transaction
from chalicelib.domain import blocked_filter as bf
from chalicelib.domain.errors import DependencyFailed
from chalicelib.domain.users import User

FILTER_WRITE_ATTEMPTS = 8


class DynamoUserRepository(DynamoProfiles):
    def __init__(self, connection=None):
        # The PynamoDB connection used for transactions; one per container (bootstrap).
        self._connection = connection or UserModel._get_connection().connection

    def get(self, user_id: str, now: datetime, *, with_history: bool = True) -> User:
        """The user's counts; `with_history` adds the Spaces hosted in the last 30 days (one more
        Query), which only the ticketed-host rule needs."""
        try:
            item = UserModel.get(user_id)
            followers, following = int(item.follower_count), int(item.following_count)
            barred = item.hosting_barred_at is not None
        except DoesNotExist:
            followers, following, barred = 0, 0, False
        except Exception as exc:  # PynamoDB GetError and connection failures
            raise dependency_failure(exc) from exc
        return User(
            id=user_id,
            follower_count=followers,
            following_count=following,
            spaces_hosted_30d=self.spaces_hosted_since(user_id, now - timedelta(days=30)) if with_history else 0,
            barred_from_hosting=barred,
        )

    def live_space_of(self, user_id: str) -> str | None:
        """The id of the Space this user hosts live now, if any."""
        try:
            # Strongly consistent: a block must see a Space that went live before it (docs/joins.md).
            return UserModel.get(user_id, consistent_read=True).live_space_id
        except DoesNotExist:
            return None
        except Exception as exc:
            raise dependency_failure(exc) from exc

    def spaces_hosted_since(self, user_id: str, since: datetime) -> int:
        """Spaces this user took live since `since` (ended or still live): one Query, COUNT only."""
        try:
            return SpaceModel.by_creator.count(
                user_id,
                SpaceModel.sort_time >= since.strftime("%Y-%m-%dT%H:%M:%SZ"),
                filter_condition=SpaceModel.state.is_in("live", "ended"),
            )
        except Exception as exc:
            raise dependency_failure(exc) from exc

    def follow(self, follower_id: str, followee_id: str, now: datetime) -> bool:
        edge = FollowModel(follower_id, followee_id, created_at=now)
        try:
            with transaction(self._connection) as tx:
                tx.save("edge", edge, condition=FollowModel.follower_id.does_not_exist())
                tx.update("followee", UserModel(followee_id), actions=[UserModel.follower_count.add(1)])
                tx.update("follower", UserModel(follower_id), actions=[UserModel.following_count.add(1)])
        except ConditionsFailed:
            return False  # already following: idempotent, counts untouched
        return True

    def unfollow(self, follower_id: str, followee_id: str) -> bool:
        try:
            with transaction(self._connection) as tx:
                tx.delete("edge", FollowModel(follower_id, followee_id), condition=FollowModel.follower_id.exists())
                tx.update("followee", UserModel(followee_id), actions=[UserModel.follower_count.add(-1)])
                tx.update("follower", UserModel(follower_id), actions=[UserModel.following_count.add(-1)])
        except ConditionsFailed:
            return False  # was not following
        return True

    def block(self, blocker_id: str, blocked_id: str, now: datetime) -> bool:
        """True when newly blocked, False when already blocked."""
        try:
            BlockModel(
                BlockModel.pair_for(blocker_id, blocked_id),
                blocker_id=blocker_id,
                blocked_id=blocked_id,
                created_at=now,
            ).save(condition=BlockModel.pair.does_not_exist())
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise dependency_failure(exc) from exc
        return True

    def unblock(self, blocker_id: str, blocked_id: str) -> bool:
        try:
            BlockModel(BlockModel.pair_for(blocker_id, blocked_id)).delete(condition=BlockModel.pair.exists())
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise dependency_failure(exc) from exc
        return True

    def is_blocked(self, blocker_id: str, blocked_id: str) -> bool:
        """Has `blocker_id` blocked `blocked_id`? One GetItem on the pair."""
        try:
            BlockModel.get(BlockModel.pair_for(blocker_id, blocked_id))
        except DoesNotExist:
            return False
        except Exception as exc:
            raise dependency_failure(exc) from exc
        return True

    def blockers_of(self, user_id: str) -> set[str]:
        """Everyone who blocked `user_id` (one Query on the blocked_by index)."""
        try:
            return {b.blocker_id for b in BlockModel.blocked_by.query(user_id)}
        except Exception as exc:
            raise dependency_failure(exc) from exc

    def blocked_filter(self, shape: bf.FilterShape) -> dict[int, bytes]:
        """Every shard of the "blocked by someone" filter: one BatchGetItem (missing shards are
        empty: nobody in them was ever blocked)."""
        keys = [BlockedFilterModel.key_for(shard) for shard in range(shape.shards)]
        try:
            return {
                int(item.pair.rsplit("#", 1)[1]): bytes(item.bits)
                for item in BlockedFilterModel.batch_get(keys)
            }
        except Exception as exc:
            raise dependency_failure(exc) from exc

    def host_blocks_filter(self, host_id: str) -> tuple[bytes | None, int | None]:
        """The filter of the users `host_id` blocked and its version: (None, None) when they
        never blocked anyone. Strongly consistent (a Space going live copies it)."""
        try:
            item = BlockedFilterModel.get(BlockedFilterModel.key_for_host(host_id), consistent_read=True)
        except DoesNotExist:
            return None, None
        except Exception as exc:
            raise dependency_failure(exc) from exc
        return bytes(item.bits), int(item.version)

    def add_to_blocked_filter(self, slot: bf.Slot, shape: bf.FilterShape, *, host_id: str | None = None) -> bool:
        """Set a user's bits in their shard of the "blocked by someone" filter, or in `host_id`'s
        own filter: a read, then a write conditional on the version it read (a concurrent block
        retries). True when the shard changed, False when the user was in it already (no write)."""
        key = BlockedFilterModel.key_for_host(host_id) if host_id else BlockedFilterModel.key_for(slot.shard)
        for _ in range(FILTER_WRITE_ATTEMPTS):
            try:
                try:
                    item = BlockedFilterModel.get(key, consistent_read=True)
                    bits, version = bytes(item.bits), int(item.version)
                except DoesNotExist:
                    bits, version = None, None
                updated = bf.with_member(bits, slot, shape)
                if updated is None:
                    return False
                condition = (
                    BlockedFilterModel.pair.does_not_exist()
                    if version is None
                    else BlockedFilterModel.version == version
                )
                BlockedFilterModel(key, bits=updated, version=(version or 0) + 1).save(condition=condition)
                return True
            except Exception as exc:
                if error_code(exc) != "ConditionalCheckFailedException":
                    raise dependency_failure(exc) from exc
        raise DependencyFailed("the blocked filter is busy; try again", code="write_conflict")

    def followees(self, user_id: str, limit: int) -> list[str]:
        """Who `user_id` follows, at most `limit` (keys only: one Query page for 5,000)."""
        try:
            return [
                f.followee_id
                for f in FollowModel.query(user_id, attributes_to_get=["followee_id"], limit=limit, page_size=limit)
            ]
        except Exception as exc:
            raise dependency_failure(exc) from exc

    def set_follower_count(self, user_id: str, followers: int) -> None:
        """Seed support: demo users start with known follower counts."""
        UserModel(user_id).update(actions=[UserModel.follower_count.set(followers)])
