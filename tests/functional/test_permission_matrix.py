"""Who may call what: every route the app registers × every role a person can have in a Space.

Each cell sees a live Space, exactly as built, in which every role below is held by a different
person (a Space is reused only by cells after a read or a 401/403 refusal, which change nothing):

    anonymous  no bearer token at all
    stranger   signed in, never joined this Space (and has no followers, so cannot host)
    listener   joined
    speaker    joined, invited on stage by the host, accepted
    cohost     joined, made co-host by the host
    host       the creator, joined
    removed    joined, then removed by the host
    incognito  joined incognito (`{"incognito": true}`): counted, in no list of people; in the
               room like any listener, so it gets what a listener gets on every route it acts on
               itself (docs/people.md)
    operator   a signed-in operator. Operators act through the command line (`python -m
               scripts.reports`: read open reports, end a Space, bar a host; docs/moderation.md),
               never over HTTP: to the API an operator is a user like any other, so this column
               is, today, exactly what a stranger gets

`target` names whose id fills `{user_id}` (and the `user_id` of a POST body): `audience` is one
more plain listener, so that acting on it never means acting on oneself. `given` is one more step
the host or a participant takes before the cell's request: `invite:listener` (the host invites the
listener on stage), `raise:listener` (the listener raises a hand), `mute:speaker` (the host mutes
the speaker), `device:listener` (the listener registers a phone for pushes; `{device_id}` is it),
`recorded:ended` (the Space is built recorded, everyone on stage consenting, and then ended, so its
replay is available: a public Space's replay is for everyone but removed and blocked users; the
host and the speaker consented, so they may withdraw; a clip is for the same audience), and
`clip:listener` (the same, then the listener clips the replay and the landing job cuts it).

A `-` in an actor's column is a cell not asserted yet (reported, waiting for a fix).

The web client's routes (`/`, `/web/{name}`, `/local/sign-in`) exist only in the local stage and
need no token: anyone, signed in or not, gets the page and may sign in locally as any user.
A Space's share page (`/s/{space_id}`) needs no token either: it is what a link crawler reads, the
same page for everyone (a token, if sent, is not even read), showing only what a stranger may know.

`blocked` is a user the host blocked: they may not join the host's Space (403
`blocked_by_host`), nor be in its room (events, chat token, reactions), and otherwise get what a
stranger gets. Reactions need a joined participant: a stranger gets 409 `not_in_space`.

Some cells answer with the state rather than with a permission, on purpose: the host starting or
cancelling a Space that is already live passes the host-only check and gets 409, and reminders are
for scheduled Spaces, so setting one on this live Space is 409 for everyone. This Space is public:
buying a ticket for it is 422 `not_ticketed` for everyone (tests/functional/test_tickets.py covers
ticketed Spaces), and the payment webhook has no bearer token, only the provider's signature, so
every caller without one gets 400.
"""
from __future__ import annotations

import uuid

from chalicelib.domain.commands.people import RegisterDevice
from chalicelib.domain.commands.stage import AcceptInvitation, InviteSpeaker, JoinSpace, NameCohost
from chalicelib.api.bodies.spaces import create_space as space_request

ACTORS = ("anonymous", "stranger", "listener", "speaker", "cohost", "host", "removed", "blocked", "incognito", "operator")

