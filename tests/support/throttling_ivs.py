"""An `ivs-realtime` client answered in-process that throttles like IVS, on a simulated clock.

IVS allows each stage-control operation (CreateStage, DeleteStage, DisconnectParticipant,
GetStage, ListStages ...) 5 calls a second per account and answers ThrottlingException past that.
This stand-in counts each operation's calls over the last second of `FakeTime` and throttles the
6th, so a test or the bench can push thousands of calls through "60 seconds" without waiting
them out. Requests are validated against the real ivs-realtime model by botocore before they
reach it (as Stubber does), and answers are checked against the operation's output shape
(tests/support/offline_aws.py).

`ThrottlingIvsChat` is the same for `ivschat` at IVS Chat's rates: CreateRoom and DeleteRoom 5
calls a second each, SendEvent and DisconnectUser 100, CreateChatToken 200 (none adjustable).
"""
from __future__ import annotations

import secrets
import string
import threading
import uuid
from collections import defaultdict, deque

from tests.support.offline_aws import answer, error_answer, offline_client

LIMIT_PER_SECOND = 5
FAMILY = frozenset(
    {"CreateStage", "DeleteStage", "DisconnectParticipant", "GetStage", "ListStages", "UpdateStage",
     "GetParticipant", "ListParticipants"}
)
_ALNUM = string.ascii_letters + string.digits


class FakeTime:
    """Seconds that move only when told (`sleep` moves them): one clock for the limiter, the
    services and the throttling IVS."""

    def __init__(self, start: float = 1_800_000_000.0):
        self.t = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.t

    def ms(self) -> int:
        return int(round(self.t * 1000))

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.t += max(0.0, seconds)

    def advance_to(self, t: float) -> None:
        with self._lock:
            self.t = max(self.t, t)


class ThrottlingIvs:
    SERVICE = "ivs-realtime"

    def __init__(self, time: FakeTime, *, limit: int = LIMIT_PER_SECOND, region: str = "us-east-1",
                 account: str = "123456789012"):
        self.time = time
        self.limit = limit
        self.region, self.account = region, account
        self.client = offline_client(self.SERVICE)
        self.calls: list[tuple[float, str]] = []  # answered, (time, operation)
        self.throttled: list[tuple[float, str]] = []
        self.stages: set[str] = set()
        self._recent: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()
        self._id = f"throttling-ivs-{uuid.uuid4().hex}"
        self.client.meta.events.register(f"before-call.{self.SERVICE}", self._before_call, unique_id=self._id)

    def close(self) -> None:
        self.client.meta.events.unregister(f"before-call.{self.SERVICE}", unique_id=self._id)

    def count(self, operation: str) -> int:
        return sum(1 for _, op in self.calls if op == operation)

    def max_per_second(self, operations=None) -> int:
        """The most calls of `operations` (the throttled family) answered within any one second
        (sliding)."""
        operations = self._limits() if operations is None else operations
        times = sorted(t for t, op in self.calls if op in operations)
        best, lo = 0, 0
        for hi, t in enumerate(times):
            while times[lo] <= t - 1.0:
                lo += 1
            best = max(best, hi - lo + 1)
        return best

    def _before_call(self, model, params, **_):
        op, now = model.name, self.time()
        limit = self._limits().get(op)
        with self._lock:
            if limit is not None:
                recent = self._recent[op]
                while recent and recent[0] <= now - 1.0:
                    recent.popleft()
                if len(recent) >= limit:
                    self.throttled.append((now, op))
                    return error_answer("ThrottlingException", 429)
                recent.append(now)
            self.calls.append((now, op))
            return answer(model, self._answer(op))

    def _limits(self) -> dict[str, int]:
        return dict.fromkeys(FAMILY, self.limit)

    def _answer(self, op: str) -> dict:
        if op == "CreateStage":
            arn = f"arn:aws:ivs:{self.region}:{self.account}:stage/" + "".join(secrets.choice(_ALNUM) for _ in range(12))
            self.stages.add(arn)
            host = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(12))
            return {"stage": {"arn": arn, "endpoints": {
                "events": "wss://global.events.live-video.net",
                "whip": f"https://{host}.global-bm.whip.live-video.net"}}}
        if op == "DeleteStage":
            return {}
        if op == "DisconnectParticipant":
            return {}
        if op == "ListStages":
            return {"stages": []}
        raise AssertionError(f"the throttling IVS stand-in does not answer {op}")


CHAT_LIMITS = {"CreateRoom": 5, "DeleteRoom": 5, "SendEvent": 100, "DisconnectUser": 100, "CreateChatToken": 200}


class ThrottlingIvsChat(ThrottlingIvs):
    """IVS Chat's control plane at its real per-operation rates (`rooms`: the rooms it holds)."""

    SERVICE = "ivschat"

    def __init__(self, time: FakeTime, **kwargs):
        super().__init__(time, **kwargs)
        self.rooms = self.stages

    def _limits(self) -> dict[str, int]:
        return CHAT_LIMITS

    def _answer(self, op: str) -> dict:
        if op == "CreateRoom":
            room_id = "".join(secrets.choice(_ALNUM) for _ in range(12))
            arn = f"arn:aws:ivschat:{self.region}:{self.account}:room/{room_id}"
            self.rooms.add(arn)
            return {"arn": arn, "id": room_id}
        if op == "DeleteRoom":
            return {}
        if op == "SendEvent":
            return {"id": uuid.uuid4().hex}
        if op == "DisconnectUser":
            return {}
        if op == "ListRooms":
            return {"rooms": []}
        raise AssertionError(f"the throttling IVS Chat stand-in does not answer {op}")
