"""The ticket queue's consumer: refunds of canceled Spaces (a queue, so a Space with thousands of
buyers is refunded page by page with retries). The expiry of unpaid holds and the renewal of
subscriptions are scheduled jobs (chalicelib/jobs/scheduled.py). The local worker of `make run`
calls the same function."""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.config import Settings, get_settings
from chalicelib.jobs.batch import consume
from chalicelib.lazy import LazyModule, service

if TYPE_CHECKING:
    from chalicelib.domain.tickets import Refunds

tickets = service("tickets")
# The queues' bodies read into typed messages: loaded by the first message, not at a cold start
# (every Lambda of the app imports this module through app.py).
messages = LazyModule("chalicelib.jobs.messages")

bp = Blueprint(__name__)


def tickets_queue_name(settings: Settings) -> str:
    """The queue the refund consumer is bound to; named from the table prefix in AWS stages,
    like the reminder queues (see chalicelib/jobs/reminders.py `consumer_queues`)."""
    if settings.stage != "local" and settings.tickets_queue == Settings.tickets_queue:
        return f"{settings.table_prefix}-tickets"
    return settings.tickets_queue


TICKETS_QUEUE = tickets_queue_name(get_settings())
TICKETS_BATCH_SIZE = 1


def process_ticket_job(body: dict) -> Refunds | None:
    """What the job did (its `Refunds`), for the local worker's log; Lambda reads only whether it
    raised. None for a body that is not a ticket job (logged, dropped)."""
    job = messages.ticket_job(body)
    return None if job is None else tickets.refund_space(bootstrap.deps(), job.space_id)


# One message a batch: each is a page of refunds through the payment provider, which may take
# most of the function's timeout on its own (docs/operations.md, "Queue consumers"). Refunds
# already made are skipped when a failed message comes back.
@bp.on_sqs_message(queue=TICKETS_QUEUE, batch_size=TICKETS_BATCH_SIZE, name="ticket_worker")
def ticket_handler(event):
    return consume(event, process_ticket_job)
