"""Coming on stage without reconnecting: the publish token an accepted invitation hands out names
the participant the listener is already connected as, so the client can exchange it on its live
connection (IVS allows a token exchange only when `jti`, `topic`, `resource`, `whip_url` and
`events_url` stay the same) and the local media server keeps its subscription (docs/media.md)."""
from __future__ import annotations

import jwt
import pytest

from chalicelib.ports import Refused

pytestmark = pytest.mark.usefixtures("deps")

IMMUTABLE_ON_EXCHANGE = ("jti", "topic", "resource", "whip_url", "events_url")


def claims_of(token, keys):
    return jwt.decode(token, keys["ivs_public_pem"], algorithms=["ES384"])


@pytest.fixture
def invited(api, host, new_user):
    """A live Space, a listener in it invited on stage: (space_id, listener, the listener's join)."""
    space_id = api.post("/spaces", host, {"title": "Come up"}).data["id"]
    listener = new_user("listener")
    joined = api.post(f"/spaces/{space_id}/join", listener).data
    assert api.post(f"/spaces/{space_id}/speakers", host, {"user_id": listener}).status_code == 200
    return space_id, listener, joined


def test_accepting_an_invitation_keeps_the_participant_id_and_only_adds_publish(api, keys, invited):
    space_id, listener, joined = invited

    accepted = api.post(f"/spaces/{space_id}/invitations/accept", listener)

    assert accepted.status_code == 200, accepted.data
    before, after = joined["media"], accepted.data["media"]
    assert after["participant_id"] == before["participant_id"]
    assert after["capabilities"] == ["PUBLISH", "SUBSCRIBE"] and before["capabilities"] == ["SUBSCRIBE"]
    old, new = claims_of(before["token"], keys), claims_of(after["token"], keys)
    assert {k: new[k] for k in IMMUTABLE_ON_EXCHANGE} == {k: old[k] for k in IMMUTABLE_ON_EXCHANGE}
    assert new["capabilities"] == {"allow_publish": True, "allow_subscribe": True}
    # The heartbeat that follows names the same participant, with publish
    again = api.post(f"/spaces/{space_id}/join", listener).data["media"]
    assert again["participant_id"] == before["participant_id"] and "PUBLISH" in again["capabilities"]


def test_a_listener_who_left_and_joined_again_meanwhile_is_not_handed_the_old_participant(api, deps, invited):
    space_id, listener, joined = invited
    _, listening = deps.spaces.get_with_participant(space_id, listener)

    # Between the accept's read and its write, the listener leaves and joins again (a new id)
    api.post(f"/spaces/{space_id}/leave", listener)
    rejoined = api.post(f"/spaces/{space_id}/join", listener).data["media"]["participant_id"]
    assert rejoined != listening.participant_id

    with pytest.raises(Refused) as refused:
        deps.stage_members.accept_invitation(
            space_id, listener, listening.participant_id, deps.clock.now(),
            rules=deps.space_rules, participant_was=listening.participant_id,
        )
    assert refused.value.part == "participant"
    # Nothing changed: still a listener, still invited, and accepting now names the new participant
    assert api.get(f"/spaces/{space_id}", listener).data["invited_user_ids"] == [listener]
    accepted = api.post(f"/spaces/{space_id}/invitations/accept", listener).data
    assert accepted["media"]["participant_id"] == rejoined
