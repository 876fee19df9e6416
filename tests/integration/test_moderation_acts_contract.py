"""The moderation acts logged since the ledger's first round (invite, approve, co-host added, the
host's own end, block while live), one contract for the DynamoDB adapters and the in-memory fakes:
each act and its entry are one write, a refused act logs nothing, and an act repeated (a retried
request) logs once. The DynamoDB-only tests at the end race two moderators on one act and make an
entry that cannot be put undo its act.
"""
from __future__ import annotations

import threading
from msgspec.structs import replace
from datetime import timedelta

import pytest

from chalicelib.domain.errors import DependencyFailed
from chalicelib.domain.moderation import APPROVE, BLOCK, COHOST_ADDED, END, INVITE, entry_for, space_entry
from chalicelib.ports import Refused
from tests.integration.test_moderation_log_contract import Ledger, _all
from tests.integration.test_space_repositories_contract import NOW, RULES, _id, _joined, _live


@pytest.fixture(params=["dynamodb", "memory"])
def repos(request):
    if request.param == "memory":
        from tests.fakes.spaces import SpaceStore

        repositories = SpaceStore().repositories()
        return Ledger(repositories, repositories["moderation_log"], repositories["appeals"], repositories["reports"])
    return request.getfixturevalue("dynamo")


@pytest.fixture
def dynamo(dynamodb_local):
    from chalicelib.adapters.dynamodb.appeals import DynamoAppeals
    from chalicelib.adapters.dynamodb.moderation import DynamoModerationLog
    from chalicelib.adapters.dynamodb.reports import DynamoReports
    from chalicelib.adapters.dynamodb.spaces import space_repositories

    return Ledger(space_repositories(count_shards=4), DynamoModerationLog(), DynamoAppeals(), DynamoReports())


def _acts(repos, space_id):
    return [(e.act, e.target_id) for e in _all(repos.log.for_space, space_id)]


def test_an_invitation_is_logged_once_and_a_refused_one_not_at_all(repos):
    space = _live(repos)
    user, _ = _joined(repos, space)
    first = entry_for(space.id, INVITE, space.creator_id, user, NOW)

    repos.stage_members.invite(space.id, user, NOW, first)
    with pytest.raises(Refused):  # already invited
        repos.stage_members.invite(space.id, user, NOW, entry_for(space.id, INVITE, space.creator_id, user, NOW))
    stranger = _id("u")
    with pytest.raises(Refused):  # never joined
        repos.stage_members.invite(space.id, stranger, NOW, entry_for(space.id, INVITE, space.creator_id, stranger, NOW))

    assert _all(repos.log.for_space, space.id) == [first]
    assert _all(repos.log.for_target, user) == [first]


def test_an_approved_hand_is_logged_once(repos):
    space = _live(repos)
    user, _ = _joined(repos, space)
    repos.stage_members.raise_hand(space.id, user, NOW)
    approved = entry_for(space.id, APPROVE, space.creator_id, user, NOW)

    repos.stage_members.approve_request(space.id, user, NOW, approved)
    with pytest.raises(Refused) as again:
        repos.stage_members.approve_request(space.id, user, NOW, entry_for(space.id, APPROVE, _id("c"), user, NOW))

    assert again.value.part == "request"
    assert user in repos.spaces.get(space.id, with_count=False).invited
    assert _all(repos.log.for_space, space.id) == [approved]


def test_a_cohost_added_is_logged_and_a_refused_one_is_not(repos):
    space = _live(repos)
    user, _ = _joined(repos, space)
    added = entry_for(space.id, COHOST_ADDED, space.creator_id, user, NOW)

    repos.stage_members.add_cohost(space.id, user, was_speaker=False, now=NOW, rules=RULES, entry=added)
    with pytest.raises(Refused):  # a co-host already
        repos.stage_members.add_cohost(
            space.id, user, was_speaker=False, now=NOW, rules=RULES,
            entry=entry_for(space.id, COHOST_ADDED, space.creator_id, user, NOW),
        )

    assert _all(repos.log.for_space, space.id) == [added]


