"""Profiles, the follower graph and who may host."""


def test_following_counts_once_and_unfollowing_undoes_it(api, new_user):
    fan, star = new_user("fan"), new_user("star")

    first = api.post(f"/users/{star}/follow", fan)
    second = api.post(f"/users/{star}/follow", fan)

    assert (first.data["changed"], second.data["changed"]) == (True, False)
    assert api.get(f"/users/{star}", fan).data["follower_count"] == 1
    assert api.get(f"/users/{fan}", fan).data["following_count"] == 1

    api.delete(f"/users/{star}/follow", fan)
    again = api.delete(f"/users/{star}/follow", fan)
    assert again.status_code == 200 and again.data["changed"] is False
    assert api.get(f"/users/{star}", fan).data["follower_count"] == 0
    assert api.get(f"/users/{fan}", fan).data["following_count"] == 0


def test_a_user_becomes_eligible_to_host_at_600_followers(api, new_user):
    star = new_user("star", followers=599)
    assert api.get(f"/users/{star}", star).data["can_host"] is False
    assert api.post("/spaces", star, {"title": "too early"}).status_code == 422

    api.post(f"/users/{star}/follow", new_user("fan"))

    profile = api.get(f"/users/{star}", star).data
    assert profile["follower_count"] == 600 and profile["can_host"] is True
    assert profile["can_host_ticketed"] is False
    assert api.post("/spaces", star, {"title": "now"}).status_code == 201


def test_you_cannot_follow_yourself(api, new_user):
    me = new_user()
    response = api.post(f"/users/{me}/follow", me)
    assert response.status_code == 422 and response.data["code"] == "cannot_follow_self"


def test_an_invalid_user_id_is_400(api, new_user):
    response = api.post("/users/no%20spaces%20allowed/follow", new_user())
    assert response.status_code == 400 and response.data["code"] == "invalid_user_id"


def test_an_unknown_user_has_an_empty_profile(api, new_user):
    profile = api.get("/users/never-seen-before", new_user()).data
    assert profile == {
        "id": "never-seen-before",
        "follower_count": 0,
        "following_count": 0,
        "can_host": False,
        "can_host_ticketed": False,
    }


def test_unfollowing_yourself_changes_nothing(api, new_user):
    me = new_user()
    response = api.delete(f"/users/{me}/follow", me)
    assert response.status_code == 200 and response.data["changed"] is False
