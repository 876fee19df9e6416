"""A pinned post in real browsers: the host pins a link from the page, a listener's page shows it
as a link that opens apart from the page (rel=noopener), with its text as text, never as markup;
unpinning takes it off the listener's page."""
from __future__ import annotations

import pytest

from tests.e2e.test_room_live import space_id_of
from tests.e2e.test_web_client import shoot, sign_in

pytestmark = pytest.mark.slow


def test_a_pinned_link_appears_on_a_listeners_page(people, web_stack, artifacts):
    from playwright.sync_api import expect

    host, listener = people("hank"), people("bob")

    # Given a live Space with a listener
    sign_in(host)
    host.page.get_by_label("Title").fill("Show notes pinned")
    host.page.get_by_role("button", name="Create Space").click()
    expect(host.page.locator("#my-status")).to_have_text("You are the host.")
    space_id = space_id_of(host.page)
    sign_in(listener)
    listener.page.goto(f"/web/index.html#/spaces/{space_id}")
    expect(listener.page.locator("#my-status")).to_have_text("You are a listener.")
    expect(listener.page.locator("#pinned")).to_have_count(0)

    # When the host pins a link whose text looks like markup
    host.page.get_by_label("Link", exact=True).fill("https://example.com/notes?ep=12")
    host.page.get_by_label("Text", exact=True).fill("<b>Show notes</b>")
    host.page.get_by_role("button", name="Pin", exact=True).click()

    # Then the listener's page shows it: a link, its text as typed, opened with noopener
    link = listener.page.locator("#pinned-link")
    expect(link).to_have_text("<b>Show notes</b>")
    expect(link).to_have_attribute("href", "https://example.com/notes?ep=12")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    assert listener.page.locator("#pinned b").count() == 0  # nothing parsed as HTML
    expect(host.page.locator("#pinned-link")).to_have_text("<b>Show notes</b>")
    shoot(artifacts, 61, "pinned-link", host, listener)

    # And when the host unpins it, it goes from the listener's page
    host.page.get_by_role("button", name="Unpin").click()
    expect(listener.page.locator("#pinned")).to_have_count(0)
    for person in (host, listener):
        assert person.refused == [], f"{person.name}'s page tried to reach {person.refused}"
        assert person.page_errors == [], f"{person.name}'s page raised {person.page_errors}"
