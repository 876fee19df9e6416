"""Clips of recorded Spaces through the HTTP API: who may make and hear them, how long they may
be, the host's switch, Idempotency-Key, and the order of refusals (401, 403, 404, then 400/422).
The audio of clips is checked on real audio in test_replay_mixing.py."""
from __future__ import annotations

import uuid

import pytest

from chalicelib.services.replay_landing import land_recordings
from tests.support.ivs_recordings import speaks

pytestmark = pytest.mark.usefixtures("deps")


def ended_with_audio(api, deps, host, seconds=3, **extra):
    space = api.post("/spaces", host, {"title": "Clip me", "recording": True, **extra})
    assert space.status_code == 201, space.data
    speaks(deps, space.data["id"], host, freq=440, start_s=0, end_s=seconds)
    assert api.post(f"/spaces/{space.data['id']}/end", host).status_code == 200
    return space.data["id"]


def test_a_listener_clips_a_replay_and_hears_it_once_cut(api, deps, host, new_user):
    space_id = ended_with_audio(api, deps, host)
    listener = new_user("listener")

    made = api.post(f"/spaces/{space_id}/clips", listener, {"start_ms": 500, "duration_ms": 2000})

    assert made.status_code == 201, made.data
    assert made.data["ready"] is False and made.data["user_id"] == listener
    assert api.get(f"/clips/{made.data['clip_id']}", listener).data["code"] == "clip_not_ready"
    assert land_recordings(deps) >= 1
    got = api.get(f"/clips/{made.data['clip_id']}", new_user("anyone"))
    assert got.status_code == 200, got.data
    assert got.data["ready"] is True and "X-Amz-Signature" in got.data["url"]
    listed = api.get(f"/spaces/{space_id}/clips", host)
    assert [c["clip_id"] for c in listed.data["clips"]] == [made.data["clip_id"]] and listed.data["next_cursor"] is None


def test_a_clip_longer_than_30_seconds_is_422_and_nothing_is_made(api, deps, host):
    space_id = ended_with_audio(api, deps, host)

    response = api.post(f"/spaces/{space_id}/clips", host, {"start_ms": 0, "duration_ms": 30_001})

    assert response.status_code == 422 and response.data["code"] == "clip_too_long"
    assert api.get(f"/spaces/{space_id}/clips", host).data["clips"] == []


def test_a_clip_past_the_end_of_the_recording_is_422(api, deps, host):
    space_id = ended_with_audio(api, deps, host, seconds=3)

    response = api.post(f"/spaces/{space_id}/clips", host, {"start_ms": 2000, "duration_ms": 5000})

    assert response.status_code == 422 and response.data["code"] == "clip_out_of_range"


def test_a_clip_of_a_space_the_caller_may_not_hear_is_403(api, deps, host, new_user):
    space_id = ended_with_audio(api, deps, host, access="subscribers")
    stranger = new_user("stranger")

    response = api.post(f"/spaces/{space_id}/clips", stranger, {"start_ms": 0, "duration_ms": 99_999})

    assert response.status_code == 403 and response.data["code"] == "subscription_required", "403 before 422"
    assert api.get(f"/spaces/{space_id}/clips", stranger).status_code == 403


def test_clips_of_a_space_with_clipping_off_are_403_and_only_the_host_switches(api, deps, host, new_user):
    space_id = ended_with_audio(api, deps, host)
    listener = new_user("listener")
    assert api.call("PUT", f"/spaces/{space_id}/clipping", listener, {"enabled": False}).status_code == 403

    off = api.call("PUT", f"/spaces/{space_id}/clipping", host, {"enabled": False})

    assert off.status_code == 200 and off.data == {"space_id": space_id, "clipping": False, "changed": True}
    refused = api.post(f"/spaces/{space_id}/clips", listener, {"start_ms": 0, "duration_ms": 1000})
    assert refused.status_code == 403 and refused.data["code"] == "clipping_off"
    assert api.get(f"/spaces/{space_id}/replay", listener).data["clipping"] is False
    assert api.call("PUT", f"/spaces/{space_id}/clipping", host, {"enabled": True}).status_code == 200
    assert api.post(f"/spaces/{space_id}/clips", listener, {"start_ms": 0, "duration_ms": 1000}).status_code == 201


def test_a_clip_while_live_is_cut_once_the_replay_exists(api, deps, host, new_user):
    space = api.post("/spaces", host, {"title": "Live clip", "recording": True}).data
    listener = new_user("listener")
    api.post(f"/spaces/{space['id']}/join", listener)
    speaks(deps, space["id"], host, freq=440, start_s=0, end_s=2)
    deps.clock = _later(deps, seconds=3)

    made = api.post(f"/spaces/{space['id']}/clips", listener, {"start_ms": 0, "duration_ms": 1500})
    assert made.status_code == 201, made.data
    api.post(f"/spaces/{space['id']}/end", host)  # the end mixes, then cuts the clips made so far

    assert api.get(f"/clips/{made.data['clip_id']}", listener).status_code == 200


def _later(deps, seconds):
    from datetime import timedelta

    from tests.support.clock import FixedClock

    return FixedClock(deps.clock.now() + timedelta(seconds=seconds))


def test_an_idempotency_key_makes_one_clip(api, deps, host):
    space_id = ended_with_audio(api, deps, host)
    key = {"Idempotency-Key": uuid.uuid4().hex}

    first = api.post(f"/spaces/{space_id}/clips", host, {"start_ms": 0, "duration_ms": 1000}, headers=key)
    again = api.post(f"/spaces/{space_id}/clips", host, {"start_ms": 0, "duration_ms": 1000}, headers=key)

    assert first.status_code == again.status_code == 201
    assert first.data["clip_id"] == again.data["clip_id"]
    assert len(api.get(f"/spaces/{space_id}/clips", host).data["clips"]) == 1


def test_refusals_come_in_order_401_403_404_then_422(api, deps, host, new_user):
    space_id = ended_with_audio(api, deps, host)
    missing = "0" * 26

    assert api.post(f"/spaces/{space_id}/clips", None, {"start_ms": 0, "duration_ms": 99_999}).status_code == 401
    assert api.post(f"/spaces/{missing}/clips", host, {"start_ms": 0, "duration_ms": 99_999}).status_code == 404
    unrecorded = api.post("/spaces", host, {"title": "Off"}).data["id"]
    nothing = api.post(f"/spaces/{unrecorded}/clips", host, {"start_ms": 0, "duration_ms": 99_999})
    assert nothing.status_code == 404 and nothing.data["code"] == "replay_not_found"
    assert api.get("/clips/nope", host).data["code"] == "clip_not_found"
    assert api.get(f"/clips/{space_id}-{'0' * 26}", host).status_code == 404
