"""The moderation ledger, one contract for the DynamoDB adapter and the in-memory fake: an act and
its entry are one write (both or neither), and the log reads back by Space and by target, a page
per Query. DynamoDB-only tests at the end show what only a real transaction can: two moderators
racing on one removal write one entry, and an entry that cannot be put undoes its act.
"""
from __future__ import annotations

import threading
from msgspec.structs import replace
from datetime import timedelta

import pytest

from chalicelib.domain.errors import DependencyFailed
from chalicelib.domain.appeals import Appeal
from chalicelib.domain.moderation import DEMOTE, LIFT, MUTE, REMOVE, entry_for
from chalicelib.domain.reports import SPACE_TARGET, Report
from chalicelib.domain.spaces import SPEAKER
from chalicelib.ports import Refused
from tests.integration.test_space_repositories_contract import NOW, RULES, _id, _joined, _live


class Ledger:
    def __init__(self, repositories, log, appeals, reports):
        self.reports = reports
        self.spaces = repositories["spaces"]
        self.participants = repositories["participants"]
        self.stage_members = repositories["stage_members"]
        self.log = log
        self.appeals = appeals


@pytest.fixture(params=["dynamodb", "memory"])
def repos(request):
    if request.param == "memory":
        from tests.fakes.spaces import SpaceStore

        repositories = SpaceStore().repositories()
        return Ledger(repositories, repositories["moderation_log"], repositories["appeals"], repositories["reports"])
    request.getfixturevalue("dynamodb_local")
    from chalicelib.adapters.dynamodb.appeals import DynamoAppeals
    from chalicelib.adapters.dynamodb.moderation import DynamoModerationLog
    from chalicelib.adapters.dynamodb.reports import DynamoReports
    from chalicelib.adapters.dynamodb.spaces import space_repositories

    return Ledger(space_repositories(count_shards=4), DynamoModerationLog(), DynamoAppeals(), DynamoReports())


def _all(read, key, limit=100):
    entries, _ = read(key, limit=limit)
    return entries


def _speaker(repos, space):
    user, _ = _joined(repos, space)
    repos.stage_members.invite(space.id, user, NOW)
    repos.stage_members.accept_invitation(space.id, user, "p", NOW, rules=RULES)
    return user


def test_a_removal_and_its_entry_are_written_together(repos):
    space = _live(repos)
    user, joined = _joined(repos, space)
    entry = entry_for(space.id, REMOVE, space.creator_id, user, NOW, "spam links")

    repos.participants.remove_participant(space.id, user, space.creator_id, joined.participant, NOW, entry)

    assert _all(repos.log.for_space, space.id) == [entry]
    assert _all(repos.log.for_target, user) == [entry]
    assert repos.participants.get_participant(space.id, user, consistent=True).removed


def test_a_refused_removal_writes_no_entry(repos):
    space = _live(repos)
    user, _ = _joined(repos, space)
    entry = entry_for(space.id, REMOVE, space.creator_id, user, NOW)

    with pytest.raises(Refused):
        repos.participants.remove_participant(space.id, user, space.creator_id, None, NOW, entry)

    assert _all(repos.log.for_space, space.id) == []
    assert _all(repos.log.for_target, user) == []


def test_a_demotion_is_logged_and_a_refused_one_is_not(repos):
    space = _live(repos)
    user = _speaker(repos, space)
    first = entry_for(space.id, DEMOTE, space.creator_id, user, NOW)
    second = entry_for(space.id, DEMOTE, space.creator_id, user, NOW + timedelta(seconds=1))

    repos.stage_members.step_down(space.id, user, SPEAKER, NOW, first)
    with pytest.raises(Refused):
        repos.stage_members.step_down(space.id, user, SPEAKER, NOW, second)

    assert _all(repos.log.for_space, space.id) == [first]


def test_muting_twice_logs_one_mute(repos):
    space = _live(repos)
    user = _speaker(repos, space)
    first = entry_for(space.id, MUTE, space.creator_id, user, NOW)
    again = entry_for(space.id, MUTE, space.creator_id, user, NOW + timedelta(seconds=1))

    assert repos.stage_members.set_muted(space.id, user, True, NOW, first) is True
    assert repos.stage_members.set_muted(space.id, user, True, NOW, again) is False

    assert _all(repos.log.for_target, user) == [first]