MATRIX = """
route                                                   | target   | given           | anonymous | stranger | listener | speaker | cohost | host | removed | blocked | incognito | operator
GET    /health                                          | -        | -               | 200       | 200      | 200      | 200     | 200    | 200  | 200     | 200     | 200       | 200
GET    /s/{space_id}                                    | -        | -               | 200       | 200      | 200      | 200     | 200    | 200  | 200     | 200     | 200       | 200
GET    /                                                | -        | -               | 302       | 302      | 302      | 302     | 302    | 302  | 302     | 302     | 302       | 302
GET    /web/{name}                                      | -        | -               | 200       | 200      | 200      | 200     | 200    | 200  | 200     | 200     | 200       | 200
POST   /local/sign-in                                   | -        | -               | 200       | 200      | 200      | 200     | 200    | 200  | 200     | 200     | 200       | 200
GET    /users/{user_id}                                 | host     | -               | 401       | 200      | 200      | 200     | 200    | 200  | 200     | 200     | 200       | 200
POST   /users/{user_id}/follow                          | host     | -               | 401       | 200      | 200      | 200     | 200    | 422  | 200     | 200     | 200       | 200
DELETE /users/{user_id}/follow                          | host     | -               | 401       | 200      | 200      | 200     | 200    | 200  | 200     | 200     | 200       | 200
POST   /users/{user_id}/block                           | host     | -               | 401       | 200      | 200      | 200     | 200    | 422  | 200     | 200     | 200       | 200
DELETE /users/{user_id}/block                           | host     | -               | 401       | 200      | 200      | 200     | 200    | 200  | 200     | 200     | 200       | 200
POST   /spaces                                          | -        | -               | 401       | 422      | 422      | 422     | 422    | 409  | 422     | 422     | 422       | 422
GET    /spaces                                          | -        | -               | 401       | 200      | 200      | 200     | 200    | 200  | 200     | 200     | 200       | 200
GET    /spaces/{space_id}                               | -        | -               | 401       | 200      | 200      | 200     | 200    | 200  | 200     | 200     | 200       | 200
PATCH  /spaces/{space_id}                               | -        | -               | 401       | 403      | 403      | 403     | 403    | 200  | 403     | 403     | 403       | 403
POST   /spaces/{space_id}/start                         | -        | -               | 401       | 403      | 403      | 403     | 403    | 409  | 403     | 403     | 403       | 403
POST   /spaces/{space_id}/end                           | -        | -               | 401       | 403      | 403      | 403     | 403    | 200  | 403     | 403     | 403       | 403
POST   /spaces/{space_id}/cancel                        | -        | -               | 401       | 403      | 403      | 403     | 403    | 409  | 403     | 403     | 403       | 403
POST   /spaces/{space_id}/join                          | -        | -               | 401       | 200      | 200      | 200     | 200    | 200  | 403     | 403     | 200       | 200
POST   /spaces/{space_id}/leave                         | -        | -               | 401       | 404      | 200      | 200     | 200    | 200  | 200     | 404     | 200       | 404
GET    /spaces/{space_id}/participants                  | -        | -               | 401       | 200      | 200      | 200     | 200    | 200  | 200     | 200     | 200       | 200
POST   /spaces/{space_id}/speaker-requests              | -        | -               | 401       | 409      | 200      | 409     | 409    | 409  | 403     | 409     | 200       | 409
DELETE /spaces/{space_id}/speaker-requests              | -        | raise:listener  | 401       | 200      | 200      | 200     | 200    | 200  | 200     | 200     | 200       | 200
POST   /spaces/{space_id}/speakers                      | audience | -               | 401       | 403      | 403      | 403     | 200    | 200  | 403     | 403     | 403       | 403
POST   /spaces/{space_id}/invitations/accept            | -        | invite:listener | 401       | 409      | 200      | 200     | 409    | 409  | 409     | 409     | 409       | 409
POST   /spaces/{space_id}/invitations/decline           | -        | invite:listener | 401       | 409      | 200      | 409     | 409    | 409  | 409     | 409     | 409       | 409
DELETE /spaces/{space_id}/speakers/{user_id}            | speaker  | -               | 401       | 403      | 403      | 200     | 200    | 200  | 403     | 403     | 403       | 403
POST   /spaces/{space_id}/cohosts                       | audience | -               | 401       | 403      | 403      | 403     | 403    | 200  | 403     | 403     | 403       | 403
DELETE /spaces/{space_id}/cohosts/{user_id}             | cohost   | -               | 401       | 403      | 403      | 403     | 200    | 200  | 403     | 403     | 403       | 403
POST   /spaces/{space_id}/participants/{user_id}/mute   | speaker  | -               | 401       | 403      | 403      | 200     | 200    | 200  | 403     | 403     | 403       | 403
POST   /spaces/{space_id}/participants/{user_id}/unmute | speaker  | mute:speaker    | 401       | 403      | 403      | 200     | 403    | 403  | 403     | 403     | 403       | 403
POST   /spaces/{space_id}/participants/{user_id}/remove | audience | -               | 401       | 403      | 403      | 403     | 200    | 200  | 403     | 403     | 403       | 403
GET    /spaces/{space_id}/events                        | -        | -               | 401       | 200      | 200      | 200     | 200    | 200  | 403     | 403     | 200       | 200
POST   /spaces/{space_id}/events/token                  | -        | -               | 401       | 200      | 200      | 200     | 200    | 200  | 403     | 403     | 200       | 200
POST   /spaces/{space_id}/reactions                     | -        | -               | 401       | 409      | 200      | 200     | 200    | 200  | 403     | 403     | 200       | 409
POST   /spaces/{space_id}/reminders                     | -        | -               | 401       | 409      | 409      | 409     | 409    | 409  | 409     | 409     | 409       | 409
DELETE /spaces/{space_id}/reminders                     | -        | -               | 401       | 200      | 200      | 200     | 200    | 200  | 200     | 200     | 200       | 200
POST   /me/devices                                      | -        | -               | 401       | 201      | 201      | 201     | 201    | 201  | 201     | 201     | 201       | 201
DELETE /me/devices/{device_id}                          | -        | device:listener | 401       | 404      | 200      | 404     | 404    | 404  | 404     | 404     | 404       | 404
POST   /spaces/{space_id}/tickets                       | -        | -               | 401       | 422      | 422      | 422     | 422    | 422  | 422     | 422     | 422       | 422
GET    /spaces/{space_id}/tickets                       | -        | -               | 401       | 403      | 403      | 403     | 403    | 422  | 403     | 403     | 403       | 403
GET    /me/tickets                                      | -        | -               | 401       | 200      | 200      | 200     | 200    | 200  | 200     | 200     | 200       | 200
POST   /users/{user_id}/subscription                    | host     | -               | 401       | 201      | 201      | 201     | 201    | 422  | 201     | 201     | 201       | 201
DELETE /users/{user_id}/subscription                    | host     | -               | 401       | 200      | 200      | 200     | 200    | 200  | 200     | 200     | 200       | 200
POST   /webhooks/payments                               | -        | -               | 400       | 400      | 400      | 400     | 400    | 400  | 400     | 400     | 400       | 400
POST   /spaces/{space_id}/captions                      | -        | -               | 401       | 403      | 403      | 200     | 200    | 200  | 403     | 403     | 403       | 403
GET    /spaces/{space_id}/captions                      | -        | -               | 401       | 200      | 200      | 200     | 200    | 200  | 403     | 403     | 200       | 200
GET    /spaces/{space_id}/replay                        | -        | recorded:ended  | 401       | 200      | 200      | 200     | 200    | 200  | 403     | 403     | 200       | 200
DELETE /spaces/{space_id}/replay                        | -        | recorded:ended  | 401       | 403      | 403      | 403     | 403    | 200  | 403     | 403     | 403       | 403
GET    /spaces/{space_id}/replay/captions               | -        | recorded:ended  | 401       | 409      | 409      | 409     | 409    | 409  | 403     | 403     | 409       | 409
DELETE /spaces/{space_id}/recording/consent             | -        | recorded:ended  | 401       | 404      | 404      | 200     | 404    | 200  | 404     | 404     | 404       | 404
POST   /spaces/{space_id}/clips                         | -        | recorded:ended  | 401       | 201      | 201      | 201     | 201    | 201  | 403     | 403     | 201       | 201
GET    /spaces/{space_id}/clips                         | -        | recorded:ended  | 401       | 200      | 200      | 200     | 200    | 200  | 403     | 403     | 200       | 200
PUT    /spaces/{space_id}/clipping                      | -        | recorded:ended  | 401       | 403      | 403      | 403     | 403    | 200  | 403     | 403     | 403       | 403
GET    /clips/{clip_id}                                 | -        | clip:listener   | 401       | 200      | 200      | 200     | 200    | 200  | 403     | 403     | 200       | 200
GET    /spaces/{space_id}/moderation-log                | -        | -               | 401       | 403      | 403      | 403     | 200    | 200  | 403     | 403     | 403       | 403
GET    /me/moderation                                   | -        | -               | 401       | 200      | 200      | 200     | 200    | 200  | 200     | 200     | 200       | 200
POST   /spaces/{space_id}/appeal                        | -        | -               | 401       | 403      | 403      | 403     | 403    | 403  | 201     | 403     | 403       | 403
GET    /spaces/{space_id}/appeals                       | -        | -               | 401       | 403      | 403      | 403     | 200    | 200  | 403     | 403     | 403       | 403
POST   /spaces/{space_id}/removals/{user_id}/lift       | removed  | -               | 401       | 403      | 403      | 403     | 403    | 200  | 403     | 403     | 403       | 403
POST   /spaces/{space_id}/reports                       | -        | -               | 401       | 403      | 201      | 201     | 201    | 201  | 201     | 403     | 201       | 403
GET    /me                                              | -        | -               | 401       | 200      | 200      | 200     | 200    | 200  | 200     | 200     | 200       | 200
PATCH  /me                                              | -        | -               | 401       | 200      | 200      | 200     | 200    | 200  | 200     | 200     | 200       | 200
GET    /spaces/{space_id}/listeners                     | -        | -               | 401       | 403      | 200      | 200     | 200    | 200  | 403     | 403     | 200       | 403
GET    /spaces/{space_id}/analytics                     | -        | -               | 401       | 403      | 403      | 403     | 200    | 200  | 403     | 403     | 403       | 403
PUT    /spaces/{space_id}/pinned                        | -        | -               | 401       | 403      | 403      | 403     | 200    | 200  | 403     | 403     | 403       | 403
DELETE /spaces/{space_id}/pinned                        | -        | -               | 401       | 403      | 403      | 403     | 200    | 200  | 403     | 403     | 403       | 403
"""

