"""Queue consumers of the reminder pipeline. The local worker (`make run`) calls the same
`process_*` functions, so what runs locally is what runs on Lambda."""
import json

from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.config import Settings, get_settings
from chalicelib.lazy import service

reminders = service("reminders")

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


def process_fanout(body: dict) -> None:
    reminders.handle_fanout(bootstrap.deps(), body)


def process_push(body: dict) -> dict:
    return reminders.deliver(bootstrap.deps(), body)


@bp.on_sqs_message(queue=FANOUT_QUEUE, batch_size=1, name="reminder_fanout")
def fanout_handler(event):
    try:
        for record in event:
            process_fanout(json.loads(record.body))
    finally:
        bootstrap.flush_metrics()


@bp.on_sqs_message(queue=PUSH_QUEUE, batch_size=1, name="push_worker")
def push_handler(event):
    # A raise returns the message to the queue: its failed pushes are retried, the sent ones
    # are skipped by their claims. After the queue's maxReceiveCount it goes to the DLQ.
    try:
        for record in event:
            process_push(json.loads(record.body))
    finally:
        bootstrap.flush_metrics()
