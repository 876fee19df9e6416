"""Joining a Space and moderating its stage, as use cases on the in-memory fakes (tests/fakes/):
no DynamoDB, no Java. The fakes keep the DynamoDB adapters' rules (the contract suite in
tests/integration/test_space_repositories_contract.py runs the same tests on both)."""
from __future__ import annotations

from msgspec.structs import replace
from datetime import timedelta

import pytest

from chalicelib.domain.commands.stage import InviteSpeaker, NameCohost
from chalicelib.domain import spaces as domain
from chalicelib.domain.errors import Conflict, Forbidden, RuleViolation
from chalicelib.domain.spaces import COHOST, LISTENER, SPEAKER, OverflowInfo, StageInfo
from chalicelib.services import stage, stage_moderation
from chalicelib.api.bodies.spaces import create_space as space_request
from tests.fakes import fake_deps
from tests.fakes.spaces import SpaceStore

HOST = "host1"


@pytest.fixture
def store():
    return SpaceStore()


@pytest.fixture
def deps(store):
    return fake_deps(store)


def _live_space(deps, space_id="S1", **body):
    space = domain.new_space(
        space_id=space_id, creator_id=HOST, request=space_request({"title": "Live jazz", **body}), now=deps.clock.now(),
        rules=deps.space_rules, ticket_rules=deps.ticket_rules,
    )
    stage_info = StageInfo(arn=f"arn:aws:ivs:us-east-1:1:stage/{space_id}", events_url="wss://events", whip_url="https://whip")
    deps.spaces.create(replace(space, stage=stage_info), max_scheduled=10)
    return deps.spaces.get(space_id)


def _on_stage(deps, space, user):
    stage.join_space(deps, user, space.id)
    stage.raise_hand(deps, user, space.id)
    stage.add_speaker(deps, HOST, space.id, InviteSpeaker(user))
    return stage.accept_invitation(deps, user, space.id)


# --------------------------------------------------------------------------- joining


def test_a_listener_joins_with_a_subscribe_only_stage_token_and_is_counted_once(deps):
    space = _live_space(deps)

    joined = stage.join_space(deps, "ann", space.id)
    again = stage.join_space(deps, "ann", space.id)

    assert joined.role == LISTENER and joined.media.kind == "stage"
    assert joined.media.publish is False
    assert again.media.participant_id == joined.media.participant_id
    assert deps.telemetry.events.count("ListenerJoined") == 1
    assert deps.spaces.get(space.id).participant_count == 1


def test_the_host_joins_able_to_publish(deps):
    space = _live_space(deps)

    joined = stage.join_space(deps, HOST, space.id)

    assert joined.role == "host" and joined.media.publish is True
    assert deps.telemetry.events == ["SpeakerJoined"]


def test_a_removed_listener_cannot_join_again(deps):
    space = _live_space(deps)
    stage.join_space(deps, "ann", space.id)
    stage_moderation.remove_participant(deps, HOST, space.id, "ann")

    with pytest.raises(Forbidden) as refused:
        stage.join_space(deps, "ann", space.id)

    assert refused.value.code == "removed_from_space"


def test_a_removed_listener_is_refused_even_when_the_container_remembers_the_space(deps):
    """Warm: the media cache spares the Space read, so the join's own write must refuse."""
    space = _live_space(deps)
    stage.join_space(deps, "bob", space.id)  # warms the cache
    stage.join_space(deps, "ann", space.id)
    stage_moderation.remove_participant(deps, HOST, space.id, "ann")

    with pytest.raises(Forbidden) as refused:
        stage.join_space(deps, "ann", space.id)

    assert refused.value.code == "removed_from_space"


def test_a_user_the_host_blocked_during_the_space_cannot_join(deps):
    space = _live_space(deps)
    deps.participants.mark_blocked(space.id, "troll", deps.clock.now())

    with pytest.raises(Forbidden) as refused:
        stage.join_space(deps, "troll", space.id)

    assert refused.value.code == "blocked_by_host"


def test_with_the_overflow_on_a_new_listener_plays_the_channel_and_the_host_keeps_the_stage(deps, store):
    space = _live_space(deps)
    deps.overflow_claims.claim_overflow(space.id, deps.clock.now(), lease_seconds=60)
    deps.overflow_claims.set_overflow(space.id, OverflowInfo("arn:channel", "https://play", "arn:comp"))

    listener = stage.join_space(deps, "ann", space.id)
    host = stage.join_space(deps, HOST, space.id)

    assert listener.media.kind == "playback"
    assert listener.media.playback_url == "https://play" and listener.media.token
    assert host.media.kind == "stage"
    assert deps.telemetry.events.count("PlaybackListenerJoined") == 1


def test_an_invited_listener_keeps_the_stage_when_the_overflow_is_on(deps):
    space = _live_space(deps)
    stage.join_space(deps, "ann", space.id)
    stage.add_speaker(deps, HOST, space.id, InviteSpeaker("ann"))
    deps.overflow_claims.claim_overflow(space.id, deps.clock.now(), lease_seconds=60)
    deps.overflow_claims.set_overflow(space.id, OverflowInfo("arn:channel", "https://play", "arn:comp"))
    stage.leave_space(deps, "ann", space.id)

    rejoined = stage.join_space(deps, "ann", space.id)

    assert rejoined.media.kind == "stage"


