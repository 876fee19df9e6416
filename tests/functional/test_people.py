"""People over HTTP on DynamoDB Local (docs/people.md): profiles (GET / PATCH /me), names and
avatars in the lists of people, the listener list, incognito listening and its count."""
from __future__ import annotations

import pytest

from chalicelib.adapters.dynamodb.models import ParticipantModel, UserModel
from tests.support.aws_calls import AwsCallRecorder, dynamodb_clients

AVATAR = "https://cdn.example/ann.png"


@pytest.fixture
def recorder():
    with AwsCallRecorder() as rec:
        for client in dynamodb_clients():
            rec.attach(client)
        yield rec


def live_space(api, host, **fields):
    created = api.post("/spaces", host, {"title": "People", **fields})
    assert created.status_code == 201, created.data
    space_id = created.data["id"]
    assert api.post(f"/spaces/{space_id}/join", host).status_code == 200
    return space_id


def with_claims(api, user, **claims):
    return {"Authorization": f"Bearer {api.token(user, extra_claims=claims)}"}


# ------------------------------------------------------------------ profiles


def test_a_profile_is_seeded_from_the_token_claims_and_written_only_when_they_change(api, new_user, recorder):
    ann = new_user("ann")
    headers = with_claims(api, ann, name="Ann Lee", picture=AVATAR)

    first = api.get("/me", headers=headers)
    assert first.status_code == 200
    assert first.data == {
        "user_id": ann, "name": "Ann Lee", "avatar_url": AVATAR, "display_name": None, "own_avatar_url": None,
    }
    recorder.reset()
    assert api.get("/me", headers=headers).data["name"] == "Ann Lee"
    assert recorder.writes_to(UserModel.Meta.table_name) == [], "the same claims again: no write"

    renamed = api.get("/me", headers=with_claims(api, ann, name="Ann B. Lee", picture=AVATAR))
    assert renamed.data["name"] == "Ann B. Lee"
    assert recorder.writes_to(UserModel.Meta.table_name) == ["UpdateItem"]


def test_claims_that_break_the_rules_are_not_shown(api, new_user):
    ann = new_user("ann")
    seen = api.get("/me", headers=with_claims(api, ann, name="x" * 51, picture="http://cdn.example/a.png"))
    assert (seen.data["name"], seen.data["avatar_url"]) == (None, None)


def test_patch_me_sets_and_clears_the_users_own_name_and_avatar(api, new_user):
    ann = new_user("ann")
    headers = with_claims(api, ann, name="From the token")

    edited = api.patch("/me", body={"display_name": "  Ann  ", "avatar_url": AVATAR}, headers=headers)
    assert edited.status_code == 200
    assert (edited.data["name"], edited.data["display_name"], edited.data["avatar_url"]) == ("Ann", "Ann", AVATAR)
    # The user's own name wins over the token's, and survives the next GET /me.
    assert api.get("/me", headers=headers).data["name"] == "Ann"

    cleared = api.patch("/me", body={"display_name": ""}, headers=headers)
    assert cleared.data["name"] == "From the token" and cleared.data["avatar_url"] == AVATAR


@pytest.mark.parametrize(
    "body, status, code",
    [
        ({}, 400, "empty_patch"),
        ({"bio": "hi"}, 400, "invalid_body"),
        ({"display_name": 5}, 400, "invalid_display_name"),
        ({"display_name": "a\nb"}, 400, "invalid_display_name"),
        ({"display_name": "x" * 51}, 422, "invalid_display_name"),
        ({"display_name": "   "}, 422, "invalid_display_name"),
        ({"avatar_url": "http://cdn.example/a.png"}, 422, "invalid_avatar_url"),
        ({"avatar_url": "javascript:alert(1)"}, 422, "invalid_avatar_url"),
        ({"avatar_url": "https://" + "a" * 1020}, 422, "invalid_avatar_url"),
        ({"avatar_url": None}, 400, "invalid_avatar_url"),
    ],
)
def test_a_bad_profile_edit_is_refused_and_changes_nothing(api, new_user, body, status, code):
    ann = new_user("ann")
    api.patch("/me", ann, {"display_name": "Ann"})

    refused = api.patch("/me", ann, body)

    assert (refused.status_code, refused.data["code"]) == (status, code)
    assert api.get("/me", ann).data["display_name"] == "Ann"


