"""`make demo`: play a whole Space against the running local stack, as the mobile apps would.

    make run                     # in one terminal: the API on http://127.0.0.1:8000
    make demo                    # in another: 23 requests, each printed with its response, in a few seconds
    python -m scripts.demo --base-url http://127.0.0.1:8000 --host alice

Every request goes over HTTP with `requests` and a bearer token minted for the acting user with
the local keys in .local/ (`scripts.keys.mint_token_for`, what `make token USER=<id>` prints).
Each step prints a one-line header saying what it shows, then every request it makes: method,
path, acting user, status (and the status the demo expected), and the response body as compact
JSON with tokens shortened. Media tokens are decoded (without verification) to show the
capabilities IVS would enforce, and one listener token is verified with ES384 against
`.local/ivs_public.pem`.

The story: the health check and two profiles; bob (12 followers) is refused as a host; the host
opens a live Space; a co-host is added and rejoins with publish rights; three listeners join
with subscribe-only tokens; a hand is raised, seen by the host, approved by the co-host, a
listener's attempt to approve is refused, and the invitation is accepted; a listener is removed
and cannot rejoin; the co-host cannot end the Space, the host does, and a late join is refused.

It doubles as a smoke test: it exits 0 only when every response had the status it expected (and
the roles and capabilities the story needs), otherwise it names the step and request that went
wrong and exits 1. If the API does not answer it says to start the stack with `make run` first.

Users. Everyone but the host and bob gets a fresh id per run (`dana-<suffix>`, ...), so the demo
can run any number of times against the same stack. The host is a seeded user, because hosting
needs 600 followers: making a fresh user eligible would take 600 follow requests per run, far
more than the demo itself, slow on `chalice local`, and 600 follow edges left behind each time.

One live Space per host. The demo ends the Space it opened whatever happens: on success (that is
the story), and on a failed step, an unexpected error or Ctrl-C (it ends it, then exits 1). A
live Space can still be left behind by a run that was killed outright, or by someone trying the
API by hand. So the demo tries the hosts in order, `alice` (1,200 followers) then `carol`
(5,000); a 409 `host_already_live` from one is explained and the next is tried. When every
candidate is busy it stops with exit 1 and says what to do: restart `make run` (DynamoDB Local
runs in memory, a restart forgets every Space), end that Space, or pass `--host <user with 600+
followers>`. It never ends a Space it did not open: that may be someone's manual test. The 409
does not carry the busy Space's id; the demo asks discovery (`GET /spaces?host_id=&state=live`)
for it and prints the exact `curl` to end it, and says the id is unknown while that route is
not there.

Side effect worth knowing: every Space a host took live counts towards "Spaces hosted in the
last 30 days", so after three runs alice (1,200 ≥ 1,000 followers) also becomes
`can_host_ticketed`. The demo only relies on `can_host`.

Requests carry `X-Request-Id: demo-<suffix>-<n>`, the correlation id in the API's logs.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import string
import sys
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

ROOT = Path(__file__).resolve().parent.parent
IVS_PUBLIC_KEY = ROOT / ".local" / "ivs_public.pem"

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_HOSTS = ("alice", "carol")
NOT_ELIGIBLE_USER = "bob"
TIMEOUT_SECONDS = 15
WIDTH = 100
TOKEN_KEEP = 12
TOKEN_KEYS = {"token", "access_token", "id_token", "authorization"}


# --- pure helpers (tested in tests/unit/test_demo_script.py) ----------------------------------


def run_suffix(length: int = 6) -> str:
    """A short random suffix that makes this run's user ids unique: lowercase letters and digits."""
    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def looks_like_jwt(value: object) -> bool:
    """Three base64url segments separated by dots, long enough to be a signed token."""
    if not isinstance(value, str) or len(value) < 40:
        return False
    parts = value.split(".")
    allowed = set(string.ascii_letters + string.digits + "-_=")
    return len(parts) == 3 and all(parts) and all(set(p) <= allowed for p in parts)


def shorten_token(value: str, keep: int = TOKEN_KEEP) -> str:
    if len(value) <= keep + 3:
        return value
    return f"{value[:keep]}...({len(value)} chars)"


