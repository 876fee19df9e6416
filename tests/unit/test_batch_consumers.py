"""Queue consumers answer with a partial batch response: a message whose handler raises is the
only one reported back (and so the only one SQS delivers again); the others are done."""
import json

import pytest
from chalice.test import Client

from chalicelib.jobs import reminders, tickets

CONSUMERS = [
    ("reminder_fanout", reminders, "process_fanout"),
    ("push_worker", reminders, "process_push"),
    ("ticket_worker", tickets, "process_ticket_job"),
]


@pytest.mark.parametrize("lambda_name, module, handler", CONSUMERS)
def test_one_failing_message_is_the_only_one_reported(monkeypatch, lambda_name, module, handler):
    from app import app

    seen = []

    def handle(body):
        seen.append(body["n"])
        if body["n"] == 2:
            raise RuntimeError("this one fails")
        return {}

    monkeypatch.setattr(module, handler, handle)
    with Client(app) as client:
        event = client.events.generate_sqs_event(
            message_bodies=[json.dumps({"n": n}) for n in (1, 2, 3)], queue_name="q"
        )
        failing_id = event["Records"][1]["messageId"]
        result = client.lambda_.invoke(lambda_name, event)

    assert seen == [1, 2, 3]  # a failure does not stop the rest of the batch
    assert result.payload == {"batchItemFailures": [{"itemIdentifier": failing_id}]}


def test_a_batch_that_all_succeeds_reports_nothing(monkeypatch):
    from app import app

    monkeypatch.setattr(tickets, "process_ticket_job", lambda body: {})
    with Client(app) as client:
        event = client.events.generate_sqs_event(message_bodies=['{"a": 1}', '{"a": 2}'], queue_name="q")
        result = client.lambda_.invoke("ticket_worker", event)
    assert result.payload == {"batchItemFailures": []}


def test_a_message_that_is_not_json_fails_alone(monkeypatch):
    from app import app

    monkeypatch.setattr(reminders, "process_push", lambda body: {})
    with Client(app) as client:
        event = client.events.generate_sqs_event(message_bodies=['{"ok": 1}', "not json"], queue_name="q")
        result = client.lambda_.invoke("push_worker", event)
    assert result.payload == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}
