"""The pinned post through the API: the host and co-hosts pin one https link with a short text to
a live Space; it shows in the Space's view and its room events, every pin and unpin is one ledger
entry, and refusals come in the order 401, 404, 403, 409, then 400/422, changing nothing."""
from __future__ import annotations

import pytest

from chalicelib.domain.pinned import MAX_TEXT_CHARS, MAX_URL_CHARS

pytestmark = pytest.mark.usefixtures("deps")

POST = {"url": "https://example.com/notes?ep=12", "text": "Tonight's show notes"}


@pytest.fixture
def live(api, host, new_user):
    space_id = api.post("/spaces", host, {"title": "Pinned notes"}).data["id"]
    cohost, listener = new_user("cohost"), new_user("listener")
    for user in (cohost, listener):
        assert api.post(f"/spaces/{space_id}/join", user).status_code == 200
    assert api.post(f"/spaces/{space_id}/cohosts", host, {"user_id": cohost}).status_code == 200
    return space_id, cohost, listener


def _pinned_acts(api, space_id, host):
    entries = api.get(f"/spaces/{space_id}/moderation-log", host).data["entries"]
    return [(e["act"], e["actor_id"]) for e in entries if e["act"] in ("pin", "unpin")]


def test_a_cohost_pins_a_link_every_view_shows_it_and_the_host_unpins_it(api, live, host):
    space_id, cohost, listener = live

    pinned = api.call("PUT", f"/spaces/{space_id}/pinned", cohost, POST)

    assert pinned.status_code == 200, pinned.data
    seen = api.get(f"/spaces/{space_id}", listener).data["pinned"]
    assert {k: seen[k] for k in ("url", "text", "pinned_by")} == {**POST, "pinned_by": cohost}
    events = api.get(f"/spaces/{space_id}/events?limit=100", listener).data["events"]
    assert [e["attributes"] for e in events if e["name"] == "post_pinned"] == [{**POST, "by": cohost}]
    listed = api.get(f"/spaces?host_id={host}", listener).data["spaces"]
    assert [s["pinned"] for s in listed if s["id"] == space_id] == [POST]
    found = api.get("/spaces?q=pinned%20notes", listener).data["spaces"]
    assert [s["pinned"] for s in found if s["id"] == space_id] == [POST]

    replaced = api.call("PUT", f"/spaces/{space_id}/pinned", host, {"url": "https://example.org/", "text": "New"})
    assert replaced.status_code == 200
    assert api.get(f"/spaces/{space_id}", listener).data["pinned"]["url"] == "https://example.org/"
    gone = api.delete(f"/spaces/{space_id}/pinned", host)
    assert gone.status_code == 200 and gone.data["changed"] is True
    again = api.delete(f"/spaces/{space_id}/pinned", host)
    assert again.status_code == 200 and again.data["changed"] is False

    assert api.get(f"/spaces/{space_id}", listener).data["pinned"] is None
    listed = api.get(f"/spaces?host_id={host}", listener).data["spaces"]
    assert [s["pinned"] for s in listed if s["id"] == space_id] == [None]
    assert _pinned_acts(api, space_id, host) == [("pin", cohost), ("pin", host), ("unpin", host)]
    names = [e["name"] for e in api.get(f"/spaces/{space_id}/events?limit=100", listener).data["events"]]
    assert names.count("post_pinned") == 2 and names.count("post_unpinned") == 1


def test_a_pin_after_the_lists_moved_lands_on_the_new_lists(api, live, host):
    """A PATCH of title and topics moves the Space's list items; a pin reads the Space after it,
    and a PATCH after a pin carries the pin to the new items."""
    space_id, cohost, listener = live
    assert api.call("PATCH", f"/spaces/{space_id}", host, {"topics": ["jazz"]}).status_code == 200

    assert api.call("PUT", f"/spaces/{space_id}/pinned", cohost, POST).status_code == 200
    assert api.call("PATCH", f"/spaces/{space_id}", host, {"title": "Pinned again", "topics": ["blues"]}).status_code == 200

    by_topic = api.get("/spaces?topic=blues", listener).data["spaces"]
    assert [s["pinned"] for s in by_topic if s["id"] == space_id] == [POST]
    assert [s["id"] for s in api.get("/spaces?topic=jazz", listener).data["spaces"] if s["id"] == space_id] == []


@pytest.mark.parametrize("body, code", [
    ({"url": "http://example.com/", "text": "plain http"}, "invalid_pinned_url"),
    ({"url": "javascript:alert(1)", "text": "script"}, "invalid_pinned_url"),
    ({"url": "https://user:pw@example.com/", "text": "credentials"}, "invalid_pinned_url"),
    ({"url": "https:///no-host", "text": "no host"}, "invalid_pinned_url"),
    ({"url": 'https://example.com/"onmouseover=x', "text": "a quote"}, "invalid_pinned_url"),
    ({"url": "https://example.com/" + "a" * MAX_URL_CHARS, "text": "too long"}, "invalid_pinned_url"),
    ({"url": "https://example.com/", "text": "x" * (MAX_TEXT_CHARS + 1)}, "invalid_pinned_text"),
    ({"url": "https://example.com/", "text": "   "}, "invalid_pinned_text"),
    ({"url": "https://example.com/", "text": "two\nlines"}, "invalid_pinned_text"),
])
def test_a_bad_link_or_text_is_422_and_pins_nothing(api, live, host, body, code):
    space_id, _, _ = live

    response = api.call("PUT", f"/spaces/{space_id}/pinned", host, body)

    assert response.status_code == 422 and response.data["code"] == code, response.data
    assert api.get(f"/spaces/{space_id}", host).data["pinned"] is None
    assert _pinned_acts(api, space_id, host) == []


def test_refusals_come_in_order_and_change_nothing(api, live, host, new_user):
    space_id, _, listener = live
    path = f"/spaces/{space_id}/pinned"
    bad = {"url": "http://x", "text": ""}

    assert api.call("PUT", path, None, POST).status_code == 401
    missing = api.call("PUT", "/spaces/01ARZ3NDEKTSV4RRFFQ69G5FAV/pinned", host, bad)
    assert missing.status_code == 404
    refused = api.call("PUT", path, listener, bad)
    assert refused.status_code == 403 and refused.data["code"] == "moderator_only"
    assert api.delete(path, listener).status_code == 403
    wrong_kind = api.call("PUT", path, host, {"url": 5, "text": "x"})
    assert wrong_kind.status_code == 400 and wrong_kind.data["code"] == "invalid_body"
    unknown = api.call("PUT", path, host, {**POST, "color": "red"})
    assert unknown.status_code == 400 and unknown.data["code"] == "invalid_body"

    assert api.post(f"/spaces/{space_id}/end", host).status_code == 200
    ended = api.call("PUT", path, host, bad)
    assert ended.status_code == 409 and ended.data["code"] == "space_ended", "409 before the body's 422"
    assert api.delete(path, host).status_code == 409
    assert api.get(f"/spaces/{space_id}", host).data["pinned"] is None
    assert _pinned_acts(api, space_id, host) == []