def test_a_ticketed_space_lets_in_buyers_and_the_host_and_refuses_others(deps, store):
    space = _live_space(deps, access="ticketed", ticket={"price_cents": 500, "currency": "USD", "capacity": 10})
    store.passes.add((space.id, "buyer"))

    with pytest.raises(Forbidden) as refused:
        stage.join_space(deps, "stranger", space.id)

    assert refused.value.code == "ticket_required"
    assert stage.join_space(deps, "buyer", space.id).role == LISTENER
    assert stage.join_space(deps, HOST, space.id).role == "host"


def test_a_subscribers_only_space_lets_in_subscribers_of_its_host(deps, store):
    space = _live_space(deps, access="subscribers")
    store.subscribers.add((HOST, "fan"))

    with pytest.raises(Forbidden) as refused:
        stage.join_space(deps, "stranger", space.id)

    assert refused.value.code == "subscription_required"
    assert stage.join_space(deps, "fan", space.id).role == LISTENER


def test_joining_a_space_that_ended_is_refused(deps):
    space = _live_space(deps)
    deps.spaces.end(space, deps.clock.now())

    with pytest.raises(Conflict):
        stage.join_space(deps, "ann", space.id)


# --------------------------------------------------------------------------- hands and invitations


def test_a_raised_hand_goes_up_once_and_is_announced_once(deps):
    space = _live_space(deps)
    stage.join_space(deps, "ann", space.id)

    first = stage.raise_hand(deps, "ann", space.id)
    second = stage.raise_hand(deps, "ann", space.id)

    assert first.changed is True and second.changed is False
    assert deps.telemetry.events.count("HandRaised") == 1


def test_someone_who_has_not_joined_cannot_raise_a_hand(deps):
    space = _live_space(deps)

    with pytest.raises(Conflict) as refused:
        stage.raise_hand(deps, "ann", space.id)

    assert refused.value.code == "not_in_space"


def test_an_approved_hand_comes_on_stage_by_accepting_and_publishes(deps):
    space = _live_space(deps)

    accepted = _on_stage(deps, space, "ann")

    assert accepted.role == SPEAKER and accepted.media.publish is True
    after = deps.spaces.get(space.id)
    assert "ann" in after.speakers and "ann" not in after.invited
    assert deps.stage_members.pending_requests(space.id) == []


def test_of_two_moderators_answering_one_hand_the_second_hears_it_was_answered(deps):
    space = _live_space(deps, cohost_ids=["co1"])
    stage.join_space(deps, "co1", space.id)
    stage.join_space(deps, "ann", space.id)
    stage.raise_hand(deps, "ann", space.id)

    stage.add_speaker(deps, HOST, space.id, InviteSpeaker("ann"))
    with pytest.raises(Conflict) as second:
        stage.add_speaker(deps, "co1", space.id, InviteSpeaker("ann"))

    assert second.value.code == "already_invited"
    assert deps.telemetry.events.count("SpeakerRequestApproved") == 1


def test_a_listener_cannot_bring_anyone_on_stage(deps):
    space = _live_space(deps)
    stage.join_space(deps, "ann", space.id)
    stage.join_space(deps, "bob", space.id)

    with pytest.raises(Forbidden) as refused:
        stage.add_speaker(deps, "bob", space.id, InviteSpeaker("ann"))

    assert refused.value.code == "moderator_only"


def test_the_stage_holds_at_most_max_on_stage_people(store):
    deps = fake_deps(store, max_on_stage=3)
    space = _live_space(deps)
    for user in ("ann", "bob"):
        _on_stage(deps, space, user)
    stage.join_space(deps, "cat", space.id)
    stage.add_speaker(deps, HOST, space.id, InviteSpeaker("cat"))

    with pytest.raises(Conflict) as refused:
        stage.accept_invitation(deps, "cat", space.id)

    assert refused.value.code == "stage_full"
    assert set(deps.spaces.get(space.id).speakers) == {"ann", "bob"}


def test_a_declined_invitation_is_gone(deps):
    space = _live_space(deps)
    stage.join_space(deps, "ann", space.id)
    stage.add_speaker(deps, HOST, space.id, InviteSpeaker("ann"))

    stage.decline_invitation(deps, "ann", space.id)

    assert "ann" not in deps.spaces.get(space.id).invited
    with pytest.raises(Conflict):
        stage.decline_invitation(deps, "ann", space.id)


# --------------------------------------------------------------------------- co-hosts


def test_a_speaker_made_cohost_keeps_their_place_on_stage(deps):
    space = _live_space(deps)
    _on_stage(deps, space, "ann")

    after = stage_moderation.add_cohost(deps, HOST, space.id, NameCohost("ann"))

    assert "ann" in after.cohosts and "ann" not in after.speakers
    assert deps.participants.get_participant(space.id, "ann").role == COHOST