def test_patch_me_needs_a_token_first(api):
    assert api.patch("/me", None, {"display_name": 5}).status_code == 401


# ------------------------------------------------------------------ names in lists of people


def test_the_participants_answer_names_everyone_with_one_batch_of_profiles(api, host, new_user, recorder):
    ann, bob = new_user("ann"), new_user("bob")
    api.patch("/me", host, {"display_name": "The Host", "avatar_url": AVATAR})
    api.patch("/me", ann, {"display_name": "Ann"})
    space_id = live_space(api, host)
    for user in (ann, bob):
        api.post(f"/spaces/{space_id}/join", user)
    api.post(f"/spaces/{space_id}/speakers", host, {"user_id": ann})
    api.post(f"/spaces/{space_id}/invitations/accept", ann)
    api.post(f"/spaces/{space_id}/speaker-requests", bob)
    recorder.reset()

    view = api.get(f"/spaces/{space_id}/participants", host).data

    assert view["hosts"] == [{"user_id": host, "name": "The Host", "avatar_url": AVATAR}]
    assert view["speakers"][1] == {"user_id": ann, "name": "Ann", "avatar_url": None}
    assert [(r["user_id"], r["name"]) for r in view["speaker_requests"]["requests"]] == [(bob, None)]
    assert view["host_ids"] == [host] and view["speaker_ids"] == [host, ann], "the id lists stay"
    users_table = UserModel.Meta.table_name
    profile_reads = [
        op for _, op, params in recorder.calls
        if users_table in (params.get("RequestItems") or {}) or params.get("TableName") == users_table
    ]
    assert profile_reads == ["BatchGetItem"], "one BatchGetItem for every profile the answer shows"


# ------------------------------------------------------------------ incognito


def test_an_incognito_listener_is_counted_but_in_no_list_until_they_raise_a_hand(api, host, new_user, recorder):
    space_id = live_space(api, host)
    seen, hidden = new_user("seen"), new_user("hidden")
    api.post(f"/spaces/{space_id}/join", seen)
    recorder.reset()
    joined = api.post(f"/spaces/{space_id}/join", hidden, {"incognito": True})
    assert joined.status_code == 200 and joined.data["incognito"] is True
    assert recorder.operations("dynamodb").count("PutItem") + recorder.operations("dynamodb").count(
        "UpdateItem"
    ) == 1, "incognito rides in the join's one write"

    as_host = api.get(f"/spaces/{space_id}/participants", host).data
    as_listener = api.get(f"/spaces/{space_id}/participants", seen).data
    listed = api.get(f"/spaces/{space_id}/listeners", host).data

    assert as_host["participant_count"] == 3 and as_host["incognito_count"] == 1
    assert "incognito_count" not in as_listener, "only hosts and co-hosts see how many"
    assert [p["user_id"] for p in listed["listeners"]] == [seen]
    assert listed["incognito_count"] == 1
    assert api.get(f"/spaces/{space_id}/participants", hidden).data["me"]["incognito"] is True

    # Raising a hand shows them, in that same write, and takes them out of the incognito count.
    assert api.post(f"/spaces/{space_id}/speaker-requests", hidden).status_code == 200
    as_host = api.get(f"/spaces/{space_id}/participants", host).data
    assert [r["user_id"] for r in as_host["speaker_requests"]["requests"]] == [hidden]
    assert as_host["incognito_count"] == 0 and as_host["participant_count"] == 3
    assert {p["user_id"] for p in api.get(f"/spaces/{space_id}/listeners", host).data["listeners"]} == {seen, hidden}


def test_with_incognito_off_the_join_says_so_and_connects_a_listener_everyone_sees(api, host, new_user):
    space_id = live_space(api, host, allow_incognito=False)
    user = new_user()

    joined = api.post(f"/spaces/{space_id}/join", user, {"incognito": True})

    assert joined.status_code == 200
    assert (joined.data["incognito"], joined.data["incognito_refused"]) == (False, "incognito_off")
    assert [p["user_id"] for p in api.get(f"/spaces/{space_id}/listeners", host).data["listeners"]] == [user]
    # The host turns it back on: the next listener joins unlisted.
    assert api.patch(f"/spaces/{space_id}", host, {"allow_incognito": True}).data["allow_incognito"] is True
    from chalicelib import bootstrap

    bootstrap.deps().media_cache.drop(space_id)  # another container would see it within 10 s
    assert api.post(f"/spaces/{space_id}/join", new_user(), {"incognito": True}).data["incognito"] is True


