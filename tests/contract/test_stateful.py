"""Stateful contract fuzzing: sequences of calls that follow openapi.yaml's links.

Schemathesis' state machine starts from operations that need nothing (POST /spaces, say) and
follows the `links` the document declares: the `id` of the Space a 201 returned becomes the
`space_id` of the next call (read it, edit it, start, join, leave, raise a hand, end, cancel...),
so the fuzzer reaches Spaces in every state instead of mostly 404s. Every response is held to the
same checks as the stateless run (tests/contract/test_schemathesis.py): no server error, and a
status code, content type, headers and body that openapi.yaml allows.

The run is limited to POST /spaces and the operations it links to, so most steps act on Spaces
that exist. The calls go to a real `chalice local` (tests/support/local_stack.py) as gina, a seeded user who may
host and whom the stateless run never uses, so the two runs never take each other's Spaces.

    make test                                    # a few short scenarios (SPACES_FUZZ_EXAMPLES=12)
    make fuzz                                    # long: SPACES_FUZZ_EXAMPLES=500, at most 10 minutes
    SPACES_FUZZ_REPORT=out.json make fuzz         # also writes the counts below as JSON

At the end the test prints (and with SPACES_FUZZ_REPORT writes) how many requests were sent, how
many answered 5xx and how many scenarios failed a check.
"""
from __future__ import annotations

import json
import os
import time
from collections import Counter

import pytest
from hypothesis import HealthCheck, Phase, settings

from tests.contract.test_schemathesis import CHECKS, EXAMPLES, SPEC_PATH

CALLER = "gina"  # 1,200 followers (tests/support/local_stack.py EXTRA_USERS): may host
# Steps per scenario: enough to create a Space and walk it through a few of its states.
STEPS = int(os.environ.get("SPACES_FUZZ_STEPS", "12"))
# Scenarios per Hypothesis run, and how long the whole fuzz may go on (`make fuzz`: 10 minutes).
BATCH = int(os.environ.get("SPACES_FUZZ_BATCH", "40"))
SECONDS = float(os.environ.get("SPACES_FUZZ_SECONDS", "600"))


@pytest.mark.slow
def test_linked_calls_honour_the_contract(local_stack, capsys, monkeypatch):
    import schemathesis
    from schemathesis.specs.openapi import stateful

    # Schemathesis starts scenarios only at operations it expects to succeed with random data, and
    # rules POST /spaces out because its body names users (cohost_ids) that no operation creates.
    # Those fields are optional: POST /spaces is where every scenario here should start.
    likely_root = stateful.is_likely_root_transition
    monkeypatch.setattr(
        stateful,
        "is_likely_root_transition",
        lambda operation, *args: operation.label == "POST /spaces" or likely_root(operation, *args),
    )

    # The operations POST /spaces links to, and POST /spaces itself: left with every operation
    # the state machine spends most steps on random ids (404s) and rarely creates a Space.
    full = schemathesis.openapi.from_path(SPEC_PATH)
    create = full.raw_schema["paths"]["/spaces"]["post"]
    linked = {link["operationId"] for link in create["responses"]["201"]["links"].values()}
    schema = full.include(operation_id=["create_space", *sorted(linked)])
    counts: Counter = Counter()

    class Workflow(schema.as_state_machine()):
        def before_call(self, case):
            # The caller's real token, over whatever the generator put in Authorization.
            case.headers = {**(case.headers or {}), **local_stack.auth(CALLER)}

        def get_call_kwargs(self, case):
            return {"base_url": local_stack.base_url, "timeout": 30}

        def setup(self):
            self.created: list[str] = []

        def teardown(self):
            # Scenarios share one stack: free gina's live slot and scheduled slots (10) for the
            # next scenario, or it would only ever see 409 host_already_live / too_many_scheduled.
            for space_id in self.created:
                for action in ("end", "cancel"):
                    local_stack.request("POST", f"/spaces/{space_id}/{action}", CALLER)

        def after_call(self, response, case):
            super().after_call(response, case)
            if case.operation.label == "POST /spaces" and response.status_code == 201:
                self.created.append(response.json()["id"])
            counts["requests"] += 1
            counts["server_errors"] += response.status_code >= 500
            counts[f"{case.operation.label} {response.status_code}"] += 1

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            try:
                case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs or None)
            except Exception:
                counts["failed_checks"] += 1
                if response.status_code >= 500:
                    print("server log:\n" + local_stack.log_tail(3000))
                raise

    from hypothesis.errors import FlakyStrategyDefinition

    # Runs of at most BATCH scenarios, each a fresh Hypothesis run, until EXAMPLES scenarios are
    # played or SECONDS have passed. One long run fails by itself after a few thousand requests:
    # its data tree meets a prefix it generated before whose rules now draw differently (the
    # server's state moved on), and Hypothesis raises FlakyStrategyDefinition, which is about the
    # generator, not the app. That ends only the batch it hit (counted); any other error fails.
    deadline = time.monotonic() + SECONDS
    played = 0
    try:
        while played < EXAMPLES and time.monotonic() < deadline:
            batch = min(BATCH, EXAMPLES - played)
            try:
                Workflow.run(
                    settings=settings(
                        max_examples=batch,
                        stateful_step_count=STEPS,
                        deadline=None,
                        database=None,
                        print_blob=False,
                        suppress_health_check=list(HealthCheck),
                        # Generate only: replaying a scenario against a server whose state moved
                        # on draws differently; a failure is reported as it happened.
                        phases=[Phase.generate],
                    )
                )
            except FlakyStrategyDefinition:
                counts["batches_cut_short"] += 1
            counts["batches"] += 1
            played += batch
    finally:
        summary = {key: counts[key] for key in ("requests", "server_errors", "failed_checks", "batches", "batches_cut_short")}
        summary["linked"] = sum(
            n for key, n in counts.items() if key.startswith(("POST /spaces/{", "GET /spaces/{", "PATCH", "DELETE /spaces/{"))
        )
        with capsys.disabled():
            print(f"\nstateful contract fuzz: {json.dumps(summary)}")
        if os.environ.get("SPACES_FUZZ_REPORT"):
            with open(os.environ["SPACES_FUZZ_REPORT"], "w", encoding="utf-8") as fh:
                json.dump({**summary, "by_operation": dict(counts)}, fh, indent=1, sort_keys=True)

    # Nothing a batch cut short could have swallowed: every failed check and 5xx is counted.
    assert (summary["server_errors"], summary["failed_checks"]) == (0, 0), summary
    # Not a vacuous pass: the links were followed to Spaces that exist.
    assert counts["POST /spaces 201"] > 0, dict(counts)
    assert summary["linked"] > 0, dict(counts)
