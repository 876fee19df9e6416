"""What the app's queues and schedules carry: one typed message per kind of work.

Services build these and hand them to a queue or a schedule (`QueuePort`, `SchedulerPort`);
the queue's adapter writes them as JSON objects, and the consumers in `chalicelib/jobs/` read
them back into the same types (`chalicelib/jobs/messages.py`) before a service sees them. The
JSON of each message is its fields by name, plus `kind` where a queue carries several kinds:

| queue    | message             | `kind`          | made by                                  |
|----------|---------------------|-----------------|------------------------------------------|
| fan-out  | `FireMoment`        | `fire`          | a Space's schedule, or an announce now   |
| fan-out  | `ExpandShard`       | `expand`        | `fire`, and `expand` for its shard's rest |
| push     | `ReminderPush`      | (none)          | `fire` and `expand`                      |
| push     | `SubscriptionPush`  | `subscription`  | a declined or lapsed renewal             |
| tickets  | `RefundSpace`       | `refund_space`  | a ticketed Space canceled                |

These shapes are kept as they were when the queues carried plain dicts, so a message queued by
the previous deployment is read by the next one.
"""
from __future__ import annotations

from msgspec import Struct

from chalicelib.domain.reminders import PushContext


class FireMoment(Struct, frozen=True, tag_field="kind", tag="fire", omit_defaults=True):
    """A moment of a Space is due (its schedule fired, or the host's action announces it now).

    `scheduled_start` is the start the schedule was made for (ISO 8601; null for a Space never
    scheduled, and always written): a schedule from before a reschedule must not fire.
    `user_ids` are the people an `invited` moment is for (absent for the other moments).
    """

    space_id: str
    moment: str
    scheduled_start: str | None
    user_ids: list[str] | None = None


class ExpandShard(Struct, frozen=True, tag_field="kind", tag="expand"):
    """Turn one shard of a Space's reminder subscribers into push batches, from `cursor` on."""

    space_id: str
    moment: str
    title: str
    host_id: str
    live: bool
    shard: int
    cursor: str | None = None

    @property
    def context(self) -> PushContext:
        return PushContext(self.space_id, self.moment, self.title, self.host_id, self.live)


class ReminderPush(Struct, frozen=True):
    """One push batch about a Space's moment: up to `push_batch_size` users, one audience
    ("host", "invited" or "subscribers")."""

    space_id: str
    moment: str
    title: str
    host_id: str
    user_ids: list[str]
    live: bool = False
    audience: str = "subscribers"

    @property
    def context(self) -> PushContext:
        return PushContext(self.space_id, self.moment, self.title, self.host_id, self.live)


class SubscriptionPush(Struct, frozen=True, tag_field="kind", tag="subscription"):
    """A subscriber's notice about the period `period` of a subscription (a renewal declined,
    the subscription lapsed)."""

    notice: str
    subscription_id: str
    period: int
    creator_id: str
    user_ids: list[str]


class RefundSpace(Struct, frozen=True, tag_field="kind", tag="refund_space"):
    """Refund (or release) every ticket of a canceled Space, page by page."""

    space_id: str


def reminder_push(context: PushContext, audience: str, user_ids: list[str]) -> ReminderPush:
    return ReminderPush(
        context.space_id, context.moment, context.title, context.host_id, user_ids, context.live, audience
    )


FanoutMessage = FireMoment | ExpandShard
PushBatch = ReminderPush | SubscriptionPush
