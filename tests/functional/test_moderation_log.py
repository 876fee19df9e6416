"""The moderation ledger through the API: acts show up once in the Space's log and in the target's
own, readers are the host and co-hosts, and a refused act leaves no trace."""
import pytest


@pytest.fixture
def live(api, host):
    space = api.post("/spaces", host, {"title": "Moderated"}).data

    def join(user):
        response = api.post(f"/spaces/{space['id']}/join", user)
        assert response.status_code == 200, response.data

    return space["id"], join


def _speaker(api, space_id, join, host, user):
    join(user)
    api.post(f"/spaces/{space_id}/speakers", host, {"user_id": user})
    assert api.post(f"/spaces/{space_id}/invitations/accept", user).status_code == 200


def test_each_act_is_one_entry_in_the_space_log_and_the_targets_own(api, live, host, new_user):
    space_id, join = live
    speaker, listener = new_user(), new_user()
    _speaker(api, space_id, join, host, speaker)
    join(listener)

    assert api.post(f"/spaces/{space_id}/participants/{speaker}/mute", host).status_code == 200
    assert api.post(f"/spaces/{space_id}/participants/{speaker}/mute", host).status_code == 200  # no change
    assert api.delete(f"/spaces/{space_id}/speakers/{speaker}", host).status_code == 200
    removed = api.post(f"/spaces/{space_id}/participants/{listener}/remove", host, {"reason": "spam links"})
    assert removed.status_code == 200
    assert api.post(f"/spaces/{space_id}/participants/{listener}/remove", host).status_code == 200  # again

    log = api.get(f"/spaces/{space_id}/moderation-log", host)
    assert log.status_code == 200, log.data
    assert [(e["act"], e["target_id"], e["actor_id"]) for e in log.data["entries"]] == [
        ("invite", speaker, host), ("mute", speaker, host), ("demote", speaker, host), ("remove", listener, host),
    ]
    assert log.data["entries"][3]["reason"] == "spam links"
    mine = api.get("/me/moderation", listener)
    assert [(e["act"], e["space_id"]) for e in mine.data["entries"]] == [("remove", space_id)]


def test_stepping_down_yourself_is_not_moderation(api, live, host, new_user):
    space_id, join = live
    speaker = new_user()
    _speaker(api, space_id, join, host, speaker)

    assert api.delete(f"/spaces/{space_id}/speakers/{speaker}", speaker).status_code == 200

    # Only the host's invitation is in the log: the speaker's own step down is not.
    assert [e["act"] for e in api.get(f"/spaces/{space_id}/moderation-log", host).data["entries"]] == ["invite"]


def test_a_bad_reason_is_400_and_removes_nobody(api, live, host, new_user):
    space_id, join = live
    listener = new_user()
    join(listener)

    for reason in ("", "x" * 281, "line\nbreak", 7):
        response = api.post(f"/spaces/{space_id}/participants/{listener}/remove", host, {"reason": reason})
        assert response.status_code == 400 and response.data["code"] == "invalid_reason", reason

    assert api.get(f"/spaces/{space_id}/moderation-log", host).data["entries"] == []
    assert api.post(f"/spaces/{space_id}/join", listener).status_code == 200


def test_a_malformed_body_is_403_for_who_may_not_remove_and_400_for_who_may(api, live, host, new_user):
    space_id, join = live
    listener, other = new_user(), new_user()
    join(listener)
    join(other)
    path = f"/spaces/{space_id}/participants/{other}/remove"

    refused = api.call("POST", path, listener, "{not json")
    assert refused.status_code == 403 and refused.data["code"] == "moderator_only"
    bad = api.call("POST", path, host, "{not json")
    assert bad.status_code == 400 and bad.data["code"] == "invalid_json"
    assert api.post(f"/spaces/{space_id}/join", other).status_code == 200  # still in


