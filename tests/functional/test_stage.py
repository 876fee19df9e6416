"""Being in a live Space: joining with media credentials, hands, invitations, moderation."""
import jwt
import pytest


@pytest.fixture
def live(api, host):
    """A live Space: returns (space_id, join(user) -> join response data)."""
    space = api.post("/spaces", host, {"title": "Live now"}).data

    def join(user):
        response = api.post(f"/spaces/{space['id']}/join", user)
        assert response.status_code == 200, response.data
        return response.data

    return space["id"], join


def claims_of(token, keys):
    return jwt.decode(token, keys["ivs_public_pem"], algorithms=["ES384"])


def test_listeners_get_a_subscribe_only_token_that_verifies_against_the_public_key(api, keys, live, new_user):
    space_id, join = live
    space = api.get(f"/spaces/{space_id}", new_user()).data

    for _ in range(3):
        joined = join(new_user("listener"))
        media = joined["media"]
        claims = claims_of(media["token"], keys)
        assert joined["role"] == "listener"
        assert media["capabilities"] == ["SUBSCRIBE"]
        assert claims["capabilities"] == {"allow_publish": False, "allow_subscribe": True}
        assert claims["resource"] == media["stage_arn"]
        assert claims["jti"] == media["participant_id"]
        assert jwt.get_unverified_header(media["token"])["kid"].startswith("arn:aws:ivs:")
    assert api.get(f"/spaces/{space_id}", new_user()).data["participant_count"] == space["participant_count"] + 3


def test_the_join_says_where_to_connect_with_the_stages_endpoints(live, new_user):
    # No media server configured here: the media carries an IVS stage's endpoints (the web client
    # then uses the IVS SDK); with the local media server it carries `whip` and `whep` instead
    # (tests/integration/test_media_server.py).
    space_id, join = live
    media = join(new_user("listener"))["media"]
    assert media["whip"].startswith("https://") and media["events"].startswith("wss://")
    assert "whep" not in media


def test_the_host_joins_with_publish_rights(keys, live, host):
    _, join = live

    joined = join(host)

    assert joined["role"] == "host"
    assert claims_of(joined["media"]["token"], keys)["capabilities"]["allow_publish"] is True


def test_joining_twice_counts_once_and_keeps_the_participant_id(api, live, new_user):
    """A heartbeat (join again) refreshes the token for the same IVS participant, so removing the
    user later disconnects the connection they really hold."""
    space_id, join = live
    listener = new_user()
    first, second = join(listener), join(listener)

    assert first["media"]["participant_id"] == second["media"]["participant_id"]
    assert first["media"]["token"] != second["media"]["token"]
    assert api.get(f"/spaces/{space_id}", listener).data["participant_count"] == 1


def test_removing_after_a_heartbeat_disconnects_the_first_connection(api, deps, live, new_user, host):
    space_id, join = live
    listener = new_user()
    connected_with = join(listener)["media"]["participant_id"]
    join(listener)  # heartbeat
    api.post(f"/spaces/{space_id}/participants/{listener}/remove", host)
    assert connected_with in [pid for _, pid, _ in deps.media.disconnected]


def test_leaving_stops_being_counted_and_rejoining_counts_again(api, live, new_user):
    space_id, join = live
    listener = new_user()
    join(listener)

    assert api.post(f"/spaces/{space_id}/leave", listener).status_code == 200
    assert api.get(f"/spaces/{space_id}", listener).data["participant_count"] == 0
    join(listener)
    assert api.get(f"/spaces/{space_id}", listener).data["participant_count"] == 1


def test_leaving_a_space_you_never_joined_is_404(api, live, new_user):
    space_id, _ = live
    response = api.post(f"/spaces/{space_id}/leave", new_user())
    assert response.status_code == 404 and response.data["code"] == "not_a_participant"


