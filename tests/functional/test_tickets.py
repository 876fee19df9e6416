"""Ticketed and subscriber-only Spaces through the HTTP API, with a payment provider the test
drives (tests/support/payments.py): holds, webhooks, the media gate, cancel and refund."""
from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest

from chalicelib.adapters.dynamodb.models import TicketModel
from chalicelib.domain.spaces import iso, utcnow

pytestmark = pytest.mark.usefixtures("deps")


@pytest.fixture
def seller(deps):
    """A host who may sell tickets: enough followers, 3 Spaces hosted in the last 30 days."""
    from bench.oversell import make_seller

    return make_seller(deps)


def ticketed(api, seller, *, capacity=50, price=499, scheduled=True, **extra):
    body = {"title": "Ticketed talk", "access": "ticketed", "ticket": {"price_cents": price, "currency": "USD", "capacity": capacity}, **extra}
    if scheduled:
        body["scheduled_start"] = iso(utcnow() + timedelta(days=1))
    response = api.post("/spaces", seller, body)
    assert response.status_code == 201, response.data
    return response.data


def buy(api, space_id, buyer, key=None, body=None):
    return api.post(
        f"/spaces/{space_id}/tickets", buyer, body if body is not None else {},
        headers={"Idempotency-Key": key or uuid.uuid4().hex},
    )


def settle(api, deps, payment_id, kind="payment_succeeded"):
    payload, headers = deps.payments.webhook(payment_id, kind)
    response = api.call("POST", "/webhooks/payments", None, payload, headers=headers)
    assert response.status_code == 200, response.data
    return response


# ---------------------------------------------------------------- creating a ticketed Space


def test_a_ticketed_space_shows_its_offer_and_sales(api, seller):
    space = ticketed(api, seller, capacity=50, price=1500)
    assert space["access"] == "ticketed" and space["is_ticketed"] is True
    assert space["ticket"] == {"price_cents": 1500, "currency": "USD", "capacity": 50, "sold": 0, "remaining": 50}


@pytest.mark.parametrize(
    "ticket, status, code",
    [
        ({"price_cents": 99, "currency": "USD", "capacity": 10}, 422, "price_out_of_range"),
        ({"price_cents": 100_000, "currency": "USD", "capacity": 10}, 422, "price_out_of_range"),
        ({"price_cents": 500, "currency": "USD", "capacity": 0}, 422, "capacity_out_of_range"),
        ({"price_cents": 500, "currency": "EUR", "capacity": 10}, 422, "currency_not_supported"),
        ({"price_cents": "5", "currency": "USD", "capacity": 10}, 400, "invalid_ticket"),
        ({"price_cents": 5.5, "currency": "USD", "capacity": 10}, 400, "invalid_ticket"),
        ({"price_cents": True, "currency": "USD", "capacity": 10}, 400, "invalid_ticket"),
        (None, 400, "invalid_ticket"),
    ],
)
def test_a_bad_offer_is_refused_and_creates_nothing(api, seller, ticket, status, code):
    body = {"title": "x", "access": "ticketed", "scheduled_start": iso(utcnow() + timedelta(days=1))}
    if ticket is not None:
        body["ticket"] = ticket
    response = api.post("/spaces", seller, body)
    assert (response.status_code, response.data["code"]) == (status, code)
    assert api.get(f"/spaces?host_id={seller}&state=scheduled", seller).data["spaces"] == []


def test_only_hosts_with_the_ticketed_record_may_sell(api, host):
    response = api.post("/spaces", host, {"title": "x", "access": "ticketed", "ticket": {"price_cents": 500, "currency": "USD", "capacity": 5}})
    assert (response.status_code, response.data["code"]) == (422, "not_eligible_to_sell_tickets")
    assert api.get(f"/users/{host}", host).data["can_host_ticketed"] is False


def test_a_ticket_offer_on_a_public_space_is_refused(api, host):
    response = api.post("/spaces", host, {"title": "x", "ticket": {"price_cents": 500, "currency": "USD", "capacity": 5}})
    assert (response.status_code, response.data["code"]) == (400, "invalid_ticket")


