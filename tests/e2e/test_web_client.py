"""A Space in three browsers: a host and two listeners, each in a browser context of their own.

The host starts a Space; a listener raises a hand, the host approves and the listener's page shows
them as a speaker without reloading; the host removes the other listener, whose page says so; the
host ends the Space and every page shows it. Nothing is loaded from outside 127.0.0.1.
"""
from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.slow

TITLE = "Browsers on stage"


def shoot(artifacts, step: int, label: str, *people) -> None:
    for person in people:
        person.page.screenshot(path=str(artifacts / f"{step:02d}-{label}-{person.name}.png"), full_page=True)


def sign_in(person, *, with_button: bool = True) -> None:
    from playwright.sync_api import expect

    page = person.page
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/web/index\.html$"))
    if with_button:
        page.get_by_role("button", name=f"Sign in as {person.name}", exact=True).click()
    else:
        page.get_by_label("Or any user id").fill(person.name)
        page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.locator("#signed-in-as")).to_have_text(f"Signed in as {person.name}")


def test_host_and_listeners_share_a_space_from_start_to_end(people, artifacts):
    from playwright.sync_api import expect

    host, speaker, removed = people("erin"), people("dave"), people("frank")

    # Given a host who starts a live Space from the page
    sign_in(host)
    host.page.get_by_label("Title").fill(TITLE)
    host.page.get_by_label("Topics").fill("tech")
    host.page.get_by_role("button", name="Create Space").click()
    expect(host.page.locator("#my-status")).to_have_text("You are the host.")
    expect(host.page.locator("#audio-status")).to_contain_text("the join gave no media endpoint")
    shoot(artifacts, 1, "host-started", host)

    # And two listeners who find it among the live Spaces and join
    sign_in(speaker)
    sign_in(removed, with_button=False)
    for listener in (speaker, removed):
        listener.page.get_by_role("link", name=TITLE).click()
        expect(listener.page.locator("#my-status")).to_have_text("You are a listener.")
    expect(host.page.locator("#listener-count")).to_have_text("Listeners: 2")
    shoot(artifacts, 2, "listeners-joined", host, speaker, removed)

    # When a listener raises a hand and the host approves it
    speaker.page.get_by_role("button", name="Raise hand").click()
    expect(speaker.page.locator("#my-status")).to_have_text("You are a listener. Your hand is raised.")
    approve = host.page.get_by_role("button", name="Approve dave")
    expect(approve).to_be_visible()
    shoot(artifacts, 3, "hand-raised", host, speaker)
    approve.click()

    # Then the listener's page shows them on stage, without a reload, and says so to screen readers
    expect(speaker.page.locator("#my-status")).to_have_text("You are a speaker.")
    expect(speaker.page.locator("#announcer")).to_have_text("You are now a speaker.")
    expect(host.page.locator("#speakers")).to_contain_text("dave")
    expect(removed.page.locator("#speakers")).to_contain_text("dave")
    shoot(artifacts, 4, "speaker-on-stage", host, speaker, removed)

    # When the host removes the other listener
    host.page.get_by_label("User id").fill("frank")
    host.page.get_by_role("button", name="Remove from Space").click()

    # Then that listener's page says they were removed
    expect(removed.page.get_by_role("alert")).to_have_text("You were removed from this Space.")
    expect(removed.page.locator("#announcer")).to_have_text("You were removed from this Space.")
    expect(host.page.locator("#listener-count")).to_have_text("Listeners: 0")
    shoot(artifacts, 5, "listener-removed", host, removed)

    # When the host ends the Space, every page shows it
    host.page.get_by_role("button", name="End Space").click()
    for person in (host, speaker, removed):
        expect(person.page.get_by_role("alert")).to_contain_text("The Space has ended.")
        expect(person.page.locator("#announcer")).to_have_text("The Space has ended.")
    shoot(artifacts, 6, "space-ended", host, speaker, removed)

    # And the pages learned of changes from the room events (a long-poll), not only by polling
    for person in (host, speaker):
        assert any("/events?after=" in u for u in person.requested), f"{person.name} never read room events"

    # And nothing was fetched from anywhere but 127.0.0.1; the IVS SDK was not even loaded
    for person in (host, speaker, removed):
        assert person.refused == [], f"{person.name}'s page tried to reach {person.refused}"
        assert person.requested, "the network guard saw no request at all"
        assert not [u for u in person.requested if "amazon-ivs-web-broadcast" in u]
        assert person.page_errors == [], f"{person.name}'s page raised {person.page_errors}"