def truncate_tokens(obj: Any, keep: int = TOKEN_KEEP) -> Any:
    """A copy of a JSON value with every token shortened: values under token-ish keys, and any
    string that looks like a JWT."""
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            if isinstance(value, str) and (key.lower() in TOKEN_KEYS or looks_like_jwt(value)):
                out[key] = shorten_token(value, keep)
            else:
                out[key] = truncate_tokens(value, keep)
        return out
    if isinstance(obj, list):
        return [truncate_tokens(v, keep) for v in obj]
    if isinstance(obj, str) and looks_like_jwt(obj):
        return shorten_token(obj, keep)
    return obj


def compact_json(obj: Any, width: int = WIDTH, indent: int = 2, _level: int = 0) -> str:
    """Pretty JSON that stays short, and is valid JSON either way: a list or object that fits on
    the rest of its line is written on one line; a bigger one packs its short members side by
    side up to `width`, and puts each member that needs several lines on lines of its own."""
    one_line = json.dumps(obj, ensure_ascii=False)
    if not isinstance(obj, (dict, list)) or not obj or len(one_line) + _level * indent <= width:
        return one_line
    pad = " " * (indent * (_level + 1))
    close = " " * (indent * _level)
    if isinstance(obj, dict):
        members = []
        for key, value in obj.items():
            label = json.dumps(key, ensure_ascii=False) + ": "
            members.append(label + compact_json(value, width - len(label), indent, _level + 1))
    else:
        members = [compact_json(v, width, indent, _level + 1) for v in obj]
    lines: list[str] = []
    current = ""
    for i, member in enumerate(members):
        text = member + ("," if i < len(members) - 1 else "")
        if "\n" in member:
            if current:
                lines.append(current)
                current = ""
            lines.append(pad + text)
        elif current and len(current) + 1 + len(text) <= width:
            current += " " + text
        else:
            if current:
                lines.append(current)
            current = pad + text
    if current:
        lines.append(current)
    opening, closing = ("{", "}") if isinstance(obj, dict) else ("[", "]")
    return opening + "\n" + "\n".join(lines) + f"\n{close}{closing}"


def token_claims(token: str) -> dict:
    """The claims of a JWT, NOT verified: only to show what a client receives."""
    import jwt

    return jwt.decode(token, options={"verify_signature": False})


def media_summary(claims: dict) -> dict:
    """What an IVS participant token grants, from its claims (names from chalicelib/adapters/ivs_tokens.py)."""
    attributes = claims.get("attributes") or {}
    capabilities = claims.get("capabilities") or {}
    summary = {
        "participant_id (jti)": claims.get("jti"),
        "user_id": attributes.get("user_id"),
        "role": attributes.get("role"),
        "capabilities": capabilities,
        "stage (topic)": claims.get("topic"),
    }
    if isinstance(claims.get("exp"), int) and isinstance(claims.get("iat"), int):
        summary["valid_for_s"] = claims["exp"] - claims["iat"]
    return summary


def can_publish(claims: dict) -> bool:
    return bool((claims.get("capabilities") or {}).get("allow_publish"))