# Bodies for the routes that need one; `{target}` becomes the target's user id.
BODIES = {
    ("POST", "/spaces"): {"title": "Another one"},
    ("PATCH", "/spaces/{space_id}"): {"title": "Renamed"},
    ("POST", "/spaces/{space_id}/speakers"): {"user_id": "{target}"},
    ("POST", "/spaces/{space_id}/cohosts"): {"user_id": "{target}"},
    ("POST", "/me/devices"): {"platform": "ios", "token": "{fresh_token}"},
    ("POST", "/webhooks/payments"): {"id": "evt_unsigned", "type": "payment_intent.succeeded"},
    ("POST", "/spaces/{space_id}/reactions"): {"emoji": "👏"},
    ("POST", "/local/sign-in"): {"user_id": "matrix-visitor"},
    ("POST", "/spaces/{space_id}/captions"): {"text": "hello", "language": "en", "start_ms": 0, "end_ms": 900},
    ("POST", "/spaces/{space_id}/clips"): {"start_ms": 0, "duration_ms": 500},
    ("PUT", "/spaces/{space_id}/clipping"): {"enabled": False},
    ("POST", "/spaces/{space_id}/appeal"): {"text": "I was quoting someone"},
    ("POST", "/spaces/{space_id}/reports"): {"reason": "spam"},
    ("PATCH", "/me"): {"display_name": "Matrix"},
    ("PUT", "/spaces/{space_id}/pinned"): {"url": "https://example.com/notes", "text": "Show notes"},
}


