"""Queue consumers of the reminder pipeline. The local worker (`make run`) calls the same
`process_*` functions, so what runs locally is what runs on Lambda."""
from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.config import Settings, get_settings
from chalicelib.jobs.batch import consume
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
FANOUT_BATCH_SIZE = 10
PUSH_BATCH_SIZE = 10


def process_fanout(body: dict) -> None:
    reminders.handle_fanout(bootstrap.deps(), body)


def process_push(body: dict) -> dict:
    return reminders.deliver(bootstrap.deps(), body)


# Batch sizes: docs/operations.md ("Queue consumers"). A message that raises is the only one
# retried (chalicelib/jobs/batch.py); a push batch's sent pushes are skipped by their claims.
@bp.on_sqs_message(queue=FANOUT_QUEUE, batch_size=FANOUT_BATCH_SIZE, name="reminder_fanout")
def fanout_handler(event):
    return consume(event, process_fanout)


@bp.on_sqs_message(queue=PUSH_QUEUE, batch_size=PUSH_BATCH_SIZE, name="push_worker")
def push_handler(event):
    return consume(event, process_push)
