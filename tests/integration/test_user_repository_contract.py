"""The UserRepository port, one contract for DynamoUserRepository and the in-memory fake
(tests/fakes/users.py): follows, blocks and the blocked filters, and what the Space repositories
read of them (a host's live Space, a block checked by a join, the host's filter a Space copies
going live). Every test runs on both."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain import blocked_filter as bf
from chalicelib.domain import spaces as domain
from chalicelib.domain.spaces import SpaceRules
from chalicelib.domain.tickets import TicketRules
from chalicelib.ports import Refused
from chalicelib.api.bodies.spaces import create_space as space_request

NOW = datetime(2026, 12, 1, 18, 0, tzinfo=timezone.utc)
RULES = SpaceRules(max_cohosts=2, max_on_stage=12, max_scheduled_per_host=10, max_schedule_ahead_days=30, max_topics=3, max_title_length=140)
TICKETS = TicketRules(min_price_cents=100, max_price_cents=99_900, currencies=("USD",), max_capacity=1000, hold_seconds=600)


class World:
    def __init__(self, users, repositories):
        self.users = users
        self.spaces = repositories["spaces"]
        self.participants = repositories["participants"]


@pytest.fixture(params=["dynamodb", "memory"])
def world(request):
    if request.param == "memory":
        from tests.fakes.spaces import SpaceStore
        from tests.fakes.users import FakeUserRepository

        store = SpaceStore()
        return World(FakeUserRepository(store), store.repositories())
    request.getfixturevalue("dynamodb_local")
    from chalicelib.adapters.dynamodb.spaces import space_repositories
    from chalicelib.adapters.dynamodb.users import DynamoUserRepository

    return World(DynamoUserRepository(), space_repositories(count_shards=4))


def _id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def _live(world, host, blocked_filter=(None, None)):
    space = domain.new_space(
        space_id=_id("S"), creator_id=host, request=space_request({"title": "Talk"}), now=NOW, rules=RULES, ticket_rules=TICKETS
    )
    world.spaces.create(space, max_scheduled=10, blocked_filter=blocked_filter)
    return space


def test_following_twice_counts_once_and_unfollowing_undoes_it(world):
    fan, star = _id("u"), _id("u")

    assert world.users.follow(fan, star, NOW) is True
    assert world.users.follow(fan, star, NOW) is False
    counts = (world.users.get(star, NOW).follower_count, world.users.get(fan, NOW).following_count)
    followees = world.users.followees(fan, 10)
    assert world.users.unfollow(fan, star) is True
    assert world.users.unfollow(fan, star) is False

    assert counts == (1, 1) and followees == [star]
    assert world.users.get(star, NOW).follower_count == 0


def test_an_unknown_user_has_no_followers_and_no_history(world):
    user = world.users.get(_id("u"), NOW)

    assert (user.follower_count, user.following_count, user.spaces_hosted_30d) == (0, 0, 0)


def test_a_block_is_made_once_and_lifted_once(world):
    host, troll = _id("h"), _id("u")

    assert world.users.block(host, troll, NOW) is True
    assert world.users.block(host, troll, NOW) is False
    assert world.users.is_blocked(host, troll) and not world.users.is_blocked(troll, host)
    assert world.users.blockers_of(troll) == {host}
    assert world.users.unblock(host, troll) is True
    assert world.users.unblock(host, troll) is False
    assert world.users.blockers_of(troll) == set()


def test_a_join_checked_for_blocks_is_refused_for_a_user_the_host_blocked(world):
    host, troll = _id("h"), _id("u")
    space = _live(world, host)
    world.users.block(host, troll, NOW)

    with pytest.raises(Refused) as refused:
        world.participants.join(space.id, troll, known=None, participant_id="p", now=NOW, host_id=host, check_block=True)

    assert refused.value.part == "blocked"


def test_the_host_filter_has_a_version_that_moves_with_each_new_member(world):
    host = _id("h")
    first, second = bf.slot_of(_id("u"), bf.HOST_BLOCKS), bf.slot_of(_id("u"), bf.HOST_BLOCKS)

    empty = world.users.host_blocks_filter(host)
    added = world.users.add_to_blocked_filter(first, bf.HOST_BLOCKS, host_id=host)
    again = world.users.add_to_blocked_filter(first, bf.HOST_BLOCKS, host_id=host)
    world.users.add_to_blocked_filter(second, bf.HOST_BLOCKS, host_id=host)
    bits, version = world.users.host_blocks_filter(host)

    assert empty == (None, None) and added is True and again is False
    assert version == 2 and bf.may_contain(bits, first) and bf.may_contain(bits, second)


def test_going_live_with_a_host_filter_that_changed_since_it_was_read_is_refused(world):
    host = _id("h")
    read = world.users.host_blocks_filter(host)
    world.users.add_to_blocked_filter(bf.slot_of(_id("u"), bf.HOST_BLOCKS), bf.HOST_BLOCKS, host_id=host)

    with pytest.raises(Refused) as refused:
        _live(world, host, blocked_filter=read)
    space = _live(world, host, blocked_filter=world.users.host_blocks_filter(host))

    assert refused.value.part == "blocks"
    assert world.spaces.get(space.id, with_count=False).blocked_filter == world.users.host_blocks_filter(host)[0]


def test_the_blocked_by_someone_filter_holds_who_was_added(world):
    from chalicelib.services.users import BLOCKED_FILTER

    slot = bf.slot_of(_id("u"), BLOCKED_FILTER)
    world.users.add_to_blocked_filter(slot, BLOCKED_FILTER)

    assert bf.may_contain(world.users.blocked_filter(BLOCKED_FILTER).get(slot.shard), slot)


def test_a_host_is_live_in_the_space_they_started_until_it_ends(world):
    host = _id("h")
    space = _live(world, host)

    live = world.users.live_space_of(host)
    hosted = world.users.get(host, NOW + timedelta(days=1)).spaces_hosted_30d
    world.spaces.end(space, NOW)

    assert live == space.id and hosted == 1
    assert world.users.live_space_of(host) is None
    assert world.users.get(host, NOW + timedelta(days=31)).spaces_hosted_30d == 0


# --------------------------------------------------------------------------- profiles (docs/people.md)


def test_profiles_read_back_as_stored_and_unknown_users_have_empty_ones(world):
    from chalicelib.domain.commands.people import EditProfile
    from chalicelib.domain.users import Profile

    ann, bob, nobody = _id("ann"), _id("bob"), _id("nobody")
    world.users.save_claims(ann, "Ann", "https://cdn.example/a.png")
    world.users.edit_profile(ann, EditProfile(display_name="Annie"))
    edited = world.users.edit_profile(bob, EditProfile(avatar_url="https://cdn.example/b.png"))
    cleared = world.users.edit_profile(ann, EditProfile(display_name=""))

    assert edited == Profile(bob, avatar_url="https://cdn.example/b.png")
    assert cleared == Profile(ann, claimed_name="Ann", claimed_picture="https://cdn.example/a.png")
    assert world.users.profiles([ann, nobody, bob, ann]) == {
        ann: cleared, nobody: Profile(nobody), bob: edited,
    }
    assert world.users.profile(nobody) == Profile(nobody)
    world.users.save_claims(ann, None, None)
    assert world.users.profile(ann) == Profile(ann)
