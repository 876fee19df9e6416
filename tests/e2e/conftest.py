"""Browser tests of the web client: Debian's chromium driven by Playwright against a whole local
stack on free ports (tests/support/local_stack.py), every request outside 127.0.0.1 refused.

`make test` installs what they need: chromium (`make chromium`) and the npm build (`make web`).
Screenshots of each step go to .local/e2e-artifacts/<run>/ (the path is printed).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.support.local_stack import ROOT, running_local_stack
from tests.support.openapi_responses import browser_drift

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
]
# Generous: other engineers' test runs share this 2-core machine. Expectations auto-wait up to
# this long; nothing here fails because something took a while.
WAIT_MS = 90_000
DEMO_USERS = "alice,bob,carol,dave,erin,frank,gina,hank"


@pytest.fixture(scope="session")
def web_stack(tmp_path_factory):
    with running_local_stack(
        tmp_path_factory.mktemp("web-stack"), extra_env={"SPACES_LOCAL_DEMO_USERS": DEMO_USERS}, with_worker=True
    ) as stack:
        yield stack


@pytest.fixture(scope="session")
def chat_stack(tmp_path_factory):
    """A second stack whose room events go over IVS Chat, to the emulator (fake_ivs_chat.py)."""
    with running_local_stack(
        tmp_path_factory.mktemp("chat-stack"), extra_env={"SPACES_LOCAL_DEMO_USERS": DEMO_USERS}, with_fake_chat=True
    ) as stack:
        yield stack


@pytest.fixture(scope="session")
def pw():
    """The one Playwright driver of the session (one per thread is all Playwright allows): every
    browser of these tests is launched from it."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(pw):
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium` (apt-get install -y chromium)")
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    run = time.strftime("%Y%m%d-%H%M%S") + f"-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    directory = ROOT / ".local" / "e2e-artifacts" / run
    directory.mkdir(parents=True, exist_ok=True)
    print(f"\nbrowser test screenshots: {directory}")
    return directory


@dataclass
class Person:
    """One person: a browser context of their own (own storage, own token) and a page."""

    name: str
    page: object
    context: object
    # Requests the page tried to send anywhere but 127.0.0.1 (aborted), and every URL it asked for.
    refused: list[str] = field(default_factory=list)
    requested: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    # API answers the page received that openapi.yaml does not allow (checked as they arrive).
    drift: list[str] = field(default_factory=list)


@pytest.fixture
def people(browser, web_stack):
    yield from _people(browser, web_stack)


@pytest.fixture
def chat_people(browser, chat_stack):
    """`people`, on the stack whose room events go over IVS Chat."""
    yield from _people(browser, chat_stack)


def _end_what_they_host(stack, person: Person) -> None:
    """The stack lives for the session and a host may host one live Space at a time: a test that
    leaves its Space live (its page still on it) would make the next test with that host answer
    409 host_already_live. End it as that person; a listener's end is refused (403), a Space
    already ended answers 409, and both are fine here."""
    url = person.page.url
    if "#/spaces/" in url:
        space_id = url.rsplit("/", 1)[-1].split("?")[0]
        stack.request("POST", f"/spaces/{space_id}/end", person.name)


def _people(browser, stack):
    made: list[Person] = []

    def open_as(name: str) -> Person:
        context = browser.new_context(base_url=stack.base_url)
        context.set_default_timeout(WAIT_MS)
        page = context.new_page()
        person = Person(name, page, context)

        def only_loopback(route):
            url = route.request.url
            person.requested.append(url)
            if urlparse(url).hostname != "127.0.0.1":
                person.refused.append(url)
                route.abort()
            else:
                route.continue_()

        context.route("**/*", only_loopback)
        page.on("pageerror", lambda error: person.page_errors.append(str(error)))
        context.on("response", lambda response: person.drift.extend(browser_drift(response, stack.base_url)))
        made.append(person)
        return person

    yield open_as
    for person in made:
        _end_what_they_host(stack, person)
        person.context.close()
    drift = [f"{person.name}: {entry}" for person in made for entry in person.drift]
    if drift:
        pytest.fail("the web client received answers openapi.yaml does not allow:\n" + "\n\n".join(drift))