def test_a_ticketed_space_cannot_be_rescheduled(api, seller):
    space = ticketed(api, seller)
    response = api.patch(f"/spaces/{space['id']}", seller, {"scheduled_start": iso(utcnow() + timedelta(days=2))})
    assert (response.status_code, response.data["code"]) == (422, "ticketed_reschedule_not_allowed")
    assert api.get(f"/spaces/{space['id']}", seller).data["scheduled_start"] == space["scheduled_start"]


# ---------------------------------------------------------------- buying


def test_buying_holds_a_seat_and_the_webhook_makes_it_paid(api, deps, seller, new_user):
    space = ticketed(api, seller, capacity=2, price=700)
    buyer = new_user("buyer")
    response = buy(api, space["id"], buyer)
    assert response.status_code == 201, response.data
    ticket, payment = response.data["ticket"], response.data["payment"]
    assert ticket["status"] == "held" and ticket["hold_expires_at"]
    assert payment["amount_cents"] == 700 and payment["currency"] == "USD" and payment["client_secret"]
    sales = api.get(f"/spaces/{space['id']}/tickets", seller).data
    assert (sales["held"], sales["sold"], sales["remaining"]) == (1, 0, 1)

    settle(api, deps, payment["payment_id"])

    mine = api.get("/me/tickets", buyer).data["tickets"]
    assert [(t["space_id"], t["status"]) for t in mine] == [(space["id"], "paid")]
    sales = api.get(f"/spaces/{space['id']}/tickets", seller).data
    assert (sales["held"], sales["sold"], sales["remaining"], sales["gross_cents"]) == (0, 1, 1, 700)
    assert api.get(f"/spaces/{space['id']}", buyer).data["ticket"]["sold"] == 1


def test_a_purchase_needs_an_idempotency_key(api, seller, new_user):
    space = ticketed(api, seller)
    response = api.post(f"/spaces/{space['id']}/tickets", new_user("b"), {})
    assert (response.status_code, response.data["code"]) == (400, "idempotency_key_required")


def test_replaying_a_purchase_returns_the_same_answer_with_one_hold_and_one_payment(api, deps, seller, new_user):
    space = ticketed(api, seller)
    buyer = new_user("buyer")
    answers = [buy(api, space["id"], buyer, key="same-key") for _ in range(10)]
    assert {a.status_code for a in answers} == {201}
    assert all(a.data == answers[0].data for a in answers)
    assert deps.payments.creates == 1
    assert len(list(TicketModel.query(space["id"]))) == 1
    assert api.get(f"/spaces/{space['id']}/tickets", seller).data["held"] == 1


def test_the_same_key_with_another_body_is_refused(api, seller, new_user):
    space = ticketed(api, seller)
    buyer = new_user("buyer")
    assert buy(api, space["id"], buyer, key="k1").status_code == 201
    again = buy(api, space["id"], buyer, key="k1", body={"payment_method": "pm_card_visa"})
    assert (again.status_code, again.data["code"]) == (422, "idempotency_key_reused")


def test_sold_out_is_a_clear_409(api, deps, seller, new_user):
    space = ticketed(api, seller, capacity=1)
    assert buy(api, space["id"], new_user("first")).status_code == 201
    response = buy(api, space["id"], new_user("second"))
    assert (response.status_code, response.data["code"]) == (409, "sold_out")
    assert deps.payments.creates == 1


def test_one_ticket_per_buyer(api, deps, seller, new_user):
    space = ticketed(api, seller)
    buyer = new_user("buyer")
    first = buy(api, space["id"], buyer).data
    assert (buy(api, space["id"], buyer).data["code"]) == "ticket_pending"
    settle(api, deps, first["payment"]["payment_id"])
    again = buy(api, space["id"], buyer)
    assert (again.status_code, again.data["code"]) == (409, "already_has_ticket")


def test_hosts_need_no_ticket(api, seller, new_user):
    cohost = new_user("cohost")
    space = ticketed(api, seller, cohost_ids=[cohost])
    assert buy(api, space["id"], seller).data["code"] == "ticket_not_needed"
    assert buy(api, space["id"], cohost).data["code"] == "ticket_not_needed"


