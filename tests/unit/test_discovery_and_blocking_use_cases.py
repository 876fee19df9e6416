"""Going live, the Spaces tab and blocking, as use cases on the in-memory fakes (tests/fakes/):
no DynamoDB, no Java. The fakes are held to the DynamoDB adapters by the contract suites in
tests/integration/test_space_repositories_contract.py and test_user_repository_contract.py."""
from __future__ import annotations

import pytest

from chalicelib.domain.discovery import list_request
from chalicelib.domain.errors import BadRequest, Conflict, Forbidden, RuleViolation
from chalicelib.domain.spaces import LIVE
from chalicelib.services import discovery, spaces, stage, users
from chalicelib.api.bodies.spaces import create_space as space_request
from tests.fakes import fake_deps
from tests.fakes.spaces import SpaceStore


@pytest.fixture
def store():
    return SpaceStore()


@pytest.fixture
def deps(store):
    return fake_deps(store)


def _host(deps, user_id, followers=1000):
    deps.users.set_follower_count(user_id, followers)
    return user_id


def _go_live(deps, host, title="Jazz at noon", topics=("jazz",)):
    return spaces.create_space(deps, _host(deps, host), space_request({"title": title, "topics": list(topics)}))


def _ids(page):
    return [s.listing.space_id for s in page.spaces]


# --------------------------------------------------------------------------- going live


def test_an_eligible_host_goes_live_on_a_new_stage(deps):
    space = _go_live(deps, "alice")

    assert space.state == LIVE and space.stage is not None
    assert deps.media.stages == {space.stage.arn: space.id}
    assert deps.users.live_space_of("alice") == space.id
    # The pools are empty (nothing refilled them): the stage and the room are made on the request.
    assert deps.telemetry.events == ["StagePoolEmpty", "RoomPoolEmpty", "SpaceCreated", "SpaceStarted"]
    assert deps.room_events.list_rooms() == [(space.room_arn, space.id, int(deps.clock.now().timestamp()))]


def test_a_host_without_enough_followers_cannot_go_live_and_no_stage_is_made(deps):
    _host(deps, "newbie", followers=10)

    with pytest.raises(RuleViolation) as refused:
        spaces.create_space(deps, "newbie", space_request({"title": "Hello"}))

    assert refused.value.code == "not_eligible_to_host"
    assert deps.media.stages == {}


def test_a_host_already_live_is_told_which_space_and_the_new_stage_is_given_back(deps):
    first = _go_live(deps, "alice")

    with pytest.raises(Conflict) as refused:
        _go_live(deps, "alice", title="Second")

    assert refused.value.code == "host_already_live"
    assert list(deps.media.stages.values()) == [first.id]


# --------------------------------------------------------------------------- the Spaces tab


def test_live_spaces_list_most_listeners_first(deps):
    quiet, busy = _go_live(deps, "alice"), _go_live(deps, "bob")
    for listener in ("l1", "l2"):
        stage.join_space(deps, listener, busy.id)
    deps.listings.refresh_live_ranks()

    page = discovery.list_spaces(deps, "carol", list_request({}))

    assert _ids(page) == [busy.id, quiet.id]
    assert page.spaces[0].participant_count == 2


def test_a_topic_list_shows_only_that_topic(deps):
    jazz, _ = _go_live(deps, "alice", topics=("jazz",)), _go_live(deps, "bob", topics=("chess",))

    assert _ids(discovery.list_spaces(deps, "carol", list_request({"topic": "jazz"}))) == [jazz.id]


def test_title_search_matches_the_start_of_every_word_asked(deps):
    hit = _go_live(deps, "alice", title="Late night jazz")
    _go_live(deps, "bob", title="Night owls")

    page = discovery.list_spaces(deps, "carol", list_request({"q": "nig jaz"}))

    assert _ids(page) == [hit.id] and page.spaces[0].participant_count is None


def test_hosts_i_follow_shows_only_their_spaces(deps):
    followed, _ = _go_live(deps, "alice"), _go_live(deps, "bob")
    users.follow(deps, "carol", "alice")

    assert _ids(discovery.list_spaces(deps, "carol", list_request({"following": "true"}))) == [followed.id]


def test_a_host_who_blocked_me_is_not_in_my_lists(deps):
    _go_live(deps, "alice")
    shown = _go_live(deps, "bob")
    users.block(deps, "alice", "carol")

    assert _ids(discovery.list_spaces(deps, "carol", list_request({}))) == [shown.id]
    assert len(_ids(discovery.list_spaces(deps, "dave", list_request({})))) == 2


def test_two_filters_at_once_are_refused_before_any_read(deps):
    with pytest.raises(BadRequest) as refused:
        discovery.list_spaces(deps, "carol", list_request({"topic": "jazz", "q": "night"}))

    assert refused.value.code == "too_many_filters"


# --------------------------------------------------------------------------- blocking


def test_blocking_a_listener_of_my_live_space_removes_them(deps):
    space = _go_live(deps, "alice")
    stage.join_space(deps, "troll", space.id)

    users.block(deps, "alice", "troll")

    assert deps.participants.get_participant(space.id, "troll").removed
    with pytest.raises(Forbidden) as refused:
        stage.join_space(deps, "troll", space.id)
    assert refused.value.code == "removed_from_space"


def test_someone_blocked_while_the_space_is_live_cannot_join_it_until_unblocked(deps):
    space = _go_live(deps, "alice")

    users.block(deps, "alice", "troll")
    with pytest.raises(Forbidden) as refused:
        stage.join_space(deps, "troll", space.id)
    users.unblock(deps, "alice", "troll")

    assert refused.value.code == "blocked_by_host"
    assert stage.join_space(deps, "troll", space.id).role == "listener"


def test_someone_blocked_before_the_space_went_live_is_refused_by_the_join_itself(deps):
    users.block(deps, "alice", "troll")
    space = _go_live(deps, "alice")

    with pytest.raises(Forbidden) as refused:
        stage.join_space(deps, "troll", space.id)

    assert refused.value.code == "blocked_by_host"
    assert stage.join_space(deps, "friend", space.id).role == "listener"