def test_the_hosts_own_end_is_logged_once_on_the_space(repos):
    space = _live(repos)
    ended = space_entry(space.id, END, space.creator_id, NOW)

    repos.spaces.end(space, NOW, ended)
    with pytest.raises(Refused):
        repos.spaces.end(space, NOW, space_entry(space.id, END, space.creator_id, NOW + timedelta(seconds=1)))

    assert _acts(repos, space.id) == [(END, space.id)]
    assert _all(repos.log.for_target, space.creator_id) == []  # not an act done to the host


def test_a_block_while_live_is_logged_once_even_when_the_block_is_retried(repos):
    space = _live(repos)
    joined, _ = _joined(repos, space)
    never_came = _id("u")

    assert repos.participants.mark_blocked(
        space.id, joined, NOW, entry_for(space.id, BLOCK, space.creator_id, joined, NOW)
    ) is True
    assert repos.participants.mark_blocked(
        space.id, joined, NOW, entry_for(space.id, BLOCK, space.creator_id, joined, NOW)
    ) is False
    assert repos.participants.mark_blocked(
        space.id, never_came, NOW, entry_for(space.id, BLOCK, space.creator_id, never_came, NOW)
    ) is True

    assert sorted(_acts(repos, space.id)) == sorted([(BLOCK, joined), (BLOCK, never_came)])
    with pytest.raises(Refused):  # the mark stands: no join of theirs
        repos.participants.join(
            space.id, never_came, known=None, participant_id=_id("p"), now=NOW, host_id=space.creator_id,
            check_block=False,
        )


# ------------------------------------------------------------------- DynamoDB Local only


