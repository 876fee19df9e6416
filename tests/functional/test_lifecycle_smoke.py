def test_a_host_opens_a_space_and_listeners_join(api, host, new_user):
    created = api.post("/spaces", host, {"title": "Morning show", "topics": ["tech"]})
    assert created.status_code == 201, created.data
    space = created.data
    assert space["state"] == "live"
    assert space["host_ids"] == [host]

    listener = new_user("listener")
    joined = api.post(f"/spaces/{space['id']}/join", listener)
    assert joined.status_code == 200, joined.data
    assert joined.data["role"] == "listener"
    assert joined.data["media"]["capabilities"] == ["SUBSCRIBE"]

    hosted = api.post(f"/spaces/{space['id']}/join", host)
    assert hosted.data["role"] == "host", hosted.data

    got = api.get(f"/spaces/{space['id']}", listener)
    assert got.data["participant_count"] == 2
