"""A host blocks a user: no joining the host's Spaces, no seeing them in discovery."""
import uuid


def test_a_blocked_user_cannot_join_the_hosts_spaces(api, host, new_user):
    troll = new_user("troll")
    space = api.post("/spaces", host, {"title": "No trolls"}).data
    api.post(f"/spaces/{space['id']}/join", new_user())  # warms the container's media cache

    assert api.post(f"/users/{troll}/block", host).data == {"user_id": troll, "blocked": True, "changed": True}
    response = api.post(f"/spaces/{space['id']}/join", troll)

    assert response.status_code == 403 and response.data["code"] == "blocked_by_host"
    assert api.get(f"/spaces/{space['id']}", host).data["participant_count"] == 1


def test_blocking_someone_in_your_live_space_removes_them(api, deps, host, new_user):
    troll = new_user("troll")
    space = api.post("/spaces", host, {"title": "Live"}).data
    pid = api.post(f"/spaces/{space['id']}/join", troll).data["media"]["participant_id"]

    api.post(f"/users/{troll}/block", host)

    assert deps.media.disconnected[-1][1] == pid
    assert api.get(f"/spaces/{space['id']}", host).data["participant_count"] == 0


def test_a_blocked_user_does_not_see_the_hosts_spaces_in_discovery(api, deps, host, new_user):
    topic = f"t-{uuid.uuid4().hex[:10]}"
    troll, fan = new_user("troll"), new_user("fan")
    api.post("/spaces", host, {"title": f"Hidden {topic}", "topics": [topic]})
    api.post(f"/users/{troll}/block", host)

    assert [s["creator_id"] for s in api.get(f"/spaces?topic={topic}", fan).data["spaces"]] == [host]
    assert api.get(f"/spaces?topic={topic}", troll).data["spaces"] == []
    assert api.get(f"/spaces?q={topic}&state=live", troll).data["spaces"] == []


def test_unblocking_lets_them_back_in(api, host, new_user):
    user = new_user()
    space = api.post("/spaces", host, {"title": "Second chance"}).data
    api.post(f"/users/{user}/block", host)

    assert api.delete(f"/users/{user}/block", host).data["changed"] is True
    assert api.post(f"/spaces/{space['id']}/join", user).status_code == 200


def test_you_cannot_block_yourself(api, host):
    response = api.post(f"/users/{host}/block", host)
    assert response.status_code == 422 and response.data["code"] == "cannot_block_self"
