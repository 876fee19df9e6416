"""Making AWS misbehave on purpose, deterministically: fault injection for tests.

`AwsFaults` hooks into botocore clients' events and makes chosen operations fail at a chosen rate,
decided by a seeded `random.Random`: the same seed and the same sequence of AWS calls give the same
failures. `MediaFaults` does the same for the media port (LocalMedia), through its `fail_next`.

    with inject_dynamodb_faults(seed=7) as faults:
        faults.fail(["TransactWriteItems", "GetItem"], rate=0.25, kinds=("throttle", "internal", "timeout"))
        ...                                    # requests under fault
        with faults.paused():
            ...                                # check the invariants with the faults off

Where a failure is injected (`per=`):

- ``per="call"`` (the default) fails the whole API call, every attempt of it. The fault is answered
  from botocore's ``before-call`` event, which short-circuits the call before botocore's retry loop
  (PynamoDB's client retries throttles and 5xx itself: standard mode, 1 + `max_retry_attempts`
  attempts), so no SDK retry can absorb it. This is what the application must survive: a throttle
  or an outage that outlasts the SDK's retries, and it costs no backoff sleep, so a suite can inject
  hundreds of them in seconds.
- ``per="attempt"`` fails single HTTP attempts (botocore's ``before-send`` event). botocore's retry
  handler sees each failed attempt and retries with its real backoff (for DynamoDB: up to ~1 s for a
  throttle, ~25 ms for a 5xx, first retry), so only a few of these belong in a test. Use it to check
  that transient failures never reach the application at all.

Kinds of failure:

    throttle       ThrottlingException, HTTP 400
    provisioned    ProvisionedThroughputExceededException, HTTP 400
    internal       InternalServerError, HTTP 500
    unavailable    ServiceUnavailable, HTTP 503
    timeout        ReadTimeoutError before the request reached the service: nothing was applied
    tx_conflict    TransactionCanceledException whose reasons are all TransactionConflict
                   (another transaction held the items; TransactWriteItems only)
    lost_response  the call IS applied, then the caller gets ReadTimeoutError: the write happened but
                   the caller cannot know (per="call" only). The hardest case for a caller that
                   cleans up after a failure, because the cleanup undoes something that succeeded.
"""
from __future__ import annotations

import json
import random
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterable, Iterator

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError

ERRORS = {
    # kind: (error code, HTTP status)
    "throttle": ("ThrottlingException", 400),
    "provisioned": ("ProvisionedThroughputExceededException", 400),
    "internal": ("InternalServerError", 500),
    "unavailable": ("ServiceUnavailable", 503),
    "tx_conflict": ("TransactionCanceledException", 400),
}
KINDS = tuple(ERRORS) + ("timeout", "lost_response")
DEFAULT_KINDS = ("throttle", "internal", "timeout")


@dataclass(frozen=True)
class Injected:
    """One failure that was injected: which call, and how it failed."""

    service: str
    operation: str
    kind: str
    per: str


@dataclass
class _Rule:
    service: str
    operations: frozenset[str] | None  # None: every operation of the service
    rate: float
    kinds: tuple[str, ...]
    per: str
    times: int | None = None  # fail_next: how many more failures, then the rule is spent

    def matches(self, service: str, operation: str, per: str) -> bool:
        if self.per != per or self.service not in ("*", service):
            return False
        if self.times is not None and self.times <= 0:
            return False
        return self.operations is None or operation in self.operations


class _Body:
    """The raw stream AWSResponse reads a synthetic HTTP body from."""

    def __init__(self, data: bytes):
        self._data = data

    def stream(self, **_):
        yield self._data


