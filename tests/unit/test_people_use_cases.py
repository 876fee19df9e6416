"""People as use cases on the in-memory fakes (docs/people.md): incognito joins, the listener
list and who may read it, names read in one batch, and the token's claims stored only when they
change. The same behaviour over HTTP on DynamoDB Local: tests/functional/test_people.py."""
from __future__ import annotations

import pytest

from chalicelib.domain.commands.people import EditProfile
from chalicelib.domain.commands.stage import InviteSpeaker, JoinSpace
from chalicelib.domain.errors import Forbidden
from chalicelib.domain.people import INCOGNITO_OFF, INCOGNITO_ON_STAGE
from chalicelib.domain.users import Profile
from chalicelib.services import people, stage
from tests.unit.test_stage_use_cases import HOST, _live_space, deps, store  # noqa: F401 (fixtures)

INCOGNITO = JoinSpace(incognito=True)


def _listed(deps, user_id, space_id="S1"):
    return [entry.user_id for entry in people.listeners(deps, user_id, space_id).listeners]


def test_an_incognito_listener_is_counted_and_hidden_and_only_moderators_learn_how_many(deps):
    space = _live_space(deps)
    stage.join_space(deps, HOST, space.id)
    stage.join_space(deps, "ann", space.id)
    joined = stage.join_space(deps, "kim", space.id, INCOGNITO)

    assert joined.incognito is True and joined.incognito_refused is None
    assert _listed(deps, HOST) == ["ann"] and _listed(deps, "kim") == ["ann"]
    as_host = stage.participants(deps, HOST, space.id)
    as_ann = stage.participants(deps, "ann", space.id)
    assert as_host.space.participant_count == 3 and as_host.space.incognito_count == 1 and as_host.moderator
    assert not as_ann.moderator
    assert people.listeners(deps, "ann", space.id).incognito_count is None
    assert stage.participants(deps, "kim", space.id).me.incognito is True


def test_raising_a_hand_shows_an_incognito_listener_from_then_on(deps):
    space = _live_space(deps)
    stage.join_space(deps, "kim", space.id, INCOGNITO)

    stage.raise_hand(deps, "kim", space.id)
    stage.lower_hand(deps, "kim", space.id)

    assert _listed(deps, HOST) == ["kim"]
    assert deps.spaces.get(space.id).incognito_count == 0


def test_with_incognito_off_the_join_connects_a_listener_everyone_sees_and_says_why(deps):
    space = _live_space(deps, allow_incognito=False)

    joined = stage.join_space(deps, "kim", space.id, INCOGNITO)

    assert (joined.incognito, joined.incognito_refused) == (False, INCOGNITO_OFF)
    assert _listed(deps, HOST) == ["kim"]


def test_people_on_stage_are_never_incognito(deps):
    space = _live_space(deps)
    joined = stage.join_space(deps, HOST, space.id, INCOGNITO)
    assert (joined.incognito, joined.incognito_refused) == (False, INCOGNITO_ON_STAGE)


def test_an_incognito_listener_who_accepts_an_invitation_is_shown(deps):
    space = _live_space(deps)
    stage.join_space(deps, "kim", space.id, INCOGNITO)
    stage.add_speaker(deps, HOST, space.id, InviteSpeaker("kim"))

    stage.accept_invitation(deps, "kim", space.id)

    assert "kim" in stage.participants(deps, HOST, space.id).space.speaker_ids
    assert deps.spaces.get(space.id).incognito_count == 0


@pytest.mark.parametrize("who", ["stranger", "gone", "removed"])
def test_only_people_in_the_space_see_who_listens(deps, who):
    space = _live_space(deps)
    for user in ("gone", "removed"):
        stage.join_space(deps, user, space.id)
    stage.leave_space(deps, "gone", space.id)
    from chalicelib.services import stage_moderation

    stage_moderation.remove_participant(deps, HOST, space.id, "removed")

    with pytest.raises(Forbidden) as refused:
        people.listeners(deps, who, space.id)
    assert refused.value.code == "not_listening"
    assert people.listeners(deps, HOST, space.id).listeners == [], "the host needs no join to look"