def test_a_leave_takes_an_incognito_listener_out_of_both_counts(api, host, new_user):
    space_id = live_space(api, host)
    hidden = new_user("hidden")
    api.post(f"/spaces/{space_id}/join", hidden, {"incognito": True})
    assert api.get(f"/spaces/{space_id}/participants", host).data["incognito_count"] == 1

    api.post(f"/spaces/{space_id}/leave", hidden)

    view = api.get(f"/spaces/{space_id}/participants", host).data
    assert (view["participant_count"], view["incognito_count"]) == (1, 0)


# ------------------------------------------------------------------ the listener list


def test_who_may_read_the_listener_list(api, host, new_user):
    space_id = live_space(api, host)
    listener, stranger, gone = new_user("listener"), new_user("stranger"), new_user("gone")
    for user in (listener, gone):
        api.post(f"/spaces/{space_id}/join", user)
    api.post(f"/spaces/{space_id}/leave", gone)

    assert api.get(f"/spaces/{space_id}/listeners", listener).status_code == 200
    assert api.get(f"/spaces/{space_id}/listeners", stranger).data["code"] == "not_listening"
    assert api.get(f"/spaces/{space_id}/listeners", gone).status_code == 403
    assert api.get(f"/spaces/{space_id}/listeners", None).status_code == 401
    assert api.get(f"/spaces/{space_id}/listeners?limit=0", stranger).status_code == 403, "403 before 400"
    assert api.get(f"/spaces/{space_id}/listeners?limit=0", listener).data["code"] == "invalid_limit"


def test_a_left_listener_leaves_the_list_and_a_rejoin_puts_them_first(api, host, new_user):
    space_id = live_space(api, host)
    first, second = new_user("first"), new_user("second")
    for user in (first, second):
        api.post(f"/spaces/{space_id}/join", user)
    assert [p["user_id"] for p in api.get(f"/spaces/{space_id}/listeners", host).data["listeners"]] == [second, first]

    api.post(f"/spaces/{space_id}/leave", first)
    assert [p["user_id"] for p in api.get(f"/spaces/{space_id}/listeners", host).data["listeners"]] == [second]
    api.post(f"/spaces/{space_id}/join", first)
    assert [p["user_id"] for p in api.get(f"/spaces/{space_id}/listeners", host).data["listeners"]] == [first, second]


def write_listeners(space_id, count, *, shards=1):
    """`count` listener items, written as the join writes them (`listed_in` by the Space's shard
    count), in a batch to keep the tests short; joined 1 ms apart, the last the newest."""
    from datetime import datetime, timedelta, timezone

    from chalicelib.domain.listener_list import listed_in

    base = datetime(2026, 12, 7, 1, 0, tzinfo=timezone.utc)
    users = [f"lst-{space_id[-6:]}-{i:04d}" for i in range(count)]
    with ParticipantModel.batch_write() as batch:
        for i, user in enumerate(users):
            batch.save(
                ParticipantModel(
                    ParticipantModel.key_for(space_id, user), space_id=space_id, user_id=user, role="listener",
                    connected=True, joined_at=base + timedelta(milliseconds=i),
                    listed_in=listed_in(space_id, user, shards),
                )
            )
    return users


def walk_listeners(api, reader, space_id, recorder, limit=100, between_pages=None):
    """Every page of the listener list through the route: (user ids in order, each page's
    number of Queries, each page's size). `between_pages(page_number)` runs after each page."""
    from urllib.parse import quote

    seen, queries, sizes, cursor = [], [], [], None
    while True:
        path = f"/spaces/{space_id}/listeners?limit={limit}" + (f"&cursor={quote(cursor, safe='')}" if cursor else "")
        before = len(recorder.calls)
        page = api.get(path, reader)
        assert page.status_code == 200, page.data
        queries.append([op for _, op, _ in recorder.calls[before:]].count("Query"))
        sizes.append(len(page.data["listeners"]))
        seen += [p["user_id"] for p in page.data["listeners"]]
        cursor = page.data["next_cursor"]
        if cursor is None:
            return seen, queries, sizes
        if between_pages is not None:
            between_pages(len(sizes))