def test_scheduled_space_reminder_invitation_and_mute_from_the_keyboard(people, artifacts):
    from playwright.sync_api import expect

    host, guest = people("alice"), people("bob")
    sign_in(host)
    sign_in(guest)

    # Given a Space the host schedules for later
    host.page.get_by_label("Title").fill("Planned talk")
    tomorrow = host.page.evaluate(
        "() => { const d = new Date(Date.now() + 86400000); d.setSeconds(0, 0);"
        " return new Date(d - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16); }"
    )
    host.page.get_by_label("Start later").fill(tomorrow)
    host.page.get_by_role("button", name="Create Space").click()
    expect(host.page.locator("#my-status")).to_have_text("This Space has not started yet.")

    # When a guest finds it among the upcoming Spaces and sets a reminder with the keyboard
    # (bob follows nobody: with "Only people I follow" the host's Space is not listed)
    guest.page.get_by_role("checkbox", name="Only people I follow").check()
    guest.page.get_by_role("button", name="Show", exact=True).click()
    expect(guest.page.locator("#scheduled-spaces")).to_have_text("None right now.")
    guest.page.get_by_role("checkbox", name="Only people I follow").uncheck()
    guest.page.get_by_role("button", name="Show", exact=True).click()
    guest.page.locator("#scheduled-spaces").get_by_role("link", name="Planned talk").click()
    guest.page.get_by_role("button", name="Set reminder").focus()
    guest.page.keyboard.press("Enter")
    expect(guest.page.get_by_role("button", name="Clear reminder")).to_be_visible()
    shoot(artifacts, 11, "reminder-set", host, guest)

    # And the host starts it; the guest's open page sees it go live and joins
    host.page.get_by_role("button", name="Start now").click()
    expect(host.page.locator("#my-status")).to_have_text("You are the host.")
    guest.page.get_by_role("button", name="Join", exact=True).click()
    expect(guest.page.locator("#my-status")).to_have_text("You are a listener.")

    # When the host invites the guest (who did not raise a hand), the guest accepts
    host.page.get_by_label("User id").fill("bob")
    host.page.get_by_label("User id").press("Enter")
    accept = guest.page.get_by_role("button", name="Accept invitation and speak")
    expect(accept).to_be_visible()
    expect(guest.page.locator("#announcer")).to_contain_text("A host invited you to speak")
    shoot(artifacts, 12, "invited", guest)
    accept.focus()
    guest.page.keyboard.press("Enter")
    expect(guest.page.locator("#my-status")).to_have_text("You are a speaker.")

    # And when the host mutes the speaker, the speaker's page says so
    host.page.get_by_role("button", name="Mute bob").click()
    expect(guest.page.locator("#my-status")).to_have_text("You are a speaker. A host muted you.")
    expect(guest.page.locator("#announcer")).to_have_text("A host muted your microphone.")
    expect(host.page.locator("#speakers")).to_contain_text("bob · muted")
    shoot(artifacts, 13, "muted", host, guest)

    host.page.get_by_role("button", name="End Space").click()
    expect(guest.page.get_by_role("alert")).to_have_text("The Space has ended.")
    for person in (host, guest):
        assert person.refused == [] and person.page_errors == [], (person.refused, person.page_errors)
