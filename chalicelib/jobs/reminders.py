"""Queue consumers of the reminder pipeline. The local worker (`make run`) calls the same
`process_*` functions, so what runs locally is what runs on Lambda."""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.config import Settings, get_settings
from chalicelib.jobs.batch import consume
from chalicelib.lazy import LazyModule, service

if TYPE_CHECKING:
    from chalicelib.domain.reminders import Delivery

reminders = service("reminders")
# The queues' bodies read into typed messages: loaded by the first message, not at a cold start
# (every Lambda of the app imports this module through app.py).
messages = LazyModule("chalicelib.jobs.messages")

bp = Blueprint(__name__)


def consumer_queues(settings: Settings) -> tuple[str, str]:
    """The (fan-out, push) queue names the two consumers below are bound to.

    Chalice binds an SQS consumer to its queue when it imports this module, at package time.
    `chalice package --stage <s>` (and infra/'s CDK construct, which runs the same packager) first
    copies that stage's environment_variables into os.environ, so the settings read here are the
    stage's. The queues infra/ deploys are `<table prefix>-fanout` / `-push` (spaces-dev-fanout
    ...), and infra/ also passes those names as SPACES_FANOUT_QUEUE / SPACES_PUSH_QUEUE, so the
    senders (bootstrap) and the consumers use the same queues. A stage that does not set them
    (a plain `chalice package --stage dev`) gets the same names from its table prefix, never the
    local stack's queues; the local stage's defaults are exactly those names already.
    """
    fanout, push = settings.fanout_queue, settings.push_queue
    if settings.stage != "local":
        if fanout == Settings.fanout_queue:
            fanout = f"{settings.table_prefix}-fanout"
        if push == Settings.push_queue:
            push = f"{settings.table_prefix}-push"
    return fanout, push


FANOUT_QUEUE, PUSH_QUEUE = consumer_queues(get_settings())
FANOUT_BATCH_SIZE = 10
PUSH_BATCH_SIZE = 10


def process_fanout(body: dict) -> None:
    message = messages.fanout_message(body)
    if message is not None:
        reminders.handle_fanout(bootstrap.deps(), message)


def process_push(body: dict) -> Delivery | None:
    """What the batch did (its `Delivery`, logged by the local worker); None for a body that is
    not a push batch (logged, dropped)."""
    batch = messages.push_batch(body)
    return None if batch is None else reminders.deliver(bootstrap.deps(), batch)


# Batch sizes: docs/operations.md ("Queue consumers"). A message that raises is the only one
# retried (chalicelib/jobs/batch.py); a push batch's sent pushes are skipped by their claims.
@bp.on_sqs_message(queue=FANOUT_QUEUE, batch_size=FANOUT_BATCH_SIZE, name="reminder_fanout")
def fanout_handler(event):
    return consume(event, process_fanout)


@bp.on_sqs_message(queue=PUSH_QUEUE, batch_size=PUSH_BATCH_SIZE, name="push_worker")
def push_handler(event):
    return consume(event, process_push)
