"""The RoomEventsPort contract, run against both adapters, and what the local one adds.

- `DynamoRoomEvents` (the local transport) runs against DynamoDB Local.
- `FakeRoomEvents` (tests/fakes/room_events.py, the unit tests' room) runs in memory, held to
  the same contract and to the local event log's tests, so it cannot drift from the adapters.
- `IvsChatRooms` runs over `SimulatedIvsChat`: a stateful stand-in answering on botocore's
  `before-call` event (the hook Stubber uses), so requests and responses are still checked
  against the real ivschat API model; and over HTTP against the IVS Chat emulator of the
  browser tests (tests/support/fake_ivs_chat.py).
"""
from __future__ import annotations

import json
import re
import threading
from datetime import datetime, timedelta, timezone

import pytest
from botocore.awsrequest import AWSResponse
from botocore.validate import ParamValidator

from chalicelib.adapters.dynamodb.room_events import DynamoReactionLimits, DynamoRoomEvents
from chalicelib.adapters.ivs_chat import IvsChatRooms
from chalicelib.domain.errors import DependencyFailed
from tests.fakes.room_events import FakeRoomEvents
from tests.integration.test_ivs_chat_adapter import make_client

ROOM_ARN = re.compile(r"^arn:aws:ivschat:[a-z0-9-]+:[0-9]{12}:room/[A-Za-z0-9]{12}$")


class SimulatedIvsChat:
    """A stateful IVS Chat control plane behind a real client."""

    def __init__(self, client):
        self.rooms: dict[str, dict] = {}  # arn -> tags
        self.events: dict[str, list[tuple[str, dict]]] = {}
        self.disconnected: list[tuple[str, str]] = []
        self.outage = 0
        self._n = 0
        client.meta.events.register("before-call.ivschat", self._answer)

    def _answer(self, model, params, **_):
        body = json.loads(params.get("body") or b"{}")
        if self.outage:
            self.outage -= 1
            return self._error("ThrottlingException", 429)
        name = model.name
        if name == "CreateRoom":
            self._n += 1
            arn = f"arn:aws:ivschat:us-east-1:123456789012:room/Sim{self._n:09d}"
            self.rooms[arn] = body.get("tags", {})
            self.events[arn] = []
            return self._ok(model, {"arn": arn, "id": arn.rsplit("/", 1)[-1], "tags": body.get("tags", {})})
        if name == "ListRooms":
            return self._ok(model, {"rooms": [{"arn": a, "tags": t} for a, t in self.rooms.items()]})
        room = body.get("identifier") or body.get("roomIdentifier")
        if room not in self.rooms:
            return self._error("ResourceNotFoundException", 404)
        if name == "DeleteRoom":
            del self.rooms[room]
            return self._ok(model, {})
        if name == "SendEvent":
            self.events[room].append((body["eventName"], body.get("attributes", {})))
            return self._ok(model, {"id": f"Evt{len(self.events[room]):09d}"})
        if name == "DisconnectUser":
            self.disconnected.append((room, body["userId"]))
            return self._ok(model, {})
        if name == "CreateChatToken":
            now = datetime.now(timezone.utc).replace(microsecond=0)
            minutes = body.get("sessionDurationInMinutes", 60)
            return self._ok(
                model,
                {
                    "token": "AQICAHh-simulated",
                    "tokenExpirationTime": now + timedelta(minutes=1),
                    "sessionExpirationTime": now + timedelta(minutes=minutes),
                },
            )
        raise AssertionError(f"unexpected IVS Chat call {name}")

    @staticmethod
    def _ok(model, parsed):
        if model.output_shape is not None:  # DeleteRoom answers nothing
            report = ParamValidator().validate(parsed, model.output_shape)
            if report.has_errors():
                raise AssertionError(report.generate_report())
        return AWSResponse(None, 200, {}, None), parsed

    @staticmethod
    def _error(code, status):
        return AWSResponse(None, status, {}, None), {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {}}