# Non-GET routes that cannot change the Space the cells share (the local sign-in mints a token).
CHANGE_NO_SPACE = {("POST", "/local/sign-in"), ("PATCH", "/me")}


def parse_matrix(text: str) -> dict[tuple[str, str], dict]:
    rows: dict[tuple[str, str], dict] = {}
    lines = [line for line in text.strip().splitlines() if line.strip()]
    header = [cell.strip() for cell in lines[0].split("|")]
    assert header[3:] == list(ACTORS), header
    for line in lines[1:]:
        cells = [cell.strip() for cell in line.split("|")]
        method, path = cells[0].split()
        assert (method, path) not in rows, f"{method} {path} is in the table twice"
        rows[(method, path)] = {
            "target": None if cells[1] == "-" else cells[1],
            "given": None if cells[2] == "-" else cells[2],
            "expected": dict(zip(ACTORS, (None if c == "-" else int(c) for c in cells[3:]))),
        }
    return rows


ROWS = parse_matrix(MATRIX)


def registered_routes() -> set[tuple[str, str]]:
    from app import app

    return {(method.upper(), path) for path, methods in app.routes.items() for method in methods}


def test_every_registered_route_has_a_row_in_the_permission_matrix():
    registered = registered_routes()

    missing = sorted(registered - set(ROWS))
    stale = sorted(set(ROWS) - registered)

    assert not missing, f"routes without permissions in the matrix: {missing}"
    assert not stale, f"matrix rows for routes the app no longer registers: {stale}"


