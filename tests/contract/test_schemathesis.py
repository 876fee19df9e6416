"""Contract fuzzing: every operation in openapi.yaml, fuzzed by Schemathesis against a real stack.

The stack (tests/support/local_stack.py) is DynamoDB Local, moto and `chalice local --stage local`
on free ports, started by the test itself. Requests carry a valid bearer token: alice's (a seeded
user who may host), except POST /spaces, sent as erin (see `creator_of`). Each response must

- not be a server error (any 5xx: docs/contract.md: "nothing a client sends may cause a 500", and a 503
  while DynamoDB Local is up is a bug too), and
- conform to openapi.yaml: a documented status code, a documented content type, the documented
  headers, and a body that validates against the response schema.

Schemathesis sends the schema's examples, its coverage cases (boundaries, wrong types, missing
fields, wrong content types, undeclared methods) and Hypothesis-generated cases, valid (positive)
and deliberately invalid (negative). Path parameters are a mix of generated ids (mostly 404s) and
real Spaces in known states: a live Space alice hosts (bob listening with his hand up, carol
listening, dave co-host, frank speaker), a scheduled one she hosts, and a live one carol hosts
where alice listens with an invitation to speak. When a fuzzed request starts, ends or cancels
one of them it is checked and, if need be, replaced before the next request that wants it. User
ids in paths and bodies are sometimes those real users.

    make test                                   # bounded: SPACES_FUZZ_EXAMPLES, default 12
    make fuzz                                   # long: SPACES_FUZZ_EXAMPLES=500
    SPACES_FUZZ_EXAMPLES=50 .venv/bin/pytest tests/contract -q

Runs are reproducible: Hypothesis is derandomized and keeps no example database. No deadlines:
the test never fails on wall time.
"""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Optional

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)


ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = ROOT / "openapi.yaml"
CALLER = "alice"  # seeded with 1,200 followers: may host
FUZZ_CREATOR = "erin"  # 1,200 followers too (tests/support/local_stack.py)

# Examples per operation in Hypothesis' generate phase (the schema's own examples and
# Schemathesis' coverage cases come on top). `make fuzz` raises it.
EXAMPLES = int(os.environ.get("SPACES_FUZZ_EXAMPLES", "12"))

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

# Path ids that stand for real Spaces (valid per the SpaceIdPath pattern, so positive cases stay
# positive); the test swaps each for the current Space of that kind just before the request.
LIVE_HOSTED = "FUZZLIVEALICE"  # live, alice hosts (the caller is the host)
SCHEDULED_HOSTED = "FUZZSCHEDULEDALICE"  # scheduled, alice hosts
LIVE_OTHER = "FUZZLIVECAROL"  # live, carol hosts (the caller is a listener, invited to speak)
PLACEHOLDERS = (LIVE_HOSTED, SCHEDULED_HOSTED, LIVE_OTHER)
# In alice's live Space: bob listens with his hand up, carol listens, dave is a co-host, frank a
# speaker. User ids in fuzzed paths and bodies are sometimes these.
REAL_USERS = ("alice", "bob", "carol", "dave", "frank")
INVITATION_ROUTES = ("POST /spaces/{space_id}/invitations/accept", "POST /spaces/{space_id}/invitations/decline")


