"""When AWS misbehaves, nothing is lost: every mutating route under injected faults, then the books.

DynamoDB calls fail at a fixed rate (throttling, 500, timeouts, transaction conflicts) through a
botocore event hook (tests/support/faults.py), the media port fails too, and a client plays whole
Spaces through the HTTP API with a fixed seed. The client behaves like the apps: on a 503 it
retries (without the wait). Then, with the faults off, the invariants are checked:

- every answer was the one the rules give, or a 503 with Retry-After; never a 500. A request
  retried after a 503 may find its own earlier attempt already applied, and then gets the rule's
  "already done" answer (e.g. 409 space_ended for a second end);
- no half-created Space: every live Space has its stage and its chat room; every other stage or
  room belongs to an ended Space whose release is pending, or was knowingly left behind and
  counted (a write whose outcome is unknown, a clean-up that failed), and the release and orphan
  jobs delete them all;
- participant counts equal the connected participant items (checked while each Space is live);
  subscriber counts equal the reminders set; on_stage equals 1 + co-hosts + speakers, and each
  participant's role agrees with the Space's stage;
- follower and following counts equal the follow edges; scheduled counts equal scheduled Spaces;
- what the client was told matches what the database holds (stage, invitations, hands, mutes).

Failures are injected per call (every SDK retry of the call fails), so the application, not the SDK,
has to cope; one test checks that single failed attempts are absorbed by the SDK's retries. The same
seed plays the same game: the client's choices and the faults each come from a seeded generator.
"""
from __future__ import annotations

import random
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytest

from tests.support.faults import MediaFaults, inject_dynamodb_faults

SEED = 20261123
DB_RATE = 0.2
MEDIA_RATE = 0.25
# Every DynamoDB operation the request paths use.
DB_OPERATIONS = ("TransactWriteItems", "UpdateItem", "GetItem", "BatchGetItem", "Query", "DeleteItem", "PutItem")
DB_KINDS = ("throttle", "provisioned", "internal", "unavailable", "timeout")
MAX_TRIES = 40
# Every mutating route, by the label the client gives it: each must have run under faults.
MUTATIONS = {
    "follow", "unfollow", "create scheduled", "create live", "patch", "start", "cancel", "end", "join",
    "leave", "raise hand", "lower hand", "invite", "accept", "decline", "demote", "add cohost",
    "remove cohost", "mute", "unmute", "remove", "set reminder", "clear reminder", "register device",
    "remove device",
}
HOST_FOLLOWERS = 1200


@dataclass
class Chaos:
    db: object  # AwsFaults
    media: MediaFaults

    @contextmanager
    def off(self):
        with self.db.paused(), self.media.paused():
            yield


@pytest.fixture
def chaos(deps):
    """DynamoDB and media faults, off until a test sets rates. The media cache's clock is frozen:
    whether a join reads the Space must not depend on how fast the machine is, or the same seed
    would inject different failures."""
    from chalicelib.services.context import MediaCache

    deps.media_cache = MediaCache(deps.settings.media_cache_seconds, monotonic=lambda: 0.0)
    media = MediaFaults(deps.media, seed=SEED)
    deps.media = media  # the app's Deps is this object (bootstrap.override)
    with inject_dynamodb_faults(seed=SEED) as db:
        yield Chaos(db, media)