def test_a_mute_of_a_listener_is_refused_and_logs_nothing(repos):
    space = _live(repos)
    user, _ = _joined(repos, space)

    with pytest.raises(Refused):
        repos.stage_members.set_muted(space.id, user, True, NOW, entry_for(space.id, MUTE, space.creator_id, user, NOW))

    assert _all(repos.log.for_space, space.id) == []


def test_the_log_pages_in_time_order_each_entry_once(repos):
    space = _live(repos)
    written = []
    for i in range(5):
        user, joined = _joined(repos, space)
        entry = entry_for(space.id, REMOVE, space.creator_id, user, NOW + timedelta(minutes=i))
        repos.participants.remove_participant(space.id, user, space.creator_id, joined.participant, NOW, entry)
        written.append(entry)

    seen, after, pages = [], None, 0
    while True:
        entries, after = repos.log.for_space(space.id, limit=2, after=after)
        seen += entries
        pages += 1
        if after is None:
            break

    assert seen == written
    assert pages == 3


def test_a_target_reads_acts_from_every_space(repos):
    user = _id("u")
    entries = []
    for i in range(3):
        space = _live(repos)
        _, joined = _joined(repos, space, user)
        entry = entry_for(space.id, REMOVE, space.creator_id, user, NOW + timedelta(minutes=i))
        repos.participants.remove_participant(space.id, user, space.creator_id, joined.participant, NOW, entry)
        entries.append(entry)

    first, after = repos.log.for_target(user, limit=2)
    rest, end = repos.log.for_target(user, limit=2, after=after)

    assert first + rest == entries and end is None


def test_the_log_has_no_way_to_change_an_entry(repos):
    names = {n for n in dir(repos.log) if not n.startswith("_")}
    assert names == {"for_space", "for_target"}


def _removed(repos, space):
    user, joined = _joined(repos, space)
    entry = entry_for(space.id, REMOVE, space.creator_id, user, NOW)
    repos.participants.remove_participant(space.id, user, space.creator_id, joined.participant, NOW, entry)
    return user


def test_a_removed_user_appeals_once(repos):
    space = _live(repos)
    user = _removed(repos, space)

    repos.appeals.appeal(Appeal(space.id, user, "I was quoting someone", NOW))
    with pytest.raises(Refused) as again:
        repos.appeals.appeal(Appeal(space.id, user, "please", NOW))

    assert again.value.part == "appealed"
    assert repos.appeals.for_space(space.id, limit=10)[0] == [Appeal(space.id, user, "I was quoting someone", NOW)]


def test_only_a_removed_user_can_appeal(repos):
    space = _live(repos)
    user, _ = _joined(repos, space)

    with pytest.raises(Refused) as refused:
        repos.appeals.appeal(Appeal(space.id, user, "why not", NOW))

    assert refused.value.part == "participant"
    assert repos.appeals.for_space(space.id, limit=10)[0] == []


def test_a_lifted_removal_lets_the_user_join_again_and_is_logged_once(repos):
    space = _live(repos)
    user = _removed(repos, space)
    lift = entry_for(space.id, LIFT, space.creator_id, user, NOW + timedelta(minutes=1))

    repos.appeals.lift_removal(space.id, user, lift)
    with pytest.raises(Refused):
        repos.appeals.lift_removal(space.id, user, entry_for(space.id, LIFT, space.creator_id, user, NOW))

    known = repos.participants.get_participant(space.id, user, consistent=True)
    assert not known.removed
    repos.participants.join(space.id, user, known=known, participant_id=_id("p"), now=NOW, check_block=False)
    assert repos.participants.get_participant(space.id, user, consistent=True).connected
    assert [e.act for e in _all(repos.log.for_target, user)] == [REMOVE, LIFT]


