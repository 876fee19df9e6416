"""The one limiter in front of the IVS real-time stage control plane.

IVS allows 5 calls a second per account for each of CreateStage, DeleteStage,
DisconnectParticipant, GetStage, ListStages..., not adjustable; going over answers
ThrottlingException. `LimitedClient` wraps the `ivs-realtime` boto3 client that `IvsMedia` is
given: every operation of that family takes a token from the shared bucket
(adapters/dynamodb/limiter.py) before it is sent; everything else passes through untouched. So
the limit holds however many Lambdas run, and no call site has to remember it.

Priority is a property of the client: bootstrap builds one for requests (`reserve=0`: any token,
waiting at most `max_wait` seconds, then 503 with Retry-After) and one for work that can wait
(`reserve=1`: never takes the last token, so a request always finds one first).

The same wrapper, given `operations=ROOM_CONTROL` and a bucket of its own, limits IVS Chat's
room calls (CreateRoom, DeleteRoom: 5 a second each, not adjustable) on the `ivschat` client.
"""
from __future__ import annotations

import math
import time

from chalicelib.domain.errors import DependencyFailed

# botocore method names of the stage-control family (the ivs-realtime API's 5 TPS operations
# the app calls or may call). Compositions have their own 5 TPS quotas and are not counted here.
STAGE_CONTROL = frozenset(
    {
        "create_stage",
        "delete_stage",
        "disconnect_participant",
        "get_stage",
        "list_stages",
        "update_stage",
        "get_participant",
        "list_participants",
    }
)
# IVS Chat's room control plane: CreateRoom and DeleteRoom are 5 TPS per account each, not
# adjustable; a second bucket (media_wiring.chat_bucket) wraps the `ivschat` client with these.
# SendEvent, DisconnectUser (100 TPS) and CreateChatToken (200 TPS) are not counted here.
ROOM_CONTROL = frozenset({"create_room", "delete_room", "get_room", "update_room", "list_rooms"})
MEDIA_BUSY = "media_busy"


class LimitedClient:
    def __init__(
        self,
        client,
        bucket,
        *,
        reserve: float = 0,
        max_wait: float = 2.0,
        sleep=time.sleep,
        on_wait=None,
        operations: frozenset[str] = STAGE_CONTROL,
    ):
        self._client = client
        self._operations = operations
        self._bucket = bucket
        self._reserve = reserve
        self._max_wait = max_wait
        self._sleep = sleep
        self._on_wait = on_wait  # telemetry: called with the seconds waited for a token
        self.meta = client.meta  # botocore event hooks (tests count calls) reach the real client

    def __getattr__(self, name):
        attr = getattr(self._client, name)
        if name not in self._operations:
            return attr

        def limited(*args, **kwargs):
            self.acquire(name)
            return attr(*args, **kwargs)

        return limited

    def acquire(self, operation: str = "") -> None:
        """Wait for a token (at most `max_wait` seconds in all), or raise a 503-able failure."""
        waited = 0.0
        while True:
            wait = self._bucket.take(reserve=self._reserve)
            if wait <= 0:
                if waited and self._on_wait is not None:
                    self._on_wait(waited)
                return
            if waited + wait > self._max_wait:
                raise DependencyFailed(
                    f"the IVS control plane is at its rate ({operation}); retry shortly",
                    code=MEDIA_BUSY,
                    retry_after=max(1, math.ceil(wait)),
                )
            self._sleep(wait)
            waited += wait