def in_a_day() -> str:
    return (datetime.now(timezone.utc) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------------------------
# The fault helper itself: an injected failure must reach the app as the error it stands for.


READS = ("GetItem", "BatchGetItem", "Query")
WRITES = ("UpdateItem", "PutItem", "DeleteItem")
assert set(DB_OPERATIONS) == {"TransactWriteItems", *READS, *WRITES}


@pytest.mark.parametrize(
    "kind, code",
    [
        ("throttle", "database_busy"),
        ("provisioned", "database_busy"),
        ("internal", "database_unavailable"),
        ("unavailable", "database_unavailable"),
        ("timeout", "database_unavailable"),
    ],
)
def test_a_failed_database_read_is_a_503_with_retry_after(api, chaos, host, kind, code):
    space = api.post("/spaces", host, {"title": "Read me"}).data
    path, body = f"/spaces/{space['id']}", {"title": "Read me again"}

    chaos.db.fail_next(READS, kind)
    response = api.patch(path, host, body)

    assert (response.status_code, response.data["code"]) == (503, code)
    assert int(response.headers["Retry-After"]) >= 1
    assert chaos.db.count(kind) == 1
    assert api.patch(path, host, body).status_code == 200


def test_a_conflicting_transaction_is_a_503_and_changes_nothing(api, chaos, host, new_user, settle_counts):
    from chalicelib.adapters.dynamodb.models import ParticipantModel

    space = api.post("/spaces", host, {"title": "Busy"}).data
    listener = new_user("listener")
    assert api.post(f"/spaces/{space['id']}/join", listener).status_code == 200
    settle_counts()  # the join's count is folded before the fault is armed

    chaos.db.fail_next("TransactWriteItems", "tx_conflict")
    response = api.post(f"/spaces/{space['id']}/leave", listener)  # participant + raised hand

    assert (response.status_code, response.data["code"]) == (503, "write_conflict")
    assert response.headers["Retry-After"] == "1"
    assert api.get(f"/spaces/{space['id']}", host).data["participant_count"] == 1
    assert ParticipantModel.get(ParticipantModel.key_for(space["id"], listener)).connected is True


def test_a_join_whose_write_fails_is_a_503_and_changes_nothing(api, chaos, host, new_user):
    from chalicelib.adapters.dynamodb.models import ParticipantModel

    space = api.post("/spaces", host, {"title": "Busy"}).data
    listener = new_user("listener")

    chaos.db.fail_next("PutItem", "internal")
    response = api.post(f"/spaces/{space['id']}/join", listener)

    assert response.status_code == 503 and int(response.headers["Retry-After"]) >= 1
    assert api.get(f"/spaces/{space['id']}", host).data["participant_count"] == 0
    assert ParticipantModel.count(ParticipantModel.key_for(space["id"], listener)) == 0


def test_a_live_create_whose_write_fails_gives_its_stage_back(api, deps, chaos, host):
    chaos.db.fail_next("TransactWriteItems", "internal")

    response = api.post("/spaces", host, {"title": "Not today"})

    assert response.status_code == 503 and response.headers["Retry-After"]
    assert len(deps.media.created) == 1 and deps.media.stages == {}
    assert api.post("/spaces", host, {"title": "Today"}).status_code == 201


@pytest.mark.parametrize("scheduled", [False, True], ids=["live", "scheduled"])
def test_a_create_whose_answer_is_lost_still_creates_exactly_one_whole_space(api, deps, chaos, host, scheduled):
    body = {"title": "Lost answer"}
    if scheduled:
        body["scheduled_start"] = in_a_day()
    chaos.db.fail_next("TransactWriteItems", "lost_response")

    response = api.post("/spaces", host, body)

    assert response.status_code == 201, response.data
    space = api.get(f"/spaces/{response.data['id']}", host).data
    assert space["state"] == ("scheduled" if scheduled else "live")
    if scheduled:
        from chalicelib.domain.reminders import START, schedule_name

        assert deps.scheduler.get(schedule_name(space["id"], START)) is not None
    else:
        assert list(deps.media.stages.values()) == [space["id"]], "the stage was kept"


def test_a_start_whose_answer_is_lost_keeps_its_stage(api, deps, chaos, host):
    space = api.post("/spaces", host, {"title": "Later", "scheduled_start": in_a_day()}).data
    chaos.db.fail_next("TransactWriteItems", "lost_response")

    response = api.post(f"/spaces/{space['id']}/start", host)

    assert response.status_code == 200 and response.data["state"] == "live"
    assert list(deps.media.stages.values()) == [space["id"]]


def test_when_the_outcome_cannot_be_known_nothing_is_undone(api, deps, chaos, host):
    from chalicelib.adapters.dynamodb.spaces import DynamoSpaceRepository

    class CannotTell(DynamoSpaceRepository):
        def landed(self, space):
            return None  # the consistent read after the lost answer failed too

    deps.spaces = CannotTell(count_shards=deps.settings.participant_count_shards)
    chaos.db.fail_next("TransactWriteItems", "lost_response")

    response = api.post("/spaces", host, {"title": "Unknown"})

    assert response.status_code == 503
    assert len(deps.media.stages) == 1, "a stage that may carry a live Space is not deleted"
    assert deps.telemetry.events.count("OutcomeUnknown") == 1


def test_a_stage_that_will_not_delete_at_the_end_is_released_later(api, deps, chaos, host):
    from chalicelib.services.spaces import release_pending_media

    space = api.post("/spaces", host, {"title": "Sticky"}).data
    deps.media.inner.fail_next("delete_stage", times=3)

    ended = api.post(f"/spaces/{space['id']}/end", host)

    assert ended.status_code == 200 and ended.data["state"] == "ended"
    assert [sid for sid, _ in deps.spaces.release_pending(1000)].count(space["id"]) == 1
    assert release_pending_media(deps, limit=1000) >= 1
    assert deps.media.stages == {}
    assert space["id"] not in [sid for sid, _ in deps.spaces.release_pending(1000)]


def test_single_failed_attempts_are_absorbed_by_the_sdk_retries(api, chaos, host):
    space = api.post("/spaces", host, {"title": "Retried"}).data

    # Three failed attempts of the first read: PynamoDB's client makes four.
    chaos.db.fail_next(READS, "internal", times=2, per="attempt")
    chaos.db.fail_next(READS, "timeout", per="attempt")
    response = api.get(f"/spaces/{space['id']}", host)

    assert response.status_code == 200
    assert chaos.db.count("internal") == 2 and chaos.db.count("timeout") == 1
    assert len({i.operation for i in chaos.db.injected}) == 1, "all three on the one read"


def test_the_same_seed_injects_the_same_failures_at_the_chosen_rate():
    import botocore.session
    from botocore.awsrequest import AWSResponse
    from botocore.exceptions import ClientError, ReadTimeoutError

    from tests.support.faults import AwsFaults

    def run(seed):
        client = botocore.session.get_session().create_client(
            "dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
        )
        faults = AwsFaults(seed).fail(["GetItem"], 0.3, ("throttle", "internal", "timeout", "lost_response"))
        faults.attach(client)
        # Registered after the faults: answers every call they let through, with no network.
        client.meta.events.register("before-call", lambda **_: (AWSResponse(None, 200, {}, None), {}))
        outcomes = []
        for _ in range(200):
            try:
                client.get_item(TableName="t", Key={"k": {"S": "v"}})
                outcomes.append("ok")
            except ClientError as exc:
                outcomes.append(exc.response["Error"]["Code"])
            except ReadTimeoutError as exc:
                outcomes.append("lost" if "applied" in exc.kwargs["error"] else "timeout")
        return outcomes

    first = run(5)

    assert first == run(5)
    assert first != run(6)
    assert 40 <= sum(o != "ok" for o in first) <= 80, "about 30 % of 200"
    assert set(first) == {"ok", "ThrottlingException", "InternalServerError", "timeout", "lost"}


# ---------------------------------------------------------------------------------------------
# The client that plays Spaces under faults, and the model of what it was told.


class Client:
    """Calls the API like the apps do: bearer token, and on a 503 the same request again."""

    def __init__(self, api):
        self.api = api
        self.tokens: dict[str, str] = {}
        self.problems: list[str] = []
        self.requests = 0
        self.unavailable = 0
        self.done: set[str] = set()  # labels of the allowed requests that were answered as allowed
        self.retried = False  # whether the last `expect` saw a 503 before its answer

    def send(self, method, path, user, body=None):
        if user not in self.tokens:
            self.tokens[user] = self.api.token(user)
        headers = {"Authorization": f"Bearer {self.tokens[user]}"}
        response = self.api.call(method, path, None, body, headers=headers)
        self.requests += 1
        code = response.data.get("code") if isinstance(response.data, dict) else None
        if response.status_code >= 500 and (response.status_code != 503 or not response.headers.get("Retry-After")):
            self.problems.append(
                f"{method} {path} by {user}: {response.status_code} {code} "
                f"Retry-After={response.headers.get('Retry-After')!r}"
            )
        return response, code

    def answer(self, method, path, user, body=None):
        """The first answer that is not a 503, and whether a 503 came before it."""
        retried = False
        for _ in range(MAX_TRIES):
            response, code = self.send(method, path, user, body)
            if response.status_code != 503:
                return response, code, retried
            retried = True
            self.unavailable += 1
        raise AssertionError(f"{method} {path}: still 503 after {MAX_TRIES} tries")

    def expect(self, label, method, path, user, body=None, *, ok=200, already=()):
        """A request the rules allow: `ok`, or after a 503 one of the `already` (status, code)
        answers that say an earlier attempt of this very request was applied."""
        response, code, retried = self.answer(method, path, user, body)
        self.retried = retried
        if response.status_code == ok or (retried and (response.status_code, code) in already):
            self.done.add(label)
            return response
        self.problems.append(f"{label}: expected {ok}, got {response.status_code} {code} (after a 503: {retried})")
        return None

    def told_changed(self, response, changed: bool) -> bool:
        """Whether the last `expect`'s `changed` is right. After a 503 the first attempt may have
        been applied with its answer lost: the retry then truthfully says nothing changed (what
        was applied is checked against the tables at the end)."""
        return response.data["changed"] == changed or (self.retried and changed and not response.data["changed"])

    def refuse(self, label, method, path, user, body=None, *, status, code):
        """A request the rules refuse: exactly that refusal, whatever failed on the way."""
        response, got, _ = self.answer(method, path, user, body)
        if (response.status_code, got) != (status, code):
            self.problems.append(f"{label}: expected {status} {code}, got {response.status_code} {got}")
        return response


@dataclass
class Room:
    """What the client has been told about one live Space."""

    id: str
    host: str
    connected: set = field(default_factory=set)
    cohosts: set = field(default_factory=set)
    speakers: set = field(default_factory=set)
    invited: set = field(default_factory=set)
    hands: set = field(default_factory=set)
    muted: set = field(default_factory=set)
    removed: set = field(default_factory=set)

    def role(self, user):
        if user == self.host:
            return "host"
        if user in self.cohosts:
            return "cohost"
        return "speaker" if user in self.speakers else "listener"

    def moderators(self):
        return [self.host] + sorted(self.cohosts)


class Episode:
    """One host, six people and a stranger: follows, a scheduled Space, a live one, its end."""

    def __init__(self, client: Client, chaos: Chaos, new_user, rng: random.Random, index: int):
        self.c, self.chaos, self.rng, self.index = client, chaos, rng, index
        with chaos.off():  # seeding the host's followers is setup, not under test
            self.host = new_user("host", followers=HOST_FOLLOWERS)
        self.people = [new_user(f"p{i}") for i in range(6)]
        self.stranger = new_user("stranger")
        self.follows: set[tuple[str, str]] = set()
        self.space_ids: list[str] = []
        self.room: Room | None = None

    def users(self):
        return [self.host, *self.people]

    # ------------------------------------------------------------------ the script

    def play(self, live_steps: int) -> None:
        self.follow_around()
        self.schedule_then_start_or_cancel()
        for _ in range(live_steps):
            self.live_step()
        self.speaker_round()
        self.check_room()
        self.end()

    def follow_around(self):
        for _ in range(8):
            a, b = self.rng.choice(self.users()), self.rng.choice(self.users())
            if a == b:
                self.c.refuse("follow self", "POST", f"/users/{b}/follow", a, status=422, code="cannot_follow_self")
                continue
            following = self.rng.random() < 0.65
            response = self.c.expect(
                "follow" if following else "unfollow", "POST" if following else "DELETE", f"/users/{b}/follow", a
            )
            if response is not None:
                changed = ((a, b) not in self.follows) if following else ((a, b) in self.follows)
                if not self.c.told_changed(response, changed):
                    self.c.problems.append(f"follow {a}->{b} ({following}): changed={response.data['changed']}")
            (self.follows.add if following else self.follows.discard)((a, b))

    def schedule_then_start_or_cancel(self):
        """Even episodes cancel their scheduled Space and go live at once (with a co-host named at
        creation); odd ones start the scheduled Space."""
        host, listener = self.host, self.people[0]
        created = self.c.expect("create scheduled", "POST", "/spaces", host, {"title": "Later", "scheduled_start": in_a_day()}, ok=201)
        assert created is not None, self.c.problems
        sid = created.data["id"]
        self.space_ids.append(sid)
        self.c.expect("patch", "PATCH", f"/spaces/{sid}", host, {"title": "Later, renamed", "topics": ["chaos"]})
        self.c.refuse("patch by a listener", "PATCH", f"/spaces/{sid}", listener, {"title": "Mine"}, status=403, code="host_only")
        self.c.refuse("join before start", "POST", f"/spaces/{sid}/join", listener, status=409, code="space_not_live")
        self.reminders_and_devices(sid)
        if self.index % 2 == 0:
            self.c.expect("cancel", "POST", f"/spaces/{sid}/cancel", host, already={(409, "space_canceled")})
            self.c.refuse("start canceled", "POST", f"/spaces/{sid}/start", host, status=409, code="space_canceled")
            cohost = self.rng.choice(self.people[1:])
            created = self.c.expect(
                "create live", "POST", "/spaces", host, {"title": "Now", "cohost_ids": [cohost]},
                ok=201, already={(409, "host_already_live")},
            )
            sid = created.data["id"] if created is not None and created.status_code == 201 else self._live_space_of(host)
            self.space_ids.append(sid)
            self.room = Room(sid, host, cohosts={cohost})
        else:
            self.c.expect("start", "POST", f"/spaces/{sid}/start", host, already={(409, "space_live")})
            self.room = Room(sid, host)
        self.c.refuse("end by a listener", "POST", f"/spaces/{sid}/end", listener, status=403, code="host_only")

    def reminders_and_devices(self, sid):
        """People set and clear reminders (some twice) and register phones; the Space's
        subscriber_count must equal the reminders the client was told are set."""
        reminded = set()
        for _ in range(6):
            user = self.rng.choice(self.people)
            if self.rng.random() < 0.7:
                self.c.expect("set reminder", "POST", f"/spaces/{sid}/reminders", user)
                reminded.add(user)
            else:
                self.c.expect("clear reminder", "DELETE", f"/spaces/{sid}/reminders", user)
                reminded.discard(user)
        response = self.c.expect("read scheduled space", "GET", f"/spaces/{sid}", self.host)
        if response is not None and response.data["subscriber_count"] != len(reminded):
            self.c.problems.append(f"Space {sid}: subscriber_count {response.data['subscriber_count']}, reminders set {len(reminded)}")
        user = self.rng.choice(self.people)
        body = {"platform": self.rng.choice(["ios", "android"]), "token": f"token-{user}-{self.rng.randrange(10**9)}"}
        device = self.c.expect("register device", "POST", "/me/devices", user, body, ok=201)
        if device is not None:
            device_id = device.data["device_id"]
            self.c.refuse("remove another's device", "DELETE", f"/me/devices/{device_id}", self.host, status=404, code="device_not_found")
            self.c.expect("remove device", "DELETE", f"/me/devices/{device_id}", user, already={(404, "device_not_found")})

    def speaker_round(self):
        """Whatever the dice said: someone comes on stage, is muted, unmutes, and steps down."""
        room = self.room
        user = self._pick(set(self.people) - room.removed - room.cohosts - room.speakers - room.invited)
        if user is None:
            return
        if user not in room.connected:
            self.c.expect("join", "POST", self._path("/join"), user)
            room.connected.add(user)
        self.c.expect("invite", "POST", self._path("/speakers"), room.host, {"user_id": user}, already={(409, "already_invited")})
        room.hands.discard(user)
        self.c.expect("accept", "POST", self._path("/invitations/accept"), user, already={(409, "no_invitation")})
        room.speakers.add(user)
        self.c.expect("mute", "POST", self._path(f"/participants/{user}/mute"), room.host)
        self.c.expect("unmute", "POST", self._path(f"/participants/{user}/unmute"), user)
        self.c.expect("demote", "DELETE", self._path(f"/speakers/{user}"), user, already={(409, "not_a_speaker")})
        room.speakers.discard(user)

    def _live_space_of(self, host):
        from chalicelib.adapters.dynamodb.models import UserModel

        with self.chaos.off():
            return UserModel.get(host).live_space_id

    def end(self):
        room = self.room
        with self.chaos.off():
            self.check_participant_count()
        self.c.expect("end", "POST", f"/spaces/{room.id}/end", room.host, already={(409, "space_ended")})
        self.c.refuse("join after the end", "POST", f"/spaces/{room.id}/join", self.people[0], status=409, code="space_ended")

    # ------------------------------------------------------------------ live: one random step

    def live_step(self):
        actions = [
            self.join, self.join, self.join, self.leave, self.raise_hand, self.lower_hand, self.invite,
            self.invite, self.accept, self.accept, self.decline, self.demote, self.add_cohost,
            self.remove_cohost, self.mute, self.unmute, self.remove, self.read, self.refusals,
        ]
        for _ in range(10):  # an action that has nobody to act on yields to another
            if self.rng.choice(actions)() is not False:
                return

    def _path(self, suffix=""):
        return f"/spaces/{self.room.id}{suffix}"

    def _pick(self, candidates):
        candidates = sorted(candidates)
        return self.rng.choice(candidates) if candidates else None

    def join(self):
        room = self.room
        user = self._pick(set(self.users()) - room.removed)
        if user is None:
            return False
        response = self.c.expect("join", "POST", self._path("/join"), user)
        if response is not None and response.data["role"] != room.role(user):
            self.c.problems.append(f"join {user}: role {response.data['role']}, expected {room.role(user)}")
        room.connected.add(user)

    def leave(self):
        room = self.room
        user = self._pick(room.connected)
        if user is None:
            return False
        self.c.expect("leave", "POST", self._path("/leave"), user)
        room.connected.discard(user)
        room.hands.discard(user)
        if user in room.speakers:
            room.speakers.discard(user)
            room.muted.discard(user)

    def _listeners(self):
        room = self.room
        return {u for u in room.connected if room.role(u) == "listener"}

    def raise_hand(self):
        room = self.room
        user = self._pick(self._listeners() - room.invited)
        if user is None:
            return False
        response = self.c.expect("raise hand", "POST", self._path("/speaker-requests"), user)
        if response is not None and not self.c.told_changed(response, user not in room.hands):
            self.c.problems.append(f"raise hand {user}: changed={response.data['changed']}")
        room.hands.add(user)

    def lower_hand(self):
        room = self.room
        user = self._pick(room.connected)
        if user is None:
            return False
        response = self.c.expect("lower hand", "DELETE", self._path("/speaker-requests"), user)
        if response is not None and not self.c.told_changed(response, user in room.hands):
            self.c.problems.append(f"lower hand {user}: changed={response.data['changed']}")
        room.hands.discard(user)

    def invite(self):
        room = self.room
        user = self._pick(self._listeners() - room.invited)
        if user is None:
            return False
        moderator = self.rng.choice(room.moderators())
        response = self.c.expect(
            "invite", "POST", self._path("/speakers"), moderator, {"user_id": user}, already={(409, "already_invited")}
        )
        if response is not None and response.status_code == 200 and response.data["approved_request"] != (user in room.hands):
            self.c.problems.append(f"invite {user}: approved_request={response.data['approved_request']}")
        room.invited.add(user)
        room.hands.discard(user)

    def accept(self):
        room = self.room
        user = self._pick(room.invited & room.connected)
        if user is None:
            return False
        response = self.c.expect("accept", "POST", self._path("/invitations/accept"), user, already={(409, "no_invitation")})
        if response is not None and response.status_code == 200 and response.data["role"] != "speaker":
            self.c.problems.append(f"accept {user}: role {response.data['role']}")
        room.invited.discard(user)
        room.speakers.add(user)
        room.hands.discard(user)

    def decline(self):
        room = self.room
        user = self._pick(room.invited)
        if user is None:
            return False
        self.c.expect("decline", "POST", self._path("/invitations/decline"), user, already={(409, "no_invitation")})
        room.invited.discard(user)

    def demote(self):
        room = self.room
        user = self._pick(room.speakers)
        if user is None:
            return False
        actor = self.rng.choice([user] + room.moderators())
        self.c.expect("demote", "DELETE", self._path(f"/speakers/{user}"), actor, already={(409, "not_a_speaker")})
        room.speakers.discard(user)
        room.muted.discard(user)

    def add_cohost(self):
        room = self.room
        user = self._pick(room.connected - {room.host} - room.cohosts - room.removed)
        if user is None:
            return False
        if len(room.cohosts) >= 2:
            self.c.refuse("third cohost", "POST", self._path("/cohosts"), room.host, {"user_id": user}, status=422, code="too_many_cohosts")
            return
        self.c.expect("add cohost", "POST", self._path("/cohosts"), room.host, {"user_id": user}, already={(409, "already_cohost")})
        room.cohosts.add(user)
        room.speakers.discard(user)
        room.invited.discard(user)
        room.hands.discard(user)

    def remove_cohost(self):
        room = self.room
        user = self._pick(room.cohosts)
        if user is None:
            return False
        actor = self.rng.choice([room.host, user])
        self.c.expect("remove cohost", "DELETE", self._path(f"/cohosts/{user}"), actor, already={(409, "not_a_cohost")})
        room.cohosts.discard(user)
        room.muted.discard(user)

    def mute(self):
        room = self.room
        user = self._pick(room.speakers | room.cohosts)
        if user is None:
            return False
        actors = [room.host, user] + ([c for c in room.cohosts if c != user] if user in room.speakers else [])
        self.c.expect("mute", "POST", self._path(f"/participants/{user}/mute"), self.rng.choice(actors))
        room.muted.add(user)

    def unmute(self):
        room = self.room
        user = self._pick(room.muted)
        if user is None:
            return False
        self.c.refuse("unmute by the host", "POST", self._path(f"/participants/{user}/unmute"), room.host, status=403, code="self_only")
        self.c.expect("unmute", "POST", self._path(f"/participants/{user}/unmute"), user)
        room.muted.discard(user)

    def remove(self):
        room = self.room
        if self.rng.random() < 0.4:  # only now and then: every removal shrinks the room for good
            return False
        user = self._pick(set(self.people) - room.removed)
        if user is None:
            return False
        actors = [room.host] + [c for c in room.cohosts if user not in room.cohosts]
        self.c.expect("remove", "POST", self._path(f"/participants/{user}/remove"), self.rng.choice(actors))
        room.removed.add(user)
        for group in (room.connected, room.cohosts, room.speakers, room.invited, room.hands, room.muted):
            group.discard(user)

    def read(self):
        self.check_room()

    def refusals(self):
        """Requests the rules refuse must get exactly that refusal, never a fault's answer."""
        room = self.room
        listener = self._pick(self._listeners() - room.invited)
        choices = [
            ("leave as a stranger", "POST", "/leave", self.stranger, None, 404, "not_a_participant"),
            ("invite as a stranger", "POST", "/speakers", self.stranger, {"user_id": room.host}, 403, "moderator_only"),
        ]
        if listener is not None:
            choices += [
                ("end as a listener", "POST", "/end", listener, None, 403, "host_only"),
                ("accept uninvited", "POST", "/invitations/accept", listener, None, 409, "no_invitation"),
                ("mute a listener", "POST", f"/participants/{listener}/mute", room.host, None, 409, "not_on_stage"),
                ("remove the host", "POST", f"/participants/{room.host}/remove", listener, None, 403, "moderator_only"),
            ]
        if room.removed:
            removed = self._pick(room.removed)
            choices += [
                ("rejoin after removal", "POST", "/join", removed, None, 403, "removed_from_space"),
                ("raise hand after removal", "POST", "/speaker-requests", removed, None, 403, "removed_from_space"),
            ]
        label, method, suffix, user, body, status, code = self.rng.choice(choices)
        self.c.refuse(label, method, self._path(suffix), user, body, status=status, code=code)

    def check_participant_count(self):
        """The live Space's participant_count equals its participant items that are connected."""
        from chalicelib.adapters.dynamodb.models import ParticipantModel

        room = self.room
        shown = self.c.api.get(f"/spaces/{room.id}", room.host).data["participant_count"]
        connected = sum(1 for p in ParticipantModel.scan(ParticipantModel.space_id == room.id) if p.connected)
        if shown != connected:
            self.c.problems.append(f"Space {room.id}: participant_count {shown}, connected participant items {connected}")

    def check_room(self):
        """What GET /spaces/{id} and /participants say equals what the client was told."""
        room = self.room
        response = self.c.expect("read space", "GET", self._path(), room.host)
        if response is not None:
            space = response.data
            told = {
                "state": "live",
                "host_ids": {room.host} | room.cohosts,
                "speaker_ids": {room.host} | room.cohosts | room.speakers,
                "invited_user_ids": room.invited,
                "muted_user_ids": room.muted,
                "participant_count": len(room.connected),
            }
            seen = {k: (set(space[k]) if isinstance(space[k], list) else space[k]) for k in told}
            if seen != told:
                self.c.problems.append(f"space {room.id}: API says {seen}, the client was told {told}")
        response = self.c.expect("read participants", "GET", self._path("/participants"), room.host)
        if response is not None:
            hands = {r["user_id"] for r in response.data["speaker_requests"]["requests"]}
            if hands != room.hands:
                self.c.problems.append(f"space {room.id}: raised hands {hands}, the client was told {room.hands}")


def play(api, deps, chaos, new_user, *, seed: int, episodes: int, live_steps: int):
    chaos.db.random.seed(seed)
    chaos.media.random.seed(seed + 1)
    # Every kind of failure on every operation: a write may also be applied and its answer lost.
    chaos.db.fail(["TransactWriteItems"], DB_RATE, DB_KINDS + ("tx_conflict", "lost_response"))
    chaos.db.fail(WRITES, DB_RATE, DB_KINDS + ("lost_response",))
    chaos.db.fail(READS, DB_RATE, DB_KINDS)
    chaos.media.rate = MEDIA_RATE
    client = Client(api)
    rng = random.Random(seed)
    played = []
    for index in range(episodes):
        episode = Episode(client, chaos, new_user, rng, index)
        episode.play(live_steps)
        played.append(episode)

    # Not a vacuous pass: the faults fired, on every kind of write, and the client saw them.
    assert client.unavailable > 0 and chaos.media.injected
    assert {i.operation for i in chaos.db.injected} >= {"TransactWriteItems", "UpdateItem", "GetItem", "BatchGetItem"}
    kinds = {(i.operation in WRITES, i.kind) for i in chaos.db.injected if i.operation != "TransactWriteItems"}
    assert {(True, "lost_response"), (False, "timeout")} <= kinds
    assert "lost_response" in {i.kind for i in chaos.db.injected if i.operation == "TransactWriteItems"}
    assert client.problems == [], "\n".join(client.problems[:20])
    assert client.done >= MUTATIONS, f"never done under faults: {sorted(MUTATIONS - client.done)}"
    with chaos.off():
        check_the_books(deps, played)
    return client


# ---------------------------------------------------------------------------------------------
# The books, read straight from the tables with the faults off.


def check_the_books(deps, episodes):
    from chalicelib.adapters.dynamodb.models import FollowModel, ParticipantModel, SpaceModel, UserModel
    from chalicelib.services.spaces import release_pending_media

    hosts = {e.host for e in episodes}
    spaces = {m.space_id: m for m in SpaceModel.scan(SpaceModel.creator_id.is_in(*hosts))}
    assert {sid for e in episodes for sid in e.space_ids} <= set(spaces)
    media = deps.media.inner
    problems = []

    # No half-created Space: every live Space has its stage and its room. Every other stage or
    # room is pending release, or one the app knowingly left behind and counted: a write whose
    # outcome it could not learn (OutcomeUnknown: undoing a write that did commit would leave a
    # live Space without them) or a clean-up whose three deletes failed (*ReleaseDeferred). The
    # jobs then delete them all; anything left, or any orphan nobody counted, is a bug.
    pending = {sid: (stage, room) for sid, stage, room in deps.spaces.release_pending_media(limit=1000)}
    rooms = deps.room_events
    events = deps.telemetry.events
    for sid, space in spaces.items():
        if space.state == "live" and media.stages.get(space.stage_arn) != sid:
            problems.append(f"live Space {sid} has no stage (stage_arn={space.stage_arn})")
        if space.state == "live" and rooms.rooms.get(space.room_arn, (None,))[0] != sid:
            problems.append(f"live Space {sid} has no room (room_arn={space.room_arn})")
    for kind, held, slot, deferred in (
        ("stage", media.stages, 0, "StageReleaseDeferred"),
        ("room", {arn: sid for arn, (sid, _) in rooms.rooms.items()}, 1, "RoomReleaseDeferred"),
    ):
        attribute = "stage_arn" if kind == "stage" else "room_arn"
        orphans = []
        for arn, sid in held.items():
            space = spaces.get(sid)
            live = space is not None and space.state == "live" and getattr(space, attribute) == arn
            if not live and pending.get(sid, (None, None))[slot] != arn:
                orphans.append(f"{arn} (Space {sid}: {space and space.state})")
        counted = events.count("OutcomeUnknown") + events.count(deferred)
        if len(orphans) > counted:
            problems.append(f"{kind}s nobody counted as left behind ({counted} counted): {orphans}")
    from chalicelib.services.room_events import reconcile_rooms
    from chalicelib.services.spaces import reconcile_stages

    release_pending_media(deps, limit=1000)
    reconcile_stages(deps, grace_seconds=0)
    reconcile_rooms(deps, grace_seconds=0)
    live_stages = {s.stage_arn for s in spaces.values() if s.state == "live"}
    if set(media.stages) - live_stages:
        problems.append(f"stages left after the release and orphan jobs: {sorted(set(media.stages) - live_stages)}")
    live_rooms = {s.room_arn for s in spaces.values() if s.state == "live"}
    if set(rooms.rooms) - live_rooms:
        problems.append(f"rooms left after the release and orphan jobs: {sorted(set(rooms.rooms) - live_rooms)}")

    # The stage agrees with the participants' roles (participant counts: Episode.end, while live).
    participants = {}
    for item in ParticipantModel.scan(ParticipantModel.space_id.is_in(*spaces)) if spaces else ():
        participants.setdefault(item.space_id, []).append(item)
    for sid, space in spaces.items():
        items = participants.get(sid, [])
        cohosts = set(space.cohosts.as_dict() if space.cohosts else {})
        speakers = set(space.speakers.as_dict() if space.speakers else {})
        if space.on_stage != 1 + len(cohosts) + len(speakers):
            problems.append(f"Space {sid}: on_stage {space.on_stage}, 1 + {len(cohosts)} co-hosts + {len(speakers)} speakers")
        for p in items:
            if p.removed_at is not None and (p.connected or p.user_id in cohosts | speakers):
                problems.append(f"Space {sid}: removed {p.user_id} is still connected or on stage")
            if (p.role == "speaker") != (p.user_id in speakers) or (p.role == "cohost") != (p.user_id in cohosts):
                problems.append(f"Space {sid}: {p.user_id} has role {p.role}, stage says cohosts={cohosts} speakers={speakers}")

    # Follower counts equal the edges (hosts start with seeded followers and no edges).
    for episode in episodes:
        for user in episode.users():
            item = _user_item(UserModel, user)
            followers = sum(1 for _ in FollowModel.followers.query(user))
            following = sum(1 for _ in FollowModel.query(user))
            seeded = HOST_FOLLOWERS if user == episode.host else 0
            told_in = sum(1 for a, b in episode.follows if b == user)
            told_out = sum(1 for a, b in episode.follows if a == user)
            if (int(item.follower_count or 0), int(item.following_count or 0)) != (seeded + followers, following):
                problems.append(f"{user}: counts {item.follower_count}/{item.following_count}, edges {followers}/{following}")
            if (followers, following) != (told_in, told_out):
                problems.append(f"{user}: edges {followers}/{following}, the client was told {told_in}/{told_out}")
        host = _user_item(UserModel, episode.host)
        scheduled = sum(1 for s in spaces.values() if s.creator_id == episode.host and s.state == "scheduled")
        if int(host.scheduled_count or 0) != scheduled:
            problems.append(f"host {episode.host}: scheduled_count {host.scheduled_count}, scheduled Spaces {scheduled}")
        live = [sid for sid, s in spaces.items() if s.creator_id == episode.host and s.state == "live"]
        if (host.live_space_id and [host.live_space_id]) != (live or None):
            problems.append(f"host {episode.host}: live_space_id {host.live_space_id}, live Spaces {live}")

    assert problems == [], "\n".join(problems)


def _user_item(model, user_id):
    try:
        return model.get(user_id)
    except model.DoesNotExist:  # never followed, never followed anyone
        return model(user_id)


# ---------------------------------------------------------------------------------------------
# The runs.


def test_every_mutating_route_under_faults_keeps_the_books_straight(api, deps, chaos, new_user):
    client = play(api, deps, chaos, new_user, seed=SEED, episodes=2, live_steps=60)
    assert client.requests > 150


@pytest.mark.slow
@pytest.mark.parametrize("seed", [SEED + 1, SEED + 2, SEED + 3])
def test_many_spaces_under_faults_keep_the_books_straight(api, deps, chaos, new_user, seed):
    play(api, deps, chaos, new_user, seed=seed, episodes=3, live_steps=60)


def test_orphan_stages_are_found_and_deleted_after_a_grace_period(api, deps, chaos, host):
    from chalicelib.services.spaces import reconcile_stages

    # A create whose write failed and whose clean-up failed too leaves a stage behind.
    chaos.db.fail_next("TransactWriteItems", "internal")
    chaos.media.fail_next("delete_stage", 3)
    assert api.post("/spaces", host, {"title": "Orphan maker"}).status_code == 503
    [orphan] = list(deps.media.stages)
    live = api.post("/spaces", host, {"title": "Real"}).data
    fresh_orphan = deps.media.create_stage("01NOSUCHSPACE0000000000000")  # a write still in flight
    now = deps.clock.now().timestamp()
    deps.media.created_at[orphan] = int(now) - 3600

    for arn in list(deps.media.created_at):
        if arn not in (orphan, fresh_orphan.arn):
            deps.media.created_at[arn] = int(now) - 3600

    assert reconcile_stages(deps) == 1
    assert orphan not in deps.media.stages, "the orphan is gone"
    assert fresh_orphan.arn in deps.media.stages, "a young stage is left alone"
    assert list(deps.media.stages.values()).count(live["id"]) == 1, "a live Space keeps its stage"