def test_a_report_is_kept_once_per_reporter_and_target_and_resolved_once(repos):
    space = _live(repos)
    reporter, other = _id("r"), _id("u")
    of_space = Report(space.id, reporter, SPACE_TARGET, "spam", None, NOW)
    of_person = Report(space.id, reporter, other, "harassment", "kept shouting", NOW + timedelta(seconds=1))

    repos.reports.report(of_space)
    repos.reports.report(of_person)
    with pytest.raises(Refused) as again:
        repos.reports.report(replace(of_person, reason="other"))

    assert again.value.part == "reported"
    assert {(r.target, r.reason) for r in repos.reports.for_space(space.id)} == {
        (SPACE_TARGET, "spam"), (other, "harassment"),
    }
    assert of_space in repos.reports.open_reports(limit=1000)
    repos.reports.resolve(space.id, SPACE_TARGET, reporter, "warned the host", NOW)
    with pytest.raises(Refused):
        repos.reports.resolve(space.id, SPACE_TARGET, reporter, "again", NOW)
    still_open = [(r.space_id, r.target) for r in repos.reports.open_reports(limit=1000)]
    assert (space.id, SPACE_TARGET) not in still_open and (space.id, other) in still_open


# ------------------------------------------------------------------- DynamoDB Local only


@pytest.fixture
def dynamo(dynamodb_local):
    from chalicelib.adapters.dynamodb.appeals import DynamoAppeals
    from chalicelib.adapters.dynamodb.moderation import DynamoModerationLog
    from chalicelib.adapters.dynamodb.reports import DynamoReports
    from chalicelib.adapters.dynamodb.spaces import space_repositories

    return Ledger(space_repositories(count_shards=4), DynamoModerationLog(), DynamoAppeals(), DynamoReports())


def test_two_moderators_removing_one_user_at_once_write_one_entry(dynamo):
    """Both read the participant, both send their removal with its entry at once. The removal's
    condition lets exactly one transaction through, and the entry rides in that one. A moderator
    whose transaction DynamoDB cancels as conflicting (503 to a client) tries again, as the
    service's caller would: re-reading, they find the user removed and write nothing."""
    for _ in range(8):
        space = _live(dynamo)
        user, _ = _joined(dynamo, space)
        barrier = threading.Barrier(2)
        outcomes = []

        def remove(actor):
            barrier.wait()
            for _attempt in range(5):
                current = dynamo.participants.get_participant(space.id, user, consistent=True)
                if current.removed:
                    outcomes.append("already removed")
                    return
                try:
                    entry = entry_for(space.id, REMOVE, actor, user, NOW)
                    dynamo.participants.remove_participant(space.id, user, actor, current, NOW, entry)
                    outcomes.append("removed")
                    return
                except Refused:
                    continue  # lost the race: read again
                except DependencyFailed:
                    continue  # a conflicting transaction: DynamoDB cancelled it, nothing written
            outcomes.append("gave up")

        threads = [threading.Thread(target=remove, args=(a,)) for a in (space.creator_id, _id("c"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

        assert sorted(outcomes) == ["already removed", "removed"]
        assert len(_all(dynamo.log.for_space, space.id)) == 1
        assert len(_all(dynamo.log.for_target, user)) == 1


def test_an_entry_that_cannot_be_written_undoes_its_act(dynamo):
    """The other way round: the act waits on its entry. An entry whose key is taken (the log is
    never overwritten) refuses the whole transaction, so the user is not removed."""
    space = _live(dynamo)
    user, joined = _joined(dynamo, space)
    other, other_joined = _joined(dynamo, space)
    first = entry_for(space.id, REMOVE, space.creator_id, other, NOW)
    dynamo.participants.remove_participant(space.id, other, space.creator_id, other_joined.participant, NOW, first)
    clashing = replace(entry_for(space.id, REMOVE, space.creator_id, user, NOW), entry_id=first.entry_id)

    with pytest.raises(Refused):
        dynamo.participants.remove_participant(space.id, user, space.creator_id, joined.participant, NOW, clashing)

    after = dynamo.participants.get_participant(space.id, user, consistent=True)
    assert not after.removed and after.connected
    assert [e.target_id for e in _all(dynamo.log.for_space, space.id)] == [other]