def status_text(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def live_space_ids(body: Any, host: str) -> list[str]:
    """Ids of the host's live Spaces in a discovery response (`GET /spaces`), whatever key holds
    the list: every object with `creator_id` == host and `state` == live, at any depth."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if value.get("creator_id") == host and value.get("state") == "live" and isinstance(value.get("id"), str):
                found.append(value["id"])
                return
            for child in value.values():
                walk(child)
        elif isinstance(value, list):
            for child in value:
                walk(child)

    walk(body)
    return list(dict.fromkeys(found))


def error_code(body: Any) -> Optional[str]:
    return body.get("code") if isinstance(body, dict) else None


# --- the runner -------------------------------------------------------------------------------


class DemoFailed(Exception):
    """A response did not have the status (or content) the story needs."""


class ApiUnreachable(Exception):
    pass


class HostsBusy(Exception):
    pass


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict = field(default_factory=dict)


Send = Callable[[str, str, dict, Optional[dict]], Reply]


def requests_sender(timeout: float = TIMEOUT_SECONDS) -> Send:
    import requests

    session = requests.Session()

    def send(method: str, url: str, headers: dict, body: Optional[dict]) -> Reply:
        try:
            response = session.request(method, url, headers=headers, json=body, timeout=timeout)
        except requests.ConnectionError as exc:
            raise ApiUnreachable(str(exc)) from exc
        except requests.Timeout as exc:
            raise DemoFailed(f"{method} {url} did not answer within {timeout} s") from exc
        try:
            parsed: Any = response.json()
        except ValueError:
            parsed = response.text
        return Reply(response.status_code, parsed, dict(response.headers))

    return send


class Demo:
    def __init__(
        self,
        base_url: str,
        *,
        send: Optional[Send] = None,
        token_for: Optional[Callable[[str], str]] = None,
        out: Callable[[str], None] = print,
        color: bool = False,
        suffix: Optional[str] = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.send = send or requests_sender()
        if token_for is None:
            from scripts.keys import mint_token_for

            token_for = mint_token_for
        self._token_for = token_for
        self._tokens: dict[str, str] = {}
        self.out = out
        self.color = color
        self.suffix = suffix or run_suffix()
        self.step_number = 0
        self.step_title = ""
        self.requests = 0

    # output

    def _paint(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.color else text

    def step(self, title: str) -> None:
        self.step_number += 1
        self.step_title = title
        self.out("")
        self.out(self._paint(f"== {self.step_number}. {title} ", "1;36").ljust(WIDTH, "="))

    def note(self, text: str) -> None:
        self.out(self._paint(f"   {text}", "2"))

    def show(self, label: str, value: Any) -> None:
        self.out(self._paint(f"   {label}:", "2"))
        body = compact_json(truncate_tokens(value), WIDTH - 5)
        self.out("     " + body.replace("\n", "\n     "))

    # HTTP

    def token(self, user: str) -> str:
        if user not in self._tokens:
            self._tokens[user] = self._token_for(user)
        return self._tokens[user]

    def call(
        self,
        method: str,
        path: str,
        user: Optional[str],
        expect: int,
        body: Optional[dict] = None,
        *,
        code: Optional[str] = None,
        tolerate: Iterable[int] = (),
        headers: Optional[dict] = None,
    ) -> Reply:
        """One request, printed with its response. A status other than `expect` (or an error
        `code` other than the one given) fails the step, unless the status is in `tolerate`: then
        the caller handles it."""
        self.requests += 1
        headers = {"X-Request-Id": f"demo-{self.suffix}-{self.requests}", **(headers or {})}
        if user is not None:
            headers["Authorization"] = f"Bearer {self.token(user)}"
        reply = self.send(method, self.base_url + path, headers, body)
        tolerated = reply.status in set(tolerate)
        ok = reply.status == expect and (code is None or error_code(reply.body) == code)
        who = f"as {user}" if user else "no token"
        if ok:
            verdict = self._paint("ok", "32")
        elif tolerated:
            verdict = self._paint(f"handled (the story wanted {expect})", "33")
        else:
            wanted = f"{expect}" + (f" {code}" if code else "")
            verdict = self._paint(f"UNEXPECTED: wanted {wanted}", "1;31")
        self.out(f" > {method} {path}  [{who}]" + (f"  {compact_json(body)}" if body is not None else ""))
        self.out(f"   < {self._paint(status_text(reply.status), '1')}  {verdict}")
        if reply.body not in (None, ""):
            text = compact_json(truncate_tokens(reply.body), WIDTH - 6)
            self.out("     " + text.replace("\n", "\n     "))
        if ok and not isinstance(reply.body, dict):
            raise DemoFailed(f"{method} {path} as {user}: the body is not a JSON object: {reply.body!r:.200}")
        if not ok and not tolerated:
            wanted = f"{expect}" + (f" with code {code}" if code else "")
            raise DemoFailed(
                f"{method} {path} as {user} answered {status_text(reply.status)}"
                f" (code {error_code(reply.body)!r}), expected {wanted}"
            )
        return reply

    def check(self, condition: bool, what: str, *, quiet: bool = False) -> None:
        """A content expectation the story relies on (a role, a capability, a list member)."""
        if condition:
            if not quiet:
                self.note(f"checked: {what}")
            return
        self.out(self._paint(f"   FAILED: {what}", "1;31"))
        raise DemoFailed(what)


# --- the story --------------------------------------------------------------------------------


@dataclass
class Cast:
    hosts: tuple[str, ...]
    bob: str
    cohost: str
    listeners: tuple[str, str, str]
    late: str

    @classmethod
    def for_run(cls, suffix: str, hosts: Iterable[str] = DEFAULT_HOSTS) -> "Cast":
        return cls(
            hosts=tuple(hosts),
            bob=NOT_ELIGIBLE_USER,
            cohost=f"dana-{suffix}",
            listeners=(f"erin-{suffix}", f"frank-{suffix}", f"grace-{suffix}"),
            late=f"heidi-{suffix}",
        )


@dataclass
class Live:
    """The Space this run opened: ended in `finally` if the story stops half way."""

    space_id: Optional[str] = None
    host: Optional[str] = None
    ended: bool = False


def verify_media_token(token: str, public_key_path: Path = IVS_PUBLIC_KEY) -> Optional[dict]:
    """Verify a participant token's ES384 signature; None when the public key is not here."""
    import jwt

    if not public_key_path.exists():
        return None
    return jwt.decode(
        token,
        public_key_path.read_bytes(),
        algorithms=["ES384"],
        options={"verify_aud": False, "require": ["exp", "iat", "jti"]},
    )


def media_of(demo: Demo, who: str, reply: Reply) -> dict:
    media = reply.body.get("media")
    demo.check(
        isinstance(media, dict) and isinstance(media.get("token"), str),
        f"{who} got media credentials",
        quiet=True,
    )
    return media


def show_media(demo: Demo, who: str, reply: Reply, *, full: bool = False) -> dict:
    """Decode a media token (no verification) and show what it grants: every claim, or a summary."""
    media = media_of(demo, who, reply)
    claims = token_claims(media["token"])
    if full:
        demo.show(f"{who}'s media token: every claim (an IVS real-time participant token)", claims)
    else:
        demo.show(f"{who}'s media token grants", media_summary(claims))
    return claims


def open_space(demo: Demo, cast: Cast, live: Live) -> str:
    """Create a live Space as the first host candidate that is not already live."""
    body = {"title": "Shipping Spaces: a live demo", "topics": ["technology", "startups", "audio"]}
    busy = []
    for host in cast.hosts:
        reply = demo.call("POST", "/spaces", host, 201, body, tolerate=(409,))
        if reply.status == 201:
            live.space_id, live.host = reply.body["id"], host
            return host
        if error_code(reply.body) != "host_already_live":
            raise DemoFailed(f"POST /spaces as {host}: 409 with code {error_code(reply.body)!r}, expected 201")
        busy.append(host)
        demo.note(
            f"{host} already hosts a live Space (one at a time), left by an earlier run that was "
            "killed or by someone testing by hand."
        )
        if host != cast.hosts[-1]:
            demo.note("trying the next host instead.")
    raise HostsBusy(", ".join(busy))


def play(demo: Demo, cast: Cast, live: Live) -> None:
    listener1, listener2, listener3 = cast.listeners

    demo.step("The API is up, and who may host is a rule on follower counts (600+)")
    demo.call("GET", "/health", None, 200)
    eligible = demo.call("GET", f"/users/{cast.hosts[0]}", cast.hosts[0], 200)
    demo.check(eligible.body.get("can_host") is True, f"{cast.hosts[0]} can_host is true")
    refused = demo.call("GET", f"/users/{cast.bob}", cast.bob, 200)
    demo.check(refused.body.get("can_host") is False, f"{cast.bob} can_host is false")

    demo.step(f"{cast.bob} tries to open a Space: the rule says no (422, not 403: a rule, not a role)")
    demo.call(
        "POST", "/spaces", cast.bob, 422, {"title": "bob's first Space"}, code="not_eligible_to_host"
    )

    demo.step("The host opens a live Space with a title and topics, then joins its stage")
    host = open_space(demo, cast, live)
    space = f"/spaces/{live.space_id}"
    demo.note(f"Space id: {live.space_id}   host: {host}")
    joined = demo.call("POST", f"{space}/join", host, 200)
    demo.check(joined.body.get("role") == "host", "the host joins as host")
    demo.check(
        media_of(demo, host, joined).get("capabilities") == ["PUBLISH", "SUBSCRIBE"], "the host may publish"
    )

    demo.step(f"A co-host: {cast.cohost} joins as a listener, the host promotes them, they rejoin to publish")
    first = demo.call("POST", f"{space}/join", cast.cohost, 200)
    demo.check(first.body.get("role") == "listener", f"{cast.cohost} starts as a listener")
    added = demo.call("POST", f"{space}/cohosts", host, 200, {"user_id": cast.cohost})
    demo.check(cast.cohost in (added.body.get("host_ids") or []), f"host_ids now lists {cast.cohost}")
    again = demo.call("POST", f"{space}/join", cast.cohost, 200)
    demo.check(again.body.get("role") == "cohost", f"{cast.cohost} rejoins as cohost")
    claims = show_media(demo, cast.cohost, again)
    demo.check(can_publish(claims), "the co-host's new token allows publish")

    demo.step("Three listeners join: subscribe-only tokens, signed in-process (no IVS call on join)")
    tokens = {}
    for listener in cast.listeners:
        reply = demo.call("POST", f"{space}/join", listener, 200)
        demo.check(reply.body.get("role") == "listener", f"{listener} is a listener")
        demo.check(media_of(demo, listener, reply).get("capabilities") == ["SUBSCRIBE"], f"{listener} may only subscribe")
        claims = show_media(demo, listener, reply, full=listener == listener1)
        demo.check(not can_publish(claims), f"{listener}'s token says allow_publish false")
        tokens[listener] = reply.body["media"]["token"]
    import jwt

    try:
        verified = verify_media_token(tokens[listener1])
    except jwt.PyJWTError as exc:
        demo.check(False, f"{listener1}'s token verifies with ES384 against .local/ivs_public.pem ({exc})")
    if verified is None:
        demo.note(f"{IVS_PUBLIC_KEY} not found (a remote stack?): signature check skipped")
    else:
        demo.check(
            verified.get("jti") is not None,
            f"{listener1}'s token verifies with ES384 against .local/ivs_public.pem",
        )

    demo.step(f"{listener1} raises a hand; the co-host approves; a listener may not; {listener1} accepts")
    demo.call("POST", f"{space}/speaker-requests", listener1, 200)
    seen = demo.call("GET", f"{space}/participants", host, 200)
    requests_seen = (seen.body.get("speaker_requests") or {}).get("requests") or []
    demo.check(
        any(r.get("user_id") == listener1 for r in requests_seen), f"the host sees {listener1}'s raised hand"
    )
    public = demo.call("GET", f"{space}/participants", listener3, 200)
    demo.check(
        "requests" not in (public.body.get("speaker_requests") or {}),
        "a listener sees how many hands are up, not whose",
    )
    approved = demo.call("POST", f"{space}/speakers", cast.cohost, 200, {"user_id": listener1})
    demo.check(approved.body.get("approved_request") is True, "the co-host approved the raised hand")
    demo.call(
        "POST", f"{space}/speakers", listener3, 403, {"user_id": listener2}, code="moderator_only"
    )
    accepted = demo.call("POST", f"{space}/invitations/accept", listener1, 200)
    demo.check(accepted.body.get("role") == "speaker", f"{listener1} is now a speaker")
    demo.check(
        media_of(demo, listener1, accepted).get("capabilities") == ["PUBLISH", "SUBSCRIBE"],
        f"{listener1}'s fresh token allows publish",
    )
    show_media(demo, listener1, accepted)

    demo.step(f"The host removes {listener2}, who cannot come back into this Space")
    demo.call("POST", f"{space}/participants/{listener2}/remove", host, 200)
    demo.call("POST", f"{space}/join", listener2, 403, code="removed_from_space")

    demo.step("Only the host ends the Space; after that nobody can join")
    demo.call("POST", f"{space}/end", cast.cohost, 403, code="host_only")
    ended = demo.call("POST", f"{space}/end", host, 200)
    live.ended = True
    demo.check(ended.body.get("state") == "ended", "the Space is ended")
    demo.call("POST", f"{space}/join", cast.late, 409, code="space_ended")

    demo.step(f"What the room heard: {listener3} reads the Space's room events (one per change)")
    events = demo.call("GET", f"{space}/events?limit=100", listener3, 200, tolerate=(404,))
    if events.status == 404:
        demo.note("this stack sends room events over IVS Chat (events_not_local): nothing to read here")
        return
    names = [e.get("name") for e in events.body.get("events") or []]
    expected = ["cohost_added", "hand_raised", "speaker_invited", "speaker_added", "participant_removed", "space_ended"]
    demo.check(names == expected, f"the room heard {', '.join(expected)}, in that order")


TICKET_SELLER = "carol"  # seeded: may sell tickets (5,000 followers, 3 Spaces in 30 days)


def wait_for_ticket(demo: Demo, buyer: str, space_id: str, status: str, seconds: float = 20.0) -> dict:
    """The sandbox provider confirms asynchronously (its webhook, delivered by the local worker):
    read the buyer's tickets until this one reaches `status`."""
    deadline = time.monotonic() + seconds
    while True:
        reply = demo.send("GET", f"{demo.base_url}/me/tickets", {"Authorization": f"Bearer {demo.token(buyer)}"}, None)
        mine = [t for t in (reply.body or {}).get("tickets", []) if t.get("space_id") == space_id]
        if mine and mine[0].get("status") == status:
            demo.note(f"{buyer}'s ticket is {status} (GET /me/tickets)")
            return mine[0]
        if time.monotonic() > deadline:
            raise DemoFailed(f"{buyer}'s ticket did not become {status} within {seconds:.0f} s: {mine}")
        time.sleep(0.5)


def sell_tickets(demo: Demo, cast: Cast) -> None:
    """A ticketed Space: a seat held before payment, the provider's webhook, sold out, refunds."""
    buyer, other = cast.listeners[0], cast.listeners[1]
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 2 * 86400))
    demo.step(f"{TICKET_SELLER} schedules a ticketed Space: one seat at 4.99 USD")
    created = demo.call("POST", "/spaces", TICKET_SELLER, 201, {
        "title": f"Ticketed AMA {demo.suffix}", "scheduled_start": start, "access": "ticketed",
        "ticket": {"price_cents": 499, "currency": "USD", "capacity": 1},
    })
    space = f"/spaces/{created.body['id']}"
    demo.step(f"{buyer} buys it (Idempotency-Key): the seat is held, the payment is pending; a replay answers the same")
    key = {"Idempotency-Key": f"demo-{demo.suffix}-ticket"}
    first = demo.call("POST", f"{space}/tickets", buyer, 201, {}, headers=key)
    again = demo.call("POST", f"{space}/tickets", buyer, 201, {}, headers=key)
    demo.check(first.body == again.body, "the replay returned the first answer")
    wait_for_ticket(demo, buyer, created.body["id"], "paid")
    demo.step(f"Sold out for {other}; {buyer} may join the audience, {other} may not")
    demo.call("POST", f"{space}/tickets", other, 409, {}, code="sold_out", headers={"Idempotency-Key": f"demo-{demo.suffix}-other"})
    sales = demo.call("GET", f"{space}/tickets", TICKET_SELLER, 200)
    demo.check((sales.body["sold"], sales.body["gross_cents"]) == (1, 499), "the host sees 1 sold, 4.99 gross")
    demo.step(f"{TICKET_SELLER} cancels: every paid ticket is refunded (the ticket worker), buyers are told")
    demo.call("POST", f"{space}/cancel", TICKET_SELLER, 200)
    wait_for_ticket(demo, buyer, created.body["id"], "refunded")