def test_a_space_has_at_most_max_cohosts_cohosts(deps):
    space = _live_space(deps, cohost_ids=["co1", "co2"])  # the default cap: 2
    stage.join_space(deps, "ann", space.id)

    with pytest.raises(RuleViolation) as refused:
        stage_moderation.add_cohost(deps, HOST, space.id, NameCohost("ann"))

    assert refused.value.code == "too_many_cohosts"


def test_a_cohost_added_meanwhile_is_reported_as_the_cap_the_write_refused(deps, store):
    """The service's check passed on its read; another add filled the cap before the write. The
    write's condition refuses with the same rule, and the caller hears the cap, not a conflict."""
    space = _live_space(deps, cohost_ids=["co1"])
    stage.join_space(deps, "ann", space.id)
    read = deps.spaces.get(space.id, with_count=False)
    store.edit(space.id, cohosts={**read.cohosts, "co2": "later"})
    real_get = deps.spaces.get
    calls = []

    def stale_first_read(space_id, *, with_count=True):
        calls.append(space_id)
        return read if len(calls) == 1 else real_get(space_id, with_count=with_count)

    deps.spaces.get = stale_first_read

    with pytest.raises(RuleViolation) as refused:
        stage_moderation.add_cohost(deps, HOST, space.id, NameCohost("ann"))

    assert refused.value.code == "too_many_cohosts"
    assert "ann" not in real_get(space.id).cohosts


def test_only_the_host_adds_cohosts(deps):
    space = _live_space(deps, cohost_ids=["co1"])
    stage.join_space(deps, "ann", space.id)

    with pytest.raises(Forbidden) as refused:
        stage_moderation.add_cohost(deps, "co1", space.id, NameCohost("ann"))

    assert refused.value.code == "host_only"


# --------------------------------------------------------------------------- mutes, removals, leaving


def test_muting_twice_changes_and_announces_once_and_only_the_speaker_unmutes(deps):
    space = _live_space(deps)
    _on_stage(deps, space, "ann")

    stage_moderation.mute(deps, HOST, space.id, "ann")
    stage_moderation.mute(deps, HOST, space.id, "ann")
    with pytest.raises(Forbidden):
        stage_moderation.unmute(deps, HOST, space.id, "ann")
    unmuted = stage_moderation.unmute(deps, "ann", space.id, "ann")

    assert deps.telemetry.events.count("SpeakerMuted") == 1
    assert "ann" not in unmuted.muted


def test_a_listener_cannot_be_muted(deps):
    space = _live_space(deps)
    stage.join_space(deps, "ann", space.id)

    with pytest.raises(Conflict) as refused:
        stage_moderation.mute(deps, HOST, space.id, "ann")

    assert refused.value.code == "not_on_stage"


def test_a_removed_speaker_leaves_the_stage_and_their_connection_is_cut(deps):
    space = _live_space(deps)
    accepted = _on_stage(deps, space, "ann")

    stage_moderation.remove_participant(deps, HOST, space.id, "ann")

    assert "ann" not in deps.spaces.get(space.id).speakers
    assert [(p, reason) for _, p, reason in deps.media.disconnected] == [
        (accepted.media.participant_id, "removed by a moderator")
    ]
    assert deps.participants.get_participant(space.id, "ann").removed


def test_removing_an_overflow_listener_revokes_their_playback(deps):
    space = _live_space(deps)
    deps.overflow_claims.claim_overflow(space.id, deps.clock.now(), lease_seconds=60)
    deps.overflow_claims.set_overflow(space.id, OverflowInfo("arn:channel", "https://play", "arn:comp"))
    stage.join_space(deps, "ann", space.id)

    stage_moderation.remove_participant(deps, HOST, space.id, "ann")

    assert deps.media.revoked == [("arn:channel", "ann")] and deps.media.disconnected == []


def test_a_demoted_speaker_listens_again_and_their_publishing_connection_is_cut(deps):
    space = _live_space(deps)
    _on_stage(deps, space, "ann")

    after = stage_moderation.remove_speaker(deps, HOST, space.id, "ann")

    assert "ann" not in after.speakers
    assert deps.participants.get_participant(space.id, "ann").role == LISTENER
    assert [reason for _, _, reason in deps.media.disconnected] == ["moved off the stage"]


def test_a_speaker_who_leaves_steps_off_the_stage(deps):
    space = _live_space(deps)
    _on_stage(deps, space, "ann")

    stage.leave_space(deps, "ann", space.id)

    assert "ann" not in deps.spaces.get(space.id).speakers
    assert deps.spaces.get(space.id).participant_count == 0


def test_the_presence_sweep_disconnects_only_who_stopped_heartbeating(store):
    deps = fake_deps(store)
    space = _live_space(deps)
    stage.join_space(deps, "gone", space.id)
    later = fake_deps(store, at=deps.clock.now() + timedelta(seconds=deps.settings.presence_timeout_seconds + 1))
    stage.join_space(later, "here", space.id)

    swept = stage.sweep_live_presence(later)

    assert swept == 1
    assert not later.participants.get_participant(space.id, "gone").connected
    assert later.participants.get_participant(space.id, "here").connected
