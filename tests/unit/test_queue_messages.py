"""The queues' messages (chalicelib/domain/messages.py) and their reading at the jobs' edge
(chalicelib/jobs/messages.py): each travels as the JSON object it was before the messages were
typed, so a message queued by the previous deployment is read by the next; each reads back to
the value that was sent; a body that is not a message of its queue is dropped, never raised."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from chalicelib.domain.messages import (
    ExpandShard,
    FireMoment,
    RefundSpace,
    ReminderPush,
    SubscriptionPush,
)
from chalicelib.domain.reminders import CANCELED, INVITED, RENEWAL_DECLINED, START
from chalicelib.jobs.messages import fanout_message, push_batch, ticket_job
from tests.fakes.queues import FakeQueue
from tests.fakes.scheduler import FakeScheduler

# The bodies the services wrote as plain dicts before the messages were typed.
WIRE = [
    (
        FireMoment("S1", START, "2026-12-07T20:00:00Z"),
        {"kind": "fire", "space_id": "S1", "moment": "start", "scheduled_start": "2026-12-07T20:00:00Z"},
        fanout_message,
    ),
    (
        FireMoment("S1", INVITED, "2026-12-07T20:00:00Z", ["ann", "bob"]),
        {"kind": "fire", "space_id": "S1", "moment": "invited", "scheduled_start": "2026-12-07T20:00:00Z",
         "user_ids": ["ann", "bob"]},
        fanout_message,
    ),
    (  # invitations to a Space created live: no scheduled start, written as null as before
        FireMoment("S1", INVITED, None, ["ann"]),
        {"kind": "fire", "space_id": "S1", "moment": "invited", "scheduled_start": None, "user_ids": ["ann"]},
        fanout_message,
    ),
    (
        ExpandShard("S1", CANCELED, "Jazz", "host", False, 3),
        {"kind": "expand", "space_id": "S1", "moment": "canceled", "title": "Jazz", "host_id": "host",
         "live": False, "shard": 3, "cursor": None},
        fanout_message,
    ),
    (
        ExpandShard("S1", START, "Jazz", "host", True, 0, "user-0042"),
        {"kind": "expand", "space_id": "S1", "moment": "start", "title": "Jazz", "host_id": "host",
         "live": True, "shard": 0, "cursor": "user-0042"},
        fanout_message,
    ),
    (
        ReminderPush("S1", START, "Jazz", "host", ["ann"], True, "subscribers"),
        {"space_id": "S1", "moment": "start", "title": "Jazz", "host_id": "host", "live": True,
         "audience": "subscribers", "user_ids": ["ann"]},
        push_batch,
    ),
    (
        SubscriptionPush(RENEWAL_DECLINED, "sub1", 4, "creator", ["ann"]),
        {"kind": "subscription", "notice": "renewal_declined", "subscription_id": "sub1", "period": 4,
         "creator_id": "creator", "user_ids": ["ann"]},
        push_batch,
    ),
    (RefundSpace("S1"), {"kind": "refund_space", "space_id": "S1"}, ticket_job),
]


@pytest.mark.parametrize("message, body, read", WIRE, ids=lambda v: type(v).__name__ if not isinstance(v, dict) else "")
def test_a_message_travels_as_its_former_json_and_reads_back_to_itself(message, body, read):
    queue = FakeQueue()
    queue.send_batch([message])

    assert queue.bodies == [body]
    assert read(queue.take()[0]) == message


def test_a_schedule_holds_the_fire_message_as_json():
    scheduler = FakeScheduler()
    message = FireMoment("S1", START, "2026-12-07T20:00:00Z")
    scheduler.put_one_time("S1.start", datetime(2026, 12, 7, 20, tzinfo=timezone.utc), message)

    _, payload = scheduler.schedules["S1.start"]
    assert json.loads(payload) == WIRE[0][1]
    assert fanout_message(json.loads(payload)) == message


def test_a_reminder_push_from_before_live_and_audience_were_sent_reads_with_their_defaults():
    batch = push_batch({"space_id": "S1", "moment": "start", "title": "Jazz", "host_id": "h", "user_ids": ["a"]})

    assert batch == ReminderPush("S1", START, "Jazz", "h", ["a"], False, "subscribers")


MALFORMED = [
    (fanout_message, {"kind": "fire", "moment": "start"}),  # no space_id
    (fanout_message, {"kind": "fire", "space_id": 7, "moment": "start"}),
    (fanout_message, {"kind": "fire", "space_id": "S1", "moment": "tomorrow", "scheduled_start": None}),
    (fanout_message, {"kind": "expand", "space_id": "S1", "moment": "start"}),  # no shard
    (fanout_message, {"kind": "refund_space", "space_id": "S1"}),  # another queue's
    (fanout_message, {"space_id": "S1", "moment": "start"}),  # no kind
    (fanout_message, ["fire"]),
    (push_batch, {"kind": "subscription", "notice": "renewal_declined"}),
    (push_batch, {"kind": "subscription", "notice": "you_won", "subscription_id": "s", "period": 1,
                  "creator_id": "c", "user_ids": ["a"]}),
    (push_batch, {"space_id": "S1", "moment": "start", "title": "Jazz", "host_id": "h"}),  # no user_ids
    (push_batch, None),
    (ticket_job, {"kind": "refund_everything"}),
    (ticket_job, {"kind": "refund_space", "space_id": None}),
]


@pytest.mark.parametrize("read, body", MALFORMED)
def test_a_body_that_is_not_a_message_of_its_queue_is_dropped_with_a_log(read, body, caplog):
    assert read(body) is None
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == ["malformed queue message dropped"]


def test_a_malformed_message_reaches_no_service(monkeypatch):
    """The consumers hand a service only what they could read: the bodies above are acked and
    dropped, none raises (which would send it round the queue until its dead-letter queue)."""
    from chalicelib.jobs import reminders as reminder_jobs
    from chalicelib.jobs import tickets as ticket_jobs

    called = []
    monkeypatch.setattr(reminder_jobs.reminders, "handle_fanout", lambda *a: called.append(a))
    monkeypatch.setattr(reminder_jobs.reminders, "deliver", lambda *a: called.append(a))
    monkeypatch.setattr(ticket_jobs.tickets, "refund_space", lambda *a: called.append(a))
    consumers = {fanout_message: reminder_jobs.process_fanout, push_batch: reminder_jobs.process_push,
                 ticket_job: ticket_jobs.process_ticket_job}

    for read, body in MALFORMED:
        assert consumers[read](body) is None
    assert called == []