def end_left_behind(demo: Demo, live: Live) -> None:
    """After a failure half way: end the Space this run opened, so the host is free next time."""
    if live.space_id is None or live.ended or live.host is None:
        return
    try:
        reply = demo.send(
            "POST",
            f"{demo.base_url}/spaces/{live.space_id}/end",
            {"Authorization": f"Bearer {demo.token(live.host)}"},
            None,
        )
        if 200 <= reply.status < 300:
            demo.out(f"cleanup: ended Space {live.space_id} of {live.host}, so {live.host} can host again")
        elif error_code(reply.body) in ("space_ended", "space_canceled"):
            demo.out(f"cleanup: Space {live.space_id} of {live.host} was already ended")
        else:
            demo.out(
                f"cleanup: could not end Space {live.space_id} of {live.host} "
                f"({status_text(reply.status)}, {error_code(reply.body)}); end it by hand or restart `make run`"
            )
    except Exception as exc:  # the API may be what failed: say so, the run is failing anyway
        demo.out(
            f"cleanup: could not end Space {live.space_id} of {live.host} ({exc}); "
            f"{live.host} stays busy until it is ended or `make run` restarts"
        )


def find_live_spaces(demo: Demo, hosts: Iterable[str]) -> dict[str, list[str]]:
    """Ask discovery (`GET /spaces?host_id=&state=live`) which live Spaces the busy hosts have.
    Read only; {} while that route does not exist or fails."""
    found: dict[str, list[str]] = {}
    for host in hosts:
        try:
            reply = demo.send(
                "GET",
                f"{demo.base_url}/spaces?host_id={host}&state=live",
                {"Authorization": f"Bearer {demo.token(host)}"},
                None,
            )
        except Exception:  # only a hint for the help text
            return found
        if reply.status == 200:
            ids = live_space_ids(reply.body, host)
            if ids:
                found[host] = ids
    return found


