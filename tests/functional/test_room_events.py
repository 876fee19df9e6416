"""Room events through the HTTP API, on the local transport (the event log `make run` serves).

Every state change a client must show emits exactly one event, read back with
GET /spaces/{id}/events; repeating a change that is already so emits nothing.
"""
from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest


@pytest.fixture
def room(api, deps, host, new_user):
    """A live Space with a listener who joined; `room.changes(action)` runs `action` and returns
    the events it emitted, read through the API as another participant would."""

    class Room:
        def __init__(self):
            self.space_id = api.post("/spaces", host, {"title": "Events"}).data["id"]
            self.host = host
            self.listener = new_user("listener")
            self.watcher = new_user("watcher")
            self.join(self.listener)
            self.join(self.watcher)

        def join(self, user):
            response = api.post(f"/spaces/{self.space_id}/join", user)
            assert response.status_code == 200, response.data
            return response.data

        def read(self, after="", user=None, **params):
            query = "&".join(f"{k}={v}" for k, v in {"after": after, **params}.items() if v != "")
            response = api.get(f"/spaces/{self.space_id}/events?{query}", user or self.watcher)
            assert response.status_code == 200, response.data
            return response.data

        def cursor(self):
            return self.read(after="latest")["next_cursor"]

        def changes(self, action):
            before = self.cursor()
            response = action()
            assert response.status_code == 200, response.data
            return [(e["name"], e["attributes"]) for e in self.read(after=before, limit=100)["events"]]

        def token(self, user):
            response = api.post(f"/spaces/{self.space_id}/events/token", user)
            assert response.status_code == 200, response.data
            return response.data

        def path(self, suffix=""):
            return f"/spaces/{self.space_id}{suffix}"

        @property
        def arn(self):
            return deps.spaces.get(self.space_id, with_count=False).room_arn

        def on_stage(self, user):
            self.join(user)
            api.post(self.path("/speakers"), self.host, {"user_id": user})
            api.post(self.path("/invitations/accept"), user)

    return Room()


# --- the join and the room's life ------------------------------------------------------------


def test_the_join_says_where_events_come_from_and_asks_the_room_for_nothing(room, deps, new_user):
    tokens_before = len(deps.room_events.tokens)

    joined = room.join(new_user())

    assert joined["events"] == {
        "transport": "local",
        "url": f"/spaces/{room.space_id}/events",
        "token_url": f"/spaces/{room.space_id}/events/token",
    }
    assert len(deps.room_events.tokens) == tokens_before


def test_on_ivs_chat_the_join_names_the_region_and_no_endpoint_of_its_own(room, deps, new_user):
    deps.settings = replace(deps.settings, media_backend="ivs", region="eu-west-1")

    joined = room.join(new_user())

    assert joined["events"] == {
        "transport": "ivs-chat",
        "region": "eu-west-1",
        "token_url": f"/spaces/{room.space_id}/events/token",
    }


def test_a_stage_with_a_chat_endpoint_gives_it_to_clients_in_the_join_and_with_the_token(room, deps, new_user):
    # A local stage pointed at an IVS Chat emulator (tests/e2e/test_chat_transport.py runs one).
    deps.settings = replace(deps.settings, chat_endpoint_url="ws://127.0.0.1:8301")

    joined = room.join(new_user())
    token = room.token(room.listener)

    assert joined["events"] == {
        "transport": "ivs-chat",
        "region": deps.settings.region,
        "url": "ws://127.0.0.1:8301",
        "token_url": f"/spaces/{room.space_id}/events/token",
    }
    assert token["transport"] == "ivs-chat" and token["url"] == "ws://127.0.0.1:8301"
    assert token["region"] == deps.settings.region


