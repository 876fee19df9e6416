"""The dispatcher of domain events (chalicelib/services/dispatch.py), and the events the
lifecycle use cases publish. No database: the repositories are Mock(spec=...) stand-ins, and the
Deps' dispatcher records what was published."""
from __future__ import annotations

import importlib
import pkgutil
from datetime import datetime, timezone
from unittest.mock import Mock

import msgspec
import pytest

from chalicelib.adapters.dynamodb.listings import DynamoListingRepository
from chalicelib.adapters.dynamodb.overflow_claims import DynamoOverflowClaims
from chalicelib.adapters.dynamodb.participants import DynamoParticipantRepository
from chalicelib.adapters.dynamodb.spaces import DynamoSpaceRepository
from chalicelib.adapters.dynamodb.stage_members import DynamoStageMembers
from chalicelib.config import Settings
from chalicelib.domain import events
from chalicelib.domain.commands.spaces import EditSpace
from chalicelib.domain.errors import DependencyFailed
from chalicelib.domain.events.lifecycle import (
    LiveCountsRefreshed,
    SpaceCanceled,
    SpaceCreated,
    SpaceEdited,
    SpaceEnded,
    SpaceStarted,
)
from chalicelib.domain.events.stage import BlockedWhileLive, SpeakerAdded, SpeakerRemoved
from chalicelib.domain.spaces import LIVE, SCHEDULED, OverflowInfo, Space, StageInfo
from chalicelib.domain.users import User
from chalicelib.ports import Participant
from chalicelib.services import discovery, dispatch, spaces, stage, stage_moderation, users
from chalicelib.services.context import Deps

NOW = datetime(2026, 12, 6, 20, 0, tzinfo=timezone.utc)
STAGE = StageInfo(arn="arn:aws:ivs:us-east-1:123456789012:stage/abc", events_url="wss://e", whip_url="https://w")


class Recorder:
    """Counts metrics (the dispatcher counts a failed reaction)."""

    def __init__(self):
        self.events = []

    def count(self, event, value=1):
        self.events.append(event)


class FixedClock:
    def now(self):
        return NOW


def make_deps(published=None, **parts):
    """Deps whose dispatcher records each event (and runs no reaction)."""
    parts.setdefault("spaces", Mock(spec=DynamoSpaceRepository))
    parts.setdefault("participants", Mock(spec=DynamoParticipantRepository))
    parts.setdefault("stage_members", Mock(spec=DynamoStageMembers))
    parts.setdefault("overflow_claims", Mock(spec=DynamoOverflowClaims))
    parts.setdefault("listings", Mock(spec=DynamoListingRepository))
    deps = Deps(
        settings=Settings(),
        users=parts.pop("users", Mock()),
        media=Mock(),
        tokens=Mock(),
        clock=FixedClock(),
        telemetry=Recorder(),
        dispatcher=(lambda deps, event: published.append(event) or []) if published is not None else None,
        **parts,
    )
    return deps


def a_space(state=LIVE, **fields):
    base = dict(
        id="01SPACE", state=state, title="Hello", creator_id="alice", created_at=NOW, updated_at=NOW,
        stage=STAGE if state == LIVE else None, room_arn="arn:room" if state == LIVE else None,
        scheduled_start=NOW if state == SCHEDULED else None,
    )
    return Space(**(base | fields))


# ------------------------------------------------------------------ the dispatcher


def test_reactions_run_in_the_order_of_the_table():
    ran = []
    table = {SpaceCanceled: (lambda d, e: ran.append("first"), lambda d, e: ran.append("second"))}
    assert dispatch.publish(make_deps(), SpaceCanceled(a_space(SCHEDULED), by="alice"), table) == []
    assert ran == ["first", "second"]


def test_a_failing_reaction_is_logged_and_counted_and_the_others_still_run():
    ran = []
    failure = DependencyFailed("queue down", code="queue_unavailable")

    def fails(deps, event):
        ran.append("fails")
        raise failure

    def bug(deps, event):
        ran.append("bug")
        raise KeyError("a bug")

    table = {SpaceCanceled: (fails, bug, lambda d, e: ran.append("last"))}
    deps = make_deps()
    failures = dispatch.publish(deps, SpaceCanceled(a_space(SCHEDULED), by="alice"), table)
    assert ran == ["fails", "bug", "last"]
    assert failures[0] is failure and isinstance(failures[1], KeyError)
    assert deps.telemetry.events.count("EventHandlerFailed") == 2