def hosts_busy_help(base_url: str, hosts: Iterable[str], live: Optional[dict[str, list[str]]] = None) -> str:
    hosts = tuple(hosts)
    live = live or {}
    lines = [
        f"Every host candidate ({', '.join(hosts)}) already has a live Space, and a host has one at a time.",
        "Either:",
        "  - restart `make run` (DynamoDB Local keeps everything in memory: a restart forgets every Space), or",
    ]
    if live:
        lines.append("  - end those Spaces:")
        for host, ids in live.items():
            for space_id in ids:
                lines.append(
                    f"      curl -X POST -H \"Authorization: Bearer $(make -s token USER={host} | tail -n 1)\" "
                    f"{base_url}/spaces/{space_id}/end"
                )
        lines[-1] += ", or"
    else:
        lines.append(
            "  - end them, if you know their ids (the 409 does not say): as the host, POST /spaces/<id>/end\n"
            f"      curl -X POST -H \"Authorization: Bearer $(make -s token USER={hosts[0]} | tail -n 1)\" "
            f"{base_url}/spaces/<space id>/end, or"
        )
    lines.append("  - name another host with 600+ followers: python -m scripts.demo --host <user id>")
    return "\n".join(lines)


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.demo",
        description="Play a whole Space against the running local stack (`make run`), step by step.",
    )
    parser.add_argument("--base-url", default=DEFAULT_BASE_URL, help=f"the API (default {DEFAULT_BASE_URL})")
    parser.add_argument(
        "--host",
        action="append",
        dest="hosts",
        metavar="USER_ID",
        help="a host to try (repeatable, tried in order); default: alice, then carol",
    )
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    args = parser.parse_args(argv)
    args.hosts = tuple(args.hosts or DEFAULT_HOSTS)
    return args


