"""Incognito listening and the listener list in three browsers (docs/people.md): a host, a listener
everyone sees and a listener who ticked "Listen incognito". The host's page lists the first and
not the second, counts both, says one listens incognito, and invites a listener from the list;
the other listener's page does not show the incognito one either, and the incognito listener's
reaction names nobody. Nothing is loaded from outside 127.0.0.1.
"""
from __future__ import annotations

import pytest

from tests.e2e.test_web_client import shoot, sign_in

pytestmark = pytest.mark.slow

TITLE = "Who is listening"


def test_an_incognito_listener_is_counted_but_absent_from_every_list_of_people(people, artifacts):
    from playwright.sync_api import expect

    host, seen, hidden = people("gina"), people("hank"), people("carol")

    sign_in(host)
    host.page.get_by_label("Title").fill(TITLE)
    host.page.get_by_role("button", name="Create Space").click()
    expect(host.page.locator("#my-status")).to_have_text("You are the host.")

    sign_in(seen)
    seen.page.get_by_role("link", name=TITLE).click()
    expect(seen.page.locator("#my-status")).to_have_text("You are a listener.")

    # The third listener ticks "Listen incognito" before opening the Space
    sign_in(hidden)
    hidden.page.get_by_label("Listen incognito").check()
    hidden.page.get_by_role("link", name=TITLE).click()
    expect(hidden.page.locator("#my-status")).to_have_text(
        "You are a listener. You listen incognito: counted, not shown."
    )

    # The host counts both, lists only the one everyone sees, and knows one listens incognito
    expect(host.page.locator("#listener-count")).to_have_text("Listeners: 2")
    expect(host.page.locator("#incognito-count")).to_contain_text("1 of them listening incognito")
    expect(host.page.locator("#listeners")).to_contain_text("hank")
    expect(host.page.locator("#listeners")).not_to_contain_text("carol")
    # Another listener's page does not show the incognito listener either, nor how many there are
    expect(seen.page.locator("#listeners")).to_contain_text("hank")
    expect(seen.page.locator("#listeners")).not_to_contain_text("carol")
    expect(seen.page.locator("#incognito-count")).to_have_count(0)
    shoot(artifacts, 1, "incognito", host, seen, hidden)

    # The incognito listener reacts: everyone sees the reaction, nobody learns who sent it
    hidden.page.get_by_role("button", name="React with fire").click()
    for person in (host, seen, hidden):
        expect(person.page.locator("#reaction-feed")).to_contain_text("🔥 someone")
        expect(person.page.locator("#reaction-feed")).not_to_contain_text("carol")

    # The host invites a listener to speak from the list
    host.page.get_by_role("button", name="Invite hank to speak").click()
    expect(seen.page.get_by_role("button", name="Accept invitation and speak")).to_be_visible()

    for person in (host, seen, hidden):
        assert person.refused == [], f"{person.name} asked outside 127.0.0.1: {person.refused}"
        assert person.page_errors == [], f"{person.name}: {person.page_errors}"
