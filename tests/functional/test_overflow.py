"""Overflow audiences: past the threshold below the stage's subscriber capacity, the rank job
composes the stage into a channel once, and later listeners get its playback URL."""
import dataclasses
from datetime import datetime, timezone

import jwt
import msgspec.structs
import pytest

from chalicelib.adapters.ivs_tokens import playback_viewer_id
from chalicelib.domain.commands.spaces import EditSpace
from chalicelib.domain.commands.stage import InviteSpeaker
from chalicelib.services import spaces as space_service
from chalicelib.services import stage as stage_service
from chalicelib.services import stage_moderation as moderation_service
from chalicelib.services import discovery
from chalicelib.api.bodies.spaces import create_space as space_request
from chalicelib.api.views import media_view

_settle = []


@pytest.fixture(autouse=True)
def _count_fold(settle_counts):
    _settle[:] = [settle_counts]


def refresh_live_ranks(deps):
    """The rank job, after the count fold caught up with the joins (as it does within a second
    in AWS, and the job runs every minute)."""
    _settle[0]()
    return discovery.refresh_live_ranks(deps)


@pytest.fixture
def small(deps):
    """A stage that holds 3 subscribers; overflow starts at 90 % of it (3 participants)."""
    deps.settings = dataclasses.replace(deps.settings, stage_subscriber_capacity=3, overflow_headroom_percent=90)
    return deps


def started_for(deps, space_id):
    return [info for sid, info in deps.media.overflow_started if sid == space_id]


def overflowing(deps, host, new_user):
    """A live Space with 3 listeners (the `small` capacity) after one rank job run: overflow on."""
    space = space_service.create_space(deps, host, space_request({"title": "famous"}))
    for _ in range(3):
        stage_service.join_space(deps, new_user(), space.id)
    refresh_live_ranks(deps)
    return space


def restarted_for(deps, space_id):
    """(The live list is shared with other tests' Spaces: keep to this one.)"""
    return [arn for sid, arn in deps.media.overflow_restarted if sid == space_id]


def playback_claims(media: dict, keys) -> dict:
    """The playback token's claims, verified with the stage's public key (the stack imports the
    same key as the IVS playback key pair)."""
    return jwt.decode(media["token"], keys["ivs_public_pem"], algorithms=["ES384"])


