"""A Space's life through the HTTP contract: create, read, edit, start, end, cancel."""
from datetime import datetime, timedelta, timezone

import pytest


def in_days(days: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_host_with_enough_followers_opens_a_live_space_with_a_stage(api, deps, host):
    response = api.post("/spaces", host, {"title": "Morning show", "topics": ["tech", "News"]})

    assert response.status_code == 201
    space = response.data
    assert space["state"] == "live"
    assert space["creator_id"] == host
    assert space["host_ids"] == [host]
    assert space["speaker_ids"] == [host]
    assert space["topics"] == ["tech", "news"]
    assert space["access"] == "public" and space["is_ticketed"] is False
    assert space["started_at"] is not None and space["ended_at"] is None
    assert len(deps.media.stages) == 1
    assert "SpaceStarted" in deps.telemetry.events


def test_a_user_below_the_follower_threshold_cannot_host(api, new_user):
    bob = new_user("bob", followers=599)

    response = api.post("/spaces", bob, {"title": "Hi"})

    assert response.status_code == 422
    assert response.data["code"] == "not_eligible_to_host"
    assert "600" in response.data["message"]


def test_the_host_threshold_is_a_setting(api, deps, new_user):
    from dataclasses import replace

    deps.settings = replace(deps.settings, host_min_followers=10)
    small = new_user("small", followers=12)

    assert api.post("/spaces", small, {"title": "Hi"}).status_code == 201


@pytest.mark.parametrize(
    "body, status, code",
    [
        ({}, 400, "invalid_title"),
        ({"title": "   "}, 400, "invalid_title"),
        ({"title": 42}, 400, "invalid_title"),
        ({"title": "x" * 141}, 422, "title_too_long"),
        ({"title": "t", "topics": ["a", "b", "c", "d"]}, 422, "too_many_topics"),
        ({"title": "t", "topics": "tech"}, 400, "invalid_topics"),
        ({"title": "t", "topics": ["not a slug!"]}, 400, "invalid_topics"),
        ({"title": "t", "scheduled_start": "tomorrow"}, 400, "invalid_time"),
        ({"title": "t", "scheduled_start": "2026-01-01T10:00:00"}, 400, "invalid_time"),
        ({"title": "t", "scheduled_start": "2020-01-01T10:00:00Z"}, 422, "scheduled_start_in_past"),
        ({"title": "t", "access": "vip"}, 400, "invalid_access"),
        ({"title": "t", "access": "ticketed"}, 400, "invalid_ticket"),
        ({"title": "t", "recording": "yes"}, 400, "invalid_recording"),
        ({"title": "t", "cohost_ids": ["a", "b", "c"]}, 422, "too_many_cohosts"),
        ({"title": "t", "cohost_ids": ["bad id!"]}, 400, "invalid_user_id"),
    ],
)
def test_bad_create_requests_get_a_clear_4xx_and_create_nothing(api, deps, host, body, status, code):
    response = api.post("/spaces", host, body)

    assert (response.status_code, response.data["code"]) == (status, code)
    assert deps.media.stages == {}


def test_a_body_that_is_not_json_is_400(api, host):
    response = api.post("/spaces", host, "{not json")
    assert response.status_code == 400 and response.data["code"] == "invalid_json"

    response = api.post("/spaces", host, "[1, 2]")
    assert response.status_code == 400 and response.data["code"] == "invalid_json"


def test_scheduling_is_limited_to_30_days_ahead(api, host):
    too_far = api.post("/spaces", host, {"title": "Later", "scheduled_start": in_days(31)})
    assert too_far.status_code == 422 and too_far.data["code"] == "scheduled_start_too_far"

    ok = api.post("/spaces", host, {"title": "Later", "scheduled_start": in_days(29)})
    assert ok.status_code == 201
    assert ok.data["state"] == "scheduled" and ok.data["started_at"] is None


def test_a_host_can_have_at_most_ten_scheduled_spaces(api, host):
    for n in range(10):
        assert api.post("/spaces", host, {"title": f"S{n}", "scheduled_start": in_days(1)}).status_code == 201

    eleventh = api.post("/spaces", host, {"title": "S10", "scheduled_start": in_days(1)})

    assert eleventh.status_code == 422 and eleventh.data["code"] == "too_many_scheduled"


def test_canceling_a_scheduled_space_frees_a_scheduling_slot(api, host):
    ids = [api.post("/spaces", host, {"title": f"S{n}", "scheduled_start": in_days(2)}).data["id"] for n in range(10)]
    assert api.post(f"/spaces/{ids[0]}/cancel", host).data["state"] == "canceled"

    assert api.post("/spaces", host, {"title": "again", "scheduled_start": in_days(2)}).status_code == 201


def test_a_host_has_one_live_space_at_a_time(api, deps, host):
    first = api.post("/spaces", host, {"title": "One"}).data

    second = api.post("/spaces", host, {"title": "Two"})

    assert second.status_code == 409 and second.data["code"] == "host_already_live"
    assert second.data["details"] == {"space_id": first["id"]}, "the client can find and end it"
    assert len(deps.media.stages) == 1, "the refused Space's stage was deleted again"


def test_starting_a_scheduled_space_provisions_its_stage(api, deps, host):
    space = api.post("/spaces", host, {"title": "Later", "scheduled_start": in_days(1)}).data
    assert deps.media.stages == {}

    started = api.post(f"/spaces/{space['id']}/start", host)

    assert started.status_code == 200 and started.data["state"] == "live"
    assert list(deps.media.stages.values()) == [space["id"]]


def test_starting_twice_is_409(api, host):
    space = api.post("/spaces", host, {"title": "Later", "scheduled_start": in_days(1)}).data
    api.post(f"/spaces/{space['id']}/start", host)

    again = api.post(f"/spaces/{space['id']}/start", host)

    assert again.status_code == 409 and again.data["code"] == "space_live"


def test_a_canceled_space_cannot_start(api, deps, host):
    space = api.post("/spaces", host, {"title": "Later", "scheduled_start": in_days(1)}).data
    api.post(f"/spaces/{space['id']}/cancel", host)

    response = api.post(f"/spaces/{space['id']}/start", host)

    assert response.status_code == 409 and response.data["code"] == "space_canceled"
    assert deps.media.stages == {}


def test_a_live_space_cannot_be_canceled_only_ended(api, host):
    space = api.post("/spaces", host, {"title": "Now"}).data

    response = api.post(f"/spaces/{space['id']}/cancel", host)

    assert response.status_code == 409 and response.data["code"] == "space_live"


def test_ending_closes_the_stage_and_frees_the_host(api, deps, host):
    space = api.post("/spaces", host, {"title": "Now"}).data

    ended = api.post(f"/spaces/{space['id']}/end", host)

    assert ended.status_code == 200
    assert ended.data["state"] == "ended" and ended.data["ended_at"] is not None
    assert ended.data["speaker_ids"] == [], "nobody is on stage after the end"
    assert deps.media.stages == {} and len(deps.media.deleted) == 1
    assert api.post("/spaces", host, {"title": "Next"}).status_code == 201


def test_ending_twice_is_409(api, host):
    space = api.post("/spaces", host, {"title": "Now"}).data
    api.post(f"/spaces/{space['id']}/end", host)

    again = api.post(f"/spaces/{space['id']}/end", host)

    assert again.status_code == 409 and again.data["code"] == "space_ended"


def test_a_stage_that_fails_to_delete_never_keeps_the_space_live(api, deps, host):
    from chalicelib.services.spaces import release_pending_media

    space = api.post("/spaces", host, {"title": "Now"}).data
    deps.media.fail_next("delete_stage", times=3)

    ended = api.post(f"/spaces/{space['id']}/end", host)

    assert ended.status_code == 200 and ended.data["state"] == "ended"
    assert len(deps.media.stages) == 1, "still there: the sweeper owns it now"
    assert release_pending_media(deps) >= 1
    assert deps.media.stages == {}
    assert space["id"] not in [sid for sid, _ in deps.spaces.release_pending()]


def test_when_the_media_service_fails_at_create_nothing_is_created(api, deps, host):
    deps.media.fail_next("create_stage")

    response = api.post("/spaces", host, {"title": "Now"})

    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert api.post("/spaces", host, {"title": "Now"}).status_code == 201, "host is not left 'live'"


def test_only_the_host_manages_the_lifecycle(api, host, new_user):
    other = new_user("other", followers=5000)
    space = api.post("/spaces", host, {"title": "Now"}).data
    scheduled = api.post("/spaces", host, {"title": "L", "scheduled_start": in_days(1)}).data

    for method, path in [
        ("POST", f"/spaces/{space['id']}/end"),
        ("POST", f"/spaces/{scheduled['id']}/start"),
        ("POST", f"/spaces/{scheduled['id']}/cancel"),
    ]:
        response = api.call(method, path, other)
        assert response.status_code == 403 and response.data["code"] == "host_only", path
    edit = api.patch(f"/spaces/{space['id']}", other, {"title": "mine"})
    assert edit.status_code == 403


def test_the_host_edits_title_topics_and_reschedules(api, host):
    space = api.post("/spaces", host, {"title": "Later", "scheduled_start": in_days(1)}).data
    new_start = in_days(3)

    edited = api.patch(f"/spaces/{space['id']}", host, {"title": "Renamed", "topics": ["music"], "scheduled_start": new_start})

    assert edited.status_code == 200
    assert (edited.data["title"], edited.data["topics"], edited.data["scheduled_start"]) == ("Renamed", ["music"], new_start)


@pytest.mark.parametrize(
    "body, status, code",
    [
        ({}, 400, "empty_patch"),
        ({"state": "ended"}, 400, "field_not_patchable"),
        ({"title": ""}, 400, "invalid_title"),
        ({"scheduled_start": "2026-13-01T00:00:00Z"}, 400, "invalid_time"),
    ],
)
def test_bad_edits_are_refused(api, host, body, status, code):
    space = api.post("/spaces", host, {"title": "Later", "scheduled_start": in_days(1)}).data

    response = api.patch(f"/spaces/{space['id']}", host, body)

    assert (response.status_code, response.data["code"]) == (status, code)
    assert api.get(f"/spaces/{space['id']}", host).data["title"] == "Later"


def test_a_live_space_cannot_be_rescheduled(api, host):
    space = api.post("/spaces", host, {"title": "Now"}).data

    response = api.patch(f"/spaces/{space['id']}", host, {"scheduled_start": in_days(1)})

    assert response.status_code == 409 and response.data["code"] == "space_not_scheduled"


def test_an_unknown_space_is_404(api, host):
    for path in ["/spaces/01JUNKNOWN0000000000000000", "/spaces/has%20space", "/spaces/" + "x" * 300]:
        response = api.get(path, host)
        assert response.status_code == 404 and response.data["code"] == "space_not_found", path
    assert api.post("/spaces/01JUNKNOWN0000000000000000/join", host).status_code == 404


def test_a_body_that_is_not_json_by_content_type_gets_the_api_error_shape(api, host):
    response = api.call("POST", "/spaces", host, "title=x", headers={"Content-Type": "text/plain"})

    assert response.status_code == 415
    assert set(response.data) == {"code", "message"}
    assert response.data["code"] == "unsupported_media_type"