@pytest.mark.slow
def test_two_thousand_listeners_page_in_pages_of_at_most_100_each_one_query(api, deps, host, recorder):
    """An ordinary Space (one listener shard): every listener exactly once, newest first, pages
    of at most 100, each page ONE Query and one BatchGetItem of profiles."""
    space_id = live_space(api, host)
    users = write_listeners(space_id, 2000)
    recorder.reset()

    seen, queries, sizes = walk_listeners(api, host, space_id, recorder)

    assert set(queries) == {1}, queries
    assert max(sizes) <= 100
    assert seen == list(reversed(users)), "every listener exactly once, most recent join first"
    assert len(sizes) in (20, 21)  # the last full page may be followed by an empty one
    assert recorder.operations("dynamodb").count("Scan") == 0


def famous_space(api, deps, new_user):
    """A Space whose host has the followers that spread its listener list over shards."""
    famous = new_user("famous", followers=deps.settings.listener_shard_min_followers)
    space_id = live_space(api, famous)
    assert deps.spaces.get(space_id).listener_shards == deps.settings.listener_shards > 1
    return famous, space_id


@pytest.mark.slow
def test_a_famous_hosts_two_thousand_listeners_page_exactly_with_one_query_per_shard(api, deps, new_user, recorder):
    """A sharded Space (10 index keys): pages of at most 100, each page one Query per shard not
    yet read to its end (10 while all have more), every listener exactly once, newest first."""
    famous, space_id = famous_space(api, deps, new_user)
    shards = deps.settings.listener_shards
    users = write_listeners(space_id, 2000, shards=shards)
    recorder.reset()

    seen, queries, sizes = walk_listeners(api, famous, space_id, recorder)

    assert seen == list(reversed(users)), "every listener exactly once, most recent join first"
    assert max(sizes) <= 100 and sizes[:19] == [100] * 19
    assert queries[0] == shards and max(queries) <= shards, queries
    assert queries[:19] == [shards] * 19, "each shard still has listeners: each is read once per page"
    assert recorder.operations("dynamodb").count("Scan") == 0


def test_joins_and_leaves_while_a_famous_hosts_list_is_paged_repeat_nobody(api, deps, new_user, recorder):
    """Walking the list while people come and go: a new joiner is newer than where the walk is
    (seen on the next walk, not this one), a listener who leaves before their page is not shown,
    and one already shown who leaves and joins again is not shown twice."""
    famous, space_id = famous_space(api, deps, new_user)
    listeners = [new_user("l") for _ in range(30)]
    for user in listeners:
        assert api.post(f"/spaces/{space_id}/join", user).status_code == 200
    newcomer = new_user("new")
    shown_first = []

    def come_and_go(page_number):
        if page_number == 1:
            shown_first.extend(seen_so_far())
            api.post(f"/spaces/{space_id}/join", newcomer)
            api.post(f"/spaces/{space_id}/leave", listeners[0])  # the oldest: not shown yet
            api.post(f"/spaces/{space_id}/leave", shown_first[0])
            api.post(f"/spaces/{space_id}/join", shown_first[0])

    def seen_so_far():
        page = api.get(f"/spaces/{space_id}/listeners?limit=7", famous).data
        return [p["user_id"] for p in page["listeners"]]

    seen, _, sizes = walk_listeners(api, famous, space_id, recorder, limit=7, between_pages=come_and_go)

    assert max(sizes) <= 7
    assert seen[:7] == shown_first
    assert len(seen) == len(set(seen)), "nobody twice"
    assert set(seen) == set(listeners) - {listeners[0]}, "everyone who stayed, and nobody new"
    fresh = [p["user_id"] for p in api.get(f"/spaces/{space_id}/listeners?limit=3", famous).data["listeners"]]
    assert fresh[:2] == [shown_first[0], newcomer], "a new walk starts with the latest joins"


def test_a_listener_list_cursor_only_works_on_its_own_space(api, host, new_user):
    space_id = live_space(api, host)
    other_host = new_user("other", followers=1200)
    other_id = live_space(api, other_host)
    for _ in range(3):
        api.post(f"/spaces/{space_id}/join", new_user())
    cursor = api.get(f"/spaces/{space_id}/listeners?limit=1", host).data["next_cursor"]
    assert cursor

    from urllib.parse import quote

    refused = api.get(f"/spaces/{other_id}/listeners?cursor={quote(cursor, safe='')}", other_host)
    assert (refused.status_code, refused.data["code"]) == (400, "invalid_cursor")