def test_an_event_nobody_reacts_to_is_fine():
    assert dispatch.publish(make_deps(), SpeakerAdded(a_space(), "bob"), {}) == []


def _event_types() -> set[type]:
    """Every event defined in chalicelib/domain/events/, whichever area's module it is in."""
    found = set()
    for info in pkgutil.iter_modules(events.__path__):
        area = importlib.import_module(f"{events.__name__}.{info.name}")
        found |= {
            c for c in vars(area).values()
            if isinstance(c, type) and issubclass(c, msgspec.Struct) and c.__module__ == area.__name__
        }
    return found


def test_every_event_type_has_reactions_and_every_reaction_is_a_function_of_a_service():
    assert len(_event_types()) == 13
    assert set(dispatch.HANDLERS) == _event_types()
    for event_type, handlers in dispatch.HANDLERS.items():
        assert handlers, event_type
        for handler in handlers:
            assert callable(handler) and handler.__module__.startswith("chalicelib.services."), handler


def test_the_log_line_names_the_event_and_its_ids_not_the_whole_space():
    fields = dispatch.describe(SpeakerRemoved("01SPACE", "bob", reason="demoted", by="alice", space=a_space()))
    assert fields == {"event": "SpeakerRemoved", "space_id": "01SPACE", "user_id": "bob", "by": "alice"}


def test_deps_without_a_dispatcher_refuse_to_publish_rather_than_drop_the_reactions():
    with pytest.raises(RuntimeError):
        make_deps().publish(SpaceCanceled(a_space(SCHEDULED), by="alice"))


# ------------------------------------------------------------------ what the use cases publish


def test_ending_a_space_publishes_space_ended_with_the_space_before_and_after_the_end():
    published = []
    live = a_space()
    ended = a_space(state="ended", overflow=OverflowInfo("arn:channel", "https://play", "arn:comp"))
    deps = make_deps(published)
    deps.spaces.get.side_effect = [live, ended]
    assert spaces.end_space(deps, "alice", live.id) is ended
    assert published == [SpaceEnded(live, ended, by="alice")]
    assert published[0].overflow == ended.overflow, "an overflow started while the end ran is released"
    deps.spaces.end.assert_called_once()


def test_ending_publishes_even_when_the_read_after_the_end_fails():
    published = []
    live = a_space()
    deps = make_deps(published)
    deps.spaces.get.side_effect = [live, DependencyFailed("read failed", code="db"), a_space(state="ended")]
    spaces.end_space(deps, "alice", live.id)
    assert published == [SpaceEnded(live, None, by="alice")]
    assert published[0].overflow is None


def test_starting_a_scheduled_space_publishes_space_started_from_its_schedule(monkeypatch):
    published = []
    scheduled, started = a_space(SCHEDULED), a_space()
    deps = make_deps(published)
    deps.spaces.get.side_effect = [scheduled, started]
    deps.users.host_blocks_filter.return_value = None
    deps.users.get.return_value = User("alice")  # a start reads whether an operator barred the host
    monkeypatch.setattr(spaces.stage_pool, "acquire_stage", lambda deps, space_id: STAGE)
    monkeypatch.setattr(spaces.stage_pool, "acquire_room", lambda deps, space_id: "arn:room")
    assert spaces.start_space(deps, "alice", scheduled.id) is started
    assert published == [SpaceStarted(started, by="alice", from_schedule=True)]


def test_canceling_publishes_space_canceled_and_answers_503_when_a_reaction_failed():
    scheduled = a_space(SCHEDULED)
    canceled = a_space("canceled")
    published = []
    deps = make_deps(published)
    deps.spaces.get.side_effect = [scheduled, canceled]
    assert spaces.cancel_space(deps, "alice", scheduled.id) is canceled
    assert published == [SpaceCanceled(canceled, by="alice")]

    failure = DependencyFailed("queue down", code="queue_unavailable")
    deps = make_deps()
    deps.dispatcher = lambda deps, event: [failure]
    deps.spaces.get.side_effect = [scheduled, canceled]
    with pytest.raises(DependencyFailed) as raised:
        spaces.cancel_space(deps, "alice", scheduled.id)
    assert raised.value is failure


