"""Buying a ticket from the web client: a ticketed live Space refuses a listener without a ticket,
the page sells one through the local stage's sandbox provider (its webhook confirms it a moment
later), and the buyer then joins. Nothing is loaded from outside 127.0.0.1."""
from __future__ import annotations

import pytest

from tests.e2e.test_web_client import shoot, sign_in

pytestmark = pytest.mark.slow


def create_ticketed_space(stack, host: str) -> dict:
    response = stack.request("POST", "/spaces", host, json={
        "title": "Paid in the browser", "access": "ticketed",
        "ticket": {"price_cents": 500, "currency": "USD", "capacity": 10},
    })
    assert response.status_code == 201, response.text[:500]
    return response.json()


def test_a_listener_buys_a_ticket_then_joins(people, web_stack, artifacts):
    from playwright.sync_api import expect

    # Given carol (she may sell tickets) hosts a live ticketed Space
    space = create_ticketed_space(web_stack, "carol")
    buyer = people("dave")
    sign_in(buyer)

    # When dave opens it: no ticket, so the page offers one instead of joining
    buyer.page.goto(f"/web/index.html#/spaces/{space['id']}")
    expect(buyer.page.locator("#ticket-offer")).to_have_text("5.00 USD · 10 of 10 left")
    shoot(artifacts, 21, "ticket-offered", buyer)
    buyer.page.get_by_role("button", name="Buy a ticket (5.00 USD)").click()

    # Then the sandbox's webhook makes it paid, and dave is in the Space as a listener
    expect(buyer.page.locator("#ticket-status")).to_have_text("You have a ticket.")
    expect(buyer.page.locator("#my-status")).to_have_text("You are a listener.")
    expect(buyer.page.locator("#ticket-offer")).to_have_text("5.00 USD · 9 of 10 left")
    shoot(artifacts, 22, "ticket-paid-joined", buyer)
    assert buyer.refused == [], f"the page tried to reach {buyer.refused}"
    assert buyer.page_errors == [], f"the page raised {buyer.page_errors}"