def test_a_public_space_sells_no_tickets(api, host, new_user):
    space = api.post("/spaces", host, {"title": "free"}).data
    response = buy(api, space["id"], new_user("b"))
    assert (response.status_code, response.data["code"]) == (422, "not_ticketed")


def test_a_declined_card_frees_the_seat_and_may_be_retried(api, deps, seller, new_user):
    space = ticketed(api, seller, capacity=1)
    buyer = new_user("buyer")
    declined = buy(api, space["id"], buyer, body={"payment_method": "pm_card_chargeDeclined"})
    assert (declined.status_code, declined.data["code"]) == (422, "payment_declined")
    assert api.get(f"/spaces/{space['id']}/tickets", seller).data["remaining"] == 1
    assert buy(api, space["id"], buyer).status_code == 201


def test_a_failed_payment_webhook_returns_the_seat(api, deps, seller, new_user):
    space = ticketed(api, seller, capacity=1)
    buyer = new_user("buyer")
    payment = buy(api, space["id"], buyer).data["payment"]
    settle(api, deps, payment["payment_id"], "payment_failed")
    sales = api.get(f"/spaces/{space['id']}/tickets", seller).data
    assert (sales["held"], sales["remaining"]) == (0, 1)
    assert api.get("/me/tickets", buyer).data["tickets"][0]["status"] == "failed"


def test_a_provider_outage_fails_the_purchase_and_keeps_no_seat(api, deps, seller, new_user):
    from tests.support.payments import unavailable

    space = ticketed(api, seller, capacity=1)
    deps.payments.fail_next["create_payment"] = unavailable()
    response = buy(api, space["id"], new_user("buyer"), key="retry-me")
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert api.get(f"/spaces/{space['id']}/tickets", seller).data["remaining"] == 1


# ---------------------------------------------------------------- webhooks


def test_a_webhook_with_a_bad_signature_is_400_and_changes_nothing(api, deps, seller, new_user):
    space = ticketed(api, seller)
    payment = buy(api, space["id"], new_user("buyer")).data["payment"]
    payload, headers = deps.payments.webhook(payment["payment_id"])
    forged = api.call("POST", "/webhooks/payments", None, payload, headers={"x-fake-signature": "0" * 64})
    assert (forged.status_code, forged.data["code"]) == (400, "invalid_webhook_signature")
    changed = payload.replace(b"payment_intent.succeeded", b"payment_intent.payment_failed")
    assert changed != payload
    tampered = api.call("POST", "/webhooks/payments", None, changed, headers=headers)
    assert tampered.status_code == 400
    sales = api.get(f"/spaces/{space['id']}/tickets", seller).data
    assert (sales["held"], sales["sold"]) == (1, 0)


def test_a_webhook_delivered_twice_changes_state_once(api, deps, seller, new_user):
    space = ticketed(api, seller, price=300)
    payment = buy(api, space["id"], new_user("buyer")).data["payment"]
    first = settle(api, deps, payment["payment_id"])
    second = settle(api, deps, payment["payment_id"])
    assert (first.data["handled"], second.data["handled"]) == (True, False)
    sales = api.get(f"/spaces/{space['id']}/tickets", seller).data
    assert (sales["sold"], sales["gross_cents"]) == (1, 300)


def test_a_payment_after_the_hold_expired_takes_a_free_seat_back(api, deps, seller, new_user):
    from chalicelib.services import tickets

    space = ticketed(api, seller, capacity=1)
    buyer = new_user("buyer")
    payment = buy(api, space["id"], buyer).data["payment"]
    expire(deps, space["id"], buyer)
    assert api.get(f"/spaces/{space['id']}/tickets", seller).data["remaining"] == 1
    settle(api, deps, payment["payment_id"])
    sales = api.get(f"/spaces/{space['id']}/tickets", seller).data
    assert (sales["sold"], sales["remaining"]) == (1, 0)
    assert deps.payments.refunds == {}


