"""The moderation acts logged in their own writes, through the API: invitations, approved hands,
co-hosts added, a block while live, the host's own end, clipping switched and a replay deleted.
Each act is one entry; an act repeated or refused adds none. (The same writes on DynamoDB Local
and the fakes, races included: tests/integration/test_moderation_acts_contract.py.)"""
from __future__ import annotations

import pytest

from tests.functional.test_clips import ended_with_audio

pytestmark = pytest.mark.usefixtures("deps")


@pytest.fixture
def live(api, host):
    space = api.post("/spaces", host, {"title": "Moderated acts"}).data

    def join(user):
        response = api.post(f"/spaces/{space['id']}/join", user)
        assert response.status_code == 200, response.data

    return space["id"], join


def _log(api, space_id, reader):
    response = api.get(f"/spaces/{space_id}/moderation-log", reader)
    assert response.status_code == 200, response.data
    return [(e["act"], e["actor_id"], e["target_id"]) for e in response.data["entries"]]


def test_invite_approve_and_cohost_added_are_each_one_entry(api, live, host, new_user):
    space_id, join = live
    invited, hand, cohost = new_user(), new_user(), new_user()
    for user in (invited, hand, cohost):
        join(user)

    assert api.post(f"/spaces/{space_id}/speakers", host, {"user_id": invited}).status_code == 200
    again = api.post(f"/spaces/{space_id}/speakers", host, {"user_id": invited})
    assert again.status_code == 409 and again.data["code"] == "already_invited"
    assert api.post(f"/spaces/{space_id}/speaker-requests", hand).status_code == 200
    approved = api.post(f"/spaces/{space_id}/speakers", host, {"user_id": hand})
    assert approved.status_code == 200 and approved.data["approved_request"] is True
    assert api.post(f"/spaces/{space_id}/cohosts", host, {"user_id": cohost}).status_code == 200
    assert api.post(f"/spaces/{space_id}/cohosts", host, {"user_id": cohost}).status_code == 409
    # The invitee declining is their own answer, not moderation: nothing more in the log.
    assert api.post(f"/spaces/{space_id}/invitations/decline", invited).status_code == 200

    assert _log(api, space_id, host) == [
        ("invite", host, invited), ("approve", host, hand), ("cohost_added", host, cohost),
    ]
    assert [e["act"] for e in api.get("/me/moderation", hand).data["entries"]] == ["approve"]


def test_a_block_while_live_is_logged_once_with_the_removal_it_causes(api, live, host, new_user):
    space_id, join = live
    listener, absent = new_user(), new_user()
    join(listener)

    assert api.post(f"/users/{listener}/block", host).status_code == 200
    assert api.post(f"/users/{listener}/block", host).status_code == 200  # a retry: nothing more
    assert api.post(f"/users/{absent}/block", host).status_code == 200  # never came: barred all the same

    assert _log(api, space_id, host) == [
        ("block", host, listener), ("remove", host, listener), ("block", host, absent),
    ]
    refused = api.post(f"/spaces/{space_id}/join", absent)
    assert refused.status_code == 403


def test_the_hosts_own_end_is_logged_once_on_the_space(api, live, host):
    space_id, _ = live

    assert api.post(f"/spaces/{space_id}/end", host).status_code == 200
    assert api.post(f"/spaces/{space_id}/end", host).status_code == 409

    assert _log(api, space_id, host) == [("end", host, space_id)]
    assert api.get("/me/moderation", host).data["entries"] == []  # an act on the Space, not on the host


def test_clipping_switched_and_the_replay_deleted_are_logged_once_each(api, deps, host):
    space_id = ended_with_audio(api, deps, host, seconds=1)

    off = api.call("PUT", f"/spaces/{space_id}/clipping", host, {"enabled": False})
    same = api.call("PUT", f"/spaces/{space_id}/clipping", host, {"enabled": False})
    on = api.call("PUT", f"/spaces/{space_id}/clipping", host, {"enabled": True})
    assert (off.data["changed"], same.data["changed"], on.data["changed"]) == (True, False, True)
    assert api.delete(f"/spaces/{space_id}/replay", host).status_code == 200
    assert api.delete(f"/spaces/{space_id}/replay", host).status_code == 200  # already deleted

    assert _log(api, space_id, host) == [
        ("end", host, space_id), ("clipping_off", host, space_id), ("clipping_on", host, space_id),
        ("replay_deleted", host, space_id),
    ]
