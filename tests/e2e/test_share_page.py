"""A Space's share page (GET /s/{id}) in Chromium: what a chat app's crawler reads (no scripts, no
token), and what a person's browser does with the link (opens the web client on that Space)."""
from __future__ import annotations

import re

import pytest

from tests.e2e.test_web_client import sign_in

pytestmark = pytest.mark.slow

TITLE = """"><script>alert("x")</script> Carol's "AMA" & friends"""


def test_a_crawler_reads_the_tags_and_a_person_is_taken_to_the_space(browser, web_stack, people):
    from playwright.sync_api import expect

    created = web_stack.request("POST", "/spaces", "carol", json={"title": TITLE})
    assert created.status_code == 201, created.text
    space = created.json()
    try:
        assert web_stack.request("POST", f"/spaces/{space['id']}/join", "gina").status_code == 200

        # A crawler: no token, no scripts (what chat apps' link fetchers are)
        crawler = browser.new_context(base_url=web_stack.base_url, java_script_enabled=False)
        dialogs = []
        try:
            page = crawler.new_page()
            page.on("dialog", lambda dialog: dialogs.append(dialog.message))
            response = page.goto(f"/s/{space['id']}")
            assert response.status == 200 and response.headers["content-type"].startswith("text/html")

            def meta(name: str) -> str:
                return page.locator(f'meta[property="{name}"], meta[name="{name}"]').get_attribute("content")

            assert meta("og:title") == TITLE and meta("twitter:title") == TITLE
            assert meta("twitter:card") == "summary"
            assert meta("spaces:host") == "carol"
            assert meta("spaces:state") == "live"
            assert meta("spaces:start_time") == space["started_at"]
            assert re.fullmatch(r"\d+", meta("spaces:listener_count"))
            assert page.locator("h1").inner_text() == TITLE
            link = page.locator("a#open")
            assert link.get_attribute("href") == f"/web/index.html#/spaces/{space['id']}"
            # Following the link leads to the web client's page for that Space
            link.click()
            expect(page).to_have_url(re.compile(rf"/web/index\.html#/spaces/{space['id']}$"))
            assert dialogs == []
        finally:
            crawler.close()

        # A person: the page's script takes them to the web client, open on that Space
        frank = people("frank")
        sign_in(frank)
        frank.page.on("dialog", lambda dialog: dialogs.append(dialog.message))
        frank.page.goto(f"/s/{space['id']}")
        expect(frank.page).to_have_url(re.compile(rf"/web/index\.html#/spaces/{space['id']}$"))
        expect(frank.page.locator("#space-title")).to_contain_text(TITLE)
        expect(frank.page.locator("#my-status")).to_have_text("You are a listener.")
        assert dialogs == []
        assert frank.refused == [] and frank.page_errors == []
    finally:
        web_stack.request("POST", f"/spaces/{space['id']}/end", "carol")
