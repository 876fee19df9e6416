"""What a room shows besides who is in it, in real browsers: reactions and live captions arriving
as room events, a recorded Space's indicator and the consent a speaker gives before speaking, and
a subscriber-only Space that a listener subscribes to (sandbox provider) and then joins."""
from __future__ import annotations

import pytest

from tests.e2e.test_web_client import shoot, sign_in

pytestmark = pytest.mark.slow


def call(stack, user: str, method: str, path: str, body: dict | None = None) -> dict:
    response = stack.request(method, path, user, json=body)
    assert response.status_code in (200, 201), (response.status_code, response.text[:500])
    return response.json()


def space_id_of(page) -> str:
    return page.url.rsplit("/", 1)[-1]


def test_reactions_captions_and_consent_to_be_recorded(people, web_stack, artifacts):
    from playwright.sync_api import expect

    host, speaker, listener = people("gina"), people("dave"), people("frank")

    # Given a host who creates a recorded Space from the page
    sign_in(host)
    host.page.get_by_label("Title").fill("Recorded with reactions")
    host.page.get_by_label("Record this Space").check()
    host.page.get_by_role("button", name="Create Space").click()
    expect(host.page.locator("#my-status")).to_have_text("You are the host.")
    expect(host.page.get_by_role("img", name="This Space is being recorded")).to_be_visible()
    space_id = space_id_of(host.page)

    # And two listeners in it
    for person in (speaker, listener):
        sign_in(person)
        person.page.goto(f"/web/index.html#/spaces/{space_id}")
        expect(person.page.locator("#my-status")).to_have_text("You are a listener.")
    expect(host.page.locator("#listener-count")).to_have_text("Listeners: 2")

    # When a listener raises a hand and the host approves: the page does not take the stage on
    # its own in a recorded Space; the listener accepts, which is the consent
    speaker.page.get_by_role("button", name="Raise hand").click()
    host.page.get_by_role("button", name="Approve dave").click()
    accept = speaker.page.get_by_role("button", name="Accept invitation and agree to be recorded")
    expect(accept).to_be_visible()
    shoot(artifacts, 31, "asked-to-consent", speaker)
    accept.click()
    expect(speaker.page.locator("#my-status")).to_have_text("You are a speaker.")
    expect(host.page.locator("#speakers")).to_contain_text("dave")

    # When the other listener reacts, every page shows it, read from the room's events
    listener.page.get_by_role("button", name="React with applause").click()
    for person in (host, speaker):
        expect(person.page.locator("#reaction-feed")).to_contain_text("👏 frank")
    expect(listener.page.locator("#reaction-feed")).to_contain_text("👏 you")
    shoot(artifacts, 32, "reaction", host, speaker, listener)

    # And when the speaker's app sends a caption, the listener's page shows it
    call(web_stack, "dave", "POST", f"/spaces/{space_id}/captions",
         {"text": "Hello from the stage", "language": "en", "start_ms": 1000, "end_ms": 2500})
    expect(listener.page.locator("#caption-lines")).to_contain_text("dave: Hello from the stage")
    shoot(artifacts, 33, "caption", listener)

    # Finally the host ends it
    host.page.get_by_role("button", name="End Space").click()
    for person in (host, speaker, listener):
        expect(person.page.locator("#my-status")).to_have_text("The Space has ended.")
        assert person.refused == [], f"{person.name}'s page tried to reach {person.refused}"
        assert person.page_errors == [], f"{person.name}'s page raised {person.page_errors}"


def test_a_listener_subscribes_then_joins_a_subscriber_only_space(people, web_stack, artifacts):
    from playwright.sync_api import expect

    # Given a live subscriber-only Space
    space = call(web_stack, "hank", "POST", "/spaces", {"title": "For subscribers", "access": "subscribers"})
    fan = people("frank")
    sign_in(fan)
    try:
        # When a listener without a subscription opens it: the page offers one instead of joining
        fan.page.goto(f"/web/index.html#/spaces/{space['id']}")
        subscribe = fan.page.get_by_role("button", name="Subscribe to hank (2.99 USD a month)")
        expect(subscribe).to_be_visible()
        expect(fan.page.locator("#my-status")).to_have_text("You are not in this Space.")
        shoot(artifacts, 34, "subscription-offered", fan)
        subscribe.click()

        # Then the sandbox's webhook makes it active and the listener is in
        expect(fan.page.locator("#subscription-status")).to_have_text("You subscribed to hank.")
        expect(fan.page.locator("#my-status")).to_have_text("You are a listener.")
        shoot(artifacts, 35, "subscribed-joined", fan)
        assert fan.refused == [] and fan.page_errors == [], (fan.refused, fan.page_errors)
    finally:
        call(web_stack, "hank", "POST", f"/spaces/{space['id']}/end")