PEOPLE = ("stranger", "listener", "speaker", "cohost", "removed", "audience", "blocked", "incognito", "operator")


def build_space(deps, host: str, people: dict[str, str], given: str | None) -> tuple[str, dict]:
    """A live Space with every role held, set up through the use cases (setup is not under test).
    Returns its id and the ids the `given` step made (`device_id`)."""
    from chalicelib.services import reminders
    from chalicelib.services import spaces as space_service
    from chalicelib.services import stage, stage_moderation

    recorded = given in ("recorded:ended", "clip:listener")
    space_id = space_service.create_space(deps, host, space_request({"title": "Matrix", "recording": recorded})).id
    for user in (host, people["listener"], people["speaker"], people["cohost"], people["removed"], people["audience"]):
        stage.join_space(deps, user, space_id)
    stage.join_space(deps, people["incognito"], space_id, JoinSpace(incognito=True))
    stage.add_speaker(deps, host, space_id, InviteSpeaker(people["speaker"]))
    stage.accept_invitation(deps, people["speaker"], space_id, AcceptInvitation(recording_consent=True))
    stage_moderation.add_cohost(deps, host, space_id, NameCohost(people["cohost"]))
    stage_moderation.remove_participant(deps, host, space_id, people["removed"])
    from chalicelib.services import users as user_service

    user_service.block(deps, host, people["blocked"])
    made: dict[str, str] = {}
    if given is not None:
        action, role = given.split(":")
        if action == "device":
            device = RegisterDevice(platform="android", token=f"fcm-{uuid.uuid4().hex}")
            made["device_id"] = reminders.register_device(deps, people[role], device).device_id
        elif action == "invite":
            stage.add_speaker(deps, host, space_id, InviteSpeaker(people[role]))
        elif action == "raise":
            stage.raise_hand(deps, people[role], space_id)
        elif action == "mute":
            stage_moderation.mute(deps, host, space_id, people[role])
        elif action in ("recorded", "clip"):
            from tests.support.ivs_recordings import speaks

            speaks(deps, space_id, host, freq=440, start_s=0, end_s=1)  # what IVS would have written
            space_service.end_space(deps, host, space_id)
            if action == "clip":
                from chalicelib.services import clips, replay_landing

                from chalicelib.domain.commands.recording import MakeClip

                made["clip_id"] = clips.create_clip(deps, people[role], space_id, MakeClip(0, 500)).clip_id
                replay_landing.land_recordings(deps)
        else:
            raise AssertionError(f"unknown given step {given!r}")
    return space_id, made


def _fill(template, values: dict[str, str]):
    if isinstance(template, dict):
        return {k: _fill(v, values) for k, v in template.items()}
    if isinstance(template, str):
        for name, value in values.items():
            template = template.replace("{" + name + "}", value)
    return template


