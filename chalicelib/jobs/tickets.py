"""Ticket jobs: refunds of canceled Spaces (a queue, so a Space with thousands of buyers is
refunded page by page with retries), the expiry of unpaid holds (every minute) and the renewal of
subscriptions (every 15 minutes; a charge is due a day before a period ends). The local worker of
`make run` calls the same functions."""
import json

from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.config import Settings, get_settings
from chalicelib.jobs.media import _run
from chalicelib.lazy import service

renewals = service("renewals")
tickets = service("tickets")

bp = Blueprint(__name__)


def tickets_queue_name(settings: Settings) -> str:
    """The queue the refund consumer is bound to; named from the table prefix in AWS stages,
    like the reminder queues (see chalicelib/jobs/reminders.py `consumer_queues`)."""
    if settings.stage != "local" and settings.tickets_queue == Settings.tickets_queue:
        return f"{settings.table_prefix}-tickets"
    return settings.tickets_queue


TICKETS_QUEUE = tickets_queue_name(get_settings())


def process_ticket_job(body: dict) -> dict:
    return tickets.process_ticket_job(bootstrap.deps(), body)


@bp.on_sqs_message(queue=TICKETS_QUEUE, batch_size=1, name="ticket_worker")
def ticket_handler(event):
    # A raise returns the message to the queue; refunds already made are skipped on the retry.
    try:
        for record in event:
            process_ticket_job(json.loads(record.body))
    finally:
        bootstrap.flush_metrics()


@bp.schedule("rate(1 minute)", name="expire_ticket_holds")
def expire_holds(event):
    return _run(tickets.expire_holds, "expired")


@bp.schedule("rate(15 minutes)", name="renew_subscriptions")
def renew_subscriptions(event):
    return _run(renewals.renew_subscriptions, "renewed")
