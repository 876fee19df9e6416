"""Idempotency-Key on the routes that send notifications: a replay returns the first response."""
from datetime import datetime, timedelta, timezone


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
