"""What AWS does for reminders, done locally for `make run`.

moto stores schedules but never fires them, and `chalice local` serves HTTP only. This loop
stands in for both: every second it runs the app's scheduled jobs when due, fires the due one-time schedules of the app's group (sending
their payload to the fan-out queue, as the schedule's SQS target would, then deleting them, as
ActionAfterCompletion DELETE does), and consumes the fan-out and push queues by calling the same
functions the Lambda handlers call. A message whose handler fails stays in the queue and comes
back after its visibility timeout, as on SQS.
"""
from __future__ import annotations

import signal
import sys
import time
import traceback

from chalicelib import bootstrap
from chalicelib.domain.spaces import utcnow
from chalicelib.jobs.reminders import process_fanout, process_push
from chalicelib.services.discovery import refresh_live_ranks
from chalicelib.services.recording import land_recordings
from chalicelib.services.spaces import reconcile_stages, release_pending_media
from chalicelib.services.stage import sweep_live_presence
from chalicelib.services.tickets import expire_holds, process_ticket_job

POLL_SECONDS = 1.0
# The scheduled jobs of app.py (every minute / 5 minutes on AWS), run more often locally so a
# person trying `make run` sees live Spaces reordered within seconds.
PERIODIC = (
    (refresh_live_ranks, 10.0),
    (release_pending_media, 60.0),
    (sweep_live_presence, 30.0),
    (reconcile_stages, 300.0),
    (expire_holds, 10.0),
    (land_recordings, 10.0),
)


_last_run: dict = {}


def tick(deps) -> int:
    """One pass; returns how many things it did."""
    done = 0
    now = time.monotonic()
    for job, every in PERIODIC:
        if now - _last_run.get(job, float("-inf")) >= every:
            job(deps)
            _last_run[job] = now
    for name, payload in deps.scheduler.list_due(utcnow()):
        deps.fanout_queue.send_batch([payload])
        deps.scheduler.delete(name)
        print(f"[scheduler] fired {name}", flush=True)
        done += 1
    for queue, handle, label in (
        (deps.fanout_queue, process_fanout, "fan-out"),
        (deps.push_queue, process_push, "push"),
        (deps.tickets_queue, lambda body: process_ticket_job(deps, body), "tickets"),
    ):
        for receipt, body in queue.receive(max_messages=10, wait_seconds=0):
            try:
                result = handle(body)
            except Exception:  # noqa: BLE001 - a worker must survive a bad message, as Lambda does
                print(f"[{label}] failed, will retry after the visibility timeout:\n{traceback.format_exc()}", flush=True)
                continue
            queue.delete(receipt)
            done += 1
            if label == "push" and result:
                for line in result.get("log", []):
                    print(f"[push] {line}", flush=True)
    return done


def main() -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    deps = bootstrap.deps()
    print("local worker: firing schedules and draining the fan-out and push queues", flush=True)
    while True:
        try:
            if tick(deps) == 0:
                time.sleep(POLL_SECONDS)
        except KeyboardInterrupt:
            return 0
        except Exception:  # noqa: BLE001 - moto restarting, a transient error: keep the loop alive
            print(f"[worker] error:\n{traceback.format_exc()}", flush=True)
            time.sleep(POLL_SECONDS)


if __name__ == "__main__":
    sys.exit(main())
