"""The recording repository (consent, the replay's states, captions), one contract for the
DynamoDB adapter (adapters/dynamodb/recording.py) and the in-memory fake (tests/fakes/recording.py):
every test runs on both. Spaces are made, and ended, through the Space repositories of the same
backend, since the recording lives on the Space. The DynamoDB side runs on DynamoDB Local, each
test on Spaces of its own."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from msgspec.structs import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from chalicelib.api.bodies.spaces import create_space as space_request
from chalicelib.domain import spaces as domain
from chalicelib.domain.captions import Caption
from chalicelib.domain.recording import (
    AVAILABLE,
    DELETED,
    FAILED,
    MIXING,
    PROCESSING,
    TRANSCRIPT_NONE,
    TRANSCRIPT_READY,
    TRANSCRIPT_RUNNING,
    RecordingInfo,
)
from chalicelib.domain.spaces import SpaceRules, StageInfo
from chalicelib.domain.tickets import TicketRules
from chalicelib.ports import Refused

RULES = SpaceRules(
    max_cohosts=2, max_on_stage=4, max_scheduled_per_host=2, max_schedule_ahead_days=30, max_topics=3,
    max_title_length=140,
)
TICKETS = TicketRules(min_price_cents=100, max_price_cents=99_900, currencies=("USD",), max_capacity=1000, hold_seconds=600)
NOW = datetime(2026, 12, 1, 18, 0, tzinfo=timezone.utc)
LATER = NOW + timedelta(minutes=30)


@dataclass
class Repos:
    spaces: Any
    recordings: Any
    users: Any


@pytest.fixture(params=["dynamodb", "memory"])
def repos(request):
    if request.param == "memory":
        from tests.fakes.recording import FakeRecordingRepository
        from tests.fakes.spaces import SpaceStore
        from tests.fakes.users import FakeUserRepository

        store = SpaceStore()
        return Repos(store.repositories()["spaces"], FakeRecordingRepository(store), FakeUserRepository(store))
    request.getfixturevalue("dynamodb_local")
    from chalicelib.adapters.dynamodb.recording import DynamoRecordingRepository
    from chalicelib.adapters.dynamodb.spaces import space_repositories
    from chalicelib.adapters.dynamodb.users import DynamoUserRepository

    return Repos(space_repositories(count_shards=4)["spaces"], DynamoRecordingRepository(), DynamoUserRepository())


def _id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def _live(repos, *, recording=True, cohosts=(), started=True):
    """A live Space; `started=False`: recorded, but its recording never started (no stage to
    record yet, say), so the Space shows no `recording_info`."""
    space = domain.new_space(
        space_id=_id("S"), creator_id=_id("h"), now=NOW, rules=RULES, ticket_rules=TICKETS,
        request=space_request({"title": "Recorded talk", "recording": recording, "cohost_ids": list(cohosts)}),
    )
    if recording and started:
        space = replace(space, recording_info=RecordingInfo(started_at=NOW, prefix=_id("stage")))
    repos.spaces.create(space, max_scheduled=RULES.max_scheduled_per_host)
    return repos.spaces.get(space.id, with_count=False)


def _scheduled(repos):
    """A recorded Space scheduled in an hour: nothing recorded yet."""
    at = (NOW + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    space = domain.new_space(
        space_id=_id("S"), creator_id=_id("h"), now=NOW, rules=RULES, ticket_rules=TICKETS,
        request=space_request({"title": "Recorded later", "recording": True, "scheduled_start": at}),
    )
    repos.spaces.create(space, max_scheduled=RULES.max_scheduled_per_host)
    return repos.spaces.get(space.id, with_count=False)


def _start(repos, space):
    """Start a scheduled Space as the service does: recording from now, on its new stage."""
    stage = StageInfo(arn=f"arn:aws:ivs:us-east-1:1:stage/{space.id}", events_url="wss://e", whip_url="https://w")
    recorded = replace(space, recording_info=RecordingInfo(started_at=LATER, prefix=stage.stage_id))
    repos.spaces.start(recorded, stage, LATER)
    return repos.spaces.get(space.id, with_count=False)


def _ended(repos, **kwargs):
    space = _live(repos, **kwargs)
    repos.spaces.end(space, LATER)
    return repos.spaces.get(space.id, with_count=False)


def _info(repos, space_id):
    return repos.spaces.get(space_id, with_count=False).recording_info


def _caption(space, user_id, start_ms, text="hello"):
    return Caption(
        space_id=space.id, seq=f"{start_ms:011d}#{uuid.uuid4().hex}", user_id=user_id, text=text, language="en",
        start_ms=start_ms, end_ms=start_ms + 900, created_at=NOW,
    )


# --------------------------------------------------------------------------- the end


def test_ending_a_recorded_space_puts_its_replay_in_processing_on_the_landing_index(repos):
    space = _ended(repos)

    info = space.recording_info
    assert (info.replay_state, info.mix_version, info.stopped_at) == (PROCESSING, 1, LATER)
    assert space.id in repos.recordings.pending(limit=10_000)


def test_ending_a_space_not_recorded_leaves_no_replay(repos):
    space = _ended(repos, recording=False)

    assert space.recording_info is None and space.id not in repos.recordings.pending(limit=10_000)


# --------------------------------------------------------------------------- the mix


def test_one_run_claims_a_versions_mix_and_a_stale_claim_is_taken_over(repos):
    space = _ended(repos)
    claim = dict(version=1, stale_before=LATER, max_attempts=3)

    assert repos.recordings.claim_mix(space.id, now=LATER, **claim) is True
    assert repos.recordings.claim_mix(space.id, now=LATER, **claim) is False  # the claim is fresh
    assert repos.recordings.claim_mix(space.id, now=LATER, version=2, stale_before=LATER + timedelta(hours=1), max_attempts=3) is False

    later = LATER + timedelta(hours=1)
    assert repos.recordings.claim_mix(space.id, now=later, version=1, stale_before=later, max_attempts=3) is True
    info = _info(repos, space.id)
    assert (info.replay_state, info.mix_started_at, info.mix_attempts) == (MIXING, later, 2)


def test_a_mix_is_claimed_at_most_max_attempts_times(repos):
    space = _ended(repos)
    runs = [LATER + timedelta(hours=h) for h in range(4)]

    claimed = [repos.recordings.claim_mix(space.id, version=1, now=at, stale_before=at, max_attempts=2) for at in runs]

    assert claimed == [True, True, False, False]


def test_landing_makes_the_replay_available_only_for_the_version_being_mixed(repos):
    space = _ended(repos)
    repos.recordings.claim_mix(space.id, version=1, now=LATER, stale_before=LATER, max_attempts=3)
    landing = dict(media_key="replays/a.m4a", duration_ms=61_000, transcript_state=TRANSCRIPT_NONE)

    assert repos.recordings.land(space.id, version=2, **landing) is False
    assert repos.recordings.land(space.id, version=1, **landing) is True
    assert repos.recordings.land(space.id, version=1, **landing) is False

    info = _info(repos, space.id)
    assert (info.replay_state, info.media_key, info.duration_ms) == (AVAILABLE, "replays/a.m4a", 61_000)
    assert space.id not in repos.recordings.pending(limit=10_000)


def test_a_running_transcription_keeps_the_space_pending_until_it_finishes(repos):
    space = _ended(repos)
    repos.recordings.claim_mix(space.id, version=1, now=LATER, stale_before=LATER, max_attempts=3)
    repos.recordings.land(
        space.id, version=1, media_key="k", duration_ms=1000, transcript_state=TRANSCRIPT_RUNNING, transcription_job="job-1"
    )
    assert space.id in repos.recordings.pending(limit=10_000)

    assert repos.recordings.finish_transcript(space.id, state=TRANSCRIPT_READY, transcript_key="t.vtt") is True
    assert repos.recordings.finish_transcript(space.id, state=TRANSCRIPT_READY, transcript_key="t.vtt") is False

    info = _info(repos, space.id)
    assert (info.transcript_state, info.transcription_job, info.transcript_key) == (TRANSCRIPT_READY, "job-1", "t.vtt")
    assert space.id not in repos.recordings.pending(limit=10_000)


def test_a_replay_fails_once_and_only_from_processing_or_mixing_of_its_version(repos):
    space = _ended(repos)

    assert repos.recordings.fail(space.id, version=2) is False
    assert repos.recordings.fail(space.id, version=1) is True
    assert repos.recordings.fail(space.id, version=1) is False
    assert _info(repos, space.id).replay_state == FAILED and space.id not in repos.recordings.pending(limit=10_000)


def test_a_replay_is_deleted_once(repos):
    space = _ended(repos)

    assert repos.recordings.delete_replay(space.id) is True
    assert repos.recordings.delete_replay(space.id) is False
    assert _info(repos, space.id).replay_state == DELETED
    with pytest.raises(Refused):
        repos.recordings.mark_pending(space.id)  # nothing left to cut clips from


def test_the_landing_index_is_left_and_joined_again(repos):
    space = _ended(repos)

    repos.recordings.drop_pending(space.id)
    assert space.id not in repos.recordings.pending(limit=10_000)
    repos.recordings.mark_pending(space.id)
    assert space.id in repos.recordings.pending(limit=10_000)


def test_a_space_that_does_not_exist_refuses_the_index(repos):
    with pytest.raises(Refused):
        repos.recordings.drop_pending(_id("S"))
    with pytest.raises(Refused):
        repos.recordings.mark_pending(_id("S"))


# --------------------------------------------------------------------------- consent


def test_a_cohost_of_a_live_recorded_space_consents_and_nobody_else_does(repos):
    cohost = _id("c")
    space = _live(repos, cohosts=[cohost])
    unrecorded = _live(repos, recording=False, cohosts=[_id("c")])

    repos.recordings.record_consent(space.id, cohost, NOW)
    assert set(repos.spaces.get(space.id, with_count=False).consents) == {space.creator_id, cohost}

    with pytest.raises(Refused):
        repos.recordings.record_consent(space.id, _id("listener"), NOW)
    with pytest.raises(Refused):
        repos.recordings.record_consent(unrecorded.id, next(iter(unrecorded.cohosts)), NOW)


def test_withdrawing_after_the_end_asks_for_the_next_version_once(repos):
    space = _ended(repos)
    repos.recordings.claim_mix(space.id, version=1, now=LATER, stale_before=LATER, max_attempts=3)
    repos.recordings.land(space.id, version=1, media_key="k1", duration_ms=1000, transcript_state=TRANSCRIPT_NONE)

    repos.recordings.withdraw_consent(space.id, space.creator_id, LATER, ended=True)

    info = _info(repos, space.id)
    assert (info.replay_state, info.mix_version, info.media_key, info.mix_attempts) == (PROCESSING, 2, None, 0)
    assert set(info.withdrawals) == {space.creator_id} and space.id in repos.recordings.pending(limit=10_000)
    with pytest.raises(Refused):
        repos.recordings.withdraw_consent(space.id, space.creator_id, LATER, ended=True)
    with pytest.raises(Refused):
        repos.recordings.withdraw_consent(space.id, _id("never-consented"), LATER, ended=True)


def test_withdrawing_while_live_is_kept_without_touching_the_replay(repos):
    space = _live(repos)

    repos.recordings.withdraw_consent(space.id, space.creator_id, NOW, ended=False)

    info = _info(repos, space.id)
    assert set(info.withdrawals) == {space.creator_id} and info.replay_state is None
    with pytest.raises(Refused):  # the Space is not in the state the caller read
        repos.recordings.withdraw_consent(space.id, space.creator_id, NOW, ended=True)


def test_clipping_is_turned_off_and_on(repos):
    space = _live(repos)

    repos.recordings.set_clipping(space.id, False)
    assert _info(repos, space.id).clipping is False
    repos.recordings.set_clipping(space.id, True)
    assert _info(repos, space.id).clipping is True


def test_clipping_turned_off_before_the_recording_starts_is_kept_once_and_holds_when_it_starts(repos):
    space = _scheduled(repos)

    assert repos.recordings.set_clipping(space.id, True) is False  # on until the host says otherwise
    assert repos.recordings.set_clipping(space.id, False) is True
    assert repos.recordings.set_clipping(space.id, False) is False  # already off: nothing changes
    assert _info(repos, space.id) is None  # nothing recorded yet

    started = _start(repos, space)

    assert (started.recording_info.started_at, started.recording_info.clipping) == (LATER, False)
    assert repos.recordings.set_clipping(space.id, True) is True and _info(repos, space.id).clipping is True


def test_clipping_of_a_space_that_does_not_exist_changes_nothing(repos):
    assert repos.recordings.set_clipping(_id("S"), False) is False


def test_a_withdrawal_before_the_recording_started_is_kept_once_and_asks_for_no_replay(repos):
    space = _live(repos, started=False)

    repos.recordings.withdraw_consent(space.id, space.creator_id, NOW, ended=False)

    assert _info(repos, space.id) is None  # still nothing recorded
    with pytest.raises(Refused):
        repos.recordings.withdraw_consent(space.id, space.creator_id, NOW, ended=False)
    repos.spaces.end(repos.spaces.get(space.id, with_count=False), LATER)
    assert _info(repos, space.id) is None and space.id not in repos.recordings.pending(limit=10_000)


# --------------------------------------------------------------------------- captions


def test_captions_come_from_people_on_stage_of_a_live_space_only(repos):
    cohost = _id("c")
    space = _live(repos, cohosts=[cohost])
    ended = _ended(repos)

    repos.recordings.add_caption(_caption(space, space.creator_id, 1000), expires_at=LATER)
    repos.recordings.add_caption(_caption(space, cohost, 2000), expires_at=LATER)
    with pytest.raises(Refused):
        repos.recordings.add_caption(_caption(space, _id("listener"), 3000), expires_at=LATER)
    with pytest.raises(Refused):
        repos.recordings.add_caption(_caption(ended, ended.creator_id, 1000), expires_at=LATER)

    assert [c.user_id for c in repos.recordings.all_captions(space.id)] == [space.creator_id, cohost]
    assert repos.recordings.has_captions(space.id) and not repos.recordings.has_captions(ended.id)


def test_a_segment_is_stored_once(repos):
    space = _live(repos)
    segment = _caption(space, space.creator_id, 1000)
    repos.recordings.add_caption(segment, expires_at=LATER)

    with pytest.raises(Refused) as refused:
        repos.recordings.add_caption(replace(segment, text="again"), expires_at=LATER)

    assert refused.value.part == "caption" and repos.recordings.all_captions(space.id) == [segment]


def test_captions_page_in_time_order_with_a_key_to_go_on_from(repos):
    space = _live(repos)
    segments = [_caption(space, space.creator_id, start) for start in (3000, 1000, 2000, 5000, 4000)]
    for segment in segments:
        repos.recordings.add_caption(segment, expires_at=LATER)
    in_order = sorted(segments, key=lambda c: c.seq)

    first, after = repos.recordings.captions_page(space.id, limit=2, after=None)
    second, after2 = repos.recordings.captions_page(space.id, limit=2, after=after)
    last, end = repos.recordings.captions_page(space.id, limit=2, after=after2)

    assert first + second + last == in_order and end is None
    assert repos.recordings.captions_page(space.id, limit=5, after=None) == (in_order, None)


# --------------------------------------------------------------------------- the audience


def test_a_block_by_the_host_is_seen(repos):
    host, user = _id("h"), _id("u")
    assert repos.recordings.is_blocked(host, user) is False

    repos.users.block(host, user, NOW)

    assert repos.recordings.is_blocked(host, user) is True and repos.recordings.is_blocked(user, host) is False