class AwsFaults:
    """Fails chosen operations of the botocore clients it is attached to, at chosen rates.

    Every call that matches a rule draws from one seeded `random.Random` (under a lock, so threads
    share one deterministic stream in call order): with probability `rate` it fails, with a kind
    picked from the rule's kinds by the same generator. The first matching rule decides.
    `injected` lists every failure, `calls` counts the calls that were eligible.
    """

    def __init__(self, seed: int = 0):
        self.random = random.Random(seed)
        self.rules: list[_Rule] = []
        self.injected: list[Injected] = []
        self.calls = 0
        self._enabled = True
        self._lock = threading.Lock()
        self._attached: list = []
        self._id = f"aws-faults-{uuid.uuid4().hex}"

    # ------------------------------------------------------------------ configuring

    def fail(
        self,
        operations: Iterable[str] | str | None,
        rate: float,
        kinds: Iterable[str] = DEFAULT_KINDS,
        *,
        service: str = "dynamodb",
        per: str = "call",
    ) -> "AwsFaults":
        """Make `operations` (API names, e.g. "TransactWriteItems"; None for all) of `service`
        fail with probability `rate`, each failure one of `kinds`."""
        if not 0 <= rate <= 1:
            raise ValueError("rate is a probability, between 0 and 1")
        self.rules.append(_Rule(service, _operations(operations), rate, _kinds(kinds, per), per))
        return self

    def fail_next(
        self,
        operations: Iterable[str] | str | None,
        kind: str = "internal",
        times: int = 1,
        *,
        service: str = "dynamodb",
        per: str = "call",
    ) -> "AwsFaults":
        """Make the next `times` calls of `operations` (one name, several, or None for any) fail
        with `kind`, whatever the rates say. The newest such rule is served first."""
        if times < 1:
            raise ValueError("times must be at least 1")
        rule = _Rule(service, _operations(operations), 1.0, _kinds([kind], per), per, times=times)
        self.rules.insert(0, rule)
        return self

    def clear(self) -> None:
        """Forget every rule (what was injected stays recorded)."""
        with self._lock:
            self.rules.clear()

    @contextmanager
    def paused(self) -> Iterator["AwsFaults"]:
        """No failures inside the block (and no random draws, so the stream is not disturbed)."""
        previous, self._enabled = self._enabled, False
        try:
            yield self
        finally:
            self._enabled = previous

    def count(self, kind: str | None = None, operation: str | None = None) -> int:
        return sum(1 for i in self.injected if kind in (None, i.kind) and operation in (None, i.operation))

    # ------------------------------------------------------------------ attaching

    def attach(self, *clients) -> "AwsFaults":
        for client in clients:
            events = client.meta.events
            # On the generic events, which botocore runs after the service-specific ones, and
            # appended: a call recorder (tests/support/aws_calls.py) attached before still sees
            # every call, including those that then fail here.
            events.register("before-call", self._before_call, unique_id=self._id + "-call")
            events.register("after-call", self._after_call, unique_id=self._id + "-after")
            events.register("before-send", self._before_send, unique_id=self._id + "-send")
            self._attached.append(client)
        return self

    def detach(self) -> None:
        for client in self._attached:
            events = client.meta.events
            events.unregister("before-call", unique_id=self._id + "-call")
            events.unregister("after-call", unique_id=self._id + "-after")
            events.unregister("before-send", unique_id=self._id + "-send")
        self._attached.clear()

    def __enter__(self) -> "AwsFaults":
        return self

    def __exit__(self, *exc) -> None:
        self.detach()

    # ------------------------------------------------------------------ the hooks

    def _draw(self, service: str, operation: str, per: str) -> str | None:
        if not self._enabled:
            return None
        with self._lock:
            rule = next((r for r in self.rules if r.matches(service, operation, per)), None)
            if rule is None:
                return None
            self.calls += 1
            if rule.times is None and self.random.random() >= rule.rate:
                return None
            kind = rule.kinds[self.random.randrange(len(rule.kinds))] if len(rule.kinds) > 1 else rule.kinds[0]
            if kind == "tx_conflict" and operation != "TransactWriteItems":
                kind = "internal"
            if rule.times is not None:
                rule.times -= 1
            self.injected.append(Injected(service, operation, kind, per))
            return kind

    def _before_call(self, model, params, context, **_):
        service, operation = model.service_model.service_name, model.name
        kind = self._draw(service, operation, "call")
        if kind is None:
            return None
        if kind == "lost_response":
            context[self._id] = kind  # let the call through; _after_call loses its answer
            return None
        if kind == "timeout":
            raise ReadTimeoutError(endpoint_url=params.get("url", service), error="injected read timeout")
        code, status = ERRORS[kind]
        parsed = {
            "Error": {"Code": code, "Message": f"injected {kind} ({operation})"},
            "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}, "RetryAttempts": 0},
        }
        if kind == "tx_conflict":
            parsed["CancellationReasons"] = [
                {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
                for _ in _transact_items(params)
            ]
        return AWSResponse(params.get("url"), status, {}, None), parsed

    def _after_call(self, model, context, http_response=None, **_):
        if context.pop(self._id, None) == "lost_response":
            raise ReadTimeoutError(
                endpoint_url=getattr(http_response, "url", None) or model.service_model.service_name,
                error="injected: response lost after the call applied",
            )

    def _before_send(self, request, **_):
        # botocore does not pass the operation here; the request carries it (JSON protocol header).
        target = request.headers.get("X-Amz-Target", b"")
        target = target.decode() if isinstance(target, bytes) else target
        operation = target.rsplit(".", 1)[-1] if target else ""
        service = _service_of(request.url)
        kind = self._draw(service, operation, "attempt")
        if kind is None:
            return None
        if kind == "timeout":
            raise ReadTimeoutError(endpoint_url=request.url, error="injected read timeout (one attempt)")
        code, status = ERRORS[kind]
        body = {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": f"injected {kind} ({operation})"}
        if kind == "tx_conflict":
            body["CancellationReasons"] = [{"Code": "TransactionConflict"} for _ in _transact_items(request)]
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": uuid.uuid4().hex}
        return AWSResponse(request.url, status, headers, _Body(json.dumps(body).encode()))


def _operations(operations) -> frozenset[str] | None:
    if operations is None:
        return None
    return frozenset([operations] if isinstance(operations, str) else operations)


def _kinds(kinds: Iterable[str], per: str) -> tuple[str, ...]:
    kinds = tuple(kinds)
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise ValueError(f"unknown fault kinds {unknown}; choose from {KINDS}")
    if per not in ("call", "attempt"):
        raise ValueError('per is "call" or "attempt"')
    if per == "attempt" and "lost_response" in kinds:
        raise ValueError("lost_response fails a whole call: use it with per='call'")
    return kinds


def _transact_items(request_like) -> list:
    body = request_like.get("body") if isinstance(request_like, dict) else request_like.body
    if isinstance(body, bytes):
        body = body.decode()
    try:
        return json.loads(body or "{}").get("TransactItems", [])
    except ValueError:
        return []


def _service_of(url: str) -> str:
    # Attempt-mode faults are attached to clients of one service; DynamoDB Local has no service
    # name in its URL, so the rule's service is taken on trust for non-AWS hosts.
    host = url.split("//", 1)[-1].split("/", 1)[0]
    return host.split(".", 1)[0] if host.endswith("amazonaws.com") else "dynamodb"


@contextmanager
def inject_dynamodb_faults(seed: int = 0) -> Iterator[AwsFaults]:
    """An AwsFaults attached to every PynamoDB model's botocore client, detached on exit.

    Starts with no rules: add them with `fail(...)` / `fail_next(...)`.
    """
    from tests.support.aws_calls import dynamodb_clients

    faults = AwsFaults(seed)
    faults.attach(*dynamodb_clients())
    try:
        yield faults
    finally:
        faults.detach()


MEDIA_METHODS = ("create_stage", "delete_stage", "disconnect_participant")


class MediaFaults:
    """A MediaPort that makes its inner LocalMedia fail at a rate, deterministically.

    Before each call of a chosen method it draws from its seeded generator and, on a hit, arms
    `LocalMedia.fail_next(method)`, so the inner adapter raises exactly as it does for IVS
    throttling or an outage (DependencyFailed, code media_unavailable). Everything else (`stages`,
    `deleted`, `disconnected`, `fail_next` ...) is the inner adapter's.

    `lost_rate` makes a `create_stage` succeed in the media service and still fail for the caller
    (the CreateStage response lost): the stage exists, nobody knows its ARN.
    """

    def __init__(self, media, *, seed: int = 0, rate: float = 0.0, methods: Iterable[str] = MEDIA_METHODS,
                 lost_rate: float = 0.0):
        self.inner = media
        self.random = random.Random(seed)
        self.rate = rate
        self.lost_rate = lost_rate
        self.methods = frozenset(methods)
        self.injected: list[str] = []
        self._enabled = True
        self._lock = threading.Lock()

    def __getattr__(self, name):
        return getattr(self.inner, name)

    @contextmanager
    def paused(self) -> Iterator["MediaFaults"]:
        previous, self._enabled = self._enabled, False
        try:
            yield self
        finally:
            self._enabled = previous

    def _arm(self, method: str) -> None:
        if not self._enabled or method not in self.methods:
            return
        with self._lock:
            if self.random.random() < self.rate:
                self.injected.append(method)
                self.inner.fail_next(method)

    def create_stage(self, space_id: str):
        self._arm("create_stage")
        stage = self.inner.create_stage(space_id)
        if self._enabled and self.lost_rate:
            with self._lock:
                lost = self.random.random() < self.lost_rate
            if lost:
                from chalicelib.domain.errors import DependencyFailed

                self.injected.append("create_stage:lost_response")
                raise DependencyFailed("injected: CreateStage response lost", code="media_unavailable")
        return stage

    def delete_stage(self, stage_arn: str) -> None:
        self._arm("delete_stage")
        return self.inner.delete_stage(stage_arn)

    def disconnect_participant(self, stage_arn: str, participant_id: str, reason: str) -> None:
        self._arm("disconnect_participant")
        return self.inner.disconnect_participant(stage_arn, participant_id, reason)