class RoomEventsContract:
    """What any RoomEventsPort does. Subclasses give a `rooms` fixture and `make_unavailable`."""

    def make_unavailable(self, rooms, method_name):
        raise NotImplementedError

    def test_a_new_room_has_an_ivs_chat_room_arn_and_each_space_gets_its_own(self, rooms):
        first, second = rooms.create_room("sp1"), rooms.create_room("sp2")

        assert ROOM_ARN.match(first) and ROOM_ARN.match(second)
        assert first != second

    def test_deleting_a_room_twice_succeeds(self, rooms):
        room = rooms.create_room("sp1")

        rooms.delete_room(room)
        rooms.delete_room(room)

    def test_nothing_can_be_sent_to_a_deleted_room(self, rooms):
        room = rooms.create_room("sp1")
        rooms.send_event(room, "space_ended", {"by": "alice"})
        rooms.delete_room(room)

        with pytest.raises(DependencyFailed) as caught:
            rooms.send_event(room, "muted", {"user_id": "bob"})
        assert caught.value.code == "room_events_unavailable"

    def test_disconnecting_someone_not_connected_succeeds(self, rooms):
        room = rooms.create_room("sp1")

        rooms.disconnect_user(room, "nobody", "removed by a moderator")

    def test_a_chat_token_carries_its_capabilities_and_session_end(self, rooms):
        room = rooms.create_room("sp1")
        before = datetime.now(timezone.utc)

        token = rooms.chat_token(
            room, "bob", capabilities=["SEND_MESSAGE"], session_minutes=30, attributes={"user_id": "bob"}
        )

        assert token.token and token.capabilities == ("SEND_MESSAGE",)
        assert before + timedelta(minutes=29) <= token.session_expires_at <= before + timedelta(minutes=31)

    def test_the_app_lists_its_rooms_with_their_space(self, rooms):
        kept, gone = rooms.create_room("sp-kept"), rooms.create_room("sp-gone")
        rooms.delete_room(gone)

        listed = {room: space_id for room, space_id, _ in rooms.list_rooms()}

        assert listed.get(kept) == "sp-kept"
        assert gone not in listed

    @pytest.mark.parametrize("method", ["create_room", "send_event", "delete_room"])
    def test_an_outage_is_dependency_failed_and_the_next_call_works(self, rooms, method):
        room = rooms.create_room("sp1")
        calls = {
            "create_room": lambda: rooms.create_room("sp2"),
            "send_event": lambda: rooms.send_event(room, "hand_raised", {"user_id": "bob"}),
            "delete_room": lambda: rooms.delete_room(room),
        }
        self.make_unavailable(rooms, method)

        with pytest.raises(DependencyFailed) as caught:
            calls[method]()
        assert caught.value.code == "room_events_unavailable"

        calls[method]()


class TestIvsChatContract(RoomEventsContract):
    @pytest.fixture
    def rooms(self):
        client = make_client()
        self.simulated = SimulatedIvsChat(client)
        return IvsChatRooms(client)

    def make_unavailable(self, rooms, method_name):
        self.simulated.outage = 1


class TestIvsChatOverTheEmulatorContract(RoomEventsContract):
    """The production adapter over HTTP against tests/support/fake_ivs_chat.py, as the browser
    test's stack runs it: checks the emulator's control plane against the same contract."""

    @pytest.fixture
    def rooms(self, fake_ivs_chat):
        self.fake = fake_ivs_chat
        return IvsChatRooms(fake_ivs_chat.client())

    def make_unavailable(self, rooms, method_name):
        self.fake.outage = 1


@pytest.fixture(scope="module")
def fake_ivs_chat():
    from tests.support.fake_ivs_chat import FakeIvsChat

    with FakeIvsChat() as fake:
        yield fake


class TestLocalContract(RoomEventsContract):
    @pytest.fixture
    def rooms(self, dynamodb_local):
        return DynamoRoomEvents(sleep=lambda s: None)

    def make_unavailable(self, rooms, method_name):
        rooms.fail_next(method_name)


class TestFakeContract(RoomEventsContract):
    @pytest.fixture
    def rooms(self):
        return FakeRoomEvents()

    def make_unavailable(self, rooms, method_name):
        rooms.fail_next(method_name)


# --- the local event log (the DynamoDB adapter and the fake) ----------------------------------


def _event_log(request, **kwargs):
    if request.param == "memory":
        return FakeRoomEvents(**kwargs)
    request.getfixturevalue("dynamodb_local")
    return DynamoRoomEvents(sleep=lambda s: None, **kwargs)


@pytest.fixture(params=["dynamodb", "memory"])
def log(request):
    return _event_log(request)


@pytest.fixture(params=["dynamodb", "memory"])
def log_with_clock(request):
    """A log whose clock the test moves (`log.now[0]`), events kept 60 s."""
    now = [datetime.now(timezone.utc) - timedelta(seconds=120)]
    log = _event_log(request, ttl_seconds=60, clock=lambda: now[0])
    log.now = now
    return log


def test_events_are_read_in_the_order_they_were_sent_from_any_cursor(log):
    room = log.create_room("sp1")
    for n in range(5):
        log.send_event(room, "hand_raised", {"user_id": f"u{n}"})

    first, cursor = log.read(room, 0, limit=3)
    rest, end = log.read(room, cursor, limit=10)

    assert [e.attributes["user_id"] for e in first + rest] == ["u0", "u1", "u2", "u3", "u4"]
    assert [e.seq for e in first + rest] == [1, 2, 3, 4, 5]
    assert log.read(room, end, limit=10) == ([], end)
    assert log.latest(room) == 5