def test_a_scheduled_space_cannot_be_joined_yet(api, host, new_user):
    space = api.post("/spaces", host, {"title": "Later", "scheduled_start": "2099-01-01T00:00:00Z"})
    assert space.status_code == 422  # far future refused; schedule one tomorrow instead
    from datetime import datetime, timedelta, timezone

    tomorrow = (datetime.now(timezone.utc) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    space = api.post("/spaces", host, {"title": "Later", "scheduled_start": tomorrow}).data

    response = api.post(f"/spaces/{space['id']}/join", new_user())

    assert response.status_code == 409 and response.data["code"] == "space_not_live"


def test_a_raised_hand_approved_then_accepted_puts_the_listener_on_stage_with_publish(api, keys, live, host, new_user):
    space_id, join = live
    listener = new_user("listener")
    join(listener)

    assert api.post(f"/spaces/{space_id}/speaker-requests", listener).data["hand_raised"] is True
    hosts_view = api.get(f"/spaces/{space_id}/participants", host).data
    assert [r["user_id"] for r in hosts_view["speaker_requests"]["requests"]] == [listener]
    listeners_view = api.get(f"/spaces/{space_id}/participants", listener).data
    assert listeners_view["speaker_requests"] == {"count": 1}, "only moderators see who asked"

    approved = api.post(f"/spaces/{space_id}/speakers", host, {"user_id": listener})
    assert approved.status_code == 200 and approved.data["approved_request"] is True
    assert approved.data["space"]["invited_user_ids"] == [listener]

    accepted = api.post(f"/spaces/{space_id}/invitations/accept", listener)
    assert accepted.status_code == 200
    assert accepted.data["role"] == "speaker"
    assert claims_of(accepted.data["media"]["token"], keys)["capabilities"]["allow_publish"] is True

    space = api.get(f"/spaces/{space_id}", listener).data
    assert space["speaker_ids"] == [host, listener]
    assert space["invited_user_ids"] == []
    after = api.get(f"/spaces/{space_id}/participants", host).data
    assert after["speaker_requests"]["count"] == 0, "the hand does not stay raised"


def test_a_host_invites_a_listener_who_did_not_ask(api, live, host, new_user):
    space_id, join = live
    listener = new_user()
    join(listener)

    invited = api.post(f"/spaces/{space_id}/speakers", host, {"user_id": listener})

    assert invited.status_code == 200 and invited.data["approved_request"] is False
    assert api.post(f"/spaces/{space_id}/invitations/accept", listener).data["role"] == "speaker"


def test_inviting_someone_not_in_the_space_is_409(api, live, host, new_user):
    space_id, _ = live
    response = api.post(f"/spaces/{space_id}/speakers", host, {"user_id": new_user()})
    assert response.status_code == 409 and response.data["code"] == "not_in_space"


def test_accepting_without_an_invitation_is_409(api, live, new_user):
    space_id, join = live
    listener = new_user()
    join(listener)
    response = api.post(f"/spaces/{space_id}/invitations/accept", listener)
    assert response.status_code == 409 and response.data["code"] == "no_invitation"


def test_a_listener_cannot_invite_or_moderate(api, live, host, new_user):
    space_id, join = live
    listener, other = new_user(), new_user()
    join(listener)
    join(other)

    for method, path, body in [
        ("POST", f"/spaces/{space_id}/speakers", {"user_id": other}),
        ("POST", f"/spaces/{space_id}/participants/{other}/remove", None),
        ("POST", f"/spaces/{space_id}/participants/{host}/mute", None),
        ("POST", f"/spaces/{space_id}/cohosts", {"user_id": listener}),
        ("POST", f"/spaces/{space_id}/end", None),
    ]:
        response = api.call(method, path, listener, body)
        assert response.status_code == 403, (path, response.data)


def test_a_cohost_moderates_but_cannot_end_or_add_cohosts(api, keys, live, host, new_user):
    space_id, join = live
    cohost, listener = new_user("cohost"), new_user()
    join(cohost)
    join(listener)

    assert api.post(f"/spaces/{space_id}/cohosts", host, {"user_id": cohost}).status_code == 200
    rejoined = join(cohost)
    assert rejoined["role"] == "cohost"
    assert claims_of(rejoined["media"]["token"], keys)["capabilities"]["allow_publish"] is True
    assert api.get(f"/spaces/{space_id}", host).data["host_ids"] == [host, cohost]

    assert api.post(f"/spaces/{space_id}/speakers", cohost, {"user_id": listener}).status_code == 200
    end = api.post(f"/spaces/{space_id}/end", cohost)
    assert end.status_code == 403 and end.data["code"] == "host_only"
    add = api.post(f"/spaces/{space_id}/cohosts", cohost, {"user_id": listener})
    assert add.status_code == 403 and add.data["code"] == "host_only"
    remove_host = api.post(f"/spaces/{space_id}/participants/{host}/remove", cohost)
    assert remove_host.status_code == 403 and remove_host.data["code"] == "target_is_host"


def test_a_space_has_at_most_two_cohosts(api, live, host, new_user):
    space_id, join = live
    users = [new_user("c") for _ in range(3)]
    for user in users:
        join(user)

    assert api.post(f"/spaces/{space_id}/cohosts", host, {"user_id": users[0]}).status_code == 200
    assert api.post(f"/spaces/{space_id}/cohosts", host, {"user_id": users[1]}).status_code == 200
    third = api.post(f"/spaces/{space_id}/cohosts", host, {"user_id": users[2]})

    assert third.status_code == 422 and third.data["code"] == "too_many_cohosts"
    assert api.delete(f"/spaces/{space_id}/cohosts/{users[0]}", host).status_code == 200
    assert api.post(f"/spaces/{space_id}/cohosts", host, {"user_id": users[2]}).status_code == 200


def test_the_stage_holds_twelve_people(api, deps, live, host, new_user):
    space_id, join = live
    speakers = [new_user("s") for _ in range(deps.settings.max_on_stage)]
    for user in speakers:
        join(user)
        api.post(f"/spaces/{space_id}/speakers", host, {"user_id": user})
    results = [api.post(f"/spaces/{space_id}/invitations/accept", u) for u in speakers]

    assert [r.status_code for r in results].count(200) == deps.settings.max_on_stage - 1
    assert results[-1].status_code == 409 and results[-1].data["code"] == "stage_full"
    assert len(api.get(f"/spaces/{space_id}", host).data["speaker_ids"]) == deps.settings.max_on_stage


def test_a_demoted_speaker_goes_back_to_listening_and_loses_the_connection(api, deps, live, host, new_user):
    space_id, join = live
    speaker = new_user()
    join(speaker)
    api.post(f"/spaces/{space_id}/speakers", host, {"user_id": speaker})
    pid = api.post(f"/spaces/{space_id}/invitations/accept", speaker).data["media"]["participant_id"]

    demoted = api.delete(f"/spaces/{space_id}/speakers/{speaker}", host)

    assert demoted.status_code == 200 and demoted.data["speaker_ids"] == [host]
    assert deps.media.disconnected[-1][1] == pid
    assert join(speaker)["role"] == "listener"


def test_a_speaker_steps_down_themself(api, live, host, new_user):
    space_id, join = live
    speaker = new_user()
    join(speaker)
    api.post(f"/spaces/{space_id}/speakers", host, {"user_id": speaker})
    api.post(f"/spaces/{space_id}/invitations/accept", speaker)

    assert api.delete(f"/spaces/{space_id}/speakers/{speaker}", speaker).status_code == 200
    again = api.delete(f"/spaces/{space_id}/speakers/{speaker}", speaker)
    assert again.status_code == 409 and again.data["code"] == "not_a_speaker"


def test_a_moderator_mutes_and_only_the_speaker_unmutes(api, live, host, new_user):
    space_id, join = live
    speaker = new_user()
    join(speaker)
    api.post(f"/spaces/{space_id}/speakers", host, {"user_id": speaker})
    api.post(f"/spaces/{space_id}/invitations/accept", speaker)

    muted = api.post(f"/spaces/{space_id}/participants/{speaker}/mute", host)
    assert muted.status_code == 200 and muted.data["muted_user_ids"] == [speaker]
    by_host = api.post(f"/spaces/{space_id}/participants/{speaker}/unmute", host)
    assert by_host.status_code == 403
    assert api.post(f"/spaces/{space_id}/participants/{speaker}/unmute", speaker).data["muted_user_ids"] == []


def test_muting_a_listener_is_409(api, live, host, new_user):
    space_id, join = live
    listener = new_user()
    join(listener)
    response = api.post(f"/spaces/{space_id}/participants/{listener}/mute", host)
    assert response.status_code == 409 and response.data["code"] == "not_on_stage"


def test_a_removed_user_is_disconnected_and_cannot_rejoin(api, deps, live, host, new_user):
    space_id, join = live
    listener = new_user()
    pid = join(listener)["media"]["participant_id"]

    removed = api.post(f"/spaces/{space_id}/participants/{listener}/remove", host)

    assert removed.status_code == 200
    assert deps.media.disconnected[-1][1] == pid
    rejoin = api.post(f"/spaces/{space_id}/join", listener)
    assert rejoin.status_code == 403 and rejoin.data["code"] == "removed_from_space"
    assert api.get(f"/spaces/{space_id}", host).data["participant_count"] == 0


def test_a_removed_speaker_leaves_the_stage(api, live, host, new_user):
    space_id, join = live
    speaker = new_user()
    join(speaker)
    api.post(f"/spaces/{space_id}/speakers", host, {"user_id": speaker})
    api.post(f"/spaces/{space_id}/invitations/accept", speaker)

    api.post(f"/spaces/{space_id}/participants/{speaker}/remove", host)

    assert api.get(f"/spaces/{space_id}", host).data["speaker_ids"] == [host]


def test_removing_twice_retries_the_disconnect_and_succeeds(api, deps, live, host, new_user):
    space_id, join = live
    listener = new_user()
    join(listener)
    deps.media.fail_next("disconnect_participant")

    first = api.post(f"/spaces/{space_id}/participants/{listener}/remove", host)
    assert first.status_code == 503 and first.headers["Retry-After"]
    assert api.post(f"/spaces/{space_id}/join", listener).status_code == 403, "the ban stands"

    second = api.post(f"/spaces/{space_id}/participants/{listener}/remove", host)
    assert second.status_code == 200
    assert len(deps.media.disconnected) == 1


def test_a_user_removed_before_joining_cannot_join(api, live, host, new_user):
    space_id, _ = live
    troll = new_user("troll")
    assert api.post(f"/spaces/{space_id}/participants/{troll}/remove", host).status_code == 200
    assert api.post(f"/spaces/{space_id}/join", troll).status_code == 403


def test_a_host_who_leaves_does_not_end_the_space_and_rejoins_as_host(api, live, host):
    space_id, join = live
    join(host)

    api.post(f"/spaces/{space_id}/leave", host)

    assert api.get(f"/spaces/{space_id}", host).data["state"] == "live"
    assert join(host)["role"] == "host"


def test_after_the_end_nobody_joins(api, live, host, new_user):
    space_id, _ = live
    api.post(f"/spaces/{space_id}/end", host)

    response = api.post(f"/spaces/{space_id}/join", new_user())

    assert response.status_code == 409 and response.data["code"] == "space_ended"


def test_malformed_stage_requests_are_400(api, live, host):
    space_id, _ = live
    for body in [None, {}, {"user_id": 7}, {"user_id": "has space"}]:
        response = api.post(f"/spaces/{space_id}/speakers", host, body)
        assert response.status_code == 400, body


def test_an_accepted_invitation_answers_everything_openapi_requires_of_a_join(api, live, host, new_user):
    """A client generated from openapi.yaml parses the accept's 200 as a JoinResponse."""
    from pathlib import Path

    import yaml

    spec = yaml.safe_load((Path(__file__).resolve().parents[2] / "openapi.yaml").read_text())
    required = spec["components"]["schemas"]["JoinResponse"]["required"]
    space_id, join = live
    listener = new_user("listener")
    join(listener)
    api.post(f"/spaces/{space_id}/speakers", host, {"user_id": listener})

    accepted = api.post(f"/spaces/{space_id}/invitations/accept", listener)

    assert accepted.status_code == 200
    assert [name for name in required if name not in accepted.data] == []
    assert accepted.data["events"]["url"] == f"/spaces/{space_id}/events"