def test_a_payment_after_the_hold_expired_is_refunded_when_the_seat_was_sold(api, deps, seller, new_user):
    from chalicelib.services import tickets

    space = ticketed(api, seller, capacity=1)
    late = new_user("late")
    payment = buy(api, space["id"], late).data["payment"]
    expire(deps, space["id"], late)
    other = buy(api, space["id"], new_user("other")).data["payment"]
    settle(api, deps, other["payment_id"])
    settle(api, deps, payment["payment_id"])
    assert list(deps.payments.refunds.values()) == [payment["payment_id"]]
    assert api.get("/me/tickets", late).data["tickets"][0]["status"] == "refunded"
    sales = api.get(f"/spaces/{space['id']}/tickets", seller).data
    assert (sales["sold"], sales["refunded"], sales["remaining"]) == (1, 1, 0)


def test_an_expiring_hold_whose_payment_went_through_is_settled_not_expired(api, deps, seller, new_user):
    from chalicelib.services import tickets

    space = ticketed(api, seller, capacity=1)
    buyer = new_user("buyer")
    payment = buy(api, space["id"], buyer).data["payment"]
    deps.payments.succeeded_remotely.add(payment["payment_id"])
    assert tickets.expire_hold(deps, space["id"], buyer, _later(deps)) is False
    assert api.get(f"/spaces/{space['id']}/tickets", seller).data["sold"] == 1


def _later(deps):
    return utcnow() + timedelta(seconds=deps.settings.ticket_hold_seconds + 1)


def expire(deps, space_id, buyer):
    """What the expiry job does for this test's hold once its time has passed. (The job itself
    sweeps every test's holds, so tests call it per hold; test_the_expiry_job_finds_... covers
    how the job finds them.)"""
    from chalicelib.services import tickets

    assert (space_id, buyer) in deps.tickets.expired_holds(_later(deps), limit=1000)
    assert tickets.expire_hold(deps, space_id, buyer, _later(deps)) is True


def test_an_unexpired_hold_is_not_let_go(api, deps, seller, new_user):
    from chalicelib.services import tickets

    space = ticketed(api, seller)
    buyer = new_user("buyer")
    buy(api, space["id"], buyer)
    assert (space["id"], buyer) not in deps.tickets.expired_holds(utcnow(), limit=1000)
    assert tickets.expire_hold(deps, space["id"], buyer, utcnow()) is False
    assert api.get(f"/spaces/{space['id']}/tickets", seller).data["held"] == 1


# ---------------------------------------------------------------- the media gate


def test_joining_a_ticketed_space_takes_a_paid_ticket(api, deps, seller, new_user):
    space = ticketed(api, seller, scheduled=False)
    buyer, stranger = new_user("buyer"), new_user("stranger")
    refused = api.post(f"/spaces/{space['id']}/join", stranger)
    assert (refused.status_code, refused.data["code"]) == (403, "ticket_required")
    assert "media" not in refused.data

    payment = buy(api, space["id"], buyer).data["payment"]
    held = api.post(f"/spaces/{space['id']}/join", buyer)
    assert (held.status_code, held.data["code"]) == (403, "ticket_required")
    settle(api, deps, payment["payment_id"])
    joined = api.post(f"/spaces/{space['id']}/join", buyer)
    assert joined.status_code == 200 and joined.data["media"]["token"]
    assert api.get(f"/spaces/{space['id']}", buyer).data["participant_count"] == 1


def test_a_join_without_a_ticket_is_403_before_its_body_is_judged(api, deps, seller, new_user):
    space = ticketed(api, seller, scheduled=False)
    stranger, buyer = new_user("stranger"), new_user("buyer")
    settle(api, deps, buy(api, space["id"], buyer).data["payment"]["payment_id"])
    bodies = {
        "invalid_recording_consent": {"recording_consent": "maybe"},
        "invalid_json": "{not json",
        "body_too_large": json.dumps({"recording_consent": True, "pad": "x" * 70_000}),
        "body_too_deep": "[" * 40 + "]" * 40,
    }
    for code, bad in bodies.items():
        refused = api.post(f"/spaces/{space['id']}/join", stranger, bad)
        assert (refused.status_code, refused.data["code"]) == (403, "ticket_required"), code

        # With a paid ticket the body is what is wrong, and nothing joined
        judged = api.post(f"/spaces/{space['id']}/join", buyer, bad)
        assert (judged.status_code, judged.data["code"]) == (400, code)
    assert api.get(f"/spaces/{space['id']}", buyer).data["participant_count"] == 0