def _race(actions) -> list[str]:
    barrier = threading.Barrier(len(actions))
    outcomes: list[str] = []

    def run(action):
        barrier.wait()
        for _attempt in range(5):
            try:
                action()
                outcomes.append("done")
                return
            except Refused:
                outcomes.append("refused")
                return
            except DependencyFailed:
                continue  # DynamoDB cancelled a conflicting transaction: nothing written, try again
        outcomes.append("gave up")

    threads = [threading.Thread(target=run, args=(a,)) for a in actions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(outcomes)


def test_two_moderators_approving_one_hand_at_once_write_one_entry(dynamo):
    for _ in range(6):
        space = _live(dynamo)
        user, _ = _joined(dynamo, space)
        dynamo.stage_members.raise_hand(space.id, user, NOW)
        actors = (space.creator_id, _id("c"))

        outcomes = _race([
            lambda a=a: dynamo.stage_members.approve_request(space.id, user, NOW, entry_for(space.id, APPROVE, a, user, NOW))
            for a in actors
        ])

        assert outcomes == ["done", "refused"]
        assert [e.act for e in _all(dynamo.log.for_space, space.id)] == [APPROVE]


def test_two_moderators_inviting_one_listener_at_once_write_one_entry(dynamo):
    for _ in range(6):
        space = _live(dynamo)
        user, _ = _joined(dynamo, space)
        actors = (space.creator_id, _id("c"))

        outcomes = _race([
            lambda a=a: dynamo.stage_members.invite(space.id, user, NOW, entry_for(space.id, INVITE, a, user, NOW))
            for a in actors
        ])

        assert outcomes == ["done", "refused"]
        assert [e.act for e in _all(dynamo.log.for_target, user)] == [INVITE]


def test_two_blocks_of_one_user_at_once_write_one_entry(dynamo):
    for _ in range(6):
        space = _live(dynamo)
        user, _ = _joined(dynamo, space)
        results: list[bool] = []

        outcomes = _race([
            lambda: results.append(dynamo.participants.mark_blocked(
                space.id, user, NOW, entry_for(space.id, BLOCK, space.creator_id, user, NOW)
            ))
            for _ in range(2)
        ])

        assert outcomes == ["done", "done"] and sorted(results) == [False, True]
        assert [e.act for e in _all(dynamo.log.for_target, user)] == [BLOCK]


def test_an_invitation_whose_entry_cannot_be_written_is_not_made(dynamo):
    space = _live(dynamo)
    user, _ = _joined(dynamo, space)
    other, _ = _joined(dynamo, space)
    first = entry_for(space.id, INVITE, space.creator_id, other, NOW)
    dynamo.stage_members.invite(space.id, other, NOW, first)
    clashing = replace(entry_for(space.id, INVITE, space.creator_id, user, NOW), entry_id=first.entry_id)

    with pytest.raises(Refused):
        dynamo.stage_members.invite(space.id, user, NOW, clashing)

    assert user not in dynamo.spaces.get(space.id, with_count=False).invited
    assert _all(dynamo.log.for_space, space.id) == [first]


def test_an_end_whose_entry_cannot_be_written_leaves_the_space_live(dynamo):
    space = _live(dynamo)
    user, joined = _joined(dynamo, space)
    first = entry_for(space.id, INVITE, space.creator_id, user, NOW)
    dynamo.stage_members.invite(space.id, user, NOW, first)
    clashing = replace(space_entry(space.id, END, space.creator_id, NOW), entry_id=first.entry_id)

    with pytest.raises(Refused):
        dynamo.spaces.end(space, NOW, clashing)

    assert dynamo.spaces.get(space.id, with_count=False).state == "live"
    assert _all(dynamo.log.for_space, space.id) == [first]


def test_a_pin_on_lists_that_moved_since_the_read_writes_nothing(dynamo):
    """The pin rewrites the Space's list items in its own transaction, each on condition it
    exists: a Space read before its topics changed names items that are gone, so the pin is
    refused as a whole ("listings", the service reads again) and logs nothing."""
    from chalicelib.domain.moderation import PIN
    from chalicelib.domain.pinned import PinnedPost
    from chalicelib.domain.spaces import apply_patch
    from chalicelib.domain.commands.spaces import EditSpace

    space = _live(dynamo, topics=["jazz"])
    moved = apply_patch(space, EditSpace(topics=("blues",)), NOW, RULES)
    dynamo.spaces.update_details(space, moved)
    post = PinnedPost("https://example.com/", "notes", space.creator_id, NOW)

    with pytest.raises(Refused) as stale:
        dynamo.stage_members.pin(space, post, space_entry(space.id, PIN, space.creator_id, NOW))

    assert stale.value.part == "listings"
    assert dynamo.spaces.get(space.id, with_count=False).pinned is None
    assert _all(dynamo.log.for_space, space.id) == []
    current = dynamo.spaces.get(space.id, with_count=False)
    dynamo.stage_members.pin(current, post, space_entry(space.id, PIN, space.creator_id, NOW))
    assert dynamo.spaces.get(space.id, with_count=False).pinned == post


def test_a_patch_read_before_a_pin_is_refused_so_the_lists_keep_the_pin(dynamo):
    from chalicelib.domain.moderation import PIN
    from chalicelib.domain.pinned import PinnedPost
    from chalicelib.domain.spaces import apply_patch
    from chalicelib.domain.commands.spaces import EditSpace

    space = _live(dynamo, topics=["jazz"])
    dynamo.stage_members.pin(
        space, PinnedPost("https://example.com/", "notes", space.creator_id, NOW),
        space_entry(space.id, PIN, space.creator_id, NOW),
    )

    with pytest.raises(Refused):  # `space` was read before the pin: its listings would drop it
        dynamo.spaces.update_details(space, apply_patch(space, EditSpace(title="Renamed"), NOW, RULES))

    from chalicelib.adapters.dynamodb.listings import DynamoListingRepository

    listing = DynamoListingRepository().discovery_page(f"live#host#{space.creator_id}", ascending=False, limit=5, after=None)[0]
    assert [(item.space_id, item.pinned_url) for item in listing] == [(space.id, "https://example.com/")]