def test_only_the_host_and_cohosts_read_a_spaces_log(api, live, host, new_user):
    space_id, join = live
    cohost, listener = new_user(), new_user()
    join(cohost)
    join(listener)
    api.post(f"/spaces/{space_id}/cohosts", host, {"user_id": cohost})

    assert api.get(f"/spaces/{space_id}/moderation-log", cohost).status_code == 200
    refused = api.get(f"/spaces/{space_id}/moderation-log", listener)
    assert refused.status_code == 403 and refused.data["code"] == "moderator_only"
    assert api.get("/spaces/S00000000000000000000000000/moderation-log", host).status_code in (400, 404)


def test_the_log_pages_with_signed_cursors(api, live, host, new_user):
    space_id, join = live
    targets = [new_user() for _ in range(5)]
    for user in targets:
        join(user)
        assert api.post(f"/spaces/{space_id}/participants/{user}/remove", host).status_code == 200

    seen, cursor, pages = [], None, 0
    while True:
        path = f"/spaces/{space_id}/moderation-log?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = api.get(path, host)
        assert page.status_code == 200, page.data
        seen += [e["target_id"] for e in page.data["entries"]]
        pages += 1
        cursor = page.data["next_cursor"]
        if cursor is None:
            break

    assert seen == targets and pages == 3
    tampered = api.get(f"/spaces/{space_id}/moderation-log?limit=2&cursor=abc", host)
    assert tampered.status_code == 400


def test_a_removed_user_appeals_once_and_the_host_lifts_the_removal(api, live, host, new_user):
    space_id, join = live
    cohost, listener, bystander = new_user(), new_user(), new_user()
    join(cohost)
    join(listener)
    join(bystander)
    api.post(f"/spaces/{space_id}/cohosts", host, {"user_id": cohost})
    api.post(f"/spaces/{space_id}/participants/{listener}/remove", cohost, {"reason": "shouting"})

    not_removed = api.post(f"/spaces/{space_id}/appeal", bystander, {"text": "me too"})
    assert not_removed.status_code == 403 and not_removed.data["code"] == "not_removed"
    bad = api.post(f"/spaces/{space_id}/appeal", listener, {"text": ""})
    assert bad.status_code == 400 and bad.data["code"] == "invalid_appeal"
    first = api.post(f"/spaces/{space_id}/appeal", listener, {"text": "I was reading a quote"})
    assert first.status_code == 201, first.data
    again = api.post(f"/spaces/{space_id}/appeal", listener, {"text": "please"})
    assert again.status_code == 409 and again.data["code"] == "already_appealed"

    seen = api.get(f"/spaces/{space_id}/appeals", cohost)
    assert [(a["user_id"], a["text"]) for a in seen.data["appeals"]] == [(listener, "I was reading a quote")]
    assert api.get(f"/spaces/{space_id}/appeals", bystander).status_code == 403

    assert api.post(f"/spaces/{space_id}/removals/{listener}/lift", cohost).status_code == 403  # host only
    lifted = api.post(f"/spaces/{space_id}/removals/{listener}/lift", host, {"reason": "fair appeal"})
    assert lifted.status_code == 200, lifted.data
    twice = api.post(f"/spaces/{space_id}/removals/{listener}/lift", host)
    assert twice.status_code == 409 and twice.data["code"] == "not_removed"

    assert api.post(f"/spaces/{space_id}/join", listener).status_code == 200
    mine = api.get("/me/moderation", listener).data["entries"]
    assert [(e["act"], e["actor_id"], e["reason"]) for e in mine] == [
        ("remove", cohost, "shouting"), ("lift_removal", host, "fair appeal"),
    ]