def test_hosts_and_invited_speakers_join_a_ticketed_space_free(api, seller, new_user):
    cohost, invitee = new_user("cohost"), new_user("invitee")
    space = ticketed(api, seller, scheduled=False, cohost_ids=[cohost], speaker_ids=[invitee])
    for user in (seller, cohost, invitee):
        assert api.post(f"/spaces/{space['id']}/join", user).status_code == 200, user


# ---------------------------------------------------------------- cancel and refund


def test_canceling_refunds_every_paid_ticket_once_and_releases_holds(api, deps, seller, new_user):
    from chalicelib.domain.tickets import Refunds
    from chalicelib.jobs.tickets import process_ticket_job

    space = ticketed(api, seller, capacity=10, price=900)
    paid_buyers = [new_user("paid") for _ in range(3)]
    for buyer in paid_buyers:
        settle(api, deps, buy(api, space["id"], buyer).data["payment"]["payment_id"])
    holders = [new_user("holder") for _ in range(2)]
    held_payments = [buy(api, space["id"], h).data["payment"]["payment_id"] for h in holders]

    assert api.post(f"/spaces/{space['id']}/cancel", seller).status_code == 200
    jobs = [body for _, body in deps.tickets_queue.receive(max_messages=10, wait_seconds=0)]
    assert jobs == [{"kind": "refund_space", "space_id": space["id"]}]

    assert process_ticket_job(jobs[0]) == Refunds(refunded=3, released=2)
    # Redelivered (Lambda at-least-once) and retried by a client's second cancel: nothing more.
    assert process_ticket_job(jobs[0]) == Refunds(refunded=0, released=0)
    assert api.post(f"/spaces/{space['id']}/cancel", seller).status_code == 200

    assert len(deps.payments.refunds) == 3
    assert sorted(deps.payments.canceled) == sorted(held_payments)
    sales = api.get(f"/spaces/{space['id']}/tickets", seller).data
    assert (sales["sold"], sales["held"], sales["refunded"], sales["gross_cents"], sales["remaining"]) == (0, 0, 3, 0, 10)
    assert {t["status"] for t in sales["tickets"]} == {"refunded", "released"}
    # A payment for a released hold that arrives after the cancel is refunded too.
    settle(api, deps, held_payments[0])
    assert len(deps.payments.refunds) == 4


def test_a_refund_that_fails_midway_finishes_on_the_retry_without_refunding_twice(api, deps, seller, new_user):
    from chalicelib.domain.errors import DependencyFailed
    from chalicelib.services import tickets
    from tests.support.payments import unavailable

    space = ticketed(api, seller, capacity=5)
    for _ in range(3):
        settle(api, deps, buy(api, space["id"], new_user("paid")).data["payment"]["payment_id"])
    api.post(f"/spaces/{space['id']}/cancel", seller)
    deps.payments.fail_next["refund"] = unavailable()
    with pytest.raises(DependencyFailed):
        tickets.refund_space(deps, space["id"])
    tickets.refund_space(deps, space["id"])
    assert len(deps.payments.refunds) == 3
    sales = api.get(f"/spaces/{space['id']}/tickets", seller).data
    assert (sales["sold"], sales["refunded"]) == (0, 3)


def test_no_tickets_are_sold_for_a_canceled_space(api, seller, new_user):
    space = ticketed(api, seller)
    api.post(f"/spaces/{space['id']}/cancel", seller)
    response = buy(api, space["id"], new_user("late"))
    assert (response.status_code, response.data["code"]) == (409, "space_canceled")


def test_only_the_host_sees_sales(api, seller, new_user):
    space = ticketed(api, seller)
    response = api.get(f"/spaces/{space['id']}/tickets", new_user("nosy"))
    assert (response.status_code, response.data["code"]) == (403, "not_host")


def test_my_tickets_paginate(api, deps, seller, new_user):
    buyer = new_user("collector")
    spaces = [ticketed(api, seller) for _ in range(3)]
    for space in spaces:
        buy(api, space["id"], buyer)
    first = api.get("/me/tickets?limit=2", buyer).data
    second = api.get(f"/me/tickets?limit=2&cursor={first['next_cursor']}", buyer).data
    seen = [t["space_id"] for t in first["tickets"] + second["tickets"]]
    assert sorted(seen) == sorted(s["id"] for s in spaces) and second["next_cursor"] is None
    assert api.get("/me/tickets?cursor=garbage", buyer).status_code == 400