class SpaceWorld:
    """Real Spaces for the fuzzer to aim at, replaced when a fuzzed request ends or cancels them.

    Best effort: when no Space in the wanted state can be had (alice already hosts a live Space the
    fuzzer started, say), the last one is reused in whatever state it is; the request is still a
    valid one against a real Space.
    """

    TARGETS = {
        LIVE_HOSTED: ("alice", "live"),
        SCHEDULED_HOSTED: ("alice", "scheduled"),
        LIVE_OTHER: ("carol", "live"),
    }

    def __init__(self, stack) -> None:
        self.stack = stack
        self.current: dict[str, str] = {}  # placeholder -> the last real Space used for it
        self.resolved: dict[str, str] = {}  # placeholder -> what to use until a state may change
        self.seen: dict[str, list[str]] = {"alice": [], "carol": []}  # Space ids by creator

    # --- plain HTTP as a given user (a new connection each time, as Schemathesis does: chalice
    # local's server answers kept-alive connections ~40 ms late) -------------------------------

    def _call(self, method: str, path: str, user: str, body: Any = None):
        """A plain, valid request; a server error here fails the test like a fuzzed one would."""
        response = self.stack.request(method, path, user, json=body)
        assert response.status_code < 500, (
            f"server error while preparing a Space to fuzz against: {method} {path} as {user}"
            f" with body {body!r} -> {response.status_code} {response.text[:500]}"
        )
        return response

    def _state(self, space_id: str, user: str) -> Optional[str]:
        response = self._call("GET", f"/spaces/{space_id}", user)
        return response.json().get("state") if response.status_code == 200 else None

    # --- the Spaces ---------------------------------------------------------------------------

    def space_id(self, placeholder: str) -> str:
        """The real Space for `placeholder` now (the placeholder itself if none can be had, e.g.
        alice's 10 scheduled Spaces are all taken: the request then gets a 404)."""
        if placeholder not in self.resolved:
            host, wanted = self.TARGETS[placeholder]
            current = self.current.get(placeholder)
            if current and self._state(current, host) == wanted:
                space_id = current
            else:
                space_id = self._create(placeholder, host, wanted) or self._find(host, wanted) or current
            if space_id:
                self.current[placeholder] = space_id
            self.resolved[placeholder] = space_id or placeholder
        return self.resolved[placeholder]

    def _find(self, host: str, wanted: str) -> Optional[str]:
        for space_id in reversed(self.seen[host]):
            if self._state(space_id, host) == wanted:
                return space_id
        return None

    def _create(self, placeholder: str, host: str, wanted: str) -> Optional[str]:
        body: dict[str, Any] = {"title": f"fuzz target {placeholder.lower()}", "topics": ["fuzz"]}
        if wanted == "scheduled":
            start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=2)
            body["scheduled_start"] = start.isoformat().replace("+00:00", "Z")
        response = self._call("POST", "/spaces", host, body)
        if response.status_code != 201:  # e.g. 409 host_already_live, 422 too_many_scheduled
            return None
        space_id = response.json()["id"]
        self.seen[host].append(space_id)
        if placeholder == LIVE_HOSTED:
            for user in ("bob", "carol", "dave", "frank"):
                self._call("POST", f"/spaces/{space_id}/join", user)
            self._call("POST", f"/spaces/{space_id}/speaker-requests", "bob")
            self._call("POST", f"/spaces/{space_id}/cohosts", "alice", {"user_id": "dave"})
            self._call("POST", f"/spaces/{space_id}/speakers", "alice", {"user_id": "frank"})
            self._call("POST", f"/spaces/{space_id}/invitations/accept", "frank")
        elif placeholder == LIVE_OTHER:
            self._call("POST", f"/spaces/{space_id}/join", "dave")
            self._invite_alice(space_id)
        return space_id

    def _invite_alice(self, space_id: str) -> None:
        """alice listens in carol's Space with an invitation to speak (accept/decline can succeed)."""
        self._call("POST", f"/spaces/{space_id}/leave", "alice")  # 404 unless she was in it
        self._call("POST", f"/spaces/{space_id}/join", "alice")
        self._call("POST", f"/spaces/{space_id}/speakers", "carol", {"user_id": "alice"})

    # --- around each fuzzed request --------------------------------------------------------

    def prepare(self, case) -> str:
        """Swap a placeholder Space id for a real one; returns the user the request is sent as."""
        params = case.path_parameters
        if params and params.get("space_id") in PLACEHOLDERS:
            placeholder = params["space_id"]
            params["space_id"] = self.space_id(placeholder)
            if placeholder == LIVE_OTHER and case.operation.label in INVITATION_ROUTES:
                self._invite_alice(params["space_id"])  # the last case may have used it up
        return creator_of(case)

    def observe(self, case, response) -> None:
        """Note requests that may have changed a Space's state; remember Spaces the fuzzer started."""
        if case.operation.label.rsplit("/", 1)[-1] in ("start", "end", "cancel"):
            self.resolved.clear()
        if case.operation.label == "POST /spaces/{space_id}/start" and response.status_code == 200:
            try:
                space = response.json()
            except ValueError:
                return
            if isinstance(space, dict) and space.get("creator_id") in self.seen and space.get("id"):
                self.seen[space["creator_id"]].append(space["id"])


def creator_of(case) -> str:
    """Who sends the request: alice, except POST /spaces.

    alice's own Spaces are the fuzzer's targets; if the fuzzer created Spaces as alice it would use
    up her 10 scheduled Spaces and her one live Space, and the targets could not be replaced.
    erin (1,200 followers, may host; tests/support/local_stack.py) creates instead.
    """
    return FUZZ_CREATOR if case.operation.label == "POST /spaces" else CALLER


# --- generation hooks: aim some of the generated requests at real Spaces and users -------------


def _with_real_path_ids(params: Any):
    if not isinstance(params, dict):
        return st.just(params)
    fixed = {name: st.just(value) for name, value in params.items()}
    if "space_id" in params:
        fixed["space_id"] = st.sampled_from(PLACEHOLDERS)
    if "user_id" in params:
        fixed["user_id"] = st.sampled_from(REAL_USERS)
    return st.fixed_dictionaries(fixed)


def _with_real_body_user(body: Any):
    if isinstance(body, dict) and "user_id" in body:
        return st.sampled_from(REAL_USERS).map(lambda user: {**body, "user_id": user})
    return st.just(body)


def before_generate_path_parameters(context, strategy):
    return st.one_of(strategy.flatmap(_with_real_path_ids), strategy)


def before_generate_body(context, strategy):
    return st.one_of(strategy.flatmap(_with_real_body_user), strategy)


# --- fixtures and the test ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def space_world(local_stack) -> SpaceWorld:
    world = SpaceWorld(local_stack)
    for placeholder in PLACEHOLDERS:  # up front, so a failure shows as one clear setup error
        world.space_id(placeholder)
    return world


schema = schemathesis.openapi.from_path(SPEC_PATH)
schema.config.generation.update(max_examples=EXAMPLES)
# Coverage probes routes with methods they do not declare. TRACE and QUERY never reach the app
# under `chalice local`: Python's http.server answers 501 itself (no do_TRACE / do_QUERY), which
# says nothing about the API (API Gateway answers those in AWS). The other methods reach Chalice.
schema.config.phases.coverage.unexpected_methods = {"get", "put", "post", "delete", "options", "patch"}
schema.hook(before_generate_path_parameters)
schema.hook(before_generate_body)


@pytest.mark.slow
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    suppress_health_check=list(HealthCheck),
)
@schema.parametrize()
def test_every_operation_honours_the_contract(case, local_stack, space_world):
    caller = space_world.prepare(case)
    response = case.call(base_url=local_stack.base_url, headers=local_stack.auth(caller), timeout=30)
    space_world.observe(case, response)
    try:
        case.validate_response(response, checks=CHECKS)
    except FailureGroup as failure:
        # The reproduction line hides the token: say whose it was, and show the server's side.
        context = f"\n\nThe request carried a bearer token for {caller!r}."
        if response.status_code >= 500:
            context += "\n\nThe server's log ends with:\n" + local_stack.log_tail(3000) + "\n"
        raise FailureGroup(list(failure.exceptions), failure.message + context) from None