def use_color(choice: str, stream=sys.stdout) -> bool:
    if choice != "auto":
        return choice == "always"
    return stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def main(argv: Optional[list[str]] = None, *, send: Optional[Send] = None) -> int:
    args = parse_args(argv)
    demo = Demo(args.base_url, send=send, color=use_color(args.color))
    cast = Cast.for_run(demo.suffix, args.hosts)
    live = Live()
    started = time.monotonic()
    demo.out(f"Spaces demo against {demo.base_url}   (run {demo.suffix}; hosts tried: {', '.join(cast.hosts)})")
    demo.out(
        f"cast: co-host {cast.cohost}, listeners {', '.join(cast.listeners)}, late joiner {cast.late}"
    )
    try:
        play(demo, cast, live)
        sell_tickets(demo, cast)
    except ApiUnreachable as exc:
        demo.out("")
        where = f" (at step {demo.step_number}, {demo.step_title})" if demo.requests > 1 else ""
        demo.out(f"The API at {demo.base_url} does not answer{where}.")
        demo.out("Start the stack with `make run` first (in another terminal), then run `make demo` again.")
        return 1
    except HostsBusy:
        demo.out("")
        demo.out(hosts_busy_help(demo.base_url, cast.hosts, find_live_spaces(demo, cast.hosts)))
        return 1
    except DemoFailed as exc:
        demo.out("")
        demo.out(demo._paint(f"DEMO FAILED at step {demo.step_number} ({demo.step_title}):", "1;31"))
        demo.out(f"  {exc}")
        end_left_behind(demo, live)
        return 1
    except KeyboardInterrupt:
        demo.out("\ninterrupted")
        end_left_behind(demo, live)
        return 130
    except BaseException:
        end_left_behind(demo, live)
        raise
    elapsed = time.monotonic() - started
    demo.out("")
    demo.out(
        demo._paint(
            f"All {demo.requests} responses had the expected status ({elapsed:.1f} s). "
            f"Space {live.space_id} was hosted by {live.host} and is ended; the ticketed one is canceled and refunded.",
            "1;32",
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
