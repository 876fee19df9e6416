"""The Space aggregate's repositories, one contract for the DynamoDB adapters and the in-memory
fakes (tests/fakes/spaces.py): every test runs on both, so a fake cannot drift from the adapter
the service tests on fakes stand in for.

The DynamoDB side runs on DynamoDB Local (tests/conftest.py starts it); its participant counts
move by the count fold of the participants stream, which `settle()` drains.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain.errors import NotFound
from chalicelib.domain import spaces as domain
from chalicelib.domain.spaces import COHOST, ENDED, LISTENER, LIVE, SCHEDULED, SPEAKER, OverflowInfo, SpaceRules, StageInfo
from chalicelib.domain.tickets import PAID, TicketRules
from chalicelib.ports import Refused
from chalicelib.api.bodies.spaces import create_space as space_request

RULES = SpaceRules(
    max_cohosts=2, max_on_stage=4, max_scheduled_per_host=2, max_schedule_ahead_days=30, max_topics=3,
    max_title_length=140,
)
TICKETS = TicketRules(min_price_cents=100, max_price_cents=99_900, currencies=("USD",), max_capacity=1000, hold_seconds=600)
NOW = datetime(2026, 12, 1, 18, 0, tzinfo=timezone.utc)


def new_space(space_id, creator_id, body, now, rules, ticket_rules):
    return domain.new_space(
        space_id=space_id, creator_id=creator_id, request=space_request(body), now=now, rules=rules, ticket_rules=ticket_rules
    )


class Repos:
    def __init__(self, repositories, settle, grant_ticket):
        self.grant_ticket = grant_ticket  # (space_id, user_id): a paid ticket for the Space
        self.spaces = repositories["spaces"]
        self.participants = repositories["participants"]
        self.stage_members = repositories["stage_members"]
        self.overflow_claims = repositories["overflow_claims"]
        self.listings = repositories["listings"]
        self.settle = settle


@pytest.fixture(params=["dynamodb", "memory"])
def repos(request):
    if request.param == "memory":
        from tests.fakes.spaces import SpaceStore

        store = SpaceStore()
        return Repos(store.repositories(), settle=lambda: None, grant_ticket=lambda s, u: store.passes.add((s, u)))
    request.getfixturevalue("dynamodb_local")
    settle = request.getfixturevalue("settle_counts")
    from chalicelib.adapters.dynamodb.spaces import space_repositories

    from chalicelib.adapters.dynamodb.models import TicketModel

    def grant_ticket(space_id, user_id):
        TicketModel(
            space_id, user_id, ticket_id=_id("T"), status=PAID, price_cents=500, currency="USD",
            created_at=NOW, bought_key=f"{NOW.isoformat()}#{space_id}", paid_at=NOW,
        ).save()

    return Repos(space_repositories(count_shards=4), settle=settle, grant_ticket=grant_ticket)


def _id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def _live(repos, title="Morning jazz talk", topics=None, **body):
    host = _id("h")
    space = new_space(_id("S"), host, {"title": title, "topics": topics or ["jazz"], **body}, NOW, RULES, TICKETS)
    repos.spaces.create(space, max_scheduled=RULES.max_scheduled_per_host)
    return space


def _joined(repos, space, user_id=None, at=NOW):
    user_id = user_id or _id("u")
    outcome = repos.participants.join(
        space.id, user_id, known=None, participant_id=_id("p"), now=at, host_id=space.creator_id, check_block=False
    )
    return user_id, outcome


# --------------------------------------------------------------------------- lifecycle


def test_a_created_space_reads_back_as_it_was_made(repos):
    space = _live(repos, cohost_ids=["c1" + uuid.uuid4().hex[:6]])

    got = repos.spaces.get(space.id, with_count=False)

    assert (got.id, got.state, got.title, got.creator_id, got.topics) == (
        space.id, LIVE, space.title, space.creator_id, space.topics
    )
    assert got.cohosts == space.cohosts and got.speakers == {} and got.overflow is None


def test_reading_a_space_that_does_not_exist_is_not_found(repos):
    with pytest.raises(NotFound):
        repos.spaces.get(_id("S"))


def test_a_host_already_live_cannot_create_another_live_space(repos):
    first = _live(repos)
    second = new_space(_id("S"), first.creator_id, {"title": "Second"}, NOW, RULES, TICKETS)

    with pytest.raises(Refused) as refused:
        repos.spaces.create(second, max_scheduled=2)

    assert refused.value.part == "host_busy"


def test_a_host_may_keep_only_max_scheduled_spaces(repos):
    host = _id("h")
    at = (NOW + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def scheduled():
        return new_space(_id("S"), host, {"title": "Later", "scheduled_start": at}, NOW, RULES, TICKETS)

    repos.spaces.create(scheduled(), max_scheduled=1)
    with pytest.raises(Refused) as refused:
        repos.spaces.create(scheduled(), max_scheduled=1)

    assert refused.value.part == "too_many_scheduled"


def test_a_scheduled_space_starts_once_and_ends_once(repos):
    host = _id("h")
    at = (NOW + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    space = new_space(_id("S"), host, {"title": "Later", "scheduled_start": at}, NOW, RULES, TICKETS)
    repos.spaces.create(space, max_scheduled=2)
    stage = StageInfo(arn=f"arn:aws:ivs:us-east-1:1:stage/{space.id}", events_url="wss://e", whip_url="https://w")

    repos.spaces.start(space, stage, NOW)
    with pytest.raises(Refused) as again:
        repos.spaces.start(space, stage, NOW)
    live = repos.spaces.get(space.id, with_count=False)
    repos.spaces.end(live, NOW + timedelta(minutes=5))
    with pytest.raises(Refused) as ended_twice:
        repos.spaces.end(live, NOW + timedelta(minutes=6))

    assert live.state == LIVE and live.stage == stage
    assert again.value.part == "state" and ended_twice.value.part == "state"
    assert repos.spaces.get(space.id).state == ENDED
    assert repos.spaces.landed(repos.spaces.get(space.id, with_count=False)) is True
    assert (space.id, stage.arn) in repos.spaces.release_pending(1000)
    repos.spaces.mark_media_released(space.id)
    assert space.id not in [sid for sid, _ in repos.spaces.release_pending(1000)]


def test_ending_frees_the_host_to_go_live_again(repos):
    first = _live(repos)
    repos.spaces.end(first, NOW)

    repos.spaces.create(new_space(_id("S"), first.creator_id, {"title": "Again"}, NOW, RULES, TICKETS), max_scheduled=2)


def test_edited_details_move_with_the_space(repos):
    space = _live(repos, title="Old title words")
    after = new_space(space.id, space.creator_id, {"title": "Brand new title", "topics": ["jazz"]}, NOW, RULES, TICKETS)

    repos.spaces.update_details(space, after)

    assert repos.spaces.get(space.id).title == "Brand new title"
    found, _ = repos.listings.search_page(LIVE, "brand", limit=50, after=None)
    assert space.id in [i.space_id for i in found]
    stale, _ = repos.listings.search_page(LIVE, "old", limit=50, after=None)
    assert space.id not in [i.space_id for i in stale]


# --------------------------------------------------------------------------- participants


def test_a_new_listener_connects_once_and_a_repeat_join_keeps_the_connection(repos):
    space = _live(repos)
    user, first = _joined(repos, space)

    again = repos.participants.join(
        space.id, user, known=first.participant, participant_id="other", now=NOW, check_block=False
    )

    assert first.newly_connected and first.participant.role == LISTENER and first.participant.connected
    assert not again.newly_connected
    assert again.participant.participant_id == first.participant.participant_id
    _, read = repos.spaces.get_with_participant(space.id, user)
    assert read is not None and read.connected


def test_a_wrong_guess_that_the_user_is_new_still_gives_the_stored_role(repos):
    space = _live(repos, cohost_ids=[_id("c")])
    cohost = next(iter(space.cohosts))

    outcome = repos.participants.join(space.id, cohost, known=None, participant_id="p1", now=NOW, check_block=False)

    assert outcome.participant.role == COHOST and outcome.newly_connected


def test_a_removed_user_cannot_join_again(repos):
    space = _live(repos)
    user, joined = _joined(repos, space)

    repos.participants.remove_participant(space.id, user, space.creator_id, joined.participant, NOW)

    with pytest.raises(Refused) as refused:
        repos.participants.join(space.id, user, known=None, participant_id="p2", now=NOW, check_block=False)
    assert refused.value.part == "removed"
    removed = repos.participants.get_participant(space.id, user, consistent=True)
    assert removed.removed and not removed.connected


def test_removing_someone_whose_place_changed_is_refused(repos):
    space = _live(repos)
    user, joined = _joined(repos, space)

    with pytest.raises(Refused) as refused:
        repos.participants.remove_participant(space.id, user, space.creator_id, None, NOW)

    assert refused.value.part == "changed"


def test_a_user_marked_blocked_is_refused_until_cleared(repos):
    space = _live(repos)
    user = _id("u")

    repos.participants.mark_blocked(space.id, user, NOW)
    with pytest.raises(Refused) as refused:
        _joined(repos, space, user)
    repos.participants.clear_blocked(space.id, user)
    _, outcome = _joined(repos, space, user)

    assert refused.value.part == "blocked" and outcome.newly_connected


def test_a_speaker_who_leaves_steps_off_the_stage(repos):
    space = _live(repos)
    user, _ = _joined(repos, space)
    repos.stage_members.invite(space.id, user, NOW)
    repos.stage_members.accept_invitation(space.id, user, "p9", NOW, rules=RULES)

    before = repos.participants.leave(space.id, user, NOW)

    assert before.role == SPEAKER
    assert user not in repos.spaces.get(space.id).speakers
    after = repos.participants.get_participant(space.id, user, consistent=True)
    assert after.role == LISTENER and not after.connected


def test_the_presence_sweep_finds_who_was_not_seen_and_spares_a_fresh_heartbeat(repos):
    space = _live(repos)
    stale, _ = _joined(repos, space, at=NOW - timedelta(minutes=5))
    fresh, _ = _joined(repos, space, at=NOW)

    found = dict(repos.participants.stale_participants(space.id, NOW - timedelta(minutes=1)))

    assert stale in found and fresh not in found
    with pytest.raises(Refused):
        repos.participants.leave(space.id, stale, NOW, if_last_seen=found[stale] - 1)
    repos.participants.leave(space.id, stale, NOW, if_last_seen=found[stale])
    assert not repos.participants.get_participant(space.id, stale, consistent=True).connected


def test_a_join_that_needs_a_ticket_is_refused_without_one_and_let_in_with_it(repos):
    space = _live(repos)
    buyer, stranger = _id("u"), _id("u")
    repos.grant_ticket(space.id, buyer)

    with pytest.raises(Refused) as refused:
        repos.participants.join(space.id, stranger, known=None, participant_id="p1", now=NOW, check_block=False, needs_pass="ticket")
    let_in = repos.participants.join(space.id, buyer, known=None, participant_id="p2", now=NOW, check_block=False, needs_pass="ticket")

    assert refused.value.part == "no_pass" and let_in.newly_connected
    assert repos.participants.get_participant(space.id, stranger) is None


def test_playback_goes_to_a_listener_who_connects_while_the_overflow_is_on(repos):
    space = _live(repos, cohost_ids=[_id("c")])
    cohost = next(iter(space.cohosts))

    listener = repos.participants.join(space.id, _id("u"), known=None, participant_id="p", now=NOW, check_block=False, playback=True)
    host = repos.participants.join(space.id, cohost, known=None, participant_id="q", now=NOW, check_block=False, playback=True)

    assert listener.participant.playback and not host.participant.playback


# --------------------------------------------------------------------------- stage membership


def test_a_raised_hand_goes_up_once(repos):
    space = _live(repos)
    user, _ = _joined(repos, space)

    assert repos.stage_members.raise_hand(space.id, user, NOW) is True
    assert repos.stage_members.raise_hand(space.id, user, NOW) is False
    assert [u for u, _ in repos.stage_members.pending_requests(space.id)] == [user]
    assert repos.stage_members.lower_hand(space.id, user) is True
    assert repos.stage_members.lower_hand(space.id, user) is False


def test_someone_not_in_the_space_cannot_raise_a_hand(repos):
    space = _live(repos)

    with pytest.raises(Refused) as refused:
        repos.stage_members.raise_hand(space.id, _id("u"), NOW)

    assert refused.value.part == "participant"


def test_of_two_moderators_approving_one_hand_exactly_one_wins(repos):
    space = _live(repos)
    user, _ = _joined(repos, space)
    repos.stage_members.raise_hand(space.id, user, NOW)

    repos.stage_members.approve_request(space.id, user, NOW)
    with pytest.raises(Refused) as second:
        repos.stage_members.approve_request(space.id, user, NOW)

    assert second.value.part == "request"
    assert user in repos.spaces.get(space.id).invited
    assert repos.stage_members.pending_requests(space.id) == []


def test_an_invitation_is_declined_once(repos):
    space = _live(repos)
    user, _ = _joined(repos, space)
    repos.stage_members.invite(space.id, user, NOW)

    assert repos.stage_members.decline_invitation(space.id, user, NOW) is True
    assert repos.stage_members.decline_invitation(space.id, user, NOW) is False


def test_the_stage_cap_refuses_one_speaker_too_many(repos):
    space = _live(repos)  # the host: 1 of 4
    users = [_joined(repos, space)[0] for _ in range(4)]
    for user in users:
        repos.stage_members.invite(space.id, user, NOW)
    for user in users[:3]:
        repos.stage_members.accept_invitation(space.id, user, _id("p"), NOW, rules=RULES)

    with pytest.raises(Refused) as refused:
        repos.stage_members.accept_invitation(space.id, users[3], _id("p"), NOW, rules=RULES)

    assert refused.value.part == "space"
    assert set(repos.spaces.get(space.id).speakers) == set(users[:3])


def test_accepting_on_the_listening_connection_is_refused_if_that_connection_changed(repos):
    space = _live(repos)
    user, first = _joined(repos, space)
    repos.stage_members.invite(space.id, user, NOW)
    repos.participants.leave(space.id, user, NOW)
    _, second = _joined(repos, space, user)

    with pytest.raises(Refused) as refused:
        repos.stage_members.accept_invitation(
            space.id, user, first.participant.participant_id, NOW, rules=RULES,
            participant_was=first.participant.participant_id,
        )
    repos.stage_members.accept_invitation(
        space.id, user, second.participant.participant_id, NOW, rules=RULES,
        participant_was=second.participant.participant_id,
    )

    assert refused.value.part == "participant"
    assert repos.participants.get_participant(space.id, user, consistent=True).role == SPEAKER


def test_the_cohost_cap_of_the_rules_is_the_one_the_write_enforces(repos):
    space = _live(repos)
    users = [_joined(repos, space)[0] for _ in range(3)]
    for user in users[:2]:
        repos.stage_members.add_cohost(space.id, user, was_speaker=False, now=NOW, rules=RULES)

    with pytest.raises(Refused) as refused:
        repos.stage_members.add_cohost(space.id, users[2], was_speaker=False, now=NOW, rules=RULES)

    assert refused.value.part == "space"
    assert set(repos.spaces.get(space.id).cohosts) == set(users[:2])
    assert repos.participants.get_participant(space.id, users[0], consistent=True).role == COHOST


def test_a_speaker_steps_down_and_is_unmuted(repos):
    space = _live(repos)
    user, _ = _joined(repos, space)
    repos.stage_members.invite(space.id, user, NOW)
    repos.stage_members.accept_invitation(space.id, user, "p", NOW, rules=RULES)

    assert repos.stage_members.set_muted(space.id, user, True, NOW) is True
    assert repos.stage_members.set_muted(space.id, user, True, NOW) is False
    repos.stage_members.step_down(space.id, user, SPEAKER, NOW)
    with pytest.raises(Refused):
        repos.stage_members.step_down(space.id, user, SPEAKER, NOW)

    after = repos.spaces.get(space.id)
    assert user not in after.speakers and user not in after.muted


def test_a_listener_cannot_be_muted(repos):
    space = _live(repos)
    user, _ = _joined(repos, space)

    with pytest.raises(Refused) as refused:
        repos.stage_members.set_muted(space.id, user, True, NOW)

    assert refused.value.part == "space"
    assert repos.stage_members.set_muted(space.id, user, False, NOW) is False


# --------------------------------------------------------------------------- overflow claims


def test_of_many_overflow_claims_one_wins_and_a_released_claim_is_taken_again(repos):
    space = _live(repos)

    wins = [repos.overflow_claims.claim_overflow(space.id, NOW, lease_seconds=60) for _ in range(3)]
    repos.overflow_claims.release_overflow_claim(space.id)
    again = repos.overflow_claims.claim_overflow(space.id, NOW, lease_seconds=60)
    expired = repos.overflow_claims.claim_overflow(space.id, NOW + timedelta(seconds=61), lease_seconds=60)

    assert wins == [True, False, False] and again and expired


def test_a_started_overflow_is_on_the_space_and_flags_its_live_listing(repos):
    space = _live(repos)
    info = OverflowInfo("arn:channel", "https://play", "arn:comp-1")
    repos.overflow_claims.claim_overflow(space.id, NOW, lease_seconds=60)

    repos.overflow_claims.set_overflow(space.id, info)
    repos.overflow_claims.replace_overflow_composition(space.id, "arn:comp-1", "arn:comp-2", 1)
    with pytest.raises(Refused):
        repos.overflow_claims.replace_overflow_composition(space.id, "arn:comp-1", "arn:comp-3", 2)
    overflowing: set[str] = set()
    repos.listings.refresh_live_ranks(overflowing_out=overflowing)

    assert repos.spaces.get(space.id).overflow == OverflowInfo("arn:channel", "https://play", "arn:comp-2", 1)
    assert space.id in overflowing
    assert repos.overflow_claims.claim_overflow(space.id, NOW, lease_seconds=0) is False
    repos.spaces.end(space, NOW)
    assert repos.overflow_claims.release_pending_overflows(1000)[space.id].composition_arn == "arn:comp-2"


def test_an_overflow_cannot_be_set_without_a_claim(repos):
    space = _live(repos)

    with pytest.raises(Refused) as refused:
        repos.overflow_claims.set_overflow(space.id, OverflowInfo("c", "u", "x"))

    assert refused.value.part == "state"


# --------------------------------------------------------------------------- listings


def test_a_live_space_is_listed_by_topic_and_host_until_it_ends(repos):
    topic = "t" + uuid.uuid4().hex[:8]
    space = _live(repos, topics=[topic])

    by_topic, _ = repos.listings.discovery_page(f"live#topic#{topic}", ascending=False, limit=10, after=None)
    by_host, _ = repos.listings.discovery_page(f"live#host#{space.creator_id}", ascending=False, limit=10, after=None)
    repos.spaces.end(space, NOW)
    after_end, _ = repos.listings.discovery_page(f"live#topic#{topic}", ascending=False, limit=10, after=None)

    assert [i.space_id for i in by_topic] == [space.id] and [i.space_id for i in by_host] == [space.id]
    assert by_topic[0].title == space.title and by_topic[0].topics == (topic,) and by_topic[0].state == LIVE
    assert after_end == []
    assert space.id not in repos.listings.live_space_ids()


def test_listing_ranks_follow_the_participant_count_and_pages_go_in_rank_order(repos):
    topic = "t" + uuid.uuid4().hex[:8]
    quiet, busy = _live(repos, topics=[topic]), _live(repos, topics=[topic])
    for _ in range(2):
        _joined(repos, busy)
    _joined(repos, quiet)
    repos.settle()

    counts: dict[str, int] = {}
    repos.listings.refresh_live_ranks(counts_out=counts)
    first, cursor = repos.listings.discovery_page(f"live#topic#{topic}", ascending=False, limit=1, after=None)
    second, _ = repos.listings.discovery_page(f"live#topic#{topic}", ascending=False, limit=1, after=cursor)

    assert counts[busy.id] == 2 and counts[quiet.id] == 1
    assert [(i.space_id, i.rank) for i in first + second] == [(busy.id, 2), (quiet.id, 1)]
    assert repos.spaces.get(busy.id).participant_count == 2


def test_scheduled_spaces_list_soonest_first_within_a_window(repos):
    host = _id("h")
    topic = "t" + uuid.uuid4().hex[:8]

    def at(hours):
        return (NOW + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")

    later = new_space(_id("S"), host, {"title": "Later", "topics": [topic], "scheduled_start": at(5)}, NOW, RULES, TICKETS)
    soon = new_space(_id("S"), host, {"title": "Soon", "topics": [topic], "scheduled_start": at(1)}, NOW, RULES, TICKETS)
    for space in (later, soon):
        repos.spaces.create(space, max_scheduled=2)

    window = repos.listings.discovery_window(
        f"{SCHEDULED}#topic#{topic}", max_items=10, rank_below=int((NOW + timedelta(hours=3)).timestamp())
    )
    page, _ = repos.listings.discovery_page(f"{SCHEDULED}#topic#{topic}", ascending=True, limit=10, after=None)

    assert [i.space_id for i in window] == [soon.id]
    assert [i.space_id for i in page] == [soon.id, later.id]
    repos.spaces.cancel(soon, NOW)
    assert [i.space_id for i in repos.listings.discovery_window(f"{SCHEDULED}#topic#{topic}", max_items=10)] == [later.id]


def test_title_search_finds_words_by_their_start_and_pages_on(repos):
    word = "zq" + uuid.uuid4().hex[:6]
    spaces = [_live(repos, title=f"{word} night {n}") for n in range(3)]

    first, cursor = repos.listings.search_page(LIVE, word[:-1], limit=2, after=None)
    rest, _ = repos.listings.search_page(LIVE, word[:-1], limit=2, after=cursor)

    found = [i.space_id for i in first + rest]
    assert sorted(found) == sorted(s.id for s in spaces) and len(first) == 2 and cursor is not None
    assert all(i.rank == 0 for i in first + rest)


# --------------------------------------------------------------------------- people (docs/people.md)


def _join_at(repos, space, minutes, *, incognito=False):
    user_id = _id("u")
    repos.participants.join(
        space.id, user_id, known=None, participant_id=_id("p"), now=NOW + timedelta(minutes=minutes),
        host_id=space.creator_id, check_block=False, incognito=incognito, listener_shards=space.listener_shards,
    )
    return user_id


def test_the_listener_list_pages_newest_first_without_incognito_listeners_or_those_who_left(repos):
    space = _live(repos)
    first, second, hidden, gone, third = (
        _join_at(repos, space, 1), _join_at(repos, space, 2), _join_at(repos, space, 3, incognito=True),
        _join_at(repos, space, 4), _join_at(repos, space, 5),
    )
    repos.participants.leave(space.id, gone, NOW + timedelta(minutes=6))

    seen, after = [], None
    for _ in range(5):
        page, after = repos.participants.listeners_page(space.id, limit=2, after=after)
        seen += [entry.user_id for entry in page]
        if after is None:
            break

    assert seen == [third, second, first]
    assert repos.participants.get_participant(space.id, hidden).incognito is True
    repos.settle()
    counted = repos.spaces.get(space.id)
    assert (counted.participant_count, counted.incognito_count) == (4, 1)


def test_a_raised_hand_ends_incognito_listening_in_the_same_write(repos):
    space = _live(repos)
    hidden = _join_at(repos, space, 1, incognito=True)

    repos.stage_members.raise_hand(space.id, hidden, NOW)

    assert repos.participants.get_participant(space.id, hidden).incognito is False
    assert [entry.user_id for entry in repos.participants.listeners_page(space.id, limit=10)[0]] == [hidden]
    repos.settle()
    assert repos.spaces.get(space.id).incognito_count == 0


# --------------------------------------------------------------------------- a sharded listener list


def _sharded_live(repos, shards):
    from msgspec.structs import replace

    host = _id("h")
    space = replace(
        new_space(_id("S"), host, {"title": "Famous", "topics": ["jazz"]}, NOW, RULES, TICKETS), listener_shards=shards
    )
    repos.spaces.create(space, max_scheduled=RULES.max_scheduled_per_host)
    return space


def _sharded_walk(repos, space, limit):
    """Every page of a sharded listener list as the service reads it: one port call per page,
    merged by domain/listener_list.py."""
    from chalicelib.domain.listener_list import merge_pages, open_positions, seal_positions

    positions, pages = open_positions(None, space.listener_shards), []
    while True:
        shard_pages = repos.participants.listener_shard_pages(
            space.id, shards=space.listener_shards, limit=limit, positions=positions
        )
        found, positions = merge_pages(shard_pages, positions, limit)
        pages.append([entry.user_id for entry in found])
        sealed = seal_positions(positions)
        if sealed is None:
            return pages
        positions = open_positions(sealed, space.listener_shards)  # as the cursor carries them
        assert len(pages) < 100, "the walk must end"


def test_a_sharded_space_keeps_its_shard_count_and_lists_everyone_once_newest_first(repos):
    space = _sharded_live(repos, 3)
    assert repos.spaces.get(space.id).listener_shards == 3
    users = [_join_at(repos, space, minutes) for minutes in range(1, 12)]
    hidden = _join_at(repos, space, 12, incognito=True)
    gone = _join_at(repos, space, 13)
    repos.participants.leave(space.id, gone, NOW + timedelta(minutes=14))

    pages = _sharded_walk(repos, space, limit=2)

    assert all(len(page) <= 2 for page in pages)
    assert [user for page in pages for user in page] == list(reversed(users))
    repos.stage_members.raise_hand(space.id, hidden, NOW + timedelta(minutes=15), listener_shards=3)
    assert [user for page in _sharded_walk(repos, space, limit=5) for user in page][0] == hidden, (
        "a raised hand is listed, under its shard's key, at its join time (the newest)"
    )


def test_an_ordinary_space_has_one_listener_shard(repos):
    assert repos.spaces.get(_live(repos).id).listener_shards == 1
