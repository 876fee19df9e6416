"""What AWS does for reminders, done locally for `make run`.

moto stores schedules but never fires them, and `chalice local` serves HTTP only. This loop
stands in for both: every second it runs the app's scheduled jobs when due (the table of
chalicelib/jobs/scheduled.py, at its local intervals), fires the due one-time schedules of the app's group (sending
their payload to the fan-out queue, as the schedule's SQS target would, then deleting them, as
ActionAfterCompletion DELETE does), consumes the fan-out and push queues, and reads the
participants table's stream into the count fold, by calling the same functions the Lambda
handlers call. A message whose handler fails stays in the queue and comes
back after its visibility timeout, as on SQS.

With the sandbox payment provider it also plays Stripe's webhook sender: the sandbox puts each
signed event on the payments outbox queue, and this loop POSTs it to the app's webhook route
(SPACES_LOCAL_API_URL + /webhooks/payments), signed afresh as Stripe signs every attempt. A 2xx,
or a 4xx that sending again would not change (a bad signature), ends the delivery (a refusal is
printed); a connection error, a 5xx, 408 or 429 leaves the message to come back after the
queue's visibility timeout (5 s locally), and to the dead-letter queue after 5 attempts.
"""
from __future__ import annotations

import json
import signal
import sys
import time
import traceback
import urllib.error
import urllib.request

from chalicelib import bootstrap
from chalicelib.adapters.payments.sandbox import deliver, delivery_is_final
from chalicelib.domain.spaces import utcnow
from chalicelib.adapters.dynamodb.streams import participants_pump
from chalicelib.jobs.reminders import process_fanout, process_push
from chalicelib.jobs.scheduled import JOBS
from chalicelib.jobs.tickets import process_ticket_job
from chalicelib.services import counts

POLL_SECONDS = 1.0


_last_run: dict = {}
_pumps: dict = {}


def fold_counts(deps) -> int:
    """The participants stream -> counters, as the Lambda `fold_participant_counts` does in AWS."""
    pump = _pumps.get("participants")
    if pump is None:
        pump = _pumps["participants"] = participants_pump(lambda records: counts.fold(deps, records))
    return pump.drain()


def tick(deps) -> int:
    """One pass; returns how many things it did."""
    done = fold_counts(deps)
    now = time.monotonic()
    for job in JOBS:
        if now - _last_run.get(job.name, float("-inf")) >= job.local_seconds:
            for step in job.steps:
                step(deps)
            _last_run[job.name] = now
    for name, payload in deps.scheduler.list_due(utcnow()):
        deps.fanout_queue.send_batch([payload])
        deps.scheduler.delete(name)
        print(f"[scheduler] fired {name}", flush=True)
        done += 1
    for queue, handle, label in (
        (deps.fanout_queue, process_fanout, "fan-out"),
        (deps.push_queue, process_push, "push"),
        (deps.tickets_queue, process_ticket_job, "tickets"),
    ):
        for receipt, body in queue.receive(max_messages=10, wait_seconds=0):
            try:
                result = handle(body)
            except Exception:  # noqa: BLE001 - a worker must survive a bad message, as Lambda does
                print(f"[{label}] failed, will retry after the visibility timeout:\n{traceback.format_exc()}", flush=True)
                continue
            queue.delete(receipt)
            done += 1
            if label == "push" and result:  # a Delivery (chalicelib/domain/reminders.py)
                for line in result.log:
                    print(f"[push] {line}", flush=True)
    return done


def deliver_payment_webhooks(outbox, post, secret: str) -> int:
    """Deliver what the sandbox payment provider put on its outbox; returns how many deliveries
    ended (accepted or refused for good)."""
    done = 0
    for receipt, message in outbox.receive(max_messages=10, wait_seconds=0):
        try:
            status = deliver(message, post, secret=secret)
        except (KeyError, TypeError, AttributeError):
            print(f"[payments] malformed outbox message dropped: {message!r}", flush=True)
            outbox.delete(receipt)
            done += 1
            continue
        except OSError as exc:  # the API is not up (yet), or timed out: Stripe would retry too
            print(f"[payments] webhook not delivered ({exc}); will retry", flush=True)
            continue
        if not delivery_is_final(status):
            print(f"[payments] webhook answered {status}; will retry", flush=True)
            continue
        outbox.delete(receipt)
        done += 1
        if status >= 400:
            print(f"[payments] webhook refused with {status}, dropped: {_event_summary(message)}", flush=True)
    return done


def http_post(base_url: str):
    """post(url_path, body_bytes, headers) -> HTTP status, over urllib; raises OSError when no
    answer comes."""

    def post(path: str, body: bytes, headers: dict) -> int:
        request = urllib.request.Request(base_url.rstrip("/") + path, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    return post


def _event_summary(message: dict) -> str:
    try:
        event = json.loads(message["payload"])
        return f"{event['type']} {event['id']}"
    except (KeyError, TypeError, ValueError):
        return "(unreadable event)"


def _payment_webhooks():
    """The delivery step of the loop: nothing unless the sandbox payment provider is in use."""
    s = bootstrap.settings()
    if s.payments_provider != "sandbox":
        return lambda: 0
    post = http_post(s.local_api_url)
    return lambda: deliver_payment_webhooks(bootstrap.payments_outbox(), post, s.payments_webhook_secret)


def main() -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    deps = bootstrap.deps()
    payment_webhooks = _payment_webhooks()
    print(
        "local worker: firing schedules, draining the fan-out and push queues, delivering payment webhooks",
        flush=True,
    )
    while True:
        try:
            if tick(deps) + payment_webhooks() == 0:
                time.sleep(POLL_SECONDS)
        except KeyboardInterrupt:
            return 0
        except Exception:  # noqa: BLE001 - moto restarting, a transient error: keep the loop alive
            print(f"[worker] error:\n{traceback.format_exc()}", flush=True)
            time.sleep(POLL_SECONDS)


if __name__ == "__main__":
    sys.exit(main())
