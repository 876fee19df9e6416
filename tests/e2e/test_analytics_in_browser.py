"""Host analytics on the host's page: the host opens the Analytics panel of their live Space and
sees the listeners who joined (folded from the participants stream by the local worker, as the
count fold's Lambda does in AWS); a listener's page has no such panel."""
from __future__ import annotations

import pytest

from tests.e2e.test_web_client import shoot, sign_in

pytestmark = pytest.mark.slow

TITLE = "Numbers in the browser"


def test_the_host_sees_the_analytics_and_a_listener_does_not(people, artifacts):
    from playwright.sync_api import expect

    host, listener = people("gina"), people("hank")
    sign_in(host)
    host.page.get_by_label("Title").fill(TITLE)
    host.page.get_by_role("button", name="Create Space").click()
    expect(host.page.locator("#my-status")).to_have_text("You are the host.")

    sign_in(listener)
    listener.page.get_by_role("link", name=TITLE).click()
    expect(listener.page.locator("#my-status")).to_have_text("You are a listener.")
    expect(host.page.locator("#listener-count")).to_have_text("Listeners: 1")  # the stream was folded

    host.page.locator("#analytics summary").click()
    unique = host.page.locator('#analytics td[data-metric="Unique listeners"]')
    expect(unique).to_be_visible()
    # The host and the listener; the local worker folds the stream every second: refresh until then.
    for _ in range(30):
        if unique.inner_text() == "2":
            break
        host.page.locator("#analytics-refresh").click()
        host.page.wait_for_timeout(1000)
    expect(unique).to_have_text("2")
    expect(host.page.locator('#analytics td[data-metric="Peak concurrent listeners"]')).to_have_text("2")
    expect(host.page.locator("#analytics-body")).to_contain_text("Live, as of")
    shoot(artifacts, 1, "analytics", host, listener)

    expect(listener.page.locator("#analytics")).to_be_hidden()
    for person in (host, listener):
        assert person.page_errors == [], f"{person.name}'s page raised {person.page_errors}"
