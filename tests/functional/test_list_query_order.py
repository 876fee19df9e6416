"""Every list route checks in one order: the caller (401), who may read (403), whether the Space
exists (404), and only then its query parameters (400). A malformed `limit`, `wait` or cursor
sent to a Space that does not exist is a 404, and sent by someone who may not read the list a
403: the answer never tells a stranger more than the refusal does. The use cases read the page's
size from `PageCursor.limit` after their checks (domain/paging.py is the one rule for it)."""
from __future__ import annotations

import pytest

MISSING = "0NoSuchSpace0000000000000"
# (the list under /spaces/{id}/, a query that is malformed for it)
LISTS = [
    ("moderation-log", "limit=abc"),
    ("appeals", "limit=0"),
    ("tickets", "limit=101"),
    ("listeners", "limit=-1"),
    ("captions", "limit=abc"),
    ("captions", "after=%21%21"),
    ("events", "limit=abc"),
    ("events", "wait=soon"),
    ("clips", "limit=abc"),
]


def live_space(api, host):
    created = api.post("/spaces", host, {"title": "Order of checks"})
    assert created.status_code == 201, created.data
    assert api.post(f"/spaces/{created.data['id']}/join", host).status_code == 200
    return created.data["id"]


@pytest.mark.parametrize("path, query", LISTS)
def test_a_malformed_query_on_a_space_that_does_not_exist_is_404(api, host, path, query):
    answer = api.get(f"/spaces/{MISSING}/{path}?{query}", host)

    assert answer.status_code == 404, answer.data


@pytest.mark.parametrize("path, query", [entry for entry in LISTS if entry[0] != "clips"])
def test_a_malformed_query_from_someone_who_may_not_read_the_list_is_403(api, host, new_user, path, query):
    """A stranger to the Space for the moderators' and the host's lists and the listener list; a
    person the host blocked for the room's events and the captions (anyone else may read them)."""
    space_id = live_space(api, host)
    outsider = new_user("outsider")
    if path in ("events", "captions"):
        assert api.post(f"/users/{outsider}/block", host).status_code in (200, 201, 204)

    answer = api.get(f"/spaces/{space_id}/{path}?{query}", outsider)

    assert answer.status_code == 403, answer.data


@pytest.mark.parametrize("path, query", [("moderation-log", "limit=abc"), ("captions", "limit=abc"),
                                         ("events", "wait=soon"), ("events", "limit=1_0"), ("listeners", "limit=+5")])
def test_the_same_query_from_the_host_is_400_invalid(api, host, path, query):
    space_id = live_space(api, host)

    answer = api.get(f"/spaces/{space_id}/{path}?{query}", host)

    assert answer.status_code == 400, answer.data
    assert answer.data["code"] in ("invalid_limit", "invalid_wait", "invalid_cursor")


@pytest.mark.parametrize("path", ["moderation-log", "captions", "events", "listeners"])
def test_a_limit_is_honoured_from_1_to_100(api, host, path):
    space_id = live_space(api, host)

    for limit in ("1", "100"):
        answer = api.get(f"/spaces/{space_id}/{path}?limit={limit}", host)
        assert answer.status_code == 200, (limit, answer.data)