def test_overflow_starts_once_and_later_listeners_get_the_playback_url(small, host, new_user, keys, settle_counts):
    deps = small
    space = space_service.create_space(deps, host, space_request({"title": "famous"}))
    early = [new_user("early") for _ in range(3)]
    for user in early:
        assert stage_service.join_space(deps, user, space.id).media.kind == "stage"

    # Given 3 listeners and a capacity of 3, when the job runs twice
    refresh_live_ranks(deps)
    refresh_live_ranks(deps)

    # Then one composition was started, and the Space carries its playback URL
    [info] = started_for(deps, space.id)
    assert deps.spaces.get(space.id).overflow == info
    assert "OverflowStarted" in deps.telemetry.events

    # Later listeners (cold or warm container) get the channel, and are still counted
    deps.media_cache.drop(space.id)
    late = [new_user("late"), new_user("late")]
    cold = stage_service.join_space(deps, late[0], space.id)
    warm = stage_service.join_space(deps, late[1], space.id)
    for user, joined in zip(late, (cold, warm)):
        media = media_view(joined.media)  # as the join's answer sends it
        assert joined.role == "listener"
        assert media["kind"] == "playback" and media["stage_arn"] is None
        # A private channel: the URL carries a playback token signed for this user and channel
        assert media["playback_url"] == f"{info.playback_url}?token={media['token']}"
        claims = playback_claims(media, keys)
        assert claims["aws:channel-arn"] == info.channel_arn
        assert claims["aws:viewer-id"] == playback_viewer_id(user) and len(claims["aws:viewer-id"]) <= 40
        assert datetime.fromtimestamp(claims["exp"], tz=timezone.utc) > deps.clock.now()
        assert media["expires_at"] == datetime.fromtimestamp(claims["exp"], tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert playback_viewer_id(late[0]) != playback_viewer_id(late[1])
    settle_counts()  # the count fold catches up (about a second in AWS)
    assert deps.spaces.get(space.id).participant_count == 5

    # A playback listener's heartbeat stays on playback; the first listeners keep their stage
    assert stage_service.join_space(deps, warm_user := new_user("late2"), space.id).media.kind == "playback"
    assert stage_service.join_space(deps, warm_user, space.id).media.kind == "playback"
    for user in early:
        again = stage_service.join_space(deps, user, space.id)
        assert again.media.kind == "stage" and again.media.token

    # The host always gets a stage token with publish rights
    hosted = stage_service.join_space(deps, host, space.id)
    assert hosted.media.kind == "stage" and hosted.media.publish


def test_a_playback_listener_invited_to_speak_gets_a_stage_token(small, host, new_user):
    deps = small
    space = overflowing(deps, host, new_user)
    listener = new_user("late")
    assert stage_service.join_space(deps, listener, space.id).media.kind == "playback"

    stage_service.add_speaker(deps, host, space.id, InviteSpeaker(listener))
    # Invited: joining again (a cold read knows the invitation) hands out the stage
    deps.media_cache.drop(space.id)
    accepted = stage_service.accept_invitation(deps, listener, space.id)

    assert accepted.role == "speaker"
    assert accepted.media.kind == "stage" and accepted.media.publish
    # and the speaker's heartbeat keeps the stage
    assert stage_service.join_space(deps, listener, space.id).media.kind == "stage"


def test_a_failed_start_is_retried_by_the_next_run(small, host, new_user):
    deps = small
    space = space_service.create_space(deps, host, space_request({"title": "famous"}))
    for _ in range(3):
        stage_service.join_space(deps, new_user(), space.id)
    deps.media.fail_next("start_overflow", times=50)  # every Space this run touches fails

    refresh_live_ranks(deps)

    assert started_for(deps, space.id) == [] and deps.spaces.get(space.id).overflow is None
    deps.media._failures.clear()
    refresh_live_ranks(deps)
    assert len(started_for(deps, space.id)) == 1


def test_ending_stops_the_composition_and_deletes_the_channel(small, host, new_user):
    deps = small
    space = overflowing(deps, host, new_user)
    [info] = started_for(deps, space.id)

    space_service.end_space(deps, host, space.id)

    assert info in deps.media.overflow_stopped


def test_a_failed_stop_is_retried_by_the_release_job(small, host, new_user):
    deps = small
    space = overflowing(deps, host, new_user)
    [info] = started_for(deps, space.id)
    deps.media.fail_next("stop_overflow", times=3)

    space_service.end_space(deps, host, space.id)
    assert info not in deps.media.overflow_stopped

    space_service.release_pending_media(deps, limit=1000)
    assert info in deps.media.overflow_stopped


def test_below_the_threshold_nothing_starts(deps, host, new_user):
    space = space_service.create_space(deps, host, space_request({"title": "small"}))
    stage_service.join_space(deps, new_user(), space.id)

    refresh_live_ranks(deps)

    assert started_for(deps, space.id) == []
    assert stage_service.join_space(deps, new_user(), space.id).media.kind == "stage"


def test_both_join_answers_match_the_documented_schema(small, host, new_user):
    """openapi.yaml's JoinResponse describes the stage and the playback answer alike."""
    from pathlib import Path

    import yaml
    from openapi_schema_validator import OAS30Validator

    spec = yaml.safe_load((Path(__file__).resolve().parents[2] / "openapi.yaml").read_text())
    schema = {**spec["components"]["schemas"]["JoinResponse"], "components": spec["components"]}
    validator = OAS30Validator(schema)

    deps = small
    space = space_service.create_space(deps, host, space_request({"title": "famous"}))
    answers = [stage_service.join_space(deps, new_user(), space.id) for _ in range(3)]
    refresh_live_ranks(deps)
    answers.append(stage_service.join_space(deps, new_user(), space.id))

    assert [a.media.kind for a in answers] == ["stage"] * 3 + ["playback"]
    from chalicelib.api.views import joined_view

    for answer in answers:
        validator.validate(joined_view(answer))  # as the route sends it


def test_removing_a_playback_listener_revokes_their_playback(small, host, new_user):
    deps = small
    space = overflowing(deps, host, new_user)
    listener = new_user("late")
    assert stage_service.join_space(deps, listener, space.id).media.kind == "playback"
    [info] = started_for(deps, space.id)
    disconnects_before = list(deps.media.disconnected)

    moderation_service.remove_participant(deps, host, space.id, listener)

    # Their viewer sessions of the private channel are revoked; the stage is not touched
    assert deps.media.playback_revoked == [(info.channel_arn, listener)]
    assert deps.media.disconnected == disconnects_before
    with pytest.raises(Exception) as refused:
        stage_service.join_space(deps, listener, space.id)
    assert getattr(refused.value, "code", None) == "removed_from_space"


def test_a_failed_revocation_is_a_503_and_repeating_the_removal_retries_it(small, host, new_user):
    from chalicelib.domain.errors import DependencyFailed

    deps = small
    space = overflowing(deps, host, new_user)
    listener = new_user("late")
    stage_service.join_space(deps, listener, space.id)
    [info] = started_for(deps, space.id)

    deps.media.fail_next("revoke_playback")
    with pytest.raises(DependencyFailed):
        moderation_service.remove_participant(deps, host, space.id, listener)
    assert deps.participants.get_participant(space.id, listener).removed  # the ban stands
    moderation_service.remove_participant(deps, host, space.id, listener)
    assert deps.media.playback_revoked == [(info.channel_arn, listener)]


def test_a_composition_ivs_stopped_on_its_own_is_started_again_into_the_same_channel(small, host, new_user):
    deps = small
    space = overflowing(deps, host, new_user)
    [info] = started_for(deps, space.id)

    # A run while it plays changes nothing
    refresh_live_ranks(deps)
    assert restarted_for(deps, space.id) == []

    # When IVS stops the composition (a minute without publishers), the next run starts another
    # into the same channel, once, and the Space records it
    deps.media.composition_stops_by_itself(info.composition_arn)
    refresh_live_ranks(deps)
    refresh_live_ranks(deps)
    [new_arn] = restarted_for(deps, space.id)
    now = deps.spaces.get(space.id).overflow
    assert now == msgspec.structs.replace(info, composition_arn=new_arn, restarts=1)
    assert "OverflowRestarted" in deps.telemetry.events

    # Listeners keep the same channel; ending stops the new composition
    late = stage_service.join_space(deps, new_user("late"), space.id)
    assert media_view(late.media)["playback_url"].startswith(info.playback_url + "?token=")
    space_service.end_space(deps, host, space.id)
    assert deps.media.overflow_stopped[-1].composition_arn == new_arn


def test_a_failed_check_or_restart_is_retried_by_the_next_run(small, host, new_user, monkeypatch):
    from chalicelib.domain.errors import DependencyFailed

    deps = small
    space = overflowing(deps, host, new_user)
    [info] = started_for(deps, space.id)
    deps.media.composition_stops_by_itself(info.composition_arn)

    def failing(method_name):
        real = getattr(deps.media, method_name)

        def call(*args):
            if any(getattr(a, "composition_arn", a) in (info.composition_arn, space.id) for a in args):
                raise DependencyFailed("IVS throttled", code="media_unavailable")
            return real(*args)

        return call

    # IVS fails the check, then the restart: nothing recorded, nothing half-done
    with monkeypatch.context() as patch:
        patch.setattr(deps.media, "overflow_running", failing("overflow_running"))
        refresh_live_ranks(deps)
    with monkeypatch.context() as patch:
        patch.setattr(deps.media, "restart_overflow", failing("restart_overflow"))
        refresh_live_ranks(deps)
    assert restarted_for(deps, space.id) == []
    assert deps.spaces.get(space.id).overflow == info

    # The next run restarts it
    refresh_live_ranks(deps)
    assert len(restarted_for(deps, space.id)) == 1


def test_the_orphan_sweep_deletes_channels_no_live_space_uses_after_the_grace(small, host, new_user):
    from chalicelib.services.overflow import reconcile_channels

    deps = small
    space = overflowing(deps, host, new_user)
    [used] = started_for(deps, space.id)
    # A channel whose Space never recorded it (the answer was lost), old enough, and a young one
    lost = deps.media.start_overflow("01NOSUCHSPACE0000000000001", deps.spaces.get(space.id).stage.arn)
    young = deps.media.start_overflow("01NOSUCHSPACE0000000000002", deps.spaces.get(space.id).stage.arn)
    now = int(deps.clock.now().timestamp())
    for info in (used, lost):
        deps.media.channel_created_at[info.channel_arn] = now - 3600
    deps.media.channel_created_at[young.channel_arn] = now

    reconcile_channels(deps)

    assert lost.channel_arn in deps.media.channels_deleted, "the orphan is gone"
    assert young.channel_arn not in deps.media.channels_deleted, "a young channel is left alone"
    assert used.channel_arn not in deps.media.channels_deleted, "a live Space keeps its channel"


def test_renaming_an_overflowing_space_keeps_its_composition_watched(small, host, new_user):
    """A live PATCH re-puts the Space's listings: the overflow flag the rank job reads must stay."""
    deps = small
    space = overflowing(deps, host, new_user)
    [info] = started_for(deps, space.id)

    space_service.patch_space(deps, host, space.id, EditSpace(title="famous, renamed"))
    deps.media.composition_stops_by_itself(info.composition_arn)
    refresh_live_ranks(deps)

    assert len(restarted_for(deps, space.id)) == 1