def test_a_participant_reports_a_space_or_a_person_once_and_operators_resolve_it(api, live, host, new_user):
    import io
    import json

    from chalicelib.adapters.dynamodb.reports import DynamoReports
    from scripts import reports as cli

    space_id, join = live
    listener, speaker_of_hate, stranger = new_user(), new_user(), new_user()
    join(listener)
    join(speaker_of_hate)
    path = f"/spaces/{space_id}/reports"

    refused = api.post(path, stranger, {"reason": "spam"})
    assert refused.status_code == 403 and refused.data["code"] == "not_participant"
    bad = api.post(path, listener, {"reason": "i-do-not-like-it"})
    assert bad.status_code == 400 and bad.data["code"] == "invalid_reason"
    of_space = api.post(path, listener, {"reason": "spam"})
    assert of_space.status_code == 201 and of_space.data["target"] == "space"
    of_person = api.post(path, listener, {"reason": "hate", "text": "slurs at 10:02", "user_id": speaker_of_hate})
    assert of_person.status_code == 201, of_person.data
    twice = api.post(path, listener, {"reason": "other", "user_id": speaker_of_hate})
    assert twice.status_code == 409 and twice.data["code"] == "already_reported"

    out = io.StringIO()
    assert cli.main(["show", space_id], reports=DynamoReports(), out=out) == 0
    shown = [json.loads(line) for line in out.getvalue().splitlines()]
    assert {(r["target"], r["reason"], r["status"]) for r in shown} == {
        ("space", "spam", "open"), (speaker_of_hate, "hate", "open"),
    }
    assert cli.main(["resolve", space_id, "space", listener, "no spam found"], reports=DynamoReports(), out=out) == 0
    assert cli.main(["resolve", space_id, "space", listener, "again"], reports=DynamoReports(), out=out) == 1
    out = io.StringIO()
    cli.main(["list", "--limit", "1000"], reports=DynamoReports(), out=out)
    still_open = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["target"] for r in still_open if r["space_id"] == space_id] == [speaker_of_hate]


def test_an_operator_ends_a_space_and_the_end_is_in_the_ledger_once(api, deps, live, host):
    import io
    import json

    from scripts import reports as cli

    space_id, _ = live

    out = io.StringIO()
    assert cli.main(["end", space_id, "illegal content"], deps=deps, out=out) == 0
    assert out.getvalue() == json.dumps({"space_id": space_id, "state": "ended"}) + "\n"
    assert cli.main(["end", space_id, "again"], deps=deps, out=io.StringIO()) == 1  # already ended

    assert api.get(f"/spaces/{space_id}", host).data["state"] == "ended"
    entries = api.get(f"/spaces/{space_id}/moderation-log", host).data["entries"]
    assert [(e["act"], e["actor_id"], e["target_id"], e["reason"]) for e in entries] == [
        ("operator_end", "operator", host, "illegal content"),
    ]


def test_an_operator_bars_a_host_who_then_may_neither_create_nor_start(api, deps, host):
    import io
    import json

    from scripts import reports as cli

    from datetime import datetime, timedelta, timezone

    start_at = (datetime.now(timezone.utc) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    scheduled = api.post("/spaces", host, {"title": "Later", "scheduled_start": start_at})
    assert scheduled.status_code == 201, scheduled.data
    space_id = scheduled.data["id"]

    out = io.StringIO()
    assert cli.main(["bar", space_id, host, "repeated hate"], deps=deps, out=out) == 0
    assert out.getvalue() == json.dumps({"user_id": host, "barred_from_hosting": True}) + "\n"
    assert cli.main(["bar", space_id, host, "again"], deps=deps, out=io.StringIO()) == 1  # already barred

    create = api.post("/spaces", host, {"title": "Back again"})
    assert create.status_code == 403 and create.data["code"] == "barred_from_hosting"
    start = api.post(f"/spaces/{space_id}/start", host)
    assert start.status_code == 403 and start.data["code"] == "barred_from_hosting"
    entries = api.get("/me/moderation", host).data["entries"]
    assert [(e["act"], e["actor_id"], e["space_id"]) for e in entries] == [("bar_host", "operator", space_id)]