def test_each_role_gets_exactly_the_status_the_permission_matrix_gives(api, deps, new_user):
    # The people hold a different role in each Space; only the host is new per Space (a host has
    # one live Space at a time). Every cell sees the Space exactly as built: after any request
    # that may have changed it (anything but a read or a 401/403 refusal), the next cell gets a
    # fresh one.
    people = {role: new_user(role) for role in PEOPLE}
    tokens: dict[str, str] = {}

    def auth(user_id):
        if user_id is None:
            return {}
        if user_id not in tokens:
            tokens[user_id] = api.token(user_id)
        return {"Authorization": f"Bearer {tokens[user_id]}"}

    clean: dict[str | None, tuple[str, str, dict]] = {}  # given -> (host, space_id, made), unchanged
    mismatches = []
    for (method, path), row in ROWS.items():
        for actor in ACTORS:
            if row["given"] not in clean:
                host = new_user("host", followers=1200)
                clean[row["given"]] = (host, *build_space(deps, host, people, row["given"]))
            host, space_id, made = clean[row["given"]]
            users = {**people, "host": host, "anonymous": None}
            values = {"space_id": space_id, "fresh_token": f"apns-{uuid.uuid4().hex}", "name": "index.html", **made}
            if row["target"]:
                values["user_id"] = values["target"] = users[row["target"]]
            body = _fill(BODIES.get((method, path)), values)
            headers = {**auth(users[actor]), "Idempotency-Key": uuid.uuid4().hex}

            response = api.call(method, _fill(path, values), None, body, headers=headers)

            if method != "GET" and (method, path) not in CHANGE_NO_SPACE and response.status_code not in (401, 403):
                del clean[row["given"]]
            expected = row["expected"][actor]
            if expected is not None and response.status_code != expected:
                code = response.data.get("code") if isinstance(response.data, dict) else None
                mismatches.append(f"{method} {path} as {actor}: expected {expected}, got {response.status_code} {code}")

    assert not mismatches, "\n".join(mismatches)


# One body wrong in every field any route reads (well-formed JSON, so the routes parse it): a
# caller who may not act learns that (403) before anything about the body (400 / 422).
INVALID_BODY = {
    "title": "", "topics": "not-a-list", "scheduled_start": "soon", "user_id": "../x", "text": 5,
    "language": 5, "start_ms": -1, "end_ms": "x", "recording_consent": "maybe", "recording": "maybe",
    "emoji": 5, "platform": 5, "token": 5, "tier": 5, "unknown_field": True,
}


def test_a_caller_who_may_not_act_is_403_whatever_the_body(api, deps, new_user):
    """Every route with a 403 cell in the matrix, called by that actor with INVALID_BODY."""
    people = {role: new_user(role) for role in PEOPLE}
    cases = [
        (method, path, row, actor)
        for (method, path), row in ROWS.items()
        for actor in ACTORS
        if row["expected"][actor] == 403 and method != "GET"
    ]
    assert len(cases) > 30, "the walk covers the routes that refuse someone"
    built: dict[str | None, tuple[str, str, dict]] = {}  # refusals change nothing: one Space per given
    mismatches = []
    for method, path, row, actor in cases:
        if row["given"] not in built:
            host = new_user("host", followers=1200)
            built[row["given"]] = (host, *build_space(deps, host, people, row["given"]))
        host, space_id, made = built[row["given"]]
        users = {**people, "host": host}
        values = {"space_id": space_id, "name": "index.html", **made}
        if row["target"]:
            values["user_id"] = users[row["target"]]
        headers = {"Authorization": f"Bearer {api.token(users[actor])}", "Idempotency-Key": uuid.uuid4().hex}

        response = api.call(method, _fill(path, values), None, INVALID_BODY, headers=headers)

        if response.status_code != 403:
            code = response.data.get("code") if isinstance(response.data, dict) else None
            mismatches.append(f"{method} {path} as {actor}: expected 403, got {response.status_code} {code}")

    assert not mismatches, "\n".join(mismatches)
