"""GET /spaces: the Spaces tab, one Query per page, lists that follow every state change."""
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.services.discovery import refresh_live_ranks


def in_hours(hours):
    return (datetime.now(timezone.utc) + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def topic():
    """A topic of this test's own, so lists hold only this test's Spaces."""
    import uuid

    return f"t-{uuid.uuid4().hex[:10]}"


def ids(response):
    assert response.status_code == 200, response.data
    return [s["id"] for s in response.data["spaces"]]


def test_live_spaces_are_listed_most_listeners_first(api, deps, new_user, topic, settle_counts):
    spaces = []
    for listeners in (1, 3, 2):
        host = new_user("host", followers=700)
        space = api.post("/spaces", host, {"title": f"{listeners} listening", "topics": [topic]}).data
        for _ in range(listeners):
            api.post(f"/spaces/{space['id']}/join", new_user())
        spaces.append(space["id"])
    settle_counts()
    refresh_live_ranks(deps)

    listed = api.get(f"/spaces?state=live&topic={topic}", new_user())

    assert ids(listed) == [spaces[1], spaces[2], spaces[0]]
    assert [s["participant_count"] for s in listed.data["spaces"]] == [3, 2, 1]
    assert listed.data["next_cursor"] is None


def test_scheduled_spaces_are_listed_soonest_first(api, new_user, topic):
    host = new_user("host", followers=700)
    later = api.post("/spaces", host, {"title": "later", "topics": [topic], "scheduled_start": in_hours(5)}).data
    sooner = api.post("/spaces", host, {"title": "sooner", "topics": [topic], "scheduled_start": in_hours(1)}).data

    assert ids(api.get(f"/spaces?state=scheduled&topic={topic}", host)) == [sooner["id"], later["id"]]
    assert ids(api.get(f"/spaces?state=scheduled&host_id={host}", host)) == [sooner["id"], later["id"]]


def test_an_ended_space_leaves_the_live_lists_at_once(api, host, topic):
    space = api.post("/spaces", host, {"title": "short", "topics": [topic]}).data
    assert ids(api.get(f"/spaces?topic={topic}", host)) == [space["id"]]

    api.post(f"/spaces/{space['id']}/end", host)

    assert ids(api.get(f"/spaces?topic={topic}", host)) == []
    assert ids(api.get(f"/spaces?host_id={host}", host)) == []


def test_a_started_space_moves_from_scheduled_to_live_and_a_canceled_one_disappears(api, host, topic):
    first = api.post("/spaces", host, {"title": "a", "topics": [topic], "scheduled_start": in_hours(2)}).data
    second = api.post("/spaces", host, {"title": "b", "topics": [topic], "scheduled_start": in_hours(3)}).data

    api.post(f"/spaces/{first['id']}/start", host)
    api.post(f"/spaces/{second['id']}/cancel", host)

    assert ids(api.get(f"/spaces?state=live&topic={topic}", host)) == [first["id"]]
    assert ids(api.get(f"/spaces?state=scheduled&topic={topic}", host)) == []


def test_editing_topics_moves_the_space_between_topic_lists(api, host, topic):
    space = api.post("/spaces", host, {"title": "x", "topics": [topic], "scheduled_start": in_hours(2)}).data
    other = topic + "-b"

    api.patch(f"/spaces/{space['id']}", host, {"topics": [other], "title": "renamed"})

    assert ids(api.get(f"/spaces?state=scheduled&topic={topic}", host)) == []
    listed = api.get(f"/spaces?state=scheduled&topic={other}", host).data["spaces"]
    assert [(s["id"], s["title"]) for s in listed] == [(space["id"], "renamed")]


def test_pages_follow_the_cursor_without_repeats(api, new_user, topic):
    created = []
    for n in range(5):
        host = new_user("host", followers=700)
        created.append(api.post("/spaces", host, {"title": f"s{n}", "topics": [topic], "scheduled_start": in_hours(n + 1)}).data["id"])
    seen, cursor, pages = [], None, 0
    while True:
        path = f"/spaces?state=scheduled&topic={topic}&limit=2" + (f"&cursor={cursor}" if cursor else "")
        response = api.get(path, created and new_user())
        seen += ids(response)
        pages += 1
        cursor = response.data["next_cursor"]
        if cursor is None:
            break
    assert seen == created and pages == 3


def test_a_page_costs_one_dynamodb_call(api, deps, host, topic, new_user):
    """One Query per page for a viewer nobody blocked, from their first page on: the container
    reads the "blocked by someone" filter once a minute for every viewer (one BatchGetItem)."""
    from tests.support.aws_calls import AwsCallRecorder, dynamodb_clients
    from chalicelib.domain.discovery import list_request
    from chalicelib.services.discovery import list_spaces

    api.post("/spaces", host, {"title": "x", "topics": [topic]})
    viewers = [new_user("viewer") for _ in range(4)]
    with AwsCallRecorder() as recorder:
        for client in dynamodb_clients():
            recorder.attach(client)
        list_spaces(deps, viewers[0], list_request({"topic": topic}))
        container_first = recorder.operations("dynamodb")
        recorder.reset()
        for viewer in viewers[1:]:
            list_spaces(deps, viewer, list_request({"topic": topic}))
            list_spaces(deps, viewer, list_request({"topic": topic}))

    assert container_first == ["Query", "BatchGetItem"], "the page, then the filter (once per container-minute)"
    assert recorder.operations("dynamodb") == ["Query"] * 6


def test_a_blocked_viewer_costs_one_more_query_on_their_first_page(api, deps, host, topic, new_user):
    from tests.support.aws_calls import AwsCallRecorder, dynamodb_clients
    from chalicelib.domain.discovery import list_request
    from chalicelib.services.discovery import list_spaces
    from chalicelib.services.users import forget_blocked_filter

    space = api.post("/spaces", host, {"title": "hidden from one", "topics": [topic]}).data
    blocked, other_host = new_user("blocked"), new_user("other")
    assert api.post(f"/users/{blocked}/block", other_host).status_code == 200
    forget_blocked_filter(deps)
    list_spaces(deps, new_user("warm"), list_request({"topic": topic}))  # the container reads the filter
    with AwsCallRecorder() as recorder:
        for client in dynamodb_clients():
            recorder.attach(client)
        first = list_spaces(deps, blocked, list_request({"topic": topic}))
        first_ops = recorder.operations("dynamodb")
        recorder.reset()
        list_spaces(deps, blocked, list_request({"topic": topic}))

    assert first_ops == ["Query", "Query"], "the page, then who blocked them (the filter said maybe)"
    assert recorder.operations("dynamodb") == ["Query"]
    # blocked by another host: this host's Space is still listed for them
    assert [s.listing.space_id for s in first.spaces] == [space["id"]]


@pytest.mark.parametrize(
    "query, status, code",
    [
        ("state=ended", 400, "invalid_state"),
        ("limit=0", 400, "invalid_limit"),
        ("limit=101", 400, "invalid_limit"),
        ("limit=ten", 400, "invalid_limit"),
        ("cursor=not-a-cursor", 400, "invalid_cursor"),
        ("topic=Not%20A%20Slug", 400, "invalid_topics"),
        ("topic=tech&host_id=alice", 400, "too_many_filters"),
        ("host_id=bad%20id", 400, "invalid_user_id"),
        ("following=yes", 400, "invalid_following"),
        ("following=true&topic=tech", 400, "too_many_filters"),
        ("q=x", 400, "invalid_query"),
        ("q=music&topic=tech", 400, "too_many_filters"),
    ],
)
def test_bad_list_requests_are_4xx(api, host, query, status, code):
    response = api.get(f"/spaces?{query}", host)
    assert (response.status_code, response.data["code"]) == (status, code)


def test_a_cursor_from_another_list_is_refused(api, new_user, topic):
    for n in range(2):
        api.post("/spaces", new_user("h", followers=700), {"title": "x", "topics": [topic], "scheduled_start": in_hours(1)})
    cursor = api.get(f"/spaces?state=scheduled&topic={topic}&limit=1", new_user()).data["next_cursor"]

    response = api.get(f"/spaces?state=live&topic={topic}&cursor={cursor}", new_user())

    assert response.status_code == 400 and response.data["code"] == "invalid_cursor"


def test_title_search_matches_word_prefixes_ignoring_case_and_accents(api, new_user):
    import uuid

    word = "zq" + uuid.uuid4().hex[:6]  # a word no other test's title has
    host = new_user("host", followers=700)
    cafe = api.post("/spaces", host, {"title": f"Café {word.upper()} à Paris", "scheduled_start": in_hours(2)}).data
    other = new_user("host", followers=700)
    api.post("/spaces", other, {"title": f"Something else {word}", "scheduled_start": in_hours(3)})

    assert ids(api.get(f"/spaces?state=scheduled&q=cafe%20{word[:5]}", host)) == [cafe["id"]]
    assert len(ids(api.get(f"/spaces?state=scheduled&q={word[:4]}", host))) == 2
    assert ids(api.get(f"/spaces?state=scheduled&q=PARI%20{word}", host)) == [cafe["id"]]
    assert ids(api.get(f"/spaces?state=live&q={word}", host)) == []


def test_a_renamed_space_is_found_by_its_new_title_only(api, host):
    import uuid

    old, new = "zo" + uuid.uuid4().hex[:6], "zn" + uuid.uuid4().hex[:6]
    space = api.post("/spaces", host, {"title": f"Old {old}", "scheduled_start": in_hours(2)}).data

    api.patch(f"/spaces/{space['id']}", host, {"title": f"New {new}"})

    assert ids(api.get(f"/spaces?state=scheduled&q={old}", host)) == []
    assert ids(api.get(f"/spaces?state=scheduled&q={new}", host)) == [space["id"]]


def test_a_search_result_moves_from_scheduled_to_live_and_leaves_at_the_end(api, host):
    import uuid

    word = "zl" + uuid.uuid4().hex[:6]
    space = api.post("/spaces", host, {"title": f"Launch {word}", "scheduled_start": in_hours(2)}).data
    api.post(f"/spaces/{space['id']}/start", host)
    assert ids(api.get(f"/spaces?state=live&q={word}", host)) == [space["id"]]
    assert ids(api.get(f"/spaces?state=scheduled&q={word}", host)) == []

    api.post(f"/spaces/{space['id']}/end", host)

    assert ids(api.get(f"/spaces?state=live&q={word}", host)) == []


def test_following_lists_only_the_live_spaces_of_hosts_i_follow_most_listeners_first(api, deps, new_user, settle_counts):
    viewer = new_user("viewer")
    hosts = [new_user("host", followers=700) for _ in range(4)]
    for followed in hosts[:3]:
        api.post(f"/users/{followed}/follow", viewer)
    from chalicelib.services import users as user_service

    user_service.block(deps, hosts[2], viewer)  # followed, but the host blocked the viewer
    spaces = {}
    for listeners, host in zip((1, 3, 2, 5), hosts):
        spaces[host] = api.post("/spaces", host, {"title": "live"}).data["id"]
        for _ in range(listeners):
            api.post(f"/spaces/{spaces[host]}/join", new_user())
    settle_counts()
    refresh_live_ranks(deps)

    first = api.get("/spaces?state=live&following=true&limit=1", viewer)
    second = api.get(f"/spaces?state=live&following=true&limit=1&cursor={first.data['next_cursor']}", viewer)

    assert ids(first) == [spaces[hosts[1]]] and ids(second) == [spaces[hosts[0]]]
    assert second.data["next_cursor"] is None
    assert [s["participant_count"] for s in first.data["spaces"]] == [3]


def test_following_scheduled_lists_the_next_week_soonest_first(api, deps, new_user):
    viewer = new_user("viewer")
    soon, later, far = (new_user("host", followers=700) for _ in range(3))
    for followed in (soon, later, far):
        api.post(f"/users/{followed}/follow", viewer)
    made = {}
    for host, hours in ((later, 48), (soon, 2), (far, 24 * 10)):
        made[host] = api.post("/spaces", host, {"title": "soon", "scheduled_start": in_hours(hours)}).data["id"]

    listed = api.get("/spaces?state=scheduled&following=true", viewer)

    assert ids(listed) == [made[soon], made[later]], "a Space 10 days out is past the 7-day window"


def test_following_costs_one_query_a_minute_per_caller_and_shared_lists(api, deps, new_user):
    from tests.support.aws_calls import AwsCallRecorder, dynamodb_clients
    from chalicelib.domain.discovery import list_request
    from chalicelib.services.discovery import list_spaces

    viewer, other = new_user("viewer"), new_user("other")
    host = new_user("host", followers=700)
    api.post(f"/users/{host}/follow", viewer)
    api.post("/spaces", host, {"title": "x"})
    with AwsCallRecorder() as recorder:
        for client in dynamodb_clients():
            recorder.attach(client)
        list_spaces(deps, viewer, list_request({"following": "true"}))
        first = recorder.operations("dynamodb")
        recorder.reset()
        list_spaces(deps, viewer, list_request({"following": "true"}))
        again = recorder.operations("dynamodb")
        recorder.reset()
        list_spaces(deps, other, list_request({"following": "true"}))
        another_caller = recorder.operations("dynamodb")

    # followees, the container's blocked filter (nobody blocked this caller, so no blocked_by
    # Query), then the live list
    assert first == ["Query", "BatchGetItem", "Query"], first
    assert again == []
    assert another_caller == ["Query"], "only their followees: the live list is shared"
