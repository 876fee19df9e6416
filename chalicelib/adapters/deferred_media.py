"""A MediaPort that queues the IVS calls that can wait instead of making them on the request.

`delete_stage` and `disconnect_participant` are written to the media queue
(adapters/dynamodb/media_queue.py) and then tried at once through `now` (the media adapter whose
IVS client gives way to requests: it takes a token only if one is left over, and never waits).
On a quiet account the call is made before the request answers; when the control plane is busy
(a raid, the top of the hour) it stays queued and the drain job (services/media_queue.py) makes
it at the rate left over. Either way the request never waits for IVS and never sees a
ThrottlingException. Everything else is the wrapped adapter's.

`DeferredRooms` does the same for a RoomEventsPort over IVS Chat: `delete_room` goes through the
same queue and drain (its `now` adapter's client takes the chat bucket's spare tokens).
"""
from __future__ import annotations

from chalicelib.domain.errors import DependencyFailed

DEFERRABLE = ("delete_stage", "disconnect_participant")
# IVS Chat's DeleteRoom (5 TPS per account, like DeleteStage): the end of a Space queues it too.
DEFERRABLE_ROOMS = ("delete_room",)
# The request keeps its own item this long before the drain job may take it.
TRY_NOW_LEASE_SECONDS = 30


class _Deferred:
    def __init__(self, inner, *, now, queue):
        self._inner = inner
        self._now = now
        self._queue = queue

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def _defer(self, operation: str, args: list) -> None:
        call = self._queue.put(operation, args, lease_seconds=TRY_NOW_LEASE_SECONDS)
        try:
            getattr(self._now, operation)(*args)
        except DependencyFailed:
            # Busy (no spare token) or IVS failed: the drain job makes the call once the lease
            # runs out (its MediaCallDrained counts it then). The request has done its part.
            return
        try:
            self._queue.done(call)
        except DependencyFailed:
            pass  # the drain makes the call again: harmless (gone is success)


class DeferredMedia(_Deferred):
    def delete_stage(self, stage_arn: str) -> None:
        self._defer("delete_stage", [stage_arn])

    def disconnect_participant(self, stage_arn: str, participant_id: str, reason: str) -> None:
        self._defer("disconnect_participant", [stage_arn, participant_id, reason])


class DeferredRooms(_Deferred):
    def delete_room(self, room: str) -> None:
        self._defer("delete_room", [room])
