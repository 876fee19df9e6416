"""Replays of recorded Spaces through the HTTP API: a short-lived presigned URL of the recording,
for the Space's own audience, until the retention ends; the host may delete it."""
from __future__ import annotations

import uuid
from datetime import timedelta
from urllib.parse import unquote

import pytest
import requests

from chalicelib.adapters.dynamodb.models import SpaceModel
from chalicelib.domain.spaces import iso, parse_iso, utcnow
from tests.support import presigned
from tests.support.clock import FixedClock
from tests.support.ivs_recordings import speaks

pytestmark = pytest.mark.usefixtures("deps")


def ended_recorded_space(api, host, **extra):
    from chalicelib import bootstrap

    space = api.post("/spaces", host, {"title": "Replay me", "recording": True, **extra})
    assert space.status_code == 201, space.data
    speaks(bootstrap.deps(), space.data["id"], host, freq=440, start_s=0, end_s=1)
    ended = api.post(f"/spaces/{space.data['id']}/end", host)
    assert ended.status_code == 200, ended.data
    return ended.data


def test_a_public_replay_is_a_short_lived_presigned_url_that_really_fetches_the_recording(api, deps, host, new_user):
    space = ended_recorded_space(api, host)
    listener = new_user("anyone")

    response = api.get(f"/spaces/{space['id']}/replay", listener)

    assert response.status_code == 200, response.data
    replay = response.data
    media_key = deps.spaces.get(space["id"], with_count=False).recording_info.media_key
    assert media_key == f"replays/{space['id']}/replay-1.m4a", "the mixed file, not the HLS playlists"
    url = presigned.read(replay["url"])
    assert unquote(url.path) == f"/{deps.settings.recordings_bucket}/{media_key}"
    assert url.params["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert url.expires_in == deps.settings.replay_url_seconds == 300
    assert replay["expires_at"] == iso(url.expires_at)
    assert presigned.check(replay["url"], "testing", at=url.signed_at + timedelta(seconds=299))
    assert not presigned.check(replay["url"], "testing", at=url.expires_at), "refused once expired"
    assert not presigned.check(replay["url"].replace("X-Amz-Expires=300", "X-Amz-Expires=3000"), "testing", at=url.signed_at)
    fetched = requests.get(replay["url"], timeout=10)
    assert fetched.status_code == 200
    # One object plays the whole replay: AAC in MP4 (an "ftyp" box first).
    assert fetched.headers["Content-Type"] == "audio/mp4" and fetched.content[4:8] == b"ftyp"
    ended_at = parse_iso(space["ended_at"], "ended_at")
    assert replay["available_until"] == iso(ended_at + timedelta(days=30))
    assert replay["duration_seconds"] >= 0


def test_a_space_that_was_not_recorded_has_no_replay(api, host, new_user):
    space = api.post("/spaces", host, {"title": "Off the record"}).data
    api.post(f"/spaces/{space['id']}/end", host)

    response = api.get(f"/spaces/{space['id']}/replay", new_user())

    assert response.status_code == 404 and response.data["code"] == "replay_not_found"


def test_a_live_recorded_space_has_no_replay_yet(api, host, new_user):
    space = api.post("/spaces", host, {"title": "Still going", "recording": True}).data

    response = api.get(f"/spaces/{space['id']}/replay", new_user())

    assert response.status_code == 409 and response.data["code"] == "replay_not_ready"


def test_a_replay_still_processing_is_not_ready(api, deps, host, new_user):
    space = api.post("/spaces", host, {"title": "Slow storage", "recording": True}).data
    # As in AWS right after the end: IVS has written nothing yet.
    api.post(f"/spaces/{space['id']}/end", host)

    response = api.get(f"/spaces/{space['id']}/replay", new_user())

    assert response.status_code == 409 and response.data["code"] == "replay_not_ready"


def test_a_replay_is_refused_after_the_retention_period(api, deps, host, new_user):
    space = ended_recorded_space(api, host)
    listener = new_user()
    ended_at = parse_iso(space["ended_at"], "ended_at")

    deps.clock = FixedClock(ended_at + timedelta(days=30) - timedelta(seconds=120))
    late = api.get(f"/spaces/{space['id']}/replay", listener)
    deps.clock = FixedClock(ended_at + timedelta(days=30))
    expired = api.get(f"/spaces/{space['id']}/replay", listener)
    captions = api.get(f"/spaces/{space['id']}/replay/captions", listener)

    assert late.status_code == 200
    assert presigned.read(late.data["url"]).expires_in == 120, "a URL never outlives the retention"
    assert expired.status_code == 410 and expired.data["code"] == "replay_expired"
    assert captions.status_code == 410 and captions.data["code"] == "replay_expired"


def test_the_retention_is_a_setting(api, deps, host, new_user):
    from dataclasses import replace

    deps.settings = replace(deps.settings, replay_retention_days=7)
    space = ended_recorded_space(api, host)
    ended_at = parse_iso(space["ended_at"], "ended_at")

    replay = api.get(f"/spaces/{space['id']}/replay", new_user()).data
    deps.clock = FixedClock(ended_at + timedelta(days=7, seconds=1))

    assert replay["available_until"] == iso(ended_at + timedelta(days=7))
    assert api.get(f"/spaces/{space['id']}/replay", new_user()).status_code == 410


def test_a_removed_or_blocked_user_is_refused_the_replay(api, host, new_user):
    space = api.post("/spaces", host, {"title": "Replay me", "recording": True}).data
    removed, blocked = new_user("removed"), new_user("blocked")
    api.post(f"/spaces/{space['id']}/join", removed)
    api.post(f"/spaces/{space['id']}/participants/{removed}/remove", host)
    api.post(f"/spaces/{space['id']}/end", host)
    api.post(f"/users/{blocked}/block", host)

    assert api.get(f"/spaces/{space['id']}/replay", removed).data["code"] == "removed_from_space"
    assert api.get(f"/spaces/{space['id']}/replay", blocked).data["code"] == "blocked_by_host"


# ---------------------------------------------------------------- ticketed and subscriber-only


@pytest.fixture
def seller(new_user):
    """A host who may sell tickets: 5,000 followers, 3 Spaces hosted in the last 30 days."""
    user_id = new_user("seller", followers=5000)
    now = utcnow()
    for n in range(3):
        started = now - timedelta(days=n + 1)
        SpaceModel(
            f"past{uuid.uuid4().hex[:12]}", state="ended", title="past", creator_id=user_id,
            sort_time=iso(started), created_at=started, updated_at=started, started_at=started,
            ended_at=started + timedelta(hours=1),
        ).save()
    return user_id


def _settle(api, deps, payment_id):
    payload, headers = deps.payments.webhook(payment_id, "payment_succeeded")
    assert api.call("POST", "/webhooks/payments", None, payload, headers=headers).status_code == 200


def test_a_ticketed_replay_is_for_paid_ticket_holders_and_the_hosts(api, deps, seller, new_user):
    cohost = new_user("cohost")
    body = {"title": "Paid talk", "recording": True, "access": "ticketed", "cohost_ids": [cohost],
            "ticket": {"price_cents": 499, "currency": "USD", "capacity": 10}}
    space = api.post("/spaces", seller, body).data
    buyer, holder, stranger = new_user("buyer"), new_user("holder"), new_user("stranger")
    paid = api.post(f"/spaces/{space['id']}/tickets", buyer, {}, headers={"Idempotency-Key": uuid.uuid4().hex})
    _settle(api, deps, paid.data["payment"]["payment_id"])
    api.post(f"/spaces/{space['id']}/tickets", holder, {}, headers={"Idempotency-Key": uuid.uuid4().hex})  # never paid
    speaks(deps, space["id"], seller, freq=440, start_s=0, end_s=1)
    api.post(f"/spaces/{space['id']}/end", seller)

    def status(user):
        response = api.get(f"/spaces/{space['id']}/replay", user)
        return response.status_code, (response.data or {}).get("code")

    assert status(buyer) == (200, None)
    assert status(seller) == (200, None)
    assert status(cohost) == (200, None)
    assert status(holder) == (403, "ticket_required")
    assert status(stranger) == (403, "ticket_required")


def test_a_subscriber_only_replay_is_for_active_subscribers(api, deps, host, new_user):
    space = api.post("/spaces", host, {"title": "Subscribers", "recording": True, "access": "subscribers"}).data
    fan, stranger = new_user("fan"), new_user("stranger")
    started = api.post(f"/users/{host}/subscription", fan, {"tier": "tier_1"})
    _settle(api, deps, started.data["payment"]["payment_id"])
    speaks(deps, space["id"], host, freq=440, start_s=0, end_s=1)
    api.post(f"/spaces/{space['id']}/end", host)

    assert api.get(f"/spaces/{space['id']}/replay", fan).status_code == 200
    refused = api.get(f"/spaces/{space['id']}/replay", stranger)
    assert refused.status_code == 403 and refused.data["code"] == "subscription_required"
    period_end = utcnow() + timedelta(days=31)
    deps.clock = FixedClock(period_end)  # the subscription lapsed (the replay is still kept)
    assert api.get(f"/spaces/{space['id']}/replay", fan).data["code"] == "subscription_required"


def test_a_speaker_who_was_recorded_may_hear_the_replay_of_a_ticketed_space(api, deps, seller, new_user):
    speaker = new_user("speaker")
    body = {"title": "Paid panel", "recording": True, "access": "ticketed", "speaker_ids": [speaker],
            "ticket": {"price_cents": 499, "currency": "USD", "capacity": 10}}
    space = api.post("/spaces", seller, body).data
    assert api.post(f"/spaces/{space['id']}/join", speaker).status_code == 200  # invited: no ticket needed
    assert api.post(f"/spaces/{space['id']}/invitations/accept", speaker, {"recording_consent": True}).status_code == 200
    api.post(f"/spaces/{space['id']}/leave", speaker)  # off the stage, still on the recording
    speaks(deps, space["id"], speaker, freq=660, start_s=0, end_s=1)
    api.post(f"/spaces/{space['id']}/end", seller)

    assert api.get(f"/spaces/{space['id']}/replay", speaker).status_code == 200


# ---------------------------------------------------------------- deleting


def test_the_host_deletes_the_replay_and_its_objects(api, deps, aws, host, new_user):
    space = api.post("/spaces", host, {"title": "Regrets", "recording": True}).data
    speaker = new_user("speaker")
    api.post(f"/spaces/{space['id']}/join", speaker)
    api.post(f"/spaces/{space['id']}/speakers", host, {"user_id": speaker})
    api.post(f"/spaces/{space['id']}/invitations/accept", speaker, {"recording_consent": True})
    api.post(f"/spaces/{space['id']}/captions", speaker, {"text": "oops", "language": "en", "start_ms": 0, "end_ms": 500})
    speaks(deps, space["id"], speaker, freq=660, start_s=0, end_s=1)
    api.post(f"/spaces/{space['id']}/end", host)
    clip = api.post(f"/spaces/{space['id']}/clips", speaker, {"start_ms": 0, "duration_ms": 500}).data
    from chalicelib.services.replay_landing import land_recordings

    land_recordings(deps)  # the clip is cut
    info = deps.spaces.get(space["id"], with_count=False).recording_info
    url = api.get(f"/spaces/{space['id']}/replay", speaker).data["url"]

    def keys(prefix):
        listed = aws.s3.list_objects_v2(Bucket=aws.recordings_bucket, Prefix=prefix)
        return [o["Key"] for o in listed.get("Contents", [])]

    assert keys(info.prefix) and keys(f"replays/{space['id']}/") and keys(f"captions/{space['id']}/")
    assert keys(f"clips/{space['id']}/") == [f"clips/{space['id']}/{clip['clip_id']}.{ext}" for ext in ("json", "m4a")]
    everything = [k for p in (info.prefix, f"replays/{space['id']}/", f"captions/{space['id']}/", f"clips/{space['id']}/") for k in keys(p)]
    assert api.delete(f"/spaces/{space['id']}/replay", speaker).status_code == 403

    deleted = api.delete(f"/spaces/{space['id']}/replay", host)

    assert deleted.status_code == 200 and deleted.data["deleted"] is True
    assert deleted.data["objects_deleted"] == len(everything)  # recordings, replay, captions, clips
    assert keys(info.prefix) == [] and keys(f"replays/{space['id']}/") == [] and keys(f"captions/{space['id']}/") == []
    assert keys(f"clips/{space['id']}/") == []
    assert requests.get(url, timeout=10).status_code == 404, "a URL handed out before is dead"
    gone = api.get(f"/spaces/{space['id']}/replay", speaker)
    assert gone.status_code == 404 and gone.data["code"] == "replay_not_found"
    again = api.delete(f"/spaces/{space['id']}/replay", host)
    assert again.status_code == 200 and again.data["objects_deleted"] == 0


def test_a_replay_cannot_be_deleted_while_the_space_is_live(api, host):
    space = api.post("/spaces", host, {"title": "Live", "recording": True}).data

    response = api.delete(f"/spaces/{space['id']}/replay", host)

    assert response.status_code == 409 and response.data["code"] == "replay_not_ready"


def test_a_scheduled_recorded_space_has_no_replay_yet(api, host, new_user):
    start = iso(utcnow() + timedelta(days=1))
    space = api.post("/spaces", host, {"title": "Later", "scheduled_start": start, "recording": True}).data

    response = api.get(f"/spaces/{space['id']}/replay", new_user())

    assert response.status_code == 409 and response.data["code"] == "replay_not_ready"