def test_a_participants_answer_reads_every_profile_it_shows_in_one_batch(deps):
    space = _live_space(deps)
    for user in ("ann", "bob", "cat"):
        stage.join_space(deps, user, space.id)
        stage.raise_hand(deps, user, space.id)
    deps.users.edit_profile("ann", EditProfile(display_name="Ann"))

    answer = stage.participants(deps, HOST, space.id)

    assert deps.users.profile_reads == [[HOST, "ann", "bob", "cat"]]
    assert answer.profiles["ann"].name == "Ann"


def test_the_tokens_claims_are_written_only_when_they_differ(deps):
    saved = []
    real = deps.users.save_claims
    deps.users.save_claims = lambda *args: (saved.append(args), real(*args))

    people.my_profile(deps, "ann", "Ann", "https://cdn.example/a.png")
    people.my_profile(deps, "ann", "Ann", "https://cdn.example/a.png")
    people.my_profile(deps, "ann", "Ann Lee", "https://cdn.example/a.png")
    profile = people.my_profile(deps, "ann", "Ann Lee", "http://cdn.example/a.png")  # not https: dropped

    assert saved == [
        ("ann", "Ann", "https://cdn.example/a.png"),
        ("ann", "Ann Lee", "https://cdn.example/a.png"),
        ("ann", "Ann Lee", None),
    ]
    assert profile == Profile("ann", claimed_name="Ann Lee")


def test_a_heartbeat_asking_for_incognito_keeps_the_choice_made_when_connecting(deps):
    space = _live_space(deps)
    stage.join_space(deps, "ann", space.id)

    again = stage.join_space(deps, "ann", space.id, INCOGNITO)

    assert (again.incognito, again.incognito_refused) == (False, "already_connected")
    assert _listed(deps, HOST) == ["ann"]


# ------------------------------------------------------------------ a famous host's sharded list


class _SealedPage:
    """A cursor as the API carries it: the values the use case sealed, through JSON, back."""

    def __init__(self, raw=None, limit=20):
        self.raw, self.sealed, self.size = raw, None, limit

    def limit(self, default=20, maximum=100):
        return self.size

    def after(self, shape):
        import json

        values = None if self.raw is None else json.loads(self.raw)
        assert values is None or set(values) == set(shape)
        return values

    def seal(self, values):
        import json

        self.sealed = None if values is None else json.dumps(values)
        return self.sealed


def test_a_famous_hosts_space_is_created_with_sharded_listeners_and_an_ordinary_one_is_not(deps):
    from chalicelib.api.bodies.spaces import create_space as space_request
    from chalicelib.services import spaces

    deps.users.set_follower_count("famous", deps.settings.listener_shard_min_followers)
    deps.users.set_follower_count("ordinary", deps.settings.listener_shard_min_followers - 1)
    famous = spaces.create_space(deps, "famous", space_request({"title": "Big"}))
    ordinary = spaces.create_space(deps, "ordinary", space_request({"title": "Small"}))

    assert deps.spaces.get(famous.id).listener_shards == deps.settings.listener_shards > 1
    assert deps.spaces.get(ordinary.id).listener_shards == 1


def test_a_sharded_list_pages_through_every_listener_once_newest_first_through_the_use_case(deps, store):
    from msgspec.structs import replace
    from datetime import timedelta

    _live_space(deps, "S2")
    store.row("S2").space = replace(store.row("S2").space, listener_shards=4)  # as created for a famous host
    users = [f"u{i:02d}" for i in range(23)]
    for i, user in enumerate(users):
        deps.clock.at += timedelta(seconds=i % 2)  # joined in pairs: ties within and across shards
        stage.join_space(deps, user, "S2")
    hidden = "hidden"
    stage.join_space(deps, hidden, "S2", INCOGNITO)

    seen, cursor, pages = [], None, 0
    while True:
        page = _SealedPage(cursor, limit=5)
        answer = people.listeners(deps, HOST, "S2", page)
        assert len(answer.listeners) <= 5
        seen += [entry.user_id for entry in answer.listeners]
        pages += 1
        cursor = page.sealed
        if cursor is None:
            break

    assert sorted(seen) == sorted(users) and len(seen) == len(users), "everyone once, nobody incognito"
    order = {user: (i + 1) // 2 for i, user in enumerate(users)}  # the second each joined in
    assert [order[user] for user in seen] == sorted((order[user] for user in seen), reverse=True), "newest first"
    assert pages >= 5
