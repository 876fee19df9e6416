"""Idempotency-Key on the routes that send notifications: a replay returns the first response."""
from datetime import datetime, timedelta, timezone

import pytest


def tomorrow():
    return (datetime.now(timezone.utc) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_replaying_a_create_returns_the_same_space_and_creates_one(api, deps, host):
    body = {"title": "Once", "scheduled_start": tomorrow()}
    first = api.post("/spaces", host, body, headers={"Idempotency-Key": "create-1"})
    replay = api.post("/spaces", host, body, headers={"Idempotency-Key": "create-1"})

    assert first.status_code == replay.status_code == 201
    assert replay.data == first.data
    other = api.post("/spaces", host, body, headers={"Idempotency-Key": "create-2"})
    assert other.data["id"] != first.data["id"]
    from chalicelib.adapters.dynamodb.models import SpaceModel

    assert SpaceModel.by_creator.count(host) == 2, "the replay created nothing"


def test_a_live_create_replayed_makes_one_stage(api, deps, host):
    first = api.post("/spaces", host, {"title": "Live once"}, headers={"Idempotency-Key": "live-1"})
    replay = api.post("/spaces", host, {"title": "Live once"}, headers={"Idempotency-Key": "live-1"})

    assert replay.status_code == 201 and replay.data["id"] == first.data["id"]
    assert len(deps.media.stages) == 1


def test_the_same_key_with_another_body_is_422(api, host):
    api.post("/spaces", host, {"title": "A", "scheduled_start": tomorrow()}, headers={"Idempotency-Key": "k"})

    response = api.post("/spaces", host, {"title": "B", "scheduled_start": tomorrow()}, headers={"Idempotency-Key": "k"})

    assert response.status_code == 422 and response.data["code"] == "idempotency_key_reused"


def test_keys_belong_to_their_user(api, host, new_user):
    other = new_user("other", followers=900)
    body = {"title": "Mine", "scheduled_start": tomorrow()}
    mine = api.post("/spaces", host, body, headers={"Idempotency-Key": "shared"})
    theirs = api.post("/spaces", other, body, headers={"Idempotency-Key": "shared"})

    assert theirs.status_code == 201 and theirs.data["id"] != mine.data["id"]
    assert theirs.data["creator_id"] == other


def test_a_failed_request_is_not_remembered(api, deps, host):
    deps.media.fail_next("create_stage")
    failed = api.post("/spaces", host, {"title": "Retry me"}, headers={"Idempotency-Key": "retry"})
    assert failed.status_code == 503

    retried = api.post("/spaces", host, {"title": "Retry me"}, headers={"Idempotency-Key": "retry"})

    assert retried.status_code == 201


def test_a_replayed_cancel_returns_the_first_answer(api, host):
    space = api.post("/spaces", host, {"title": "C", "scheduled_start": tomorrow()}).data
    first = api.post(f"/spaces/{space['id']}/cancel", host, headers={"Idempotency-Key": "cancel-1"})
    replay = api.post(f"/spaces/{space['id']}/cancel", host, headers={"Idempotency-Key": "cancel-1"})

    assert first.status_code == replay.status_code == 200
    assert replay.data == first.data


def test_a_malformed_key_is_400(api, host):
    response = api.post("/spaces", host, {"title": "x"}, headers={"Idempotency-Key": "x" * 300})
    assert response.status_code == 400 and response.data["code"] == "invalid_idempotency_key"


# ------------------------------------------- a key belongs to one request: path and body included
# Every route that takes an Idempotency-Key (grep `idempotent(` in chalicelib/api) is walked here
# with the key reused on another target: the answer is 422, and the second target is untouched.


def _reused(response):
    return (response.status_code, (response.data or {}).get("code")) == (422, "idempotency_key_reused")


@pytest.mark.parametrize("action", ["cancel", "start"])
def test_a_key_reused_on_another_space_is_422_and_changes_nothing_there(api, host, action):
    """Cancel S1 then S2 with the same key; start S3 then S4: the second Space stays scheduled."""
    first = api.post("/spaces", host, {"title": "first", "scheduled_start": tomorrow()}).data
    other = api.post("/spaces", host, {"title": "other", "scheduled_start": tomorrow()}).data
    assert api.post(f"/spaces/{first['id']}/{action}", host, headers={"Idempotency-Key": "K"}).status_code == 200

    second = api.post(f"/spaces/{other['id']}/{action}", host, headers={"Idempotency-Key": "K"})

    assert _reused(second), second.data
    assert api.get(f"/spaces/{other['id']}", host).data["state"] == "scheduled"


def test_a_create_key_reused_on_another_route_is_422(api, host):
    created = api.post("/spaces", host, {"title": "Once", "scheduled_start": tomorrow()}, headers={"Idempotency-Key": "K"})
    assert created.status_code == 201

    cancel = api.post(f"/spaces/{created.data['id']}/cancel", host, headers={"Idempotency-Key": "K"})

    assert _reused(cancel), cancel.data
    assert api.get(f"/spaces/{created.data['id']}", host).data["state"] == "scheduled"


def test_a_ticket_key_reused_on_another_space_is_422_and_holds_nothing(api, deps, new_user):
    from bench.oversell import make_seller
    from chalicelib.adapters.dynamodb.models import TicketModel

    seller, buyer = make_seller(deps), new_user("buyer")
    offer = {"access": "ticketed", "ticket": {"price_cents": 499, "currency": "USD", "capacity": 5}, "scheduled_start": tomorrow()}
    t1 = api.post("/spaces", seller, {"title": "T1", **offer}).data
    t2 = api.post("/spaces", seller, {"title": "T2", **offer}).data
    assert api.post(f"/spaces/{t1['id']}/tickets", buyer, {}, headers={"Idempotency-Key": "K"}).status_code == 201

    second = api.post(f"/spaces/{t2['id']}/tickets", buyer, {}, headers={"Idempotency-Key": "K"})

    assert _reused(second), second.data
    assert TicketModel.count(t2["id"]) == 0


def test_a_subscription_key_reused_on_another_creator_is_422(api, new_user):
    fan, alice, carol = new_user("fan"), new_user("alice"), new_user("carol")
    first = api.post(f"/users/{alice}/subscription", fan, {"tier": "tier_2"}, headers={"Idempotency-Key": "K"})
    assert first.status_code == 201 and first.data["subscription"]["creator_id"] == alice

    second = api.post(f"/users/{carol}/subscription", fan, {"tier": "tier_2"}, headers={"Idempotency-Key": "K"})

    assert _reused(second), second.data
    # carol has no subscriber: a fresh subscribe (another key) is accepted, not "already subscribed".
    fresh = api.post(f"/users/{carol}/subscription", fan, {"tier": "tier_2"}, headers={"Idempotency-Key": "K2"})
    assert fresh.status_code == 201 and fresh.data["subscription"]["creator_id"] == carol


def test_a_replay_of_the_same_json_in_another_key_order_replays(api, host):
    when = tomorrow()
    first = api.post(
        "/spaces", host, '{"title": "Order", "topics": ["music"], "scheduled_start": "%s"}' % when,
        headers={"Idempotency-Key": "K"},
    )
    body = first.data
    replay = api.post(
        "/spaces", host, '{ "scheduled_start":"%s",\n "topics":["music"],"title":"Order" }' % when,
        headers={"Idempotency-Key": "K"},
    )

    assert first.status_code == 201 and (replay.status_code, replay.data) == (201, body)
