"""Use cases on users: profiles with hosting eligibility, follow and unfollow."""
from __future__ import annotations

from chalicelib.domain import blocked_filter as bf
from chalicelib.domain.errors import RuleViolation
from chalicelib.domain.events.stage import BlockedWhileLive
from chalicelib.domain.moderation import BLOCK, entry_for
from chalicelib.domain.users import Relation, UserSummary, hosting_eligibility, validate_user_id
from chalicelib.services.context import Deps

# The filter's shape is part of its stored data (keys "...#v1#<shard>"): changing it means a new
# version and a rebuild, so it is a constant, not a setting. 4 × 32 KB; with 100,000 blocked
# users under 1 % of the others pay the extra Query (docs/discovery.md).
BLOCKED_FILTER = bf.FilterShape(shards=4, bits_per_shard=1 << 18, hashes=5)
FILTER_CACHE_KEY = "blocked-filter"


def get_profile(deps: Deps, user_id: str) -> UserSummary:
    user = deps.users.get(validate_user_id(user_id), deps.clock.now())
    return UserSummary(user, hosting_eligibility(user, deps.hosting_rules))


def follow(deps: Deps, follower_id: str, followee_id: str) -> Relation:
    validate_user_id(followee_id)
    if follower_id == followee_id:
        raise RuleViolation("you cannot follow yourself", code="cannot_follow_self")
    created = deps.users.follow(follower_id, followee_id, deps.clock.now())
    if created:
        deps.telemetry.count("UserFollowed")
    return Relation(followee_id, holds=True, changed=created)


def unfollow(deps: Deps, follower_id: str, followee_id: str) -> Relation:
    validate_user_id(followee_id)
    if follower_id == followee_id:
        return Relation(followee_id, holds=False, changed=False)
    removed = deps.users.unfollow(follower_id, followee_id)
    if removed:
        deps.telemetry.count("UserUnfollowed")
    return Relation(followee_id, holds=False, changed=removed)


def block(deps: Deps, blocker_id: str, target_id: str) -> Relation:
    """Block a user: they cannot join the blocker's Spaces nor see them in discovery. If the
    blocker is live now and the user is in that Space, they are removed from it too."""
    validate_user_id(target_id)
    if blocker_id == target_id:
        raise RuleViolation("you cannot block yourself", code="cannot_block_self")
    # Into the filters FIRST. The host's own: a Space going live copies it, on condition it did
    # not change since read, so a block is either in that copy or sees the Space live below (and
    # marks the participant item). The "blocked by someone" one: a block recorded without it would
    # be missed by discovery. A filter entry without a block (the block write then failed) only
    # costs that user an extra check. docs/joins.md.
    deps.users.add_to_blocked_filter(bf.slot_of(target_id, bf.HOST_BLOCKS), bf.HOST_BLOCKS, host_id=blocker_id)
    deps.users.add_to_blocked_filter(bf.slot_of(target_id, BLOCKED_FILTER), BLOCKED_FILTER)
    now = deps.clock.now()
    created = deps.users.block(blocker_id, target_id, now)
    deps.blockers_cache.drop(target_id)
    forget_blocked_filter(deps)
    live_space_id = deps.users.live_space_of(blocker_id)
    if live_space_id:
        # Marked before looking: a join landing meanwhile either sees the mark or is found below.
        # Logged ("block") in the mark's own write; a retried block marks and logs nothing more.
        deps.participants.mark_blocked(
            live_space_id, target_id, now, entry_for(live_space_id, BLOCK, blocker_id, target_id, now)
        )
        current = deps.participants.get_participant(live_space_id, target_id, consistent=True)
        if current is not None and current.participant_id and not current.removed:  # they had joined
            # Removed from the Space (services/stage_moderation.py); failing, the block answers 503 and
            # its retry removes them.
            failures = deps.publish(BlockedWhileLive(live_space_id, blocker_id, target_id))
            if failures:
                raise failures[0]
    if created:
        deps.telemetry.count("UserBlocked")
    return Relation(target_id, holds=True, changed=created)


def unblock(deps: Deps, blocker_id: str, target_id: str) -> Relation:
    validate_user_id(target_id)
    removed = deps.users.unblock(blocker_id, target_id)
    live_space_id = deps.users.live_space_of(blocker_id)
    if live_space_id:
        deps.participants.clear_blocked(live_space_id, target_id)
    return Relation(target_id, holds=False, changed=removed)


def forget_blocked_filter(deps: Deps) -> None:
    """Make this container read the filter again on its next discovery page."""
    deps.blocked_filter_cache.drop(FILTER_CACHE_KEY)


def blockers_of(deps: Deps, user_id: str) -> frozenset[str]:
    """Who blocked this user (discovery only; joins check blocks in the database every time).

    The container's copy of the "blocked by someone" filter (refreshed every minute, one
    BatchGetItem for all its shards) answers for the users nobody ever blocked: no request. The
    others (blocked, or a false positive) cost one Query on the blocked_by index, remembered a
    minute. So a block shows in discovery within a minute, as before the filter.
    """
    cached: frozenset[str] | None = deps.blockers_cache.get(user_id)
    if cached is not None:
        return cached
    shards = deps.blocked_filter_cache.get(FILTER_CACHE_KEY)
    if shards is None:
        shards = deps.users.blocked_filter(BLOCKED_FILTER)
        deps.blocked_filter_cache.put(FILTER_CACHE_KEY, shards)
    slot = bf.slot_of(user_id, BLOCKED_FILTER)
    if not bf.may_contain(shards.get(slot.shard), slot):
        return frozenset()
    cached = frozenset(deps.users.blockers_of(user_id))
    deps.blockers_cache.put(user_id, cached)
    return cached
