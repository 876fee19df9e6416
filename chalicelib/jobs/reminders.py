"""Queue consumers of the reminder pipeline. The local worker (`make run`) calls the same
`process_*` functions, so what runs locally is what runs on Lambda."""
import json

from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.config import get_settings
from chalicelib.services import reminders

bp = Blueprint(__name__)
_settings = get_settings()


def process_fanout(body: dict) -> None:
    reminders.handle_fanout(bootstrap.deps(), body)


def process_push(body: dict) -> dict:
    return reminders.deliver(bootstrap.deps(), body)


@bp.on_sqs_message(queue=_settings.fanout_queue, batch_size=1, name="reminder_fanout")
def fanout_handler(event):
    try:
        for record in event:
            process_fanout(json.loads(record.body))
    finally:
        bootstrap.flush_metrics()


@bp.on_sqs_message(queue=_settings.push_queue, batch_size=1, name="push_worker")
def push_handler(event):
    # A raise returns the message to the queue: its failed pushes are retried, the sent ones
    # are skipped by their claims. After the queue's maxReceiveCount it goes to the DLQ.
    try:
        for record in event:
            process_push(json.loads(record.body))
    finally:
        bootstrap.flush_metrics()