def test_a_live_space_gets_its_own_room_when_it_is_created_or_started(api, deps, host, new_user):
    from datetime import datetime, timedelta, timezone

    live = api.post("/spaces", host, {"title": "Now"}).data
    other_host = new_user("host", followers=1200)
    later = (datetime.now(timezone.utc) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    scheduled = api.post("/spaces", other_host, {"title": "Later", "scheduled_start": later}).data

    assert deps.spaces.get(scheduled["id"], with_count=False).room_arn is None, "no room before it is live"
    api.post(f"/spaces/{scheduled['id']}/start", other_host)

    rooms = {deps.spaces.get(s["id"], with_count=False).room_arn for s in (live, scheduled)}
    assert len(rooms) == 2 and set(deps.room_events.created) >= rooms


def test_a_room_that_cannot_be_created_gives_the_stage_back_and_creates_nothing(api, deps, host):
    deps.room_events.fail_next("create_room")

    response = api.post("/spaces", host, {"title": "No room"})

    assert response.status_code == 503 and response.data["code"] == "room_events_unavailable"
    assert response.headers["Retry-After"]
    assert len(deps.media.created) == 1 and deps.media.stages == {}, "the stage was released"
    assert api.post("/spaces", host, {"title": "Room"}).status_code == 201, "the host is not stuck live"


def test_a_start_whose_write_is_refused_deletes_the_room_it_made(api, deps, host):
    from datetime import datetime, timedelta, timezone

    later = (datetime.now(timezone.utc) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    scheduled = api.post("/spaces", host, {"title": "Later", "scheduled_start": later}).data
    api.post("/spaces", host, {"title": "Busy now"})  # the host is live elsewhere: start is refused

    response = api.post(f"/spaces/{scheduled['id']}/start", host)

    assert response.status_code == 409 and response.data["code"] == "host_already_live"
    made_for_start = deps.room_events.created[-1]
    assert deps.room_events.deleted == [made_for_start]


def test_ending_tells_the_room_then_deletes_it(api, deps, room):
    arn = room.arn

    events = room.changes(lambda: api.post(room.path("/end"), room.host))

    assert events == [("space_ended", {"by": room.host})]
    assert deps.room_events.deleted == [arn] and deps.room_events.is_deleted(arn)
    # A client still long-polling after the end reads it (and nothing is left to wait for).
    assert [e["name"] for e in room.read(user=room.listener)["events"]][-1] == "space_ended"
    assert room.space_id not in [sid for sid, _, _ in deps.spaces.release_pending_media(1000)]


def test_a_room_that_will_not_delete_at_the_end_is_deleted_by_the_release_job(api, deps, room):
    from chalicelib.services.spaces import release_pending_media

    arn = room.arn
    deps.room_events.fail_next("delete_room", times=3)

    assert api.post(room.path("/end"), room.host).status_code == 200
    assert (room.space_id, arn) in [(sid, r) for sid, _, r in deps.spaces.release_pending_media(1000)]
    assert release_pending_media(deps, limit=1000) >= 1

    assert deps.room_events.is_deleted(arn)
    assert room.space_id not in [sid for sid, _, _ in deps.spaces.release_pending_media(1000)]


def test_orphan_rooms_are_deleted_after_a_grace_period_and_live_rooms_are_kept(api, deps, room):
    from chalicelib.services.room_events import reconcile_rooms

    now = int(deps.clock.now().timestamp())
    orphan = deps.room_events.create_room("01NOSUCHSPACE0000000000000")  # its Space was never written
    young = deps.room_events.create_room("01NOSUCHSPACE0000000000001")  # a write may still be in flight
    for arn, (space_id, _) in list(deps.room_events.rooms.items()):
        deps.room_events.rooms[arn] = (space_id, now if arn == young else now - 3600)

    assert reconcile_rooms(deps) == 1
    assert deps.room_events.is_deleted(orphan)
    assert not deps.room_events.is_deleted(young)
    assert not deps.room_events.is_deleted(room.arn), "a live Space keeps its room"


# --- one event per change ---------------------------------------------------------------------


def test_raising_and_lowering_a_hand_each_emit_one_event_and_repeats_emit_none(api, room):
    raise_hand = lambda: api.post(room.path("/speaker-requests"), room.listener)  # noqa: E731
    lower_hand = lambda: api.delete(room.path("/speaker-requests"), room.listener)  # noqa: E731

    assert room.changes(raise_hand) == [("hand_raised", {"user_id": room.listener})]
    assert room.changes(raise_hand) == []
    assert room.changes(lower_hand) == [("hand_lowered", {"user_id": room.listener})]
    assert room.changes(lower_hand) == []


def test_approving_a_hand_then_accepting_emits_invited_then_added(api, room):
    api.post(room.path("/speaker-requests"), room.listener)

    approved = room.changes(lambda: api.post(room.path("/speakers"), room.host, {"user_id": room.listener}))
    accepted = room.changes(lambda: api.post(room.path("/invitations/accept"), room.listener))
    again = room.changes(lambda: api.post(room.path("/invitations/accept"), room.listener))

    assert approved == [("speaker_invited", {"user_id": room.listener, "by": room.host, "approved_request": "true"})]
    assert accepted == [("speaker_added", {"user_id": room.listener})]
    assert again == [], "accepting again hands out media again and changes nothing"


def test_an_invitation_without_a_hand_and_its_decline(api, room):
    invited = room.changes(lambda: api.post(room.path("/speakers"), room.host, {"user_id": room.listener}))
    declined = room.changes(lambda: api.post(room.path("/invitations/decline"), room.listener))

    assert invited == [("speaker_invited", {"user_id": room.listener, "by": room.host, "approved_request": "false"})]
    assert declined == [("invitation_declined", {"user_id": room.listener})]


def test_demoting_and_stepping_down_each_emit_speaker_removed(api, room, new_user):
    other = new_user("speaker")
    room.on_stage(room.listener)
    room.on_stage(other)

    demoted = room.changes(lambda: api.delete(room.path(f"/speakers/{room.listener}"), room.host))
    stepped = room.changes(lambda: api.delete(room.path(f"/speakers/{other}"), other))

    assert demoted == [("speaker_removed", {"user_id": room.listener, "by": room.host, "reason": "demoted"})]
    assert stepped == [("speaker_removed", {"user_id": other, "by": other, "reason": "stepped_down"})]


def test_a_speaker_who_leaves_steps_off_the_stage_with_one_event(api, room):
    room.on_stage(room.listener)

    left = room.changes(lambda: api.post(room.path("/leave"), room.listener))

    assert left == [("speaker_removed", {"user_id": room.listener, "reason": "left"})]


def test_a_speaker_whose_client_vanished_is_swept_off_the_stage_with_one_event(api, deps, room):
    from datetime import timedelta

    from chalicelib.services.stage import sweep_presence

    room.on_stage(room.listener)
    later = deps.clock.now() + timedelta(seconds=deps.settings.presence_timeout_seconds + 60)

    class Later:
        def now(self):
            return later

    before = room.cursor()
    deps.clock = Later()
    # Both the speaker and the watcher (a listener) went silent: only the stage change is told.
    assert sweep_presence(deps, [room.space_id]) == 2

    events = [(e["name"], e["attributes"]) for e in room.read(after=before, user=room.host)["events"]]
    assert events == [("speaker_removed", {"user_id": room.listener, "reason": "timed_out"})]


def test_a_listener_who_leaves_emits_nothing(api, room):
    assert room.changes(lambda: api.post(room.path("/leave"), room.listener)) == []


def test_cohosts_added_and_removed_each_emit_one_event_and_the_former_cohost_leaves_the_chat(api, deps, room):
    arn = room.arn

    added = room.changes(lambda: api.post(room.path("/cohosts"), room.host, {"user_id": room.listener}))
    removed = room.changes(lambda: api.delete(room.path(f"/cohosts/{room.listener}"), room.host))

    assert added == [("cohost_added", {"user_id": room.listener, "by": room.host, "from_role": "listener"})]
    assert removed == [("cohost_removed", {"user_id": room.listener, "by": room.host})]
    assert (arn, room.listener, "co-host role removed") in deps.room_events.disconnected


def test_muting_and_unmuting_each_emit_one_event_and_repeats_emit_none(api, room):
    room.on_stage(room.listener)
    mute = lambda: api.post(room.path(f"/participants/{room.listener}/mute"), room.host)  # noqa: E731
    unmute = lambda: api.post(room.path(f"/participants/{room.listener}/unmute"), room.listener)  # noqa: E731

    assert room.changes(mute) == [("muted", {"user_id": room.listener, "by": room.host})]
    assert room.changes(mute) == []
    assert room.changes(unmute) == [("unmuted", {"user_id": room.listener})]
    assert room.changes(unmute) == []
    assert api.get(room.path(), room.host).data["muted_user_ids"] == []


def test_removing_a_participant_emits_once_and_cuts_their_chat_connection(api, deps, room):
    arn = room.arn
    remove = lambda: api.post(room.path(f"/participants/{room.listener}/remove"), room.host)  # noqa: E731

    assert room.changes(remove) == [("participant_removed", {"user_id": room.listener, "by": room.host})]
    assert room.changes(remove) == [], "removing again retries the disconnects, announces nothing"
    assert deps.room_events.disconnected.count((arn, room.listener, "removed by a moderator")) == 2
    assert api.get(room.path("/events"), room.listener).status_code == 403
    assert api.post(room.path("/events/token"), room.listener).status_code == 403


def test_a_chat_disconnect_that_fails_keeps_the_ban_and_a_retry_finishes_the_job(api, deps, room):
    deps.room_events.fail_next("disconnect_user")

    first = api.post(room.path(f"/participants/{room.listener}/remove"), room.host)
    second = room.changes(lambda: api.post(room.path(f"/participants/{room.listener}/remove"), room.host))

    assert first.status_code == 503 and first.data["code"] == "room_events_unavailable"
    assert second == []
    names = [e["name"] for e in room.read()["events"]]
    assert names.count("participant_removed") == 1
    assert [d[1] for d in deps.room_events.disconnected] == [room.listener]


def test_renaming_a_live_space_emits_space_updated_only_when_something_changed(api, room):
    rename = lambda: api.patch(room.path(), room.host, {"title": "Renamed"})  # noqa: E731

    assert room.changes(rename) == [("space_updated", {"fields": "title", "by": room.host})]
    assert room.changes(rename) == []


def test_a_failed_send_does_not_fail_the_change_and_is_counted(api, deps, room):
    deps.room_events.fail_next("send_event")

    raised = room.changes(lambda: api.post(room.path("/speaker-requests"), room.listener))

    assert raised == []
    assert api.get(room.path("/participants"), room.host).data["speaker_requests"]["count"] == 1
    assert deps.telemetry.events.count("RoomEventFailed") == 1


def test_events_come_in_the_order_things_happened(api, room):
    start = room.cursor()
    api.post(room.path("/speaker-requests"), room.listener)
    api.post(room.path("/speakers"), room.host, {"user_id": room.listener})
    api.post(room.path("/invitations/accept"), room.listener)
    api.post(room.path(f"/participants/{room.listener}/mute"), room.host)
    api.post(room.path(f"/participants/{room.listener}/remove"), room.host)
    api.post(room.path("/end"), room.host)

    page = room.read(after=start, limit=3)
    rest = room.read(after=page["next_cursor"], limit=100)

    assert [e["name"] for e in page["events"] + rest["events"]] == [
        "hand_raised", "speaker_invited", "speaker_added", "muted", "participant_removed", "space_ended"
    ]
    ids = [int(e["id"]) for e in page["events"] + rest["events"]]
    assert ids == sorted(ids) and len(set(ids)) == 6


# --- reading the log --------------------------------------------------------------------------


def test_a_long_poll_returns_the_event_that_arrives_while_it_waits(api, room):
    cursor = room.cursor()
    got = {}

    def reader():
        got["page"] = room.read(after=cursor, wait=5)

    thread = threading.Thread(target=reader)
    thread.start()
    time.sleep(0.2)
    api.post(room.path("/speaker-requests"), room.listener)
    thread.join()

    assert [(e["name"], e["attributes"]) for e in got["page"]["events"]] == [
        ("hand_raised", {"user_id": room.listener})
    ]
    # The cursor is opaque: it moved past the one event, and nothing follows it yet.
    assert got["page"]["next_cursor"] != cursor
    assert room.read(after=got["page"]["next_cursor"])["events"] == []


def test_reading_without_a_cursor_starts_at_the_first_event(api, room):
    api.post(room.path("/speaker-requests"), room.listener)
    api.delete(room.path("/speaker-requests"), room.listener)

    page = room.read()

    assert [e["name"] for e in page["events"]] == ["hand_raised", "hand_lowered"]
    assert room.read(after=page["next_cursor"])["events"] == []


@pytest.mark.parametrize(
    "query, code",
    [("after=abc", "invalid_cursor"), ("after=-1", "invalid_cursor"), ("wait=21", "invalid_wait"),
     ("wait=soon", "invalid_wait"), ("limit=0", "invalid_limit"), ("limit=101", "invalid_limit")],
)
def test_malformed_reads_are_400(api, room, query, code):
    response = api.get(room.path(f"/events?{query}"), room.watcher)
    assert response.status_code == 400 and response.data["code"] == code


def test_strangers_may_read_but_blocked_users_may_not(api, room, new_user):
    blocked = new_user("blocked")
    api.post(f"/users/{blocked}/block", room.host)

    assert api.get(room.path("/events"), new_user("stranger")).status_code == 200
    response = api.get(room.path("/events"), blocked)
    assert response.status_code == 403 and response.data["code"] == "blocked_by_host"


def test_a_scheduled_space_has_no_events_yet(api, host):
    from datetime import datetime, timedelta, timezone

    later = (datetime.now(timezone.utc) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    space = api.post("/spaces", host, {"title": "Later", "scheduled_start": later}).data

    response = api.get(f"/spaces/{space['id']}/events", host)

    assert response.status_code == 409 and response.data["code"] == "space_not_live"


def test_on_the_ivs_transport_the_log_is_not_served_here(api, deps, room):
    from tests.integration.test_ivs_chat_adapter import make_client
    from chalicelib.adapters.ivs_chat import IvsChatRooms

    deps.room_events = IvsChatRooms(make_client())

    response = api.get(room.path("/events"), room.watcher)

    assert response.status_code == 404 and response.data["code"] == "events_not_local"


# --- chat credentials -------------------------------------------------------------------------


def test_chat_capabilities_follow_the_role(api, deps, room, new_user):
    cohost, speaker, stranger = new_user("cohost"), new_user("speaker"), new_user("stranger")
    room.join(cohost)
    api.post(room.path("/cohosts"), room.host, {"user_id": cohost})
    room.on_stage(speaker)

    capabilities = {
        user: api.post(room.path("/events/token"), user).data["capabilities"]
        for user in (room.host, cohost, speaker, room.listener, stranger)
    }

    moderator = ["SEND_MESSAGE", "DELETE_MESSAGE", "DISCONNECT_USER"]
    assert capabilities == {
        room.host: moderator, cohost: moderator, speaker: ["SEND_MESSAGE"],
        room.listener: ["SEND_MESSAGE"], stranger: ["SEND_MESSAGE"],
    }


def test_chat_credentials_name_the_room_and_a_bounded_session(api, deps, room):
    deps.settings = replace(deps.settings, chat_session_minutes=500)  # above IVS Chat's 180

    token = api.post(room.path("/events/token"), room.listener).data

    assert token["room_arn"] == room.arn and token["transport"] == "local" and token["role"] == "listener"
    assert token["url"] == f"/spaces/{room.space_id}/events"
    from datetime import datetime

    def at(ts):
        return datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ")

    assert (at(token["session_expires_at"]) - at(token["token_expires_at"])).total_seconds() <= 180 * 60


def test_no_chat_token_after_the_end(api, room):
    api.post(room.path("/end"), room.host)

    response = api.post(room.path("/events/token"), room.listener)

    assert response.status_code == 409 and response.data["code"] == "space_ended"


# --- reactions --------------------------------------------------------------------------------


def test_a_reaction_reaches_the_room_and_a_second_one_too_soon_is_429(api, deps, room):
    from chalicelib.adapters.dynamodb.room_events import DynamoReactionLimits

    deps.reactions = DynamoReactionLimits(interval_ms=3_600_000)  # "too soon" cannot depend on timing
    react = lambda: api.post(room.path("/reactions"), room.listener, {"emoji": "🔥"})  # noqa: E731

    sent = room.changes(react)
    before = room.cursor()
    refused = react()

    assert sent == [("reaction", {"user_id": room.listener, "emoji": "🔥"})]
    assert refused.status_code == 429 and refused.data["code"] == "reaction_rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1
    assert room.read(after=before)["events"] == [], "a refused reaction is not sent"
    other = api.post(room.path("/reactions"), room.watcher, {"emoji": "👏"})
    assert other.status_code == 200, "the limit is per user"


def test_an_incognito_listeners_reaction_does_not_name_them_until_they_show_themselves(api, room, new_user):
    hidden = new_user("hidden")
    assert api.post(room.path("/join"), hidden, {"incognito": True}).data["incognito"] is True

    sent = room.changes(lambda: api.post(room.path("/reactions"), hidden, {"emoji": "🔥"}))
    token = room.token(hidden)

    assert sent == [("reaction", {"emoji": "🔥"})], "counted, in no list, and not named in the feed"
    # A chat message would carry their id to everyone: they react through POST /reactions only.
    assert token["capabilities"] == []
    assert room.token(room.listener)["capabilities"] == ["SEND_MESSAGE"]
    # Raising a hand shows them (docs/people.md): from then on they may send like everyone.
    assert api.post(room.path("/speaker-requests"), hidden).status_code == 200
    assert room.token(hidden)["capabilities"] == ["SEND_MESSAGE"]


@pytest.mark.parametrize("body", [None, {}, {"emoji": "lol"}, {"emoji": 7}, {"emoji": "🔥🔥"}])
def test_a_reaction_must_be_one_of_the_set(api, room, body):
    response = api.post(room.path("/reactions"), room.listener, body)
    assert response.status_code == 400


def test_only_people_in_the_space_react(api, room, new_user):
    response = api.post(room.path("/reactions"), new_user("stranger"), {"emoji": "🔥"})
    assert response.status_code == 409 and response.data["code"] == "not_in_space"
