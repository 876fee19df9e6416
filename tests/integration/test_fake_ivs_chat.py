"""The IVS Chat emulator's messaging side (tests/support/fake_ivs_chat.py), which the browser test
of the IVS Chat transport relies on: what a client connected with a token receives when the
production adapter sends events, disconnects a user or deletes the room. The frames are checked
against what the JS SDK's parser requires (amazon-ivs-chat-messaging 1.1.1,
dist/esm/utils/deserialize.js: parseChatEvent)."""
from __future__ import annotations

import asyncio
import json
from datetime import datetime

import pytest

from chalicelib.adapters.ivs_chat import IvsChatRooms
from tests.support.fake_ivs_chat import FakeIvsChat


@pytest.fixture(scope="module")
def fake():
    with FakeIvsChat() as running:
        yield running


@pytest.fixture
def rooms(fake):
    return IvsChatRooms(fake.client())


def token_for(rooms, room, user_id):
    return rooms.chat_token(
        room, user_id, capabilities=["SEND_MESSAGE"], session_minutes=60, attributes={"user_id": user_id}
    ).token


async def in_thread(call):
    return await asyncio.get_running_loop().run_in_executor(None, call)


def run(coroutine):
    """Run a scenario on an event loop of its own thread: the main thread may already run one
    (Playwright's sync API keeps a loop running there for the browser tests of the same worker),
    and asyncio.run refuses to start inside a running loop."""
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, asyncio.wait_for(coroutine, 20)).result()


def test_a_token_opens_one_connection_with_itself_as_the_subprotocol(fake, rooms):
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    room = rooms.create_room("sp-token")
    token = token_for(rooms, room, "bob")

    async def scenario():
        async with connect(fake.ws_url, subprotocols=[token]) as socket:
            assert socket.subprotocol == token
        with pytest.raises(InvalidStatus) as refused:
            async with connect(fake.ws_url, subprotocols=[token]):
                pass
        assert refused.value.response.status_code == 401

    run(scenario())


def test_an_event_sent_by_the_backend_reaches_every_connection_of_the_room_only(fake, rooms):
    from websockets.asyncio.client import connect

    room, other_room = rooms.create_room("sp-events"), rooms.create_room("sp-other")

    async def scenario():
        async with connect(fake.ws_url, subprotocols=[token_for(rooms, room, "alice")]) as alice, \
                connect(fake.ws_url, subprotocols=[token_for(rooms, room, "bob")]) as bob, \
                connect(fake.ws_url, subprotocols=[token_for(rooms, other_room, "carol")]) as carol:
            await in_thread(lambda: rooms.send_event(room, "reaction", {"user_id": "bob", "emoji": "👏"}))
            frames = [json.loads(await socket.recv()) for socket in (alice, bob)]
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(carol.recv(), 0.3)
        return frames

    first, second = run(scenario())

    assert first == second
    assert first["Type"] == "EVENT" and first["EventName"] == "reaction"
    assert first["Attributes"] == {"user_id": "bob", "emoji": "👏"}
    assert isinstance(first["Id"], str) and first["Id"]
    datetime.fromisoformat(first["SendTime"].replace("Z", "+00:00"))


def test_disconnecting_a_user_tells_the_room_then_closes_only_their_connections(fake, rooms):
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosedOK

    room = rooms.create_room("sp-disconnect")

    async def scenario():
        async with connect(fake.ws_url, subprotocols=[token_for(rooms, room, "alice")]) as alice, \
                connect(fake.ws_url, subprotocols=[token_for(rooms, room, "bob")]) as bob:
            await in_thread(lambda: rooms.disconnect_user(room, "bob", "removed by a moderator"))
            told = json.loads(await alice.recv())
            bob_told = json.loads(await bob.recv())
            with pytest.raises(ConnectionClosedOK):
                await bob.recv()
            assert alice.close_code is None
            return told, bob_told, bob.close_code

    told, bob_told, code = run(scenario())

    assert told == bob_told
    assert told["EventName"] == "aws:DISCONNECT_USER"
    assert told["Attributes"] == {"UserId": "bob", "Reason": "removed by a moderator"}
    assert code == 1000


def test_deleting_the_room_closes_its_connections_and_its_tokens_stop_working(fake, rooms):
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosedOK, InvalidStatus

    room = rooms.create_room("sp-deleted")
    unused = token_for(rooms, room, "carol")

    async def scenario():
        async with connect(fake.ws_url, subprotocols=[token_for(rooms, room, "alice")]) as alice:
            await in_thread(lambda: rooms.delete_room(room))
            with pytest.raises(ConnectionClosedOK):
                await alice.recv()
        with pytest.raises(InvalidStatus):
            async with connect(fake.ws_url, subprotocols=[unused]):
                pass

    run(scenario())
