"""Blocks on the single-write join (docs/joins.md), against DynamoDB Local.

A join checks a block in the database only for users the host may have blocked before the Space
went live (the Space's copy of the host's blocked filter says "maybe"); a block made while the
Space is live marks the user's participant item instead, which every join's condition reads.
These tests pin each way a block reaches a join, the race between a block and going live, and
that a join nobody needs to check stays one PutItem.
"""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from chalicelib.domain.errors import Forbidden
from chalicelib.services import spaces as space_service
from chalicelib.services import stage as stage_service
from chalicelib.services import users as user_service
from chalicelib.api.bodies.spaces import create_space as space_request
from tests.support.aws_calls import AwsCallRecorder, dynamodb_clients


@pytest.fixture
def recorder():
    recorder = AwsCallRecorder()
    for client in dynamodb_clients():
        recorder.attach(client)
    yield recorder
    recorder.detach()


def scheduled(deps, host):
    start = (deps.clock.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return space_service.create_space(deps, host, space_request({"title": "later", "scheduled_start": start}))


def refused_as_blocked(deps, user, space_id, codes=("blocked_by_host",)) -> bool:
    try:
        stage_service.join_space(deps, user, space_id)
    except Forbidden as exc:
        assert exc.code in codes
        return True
    return False


def test_a_user_blocked_before_the_space_went_live_is_checked_in_the_join_transaction(deps, host, new_user, recorder):
    troll, fan = new_user("troll"), new_user("fan")
    space = scheduled(deps, host)
    user_service.block(deps, host, troll)
    space_service.start_space(deps, host, space.id)
    stage_service.join_space(deps, fan, space.id)  # warms this container's copy of the Space
    recorder.reset()

    assert refused_as_blocked(deps, troll, space.id)
    assert recorder.operations("dynamodb")[0] == "TransactWriteItems"  # the block check
    recorder.reset()

    stage_service.join_space(deps, new_user(), space.id)
    assert recorder.operations("dynamodb") == ["PutItem"]  # anyone else: one write, no check


def test_a_block_made_while_live_reaches_a_container_that_read_the_space_before_it(deps, host, new_user):
    troll = new_user("troll")
    space = space_service.create_space(deps, host, space_request({"title": "live"}))
    stage_service.join_space(deps, new_user(), space.id)  # the Space (no blocks) is cached now

    user_service.block(deps, host, troll)

    assert refused_as_blocked(deps, troll, space.id)
    deps.media_cache.drop(space.id)
    assert refused_as_blocked(deps, troll, space.id)  # cold: the mark is read with the Space


def test_unblocking_while_live_lets_them_join_again(deps, host, new_user):
    troll = new_user("troll")
    space = space_service.create_space(deps, host, space_request({"title": "live"}))
    user_service.block(deps, host, troll)
    assert refused_as_blocked(deps, troll, space.id)

    user_service.unblock(deps, host, troll)

    assert stage_service.join_space(deps, troll, space.id).role == "listener"


def test_unblocked_before_going_live_joins_through_the_check(deps, host, new_user):
    """The filter never forgets: the unblocked user still pays the check, which now passes."""
    user = new_user()
    space = scheduled(deps, host)
    user_service.block(deps, host, user)
    user_service.unblock(deps, host, user)
    space_service.start_space(deps, host, space.id)

    assert stage_service.join_space(deps, user, space.id).role == "listener"


def test_a_block_landing_while_the_space_goes_live_is_never_lost(deps, host, new_user):
    """The start reads the host's filter, then a block lands, then the start writes: the start's
    condition on the filter's version fails, and it copies the filter again."""
    troll = new_user("troll")
    space = scheduled(deps, host)
    read = deps.users.host_blocks_filter
    calls = []

    def read_then_block(host_id):
        found = read(host_id)
        if not calls:
            user_service.block(deps, host, troll)  # after the read, before the start's write
        calls.append(found)
        return found

    deps.users.host_blocks_filter = read_then_block
    space_service.start_space(deps, host, space.id)

    assert len(calls) == 2  # the first write was refused on the version, the second copied the block
    stage_service.join_space(deps, new_user(), space.id)  # warm the cache
    assert refused_as_blocked(deps, troll, space.id)


def test_blocks_racing_joins_never_leave_a_blocked_user_connected(deps, host, new_user, settle_counts):
    """Threads: 8 users join while the host blocks 4 of them. Each blocked user ends refused or
    removed, never connected; the others are connected, and the count says so."""
    space = space_service.create_space(deps, host, space_request({"title": "race"}))
    stage_service.join_space(deps, new_user(), space.id)  # a warm container
    users = [new_user("u") for _ in range(8)]
    blocked = users[:4]
    barrier = threading.Barrier(12)
    errors = []

    def join(user):
        barrier.wait()
        try:
            stage_service.join_space(deps, user, space.id)
        except Forbidden:
            pass
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    def block(user):
        barrier.wait()
        try:
            user_service.block(deps, host, user)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=join, args=(u,)) for u in users]
    threads += [threading.Thread(target=block, args=(u,)) for u in blocked]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert not errors, errors
    for user in blocked:
        participant = deps.participants.get_participant(space.id, user, consistent=True)
        assert participant is not None and not participant.connected, user
        # Refused at the door, or (joined just before the block) removed by it.
        assert refused_as_blocked(deps, user, space.id, codes=("blocked_by_host", "removed_from_space"))
    for user in users[4:]:
        assert deps.participants.get_participant(space.id, user, consistent=True).connected
    settle_counts()
    assert deps.spaces.get(space.id).participant_count == 1 + 4


def test_a_user_blocked_before_a_space_is_created_live_is_refused(deps, host, new_user):
    """Created live (no scheduled step): the creation copies the host's filter as a start does."""
    troll = new_user("troll")
    user_service.block(deps, host, troll)
    space = space_service.create_space(deps, host, space_request({"title": "live at once"}))
    stage_service.join_space(deps, new_user(), space.id)  # a warm container

    assert refused_as_blocked(deps, troll, space.id)