# ---------------------------------------------------------------- subscriptions


def test_a_subscriber_only_space_admits_active_subscribers(api, deps, host, new_user):
    space = api.post("/spaces", host, {"title": "For my subscribers", "access": "subscribers"}).data
    fan, stranger = new_user("fan"), new_user("stranger")
    refused = api.post(f"/spaces/{space['id']}/join", stranger)
    assert (refused.status_code, refused.data["code"]) == (403, "subscription_required")

    started = api.post(f"/users/{host}/subscription", fan, {"tier": "tier_2"})
    assert started.status_code == 201, started.data
    assert started.data["subscription"]["status"] == "pending"
    assert started.data["payment"]["amount_cents"] == 499
    assert api.post(f"/spaces/{space['id']}/join", fan).status_code == 403
    settle(api, deps, started.data["payment"]["payment_id"])
    assert api.post(f"/spaces/{space['id']}/join", fan).status_code == 200

    again = api.post(f"/users/{host}/subscription", fan, {"tier": "tier_2"})
    assert (again.status_code, again.data["code"]) == (409, "already_subscribed")
    canceled = api.delete(f"/users/{host}/subscription", fan)
    assert canceled.data["subscription"]["status"] == "canceled"
    # Canceling stops renewal; the paid month still admits.
    assert api.post(f"/spaces/{space['id']}/join", fan).status_code == 200


def test_a_join_without_a_subscription_is_403_before_its_body_is_judged(api, deps, host, new_user):
    space = api.post("/spaces", host, {"title": "For my subscribers", "access": "subscribers"}).data
    stranger, fan = new_user("stranger"), new_user("fan")
    bad = {"recording_consent": "maybe"}

    refused = api.post(f"/spaces/{space['id']}/join", stranger, bad)
    assert (refused.status_code, refused.data["code"]) == (403, "subscription_required")

    started = api.post(f"/users/{host}/subscription", fan, {"tier": "tier_2"}).data
    settle(api, deps, started["payment"]["payment_id"])
    judged = api.post(f"/spaces/{space['id']}/join", fan, bad)
    assert (judged.status_code, judged.data["code"]) == (400, "invalid_recording_consent")


def test_subscriptions_refuse_bad_tiers_and_oneself(api, host):
    assert api.post(f"/users/{host}/subscription", "someone", {"tier": "gold"}).data["code"] == "invalid_tier"
    # Found by the contract fuzzer: a tier that is not a string was a 500.
    for tier in ({}, [], 3, None):
        response = api.post(f"/users/{host}/subscription", "someone", {"tier": tier})
        assert (response.status_code, response.data["code"]) == (400, "invalid_tier"), tier
    assert api.post(f"/users/{host}/subscription", host, {}).data["code"] == "self_subscription"


def test_subscriber_only_and_ticketed_spaces_are_listed_as_locked(api, seller, host):
    ticketed(api, seller)
    listed = api.get(f"/spaces?host_id={seller}&state=scheduled", host).data["spaces"]
    assert [(s["access"], s["is_ticketed"]) for s in listed] == [("ticketed", True)]


def test_the_ticket_worker_lambda_refunds_a_canceled_space(api, deps, seller, new_user):
    from chalice.test import Client

    from app import app

    space = ticketed(api, seller)
    settle(api, deps, buy(api, space["id"], new_user("paid")).data["payment"]["payment_id"])
    api.post(f"/spaces/{space['id']}/cancel", seller)
    bodies = [body for _, body in deps.tickets_queue.receive(max_messages=10, wait_seconds=0)]
    import json

    with Client(app) as client:
        event = client.events.generate_sqs_event(message_bodies=[json.dumps(b) for b in bodies], queue_name="tickets")
        client.lambda_.invoke("ticket_worker", event)

    assert len(deps.payments.refunds) == 1
    assert api.get(f"/spaces/{space['id']}/tickets", seller).data["refunded"] == 1
