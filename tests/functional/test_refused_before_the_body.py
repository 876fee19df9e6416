"""Who may act is judged before what they sent, on every route that takes a body (401, 403, 404,
then 400/422; chalicelib/api/http.py `command`). A caller who may not act hears the same 403, and
a caller naming a Space that does not exist the same 404, whatever the body holds: not JSON, not
an object, over the size or depth bound, text with control characters, bytes that are not UTF-8,
or well-formed JSON whose fields are all wrong. Nothing changes.
"""
from __future__ import annotations

import json

import pytest
import yaml

from chalicelib.domain.ids import new_ulid

BAD_BODIES = {
    "invalid_json": "{not json",
    "not_an_object": "[1, 2]",
    "body_too_large": json.dumps({"title": "big", "pad": "x" * 70_000}),
    "body_too_deep": '{"title": ' + "[" * 40 + "]" * 40 + "}",
    "invalid_text": '{"title": "nul \\u0000", "user_id": "a\\u0007", "emoji": "\\ud800", "text": "\\u0000"}',
    "invalid_utf8": b'{"title": "\xff\xfe"}',
    "wrong_fields": {
        "title": 7, "topics": "x", "recording": "maybe", "recording_consent": "maybe", "user_id": 7,
        "emoji": 7, "text": 7, "language": 7, "start_ms": "x", "end_ms": "x", "payment_method": 7,
    },
}

# Route -> (who is refused with 403 and its code, or None where nobody is refused before the
# body but a missing Space is; the 404 is asked of every route with {space_id}).
REFUSED = {
    ("PATCH", "/spaces/{space_id}"): ("stranger", "host_only"),
    ("POST", "/spaces/{space_id}/start"): ("stranger", "host_only"),
    ("POST", "/spaces/{space_id}/join"): ("blocked", "blocked_by_host"),
    ("POST", "/spaces/{space_id}/speakers"): ("listener", "moderator_only"),
    ("POST", "/spaces/{space_id}/invitations/accept"): None,
    ("POST", "/spaces/{space_id}/cohosts"): ("listener", "host_only"),
    ("POST", "/spaces/{space_id}/reactions"): ("blocked", "blocked_by_host"),
    ("POST", "/spaces/{space_id}/captions"): ("listener", "not_on_stage"),
    ("POST", "/spaces/{space_id}/tickets"): None,
    # This world's Space is not recorded (404 replay_not_found for everyone); who may clip a
    # recorded one is tests/functional/test_clips.py's.
    ("POST", "/spaces/{space_id}/clips"): None,
    ("PUT", "/spaces/{space_id}/clipping"): ("stranger", "host_only"),
    # The moderation ledger's routes ({user_id}: the listener).
    ("POST", "/spaces/{space_id}/participants/{user_id}/remove"): ("stranger", "moderator_only"),
    ("POST", "/spaces/{space_id}/removals/{user_id}/lift"): ("stranger", "host_only"),
    ("POST", "/spaces/{space_id}/appeal"): ("listener", "not_removed"),
    ("POST", "/spaces/{space_id}/reports"): ("stranger", "not_participant"),
    ("PUT", "/spaces/{space_id}/pinned"): ("listener", "moderator_only"),
}

# Routes with a body where no signed-in caller is refused before the body is read, and no
# Space in the path: their body is the first thing they can say no to.
NOTHING_TO_REFUSE_FIRST = {
    ("POST", "/spaces"),  # hosting eligibility is a rule (422), judged with the body
    ("POST", "/me/devices"),  # one's own devices
    ("PATCH", "/me"),  # one's own profile: 401 first (tests/functional/test_people.py), then the body
    ("POST", "/users/{user_id}/subscription"),  # anyone may subscribe to anyone (but themselves: 422)
    ("POST", "/local/sign-in"),  # nobody is known yet
    ("POST", "/webhooks/payments"),  # the signature over the raw body is the authentication
}


def routes_with_a_body() -> set[tuple[str, str]]:
    from pathlib import Path

    spec = yaml.safe_load((Path(__file__).resolve().parents[2] / "openapi.yaml").read_text())
    return {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if isinstance(operation, dict) and "requestBody" in operation
    }


def test_every_route_with_a_body_is_in_this_suite():
    assert routes_with_a_body() == set(REFUSED) | NOTHING_TO_REFUSE_FIRST


@pytest.fixture
def world(api, host, new_user):
    """A live Space with a joined listener, and a user the host blocked before it went live."""
    listener, blocked, stranger = new_user("listener"), new_user("blocked"), new_user("stranger")
    assert api.post(f"/users/{blocked}/block", host).status_code == 200
    space = api.post("/spaces", host, {"title": "Refusals"}).data
    for user in (host, listener):
        assert api.post(f"/spaces/{space['id']}/join", user).status_code == 200
    return {"space_id": space["id"], "host": host, "listener": listener, "blocked": blocked, "stranger": stranger}


def what_everyone_sees(api, world) -> dict:
    space_id, host = world["space_id"], world["host"]
    space = api.get(f"/spaces/{space_id}", host).data
    space.pop("participant_count")  # folded from presence; compared through the listing below
    return {
        "space": space,
        "participants": api.get(f"/spaces/{space_id}/participants", host).data,
        "captions": api.get(f"/spaces/{space_id}/captions", host).data,
        "events": [(e["name"], e.get("attributes")) for e in api.get(f"/spaces/{space_id}/events", host).data["events"]],
    }


def _refusals(api, method, path, user, expected):
    seen = {}
    for name, body in BAD_BODIES.items():
        # A fresh key on each: buying a ticket asks for one, before anything else, as a header.
        response = api.call(method, path, user, body, headers={"Idempotency-Key": new_ulid()})
        seen[name] = (response.status_code, (response.data or {}).get("code"))
    assert seen == {name: expected for name in BAD_BODIES}


@pytest.mark.parametrize("route", sorted(r for r, refused in REFUSED.items() if refused), ids=" ".join)
def test_a_caller_who_may_not_act_hears_403_whatever_the_body(api, world, route):
    method, template = route
    role, code = REFUSED[route]
    before = what_everyone_sees(api, world)

    path = template.format(space_id=world["space_id"], user_id=world["listener"])
    _refusals(api, method, path, world[role], (403, code))

    assert what_everyone_sees(api, world) == before


@pytest.mark.parametrize("route", sorted(REFUSED), ids=" ".join)
def test_a_space_that_does_not_exist_is_404_whatever_the_body(api, new_user, route):
    method, template = route

    path = template.format(space_id=new_ulid(), user_id=new_user("target"))
    _refusals(api, method, path, new_user("caller"), (404, "space_not_found"))