def test_the_rank_job_publishes_the_counts_it_summed():
    published = []
    deps = make_deps(published)

    def refresh(counts_out, overflowing_out):
        counts_out.update({"01A": 5, "01B": 900})
        overflowing_out.add("01B")
        return 2

    deps.listings.refresh_live_ranks.side_effect = refresh
    assert discovery.refresh_live_ranks(deps) == 2
    assert published == [LiveCountsRefreshed({"01A": 5, "01B": 900}, frozenset({"01B"}))]


def test_a_speaker_leaving_or_timing_out_publishes_speaker_removed():
    published = []
    deps = make_deps(published)
    live = a_space(speakers={"bob": NOW.isoformat()})
    deps.spaces.get.return_value = live
    deps.participants.leave.return_value = Participant("01SPACE", "bob", role="speaker", connected=True, participant_id="p1")
    stage.leave_space(deps, "bob", live.id)
    deps.participants.stale_participants.return_value = [("carol", NOW)]
    deps.participants.leave.return_value = Participant("01SPACE", "carol", role="speaker", connected=True, participant_id="p2")
    stage.sweep_presence(deps, [live.id])
    assert published == [
        SpeakerRemoved(live.id, "bob", reason="left", space=live),
        SpeakerRemoved(live.id, "carol", reason="timed_out"),
    ]


def test_a_moderator_moving_a_speaker_off_stage_publishes_speaker_removed():
    published = []
    deps = make_deps(published)
    live = a_space(speakers={"bob": NOW.isoformat()})
    deps.spaces.get.return_value = live
    deps.participants.get_participant.return_value = None
    stage_moderation.remove_speaker(deps, "alice", live.id, "bob")
    assert published == [SpeakerRemoved(live.id, "bob", reason="demoted", by="alice", space=live)]


def test_accepting_an_invitation_publishes_speaker_added():
    published = []
    deps = make_deps(published)
    live = a_space(invited={"bob": NOW.isoformat()})
    deps.spaces.get.return_value = live
    deps.spaces.get_with_participant.return_value = (live, None)  # bob is not connected as a listener
    deps.tokens.mint.return_value = Mock(token="t", expires_at=NOW, allow_publish=True)
    deps.media.endpoints.return_value = {}
    stage.accept_invitation(deps, "bob", live.id)
    assert published == [SpeakerAdded(live, "bob")]


def test_blocking_someone_in_the_live_space_publishes_blocked_while_live_and_fails_with_it():
    published = []
    deps = make_deps(published)
    deps.users.live_space_of.return_value = "01SPACE"
    deps.participants.get_participant.return_value = Participant("01SPACE", "bob", role="listener", connected=True, participant_id="p1")
    users.block(deps, "alice", "bob")
    assert published == [BlockedWhileLive("01SPACE", "alice", "bob")]

    failure = DependencyFailed("chat down", code="chat_unavailable")
    deps.dispatcher = lambda deps, event: [failure]
    with pytest.raises(DependencyFailed):
        users.block(deps, "alice", "bob")


def test_creating_a_scheduled_space_publishes_space_created_and_no_start():
    from chalicelib.api.bodies.spaces import create_space as space_request
    from chalicelib.domain.users import User

    published = []
    deps = make_deps(published, scheduler=Mock())
    deps.users.get.return_value = User("alice", follower_count=5_000)
    body = {"title": "Launch", "scheduled_start": "2026-12-07T20:00:00Z", "speaker_ids": ["bob"]}
    space = spaces.create_space(deps, "alice", space_request(body))
    assert published == [SpaceCreated(space, by="alice")]
    assert space.state == SCHEDULED and space.invited_user_ids == ["bob"]


def test_editing_publishes_space_edited_and_answers_503_when_moving_the_schedules_failed():
    published = []
    scheduled = a_space(SCHEDULED, scheduled_start=datetime(2026, 12, 7, 20, 0, tzinfo=timezone.utc))
    deps = make_deps(published)
    deps.spaces.get.return_value = scheduled
    spaces.patch_space(deps, "alice", scheduled.id, EditSpace(title="New title"))
    [edited] = published
    assert isinstance(edited, SpaceEdited) and edited.space is scheduled and edited.by == "alice"
    assert edited.edited.title == "New title" and edited.changed_details == ["title"]
    assert edited.start_moved is False

    failure = DependencyFailed("scheduler down", code="scheduler_unavailable")
    deps.dispatcher = lambda deps, event: [failure]
    with pytest.raises(DependencyFailed):
        spaces.patch_space(deps, "alice", scheduled.id, EditSpace(scheduled_start=datetime(2026, 12, 7, 21, 0, tzinfo=timezone.utc)))
