"""The page on a stage whose room events go over IVS Chat (as every AWS stage's do), against the
IVS Chat emulator (tests/support/fake_ivs_chat.py): the backend sends events with the production
adapter, the page receives them with the official amazon-ivs-chat-messaging SDK over a WebSocket,
and never long-polls GET /events. When its socket is closed, the page polls until it has
connected again; so it does when the socket is cut.

What this cannot show: that the real IVS Chat service speaks as the emulator does (see the
emulator's docstring for what is a guess)."""
from __future__ import annotations

import json
import time
import urllib.request

import pytest

from tests.e2e.test_room_live import call, space_id_of
from tests.e2e.test_web_client import shoot, sign_in

pytestmark = pytest.mark.slow

ON = "Live updates: on."
PAUSED = "Live updates: paused; checking every 2 s."


def fake_chat(stack, method: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"{stack.chat_api_url}{path}", data=None if body is None else json.dumps(body).encode(), method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def connections_of(stack, user: str, *, open_only: bool = False) -> list[dict]:
    return [
        c for c in fake_chat(stack, "GET", "/_fake/connections")["connections"]
        if c["user_id"] == user and (c["closed_at"] is None or not open_only)
    ]


def eventually(page, check, what: str, timeout: float = 60.0):
    """Wait for `check()` while Playwright keeps serving the pages: the context's route handler
    (which lets each request through) runs in this thread, so a plain sleep would stall them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        page.wait_for_timeout(250)
    raise AssertionError(f"not within {timeout:.0f} s: {what} ({check.__doc__ or ''})")


def record_sockets(person) -> dict:
    """The WebSockets the page opens and the room events each received (EventName per frame)."""
    seen = {"urls": [], "events": []}

    def opened(socket):
        seen["urls"].append(socket.url)

        def received(payload):
            try:
                seen["events"].append(json.loads(payload).get("EventName"))
            except (TypeError, ValueError):
                pass

        socket.on("framereceived", received)

    person.page.on("websocket", opened)
    return seen


def test_room_events_reach_the_page_over_ivs_chat_and_it_polls_while_the_socket_is_down(
    chat_people, chat_stack, artifacts
):
    from playwright.sync_api import expect

    host, listener = chat_people("gina"), chat_people("frank")
    host_sockets, listener_sockets = record_sockets(host), record_sockets(listener)

    # Given a live Space on a stage whose join says transport "ivs-chat", and a listener in it
    sign_in(host)
    host.page.get_by_label("Title").fill("Over IVS Chat")
    host.page.get_by_role("button", name="Create Space").click()
    expect(host.page.locator("#my-status")).to_have_text("You are the host.")
    space_id = space_id_of(host.page)
    sign_in(listener)
    listener.page.goto(f"/web/index.html#/spaces/{space_id}")
    expect(listener.page.locator("#my-status")).to_have_text("You are a listener.")

    # Then both pages are connected to the chat room, over a WebSocket to the emulator
    for person in (host, listener):
        expect(person.page.locator("#updates-status")).to_have_text(ON)
    eventually(host.page, lambda: connections_of(chat_stack, "gina", open_only=True), "the host's page connected")
    eventually(host.page, lambda: connections_of(chat_stack, "frank", open_only=True), "the listener's page connected")
    assert host_sockets["urls"] and all(url.startswith(chat_stack.chat_ws_url) for url in host_sockets["urls"])
    assert listener_sockets["urls"] and all(url.startswith(chat_stack.chat_ws_url) for url in listener_sockets["urls"])

    # When the listener raises a hand, the host's page learns it from the room's hand_raised event
    listener.page.get_by_role("button", name="Raise hand").click()
    expect(host.page.get_by_role("button", name="Approve frank")).to_be_visible()
    eventually(host.page, lambda: "hand_raised" in host_sockets["events"], "hand_raised reached the host's socket")

    # And a reaction reaches every page, the reacting one included
    listener.page.get_by_role("button", name="React with applause").click()
    expect(host.page.locator("#reaction-feed")).to_contain_text("👏 frank")
    expect(listener.page.locator("#reaction-feed")).to_contain_text("👏 you")
    assert "reaction" in host_sockets["events"] and "reaction" in listener_sockets["events"]
    shoot(artifacts, 41, "ivs-chat-reaction", host, listener)

    # And neither page long-polled the local event log; each asked for chat tokens instead
    for person in (host, listener):
        assert not [url for url in person.requested if f"/spaces/{space_id}/events?" in url], person.name
        assert [url for url in person.requested if url.endswith(f"/spaces/{space_id}/events/token")], person.name

    # When the host's socket is closed and the emulator refuses connections for a while
    assert fake_chat(chat_stack, "POST", "/_fake/drop", {"user_id": "gina", "how": "close", "refuse_seconds": 15})["dropped"] == 1

    # Then the host's page says so and polls: a hand lowered meanwhile disappears from it
    expect(host.page.locator("#updates-status")).to_have_text(PAUSED)
    listener.page.get_by_role("button", name="Lower hand").click()
    expect(host.page.get_by_role("button", name="Approve frank")).to_have_count(0)
    assert not connections_of(chat_stack, "gina", open_only=True), "the page learnt it over a socket"
    shoot(artifacts, 42, "ivs-chat-paused", host)

    # And once connections are accepted again it reconnects, and events arrive again
    expect(host.page.locator("#updates-status")).to_have_text(ON)
    assert len(connections_of(chat_stack, "gina")) >= 2
    listener.page.get_by_role("button", name="React with fire").click()
    expect(host.page.locator("#reaction-feed")).to_contain_text("🔥 frank")

    # When the socket is cut instead (the TCP connection lost), the SDK reconnects by itself
    before = len(connections_of(chat_stack, "gina"))
    assert fake_chat(chat_stack, "POST", "/_fake/drop", {"user_id": "gina", "how": "abort"})["dropped"] == 1

    def reconnected():
        connections = connections_of(chat_stack, "gina")
        reconnected.__doc__ = json.dumps([(c["closed_at"] is None, c["close_code"]) for c in connections])
        return len(connections) > before and [c["closed_at"] for c in connections].count(None) == 1

    eventually(host.page, reconnected, "the host's page connected again")
    expect(host.page.locator("#updates-status")).to_have_text(ON)
    host.page.wait_for_timeout(1100)  # one reaction per second per user
    listener.page.get_by_role("button", name="React with thanks").click()
    expect(host.page.locator("#reaction-feed")).to_contain_text("🙏 frank")

    # When the host makes the listener a co-host, the listener's page reconnects with a new token,
    # whose capabilities are a moderator's; and with a listener's again when the role is taken back
    def frank_can_moderate(expected: bool):
        connections = connections_of(chat_stack, "frank", open_only=True)
        return len(connections) == 1 and ("DISCONNECT_USER" in connections[0]["capabilities"]) == expected

    call(chat_stack, "gina", "POST", f"/spaces/{space_id}/cohosts", {"user_id": "frank"})
    expect(listener.page.locator("#my-status")).to_contain_text("You are a co-host.")
    eventually(host.page, lambda: frank_can_moderate(True), "the co-host's page holds a moderator's token")
    call(chat_stack, "gina", "DELETE", f"/spaces/{space_id}/cohosts/frank")
    eventually(host.page, lambda: frank_can_moderate(False), "the former co-host's page holds a listener's token")
    expect(listener.page.locator("#my-status")).to_contain_text("You are a listener.")

    # Finally the host ends it, and the listener's page shows it
    host.page.get_by_role("button", name="End Space").click()
    for person in (host, listener):
        expect(person.page.locator("#my-status")).to_have_text("The Space has ended.")
        assert person.refused == [], f"{person.name}'s page tried to reach {person.refused}"
        assert person.page_errors == [], f"{person.name}'s page raised {person.page_errors}"
        assert not [url for url in person.requested if f"/spaces/{space_id}/events?" in url], person.name