def test_concurrent_senders_each_get_their_own_place_and_none_is_lost(log):
    room = log.create_room("sp1")

    def send(worker):
        for i in range(5):
            log.send_event(room, "reaction", {"user_id": f"w{worker}", "n": str(i)})

    threads = [threading.Thread(target=send, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    events, _ = log.read(room, 0, limit=100)
    assert [e.seq for e in events] == list(range(1, 21))
    assert sorted((e.attributes["user_id"], e.attributes["n"]) for e in events) == sorted(
        (f"w{w}", str(i)) for w in range(4) for i in range(5)
    )
    # Each sender's own events keep their order.
    for w in range(4):
        assert [e.attributes["n"] for e in events if e.attributes["user_id"] == f"w{w}"] == ["0", "1", "2", "3", "4"]


def test_expired_events_are_skipped_but_the_cursor_moves_past_them(log_with_clock):
    # The last event must not be expired in real time: DynamoDB Local's TTL sweep deletes items
    # whose expiry is in the past (a fixed date in 2026-01 made this test flaky). The first one
    # may be skipped by the read or already swept: either way it is not returned.
    log = log_with_clock
    room = log.create_room("sp1")
    log.send_event(room, "hand_raised", {"user_id": "old"})
    log.now[0] += timedelta(seconds=120)
    log.send_event(room, "hand_raised", {"user_id": "new"})

    events, cursor = log.read(room, 0, limit=10)

    assert [e.attributes["user_id"] for e in events] == ["new"]
    assert cursor == 2


def test_a_deleted_rooms_events_stay_readable(log):
    room = log.create_room("sp1")
    log.send_event(room, "space_ended", {"by": "alice"})

    log.delete_room(room)

    assert log.is_deleted(room)
    assert [e.name for e in log.read(room, 0, limit=10)[0]] == ["space_ended"]
    assert log.deleted == [room]


def test_attributes_over_one_kilobyte_are_a_bug_not_sent(log):
    room = log.create_room("sp1")

    with pytest.raises(ValueError):
        log.send_event(room, "hand_raised", {"user_id": "x" * 1100})
    assert log.latest(room) == 0


# --- the reaction limit ---------------------------------------------------------------------


def _now() -> datetime:
    """The clock these tests hand the limiter: now, so the TTL it writes (a day later) is in the
    future and DynamoDB's sweeper never takes an item a test still reads (a fixed date goes stale)."""
    return datetime.now(timezone.utc).replace(microsecond=0)


def _expiry(space_id: str, user_id: str) -> datetime:
    from chalicelib.adapters.dynamodb.models import ReactionLimitModel

    return ReactionLimitModel.get(ReactionLimitModel.key_for(space_id, user_id), consistent_read=True).expires_at


def test_one_reaction_per_interval_per_user_and_space(dynamodb_local):
    limits = DynamoReactionLimits(interval_ms=1000)
    t0 = _now()

    assert limits.acquire("sp-limit", "bob", t0) == 0
    assert _expiry("sp-limit", "bob") > datetime.now(timezone.utc), "swept by TTL mid-test otherwise"
    assert limits.acquire("sp-limit", "bob", t0 + timedelta(milliseconds=400)) == 600
    assert limits.acquire("sp-limit", "carol", t0 + timedelta(milliseconds=400)) == 0, "per user"
    assert limits.acquire("sp-other", "bob", t0 + timedelta(milliseconds=400)) == 0, "per Space"
    assert limits.acquire("sp-limit", "bob", t0 + timedelta(milliseconds=1000)) == 0


def test_of_reactions_sent_at_once_exactly_one_passes(dynamodb_local):
    limits = DynamoReactionLimits(interval_ms=60_000)
    t0 = _now()
    results: list[int] = []
    lock = threading.Lock()

    def react():
        waited = limits.acquire("sp-race", "bob", t0)
        with lock:
            results.append(waited)

    threads = [threading.Thread(target=react) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert results.count(0) == 1
    assert all(w > 0 for w in results if w)


def test_a_room_whose_delete_answer_was_lost_is_forgotten_by_the_next_delete(dynamodb_local):
    from tests.support.faults import inject_dynamodb_faults

    log = DynamoRoomEvents(sleep=lambda s: None)
    room = log.create_room("sp-lost")
    with inject_dynamodb_faults(seed=1) as faults:
        faults.fail_next("UpdateItem", "lost_response")  # the delete is applied, its answer lost
        with pytest.raises(DependencyFailed):
            log.delete_room(room)
    assert room in [r for r, _, _ in log.list_rooms()], "not known to be deleted yet"

    log.delete_room(room)  # the orphan sweep's retry: already deleted

    assert room not in [r for r, _, _ in log.list_rooms()], "the sweep would try it forever"
