"""One reminder fan-out to 100,000 subscribers, timed and counted call by call.

What is measured is ONE fire of the `start` moment of a scheduled Space through the real pipeline
(chalicelib/services/reminders.py), from the fire to both queues empty:

    reminders.handle_fanout(deps, <the payload the Space's EventBridge schedule holds>)   # fire
    then, until the fan-out and push queues are empty, N worker threads (standing in for
    concurrent Lambda consumers) receive messages and call the handlers the Lambda functions
    call: reminders.handle_fanout (expand) and reminders.deliver, deleting each message after.

The world around it:

- DynamoDB: the bench's DynamoDB Local (bench/environment.py), the app's real repositories.
- SQS and EventBridge Scheduler: a moto `ThreadedMotoServer` in this process, queues and the
  schedule group created by `scripts.local_aws.provision`, the app's `SqsQueue` adapter.
- SNS: the app's `SnsPush` adapter over a real botocore `sns` client whose `Publish` is answered
  by a `before-call` hook with a valid Publish response, without sending (as botocore's Stubber
  does, but unlimited): 100,000 publishes into moto would measure moto. Every publish is still an
  API call made through botocore (parameters validated and serialized) and counted.
- Seeding (not measured): the Space through `spaces.create_space` (which creates its schedules in
  moto), then 100,000 reminder items, their 10 subscriber-count shards and one device per
  subscriber (a `UserDevicesModel` item with one {arn, platform} entry; half iOS, half Android;
  well-formed endpoint ARNs nobody registered, since SNS is stubbed), written with BatchWriteItem
  on a separate, unrecorded client.

Counted: every API call of the DynamoDB clients of the app's models, the SQS client and the SNS
client, by service and operation, with `bench.recorder.ApiCallRecorder` (botocore
`before-parameter-build`, which sees stubbed calls too). The calls of the consumer loop itself
(ReceiveMessage, DeleteMessage) are inside the window and counted: on AWS the Lambda event source
mapping makes them and SQS bills them.

Checked afterwards (outside the window): exactly one publish per seeded device, no endpoint
published twice, no publish to an endpoint that was not seeded, 100 random devices' push claims
are `sent` (GetItem), and no Scan anywhere.

`--reminder-subscribers N` (or SPACES_BENCH_REMINDER_SUBSCRIBERS) runs a smaller fan-out; the
metric is then named after the size measured (`reminder_fanout_10k_s`), never the 100k name.
"""
from __future__ import annotations

import json
import os
import random
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta

from bench.recorder import ApiCallRecorder

DEFAULT_SUBSCRIBERS = 100_000
DEFAULT_WORKERS = 4
SPOT_CHECKS = 100
SEED_THREADS = 4
BATCH_WRITE = 25  # BatchWriteItem maximum
IDLE_SLEEP_S = 0.02
FANOUT_RECHECK = 10  # push messages a drain worker handles between looks at the fan-out queue
STUCK_AFTER_S = 120.0  # no message finished for this long: give up instead of hanging


def subscribers_from_env() -> int:
    return int(os.environ.get("SPACES_BENCH_REMINDER_SUBSCRIBERS", DEFAULT_SUBSCRIBERS))


def metric_name(subscribers: int) -> str:
    """`reminder_fanout_100k_s` only for 100,000: a smaller run is named after its own size."""
    if subscribers % 1000 == 0:
        return f"reminder_fanout_{subscribers // 1000}k_s"
    return f"reminder_fanout_{subscribers}_s"


# --------------------------------------------------------------------------------- recording


class FanoutRecorder(ApiCallRecorder):
    """ApiCallRecorder that keeps only the TargetArn of a Publish (100,000 message bodies would be
    ~100 MB of parameters nobody reads) and tags each call with the thread's current role."""

    def _record(self, model, params, **_):
        if model.name == "Publish":
            params = {"TargetArn": params.get("TargetArn")}
        super()._record(model, params)


class StubbedPublish:
    """Answers SNS Publish from a `before-call` hook with a valid response, sending nothing.

    botocore emits `before-call.sns.Publish` after validating and serializing the parameters and
    uses the first non-None answer as (http response, parsed response): the Stubber's mechanism,
    without its queue of expected calls. Any other SNS operation goes to moto as usual.
    """

    def __init__(self, client):
        from botocore.awsrequest import AWSResponse

        self._client = client
        self._response = AWSResponse(None, 200, {}, None)
        self._id = f"bench-publish-stub-{uuid.uuid4().hex}"
        client.meta.events.register("before-call.sns.Publish", self._answer, unique_id=self._id)

    def _answer(self, **_):
        return self._response, {"MessageId": str(uuid.uuid4()), "ResponseMetadata": {"HTTPStatusCode": 200}}

    def close(self) -> None:
        self._client.meta.events.unregister("before-call.sns.Publish", unique_id=self._id)


class Latency:
    """Wall time of each API call by operation, from parameter validation to the parsed answer
    (`before-parameter-build` to `after-call`), summed over all threads: where the window goes."""

    def __init__(self):
        self.seconds: Counter = Counter()
        self._local = threading.local()
        self._lock = threading.Lock()
        self._attached: list = []
        self._id = f"bench-latency-{uuid.uuid4().hex}"

    def attach(self, client) -> "Latency":
        client.meta.events.register("before-parameter-build", self._before, unique_id=self._id + "-b")
        client.meta.events.register("after-call", self._after, unique_id=self._id + "-a")
        self._attached.append(client)
        return self

    def _before(self, model, **_):
        self._local.started = time.perf_counter()

    def _after(self, model, **_):
        started = getattr(self._local, "started", None)
        if started is None:
            return
        self._local.started = None
        with self._lock:
            self.seconds[(model.service_model.service_name, model.name)] += time.perf_counter() - started

    def close(self) -> None:
        for client in self._attached:
            client.meta.events.unregister("before-parameter-build", unique_id=self._id + "-b")
            client.meta.events.unregister("after-call", unique_id=self._id + "-a")
        self._attached.clear()


class Ledger:
    """Which SQS messages were sent, received and deleted, by MessageId, from `after-call` hooks
    on the sqs client (hooks, not API calls). SendMessageBatch's `Successful` entries are the
    messages sent; ReceiveMessage's answers map receipt handles to ids, so a message received
    twice (SQS, and moto, may deliver a message twice) is recognised when it is deleted twice."""

    def __init__(self, client):
        self.sent: set[str] = set()
        self.deleted: set[str] = set()
        self.receives: Counter = Counter()
        self._receipts: dict[str, str] = {}
        self._lock = threading.Lock()
        self._client = client
        self._id = f"bench-ledger-{uuid.uuid4().hex}"
        client.meta.events.register("after-call.sqs.SendMessageBatch", self._sent, unique_id=self._id + "-s")
        client.meta.events.register("after-call.sqs.ReceiveMessage", self._received, unique_id=self._id + "-r")

    def _sent(self, parsed, **_):
        with self._lock:
            self.sent.update(e["MessageId"] for e in parsed.get("Successful", []) or [])

    def _received(self, parsed, **_):
        with self._lock:
            for m in parsed.get("Messages", []) or []:
                self._receipts[m["ReceiptHandle"]] = m["MessageId"]
                self.receives[m["MessageId"]] += 1

    def deleted_receipt(self, receipt: str) -> None:
        with self._lock:
            self.deleted.add(self._receipts[receipt])

    def all_deleted(self) -> bool:
        with self._lock:
            return self.sent <= self.deleted

    def received_twice(self) -> int:
        with self._lock:
            return sum(1 for n in self.receives.values() if n > 1)

    def close(self) -> None:
        self._client.meta.events.unregister("after-call.sqs.SendMessageBatch", unique_id=self._id + "-s")
        self._client.meta.events.unregister("after-call.sqs.ReceiveMessage", unique_id=self._id + "-r")


# --------------------------------------------------------------------------------- world


def _serve_moto(conn) -> None:  # in the child process
    import logging as _logging

    from tests.support.moto_server import start_moto_server

    _logging.getLogger("werkzeug").setLevel(_logging.ERROR)
    server, url = start_moto_server()
    conn.send(url)
    conn.recv()  # anything, or EOF when the parent dies: stop
    server.stop()


class MotoProcess:
    """`tests.support.moto_server.start_moto_server()` (a ThreadedMotoServer) in a child process.

    In this process its request threads would share the GIL with the drain threads: measured at
    10,000 subscribers, SQS calls then took ~0.5 s each waiting for the interpreter, and moto's
    own CPU counted as the app's. Nothing here reads moto's in-process state, so a child is fine.
    """

    def __init__(self):
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve_moto, args=(child,), daemon=True, name="bench-moto")
        self._process.start()
        if not self._conn.poll(60):
            self._process.kill()
            raise RuntimeError("the moto server did not start within 60 s")
        self.url = self._conn.recv()

    def stop(self) -> None:
        try:
            self._conn.send("stop")
        except OSError:
            pass
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()


def _build_deps(moto_url: str):
    """Like the `deps` fixture of tests/conftest.py, with queues and a schedule group of its own."""
    from chalicelib import bootstrap
    from chalicelib.adapters.dynamodb.reminders import (
        DynamoDeviceRepository,
        DynamoPushClaims,
        DynamoReminderRepository,
    )
    from chalicelib.adapters.dynamodb.spaces import space_repositories
    from chalicelib.adapters.dynamodb.users import DynamoUserRepository
    from chalicelib.adapters.scheduler import EventBridgeScheduler
    from chalicelib.adapters.sns_push import SnsPush
    from chalicelib.adapters.sqs import SqsQueue
    from chalicelib.config import get_settings, queue_arn
    from chalicelib.services.context import Deps
    from scripts.local_aws import provision
    from tests.support.moto_server import boto_client

    suffix = uuid.uuid4().hex[:8]
    settings = replace(
        get_settings(),
        fanout_queue=f"bench-fanout-{suffix}",
        push_queue=f"bench-push-{suffix}",
        schedule_group=f"bench-{suffix}",
    )
    sns, sqs, scheduler = (boto_client(s, moto_url) for s in ("sns", "sqs", "scheduler"))
    provision(settings, sqs=sqs, scheduler=scheduler, sns=sns)
    bootstrap.reset()
    deps = Deps(
        settings=settings,
        dispatcher=bootstrap.publish_event,  # reactions to domain events run as in the app
        users=DynamoUserRepository(),
        **space_repositories(count_shards=settings.participant_count_shards),
        media=bootstrap.media(),
        tokens=bootstrap.token_minter(),
        reminders=DynamoReminderRepository(shards=settings.reminder_shards),
        devices=DynamoDeviceRepository(),
        push_claims=DynamoPushClaims(lease_seconds=settings.push_claim_lease_seconds),
        push=SnsPush(sns, platform_apps={"ios": settings.sns_apns_arn, "android": settings.sns_fcm_arn}),
        scheduler=EventBridgeScheduler(
            scheduler,
            group_name=settings.schedule_group,
            target_arn=queue_arn(settings, settings.fanout_queue),
            role_arn=settings.scheduler_role_arn,
            dead_letter_arn=settings.schedule_dlq_arn,
        ),
        fanout_queue=SqsQueue(sqs, queue_name=settings.fanout_queue),
        push_queue=SqsQueue(sqs, queue_name=settings.push_queue),
        sleep=time.sleep,
    )
    bootstrap.override(deps=deps)
    return deps, sns, sqs


def _endpoint_arn(application_arn: str) -> str:
    # arn:aws:sns:<region>:<account>:app/APNS/<name>  ->  ...:endpoint/APNS/<name>/<uuid>
    head, app = application_arn.split(":app/", 1)
    return f"{head}:endpoint/{app}/{uuid.uuid4()}"


def _seed(endpoint_url: str, deps, space_id: str, subscribers: int) -> dict[str, tuple[str, str, str]]:
    """Reminders, subscriber-count shards and one device per subscriber, by BatchWriteItem.

    Returns user id -> (device_id, endpoint_arn, platform).
    """
    import boto3
    from botocore.config import Config

    from chalicelib.adapters.dynamodb.models import CounterModel, ReminderModel, UserDevicesModel
    from chalicelib.domain.reminders import device_id_for

    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint_url,
        region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(max_pool_connections=SEED_THREADS * 2, retries={"max_attempts": 10}),
    )
    shards = deps.reminders.shards
    apps = {"ios": deps.settings.sns_apns_arn, "android": deps.settings.sns_fcm_arn}
    now = deps.clock.now()
    users: dict[str, tuple[str, str, str]] = {}
    per_shard: Counter = Counter()
    reminders_items, device_items = [], []
    for i in range(subscribers):
        user_id = f"sub-{i:06d}-{uuid.uuid4().hex[:6]}"
        platform = "ios" if i % 2 == 0 else "android"
        device_id = device_id_for(platform, f"{platform}-bench-token-{user_id}")
        arn = _endpoint_arn(apps[platform])
        users[user_id] = (device_id, arn, platform)
        shard = CounterModel.shard_of(user_id, shards)
        per_shard[shard] += 1
        reminders_items.append(
            ReminderModel(f"{space_id}#{shard}", user_id, created_at=now).serialize()
        )
        device_items.append(
            UserDevicesModel(user_id, devices={device_id: {"arn": arn, "platform": platform}}).serialize()
        )
    counters = [
        CounterModel(CounterModel.key_for("subscribers", space_id, shard), n=n).serialize()
        for shard, n in per_shard.items()
    ]

    def write(table: str, items: list[dict]) -> None:
        pending = {table: [{"PutRequest": {"Item": item}} for item in items]}
        for attempt in range(20):
            unprocessed = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if not unprocessed:
                return
            pending = unprocessed
            time.sleep(0.05 * (attempt + 1))
        raise RuntimeError(f"seeding {table}: items still unprocessed after 20 attempts")

    jobs = [
        (model.Meta.table_name, items[i : i + BATCH_WRITE])
        for model, items in (
            (ReminderModel, reminders_items),
            (UserDevicesModel, device_items),
            (CounterModel, counters),
        )
        for i in range(0, len(items), BATCH_WRITE)
    ]
    with ThreadPoolExecutor(max_workers=SEED_THREADS) as pool:
        list(pool.map(lambda job: write(*job), jobs))
    return users


def _scheduled_space(deps) -> tuple[str, dict]:
    """A Space scheduled two hours ahead through the service, and the payload of its `start`
    schedule as EventBridge Scheduler would deliver it to the fan-out queue."""
    from chalicelib.adapters.dynamodb.users import DynamoUserRepository
    from chalicelib.domain.reminders import START, schedule_name
    from chalicelib.services import spaces
    from chalicelib.api.bodies.spaces import create_space as space_request

    host = f"bench-host-{uuid.uuid4().hex[:10]}"
    DynamoUserRepository().set_follower_count(host, 1200)
    start = (deps.clock.now() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    space = spaces.create_space(deps, host, space_request({"title": "Bench launch party", "scheduled_start": start}))
    schedule = deps.scheduler.get(schedule_name(space.id, START))
    if schedule is None:
        raise RuntimeError("create_space made no `start` schedule: nothing to fire")
    return space.id, json.loads(schedule["Target"]["Input"])


# --------------------------------------------------------------------------------- the drain


class Drain:
    """N threads standing in for the Lambda consumers of the two queues.

    Both handlers are configured with batch_size 1 (chalicelib/jobs/reminders.py), so each worker
    does what the event source mapping does for one invocation: ReceiveMessage of one message,
    the handler the Lambda function runs, DeleteMessage (see `_worker` for which queue it polls). Receiving ten and working through them one after the other would hold
    the tenth for ten deliveries: with moto's 30 s visibility timeout that redelivered three push
    batches in a 100,000 run (their claims skipped every device: nothing sent twice). A handler
    that raises leaves its message visible again at once (as after the visibility timeout) and is
    counted. moto's ReceiveMessage takes no lock, so two concurrent receives can now and then be
    handed the same message, as SQS's at-least-once delivery may: the second deliver finds the
    devices claimed and sends nothing (counted in the notes). Done when every message id
    SendMessageBatch reported sent has been deleted at least once.
    """

    def __init__(self, deps, ledger: Ledger, recorder: ApiCallRecorder, workers: int):
        from chalicelib.jobs import messages
        from chalicelib.services import reminders

        self.deps = deps
        self.ledger = ledger
        self.recorder = recorder
        self.workers = workers
        self.routes = (
            ("fanout", deps.fanout_queue, lambda body: reminders.handle_fanout(deps, messages.fanout_message(body))),
            ("push", deps.push_queue, lambda body: reminders.deliver(deps, messages.push_batch(body))),
        )
        self._lock = threading.Lock()
        self.deleted = 0
        self.handled: Counter = Counter()
        self.failures: Counter = Counter()
        self.empty_receives = 0
        self.sent = self.skipped = 0
        self._last_progress = time.monotonic()
        self._stop = threading.Event()
        self.error: BaseException | None = None

    def finished(self) -> bool:
        return self.ledger.all_deleted()

    def _take_one(self, route) -> bool:
        """One invocation's worth from one queue: False when the queue had nothing visible."""
        kind, queue, handle = route
        tag = self.recorder.tag
        tag.value = "consumer"
        messages = queue.receive(max_messages=1, wait_seconds=0)
        if not messages:
            with self._lock:
                self.empty_receives += 1
            return False
        receipt, body = messages[0]
        tag.value = "handler"
        try:
            result = handle(body)
        except Exception as exc:  # counted, and the message comes back
            with self._lock:
                self.failures[f"{kind}:{type(exc).__name__}"] += 1
            tag.value = "consumer"
            queue.change_visibility(receipt, 0)
            return True
        tag.value = "consumer"
        queue.delete(receipt)
        self.ledger.deleted_receipt(receipt)
        with self._lock:
            self.deleted += 1
            self.handled[body.get("kind") or body.get("audience") or kind] += 1
            if result is not None:  # a push batch's Delivery (a fan-out message answers None)
                self.sent += result.sent
                self.skipped += result.skipped
            self._last_progress = time.monotonic()
        return True

    def _worker(self) -> None:
        fanout, push = self.routes
        tag = self.recorder.tag
        # Stay on the fan-out queue while it yields (expansion feeds everyone else); once it is
        # empty, stay on the push queue and look at the fan-out queue again every
        # FANOUT_RECHECK push messages (a shard's continuation), or when the push queue is empty.
        on_fanout, since_fanout = True, 0
        try:
            while not self._stop.is_set():
                if on_fanout or since_fanout >= FANOUT_RECHECK:
                    since_fanout = 0
                    on_fanout = self._take_one(fanout)
                    if on_fanout:
                        continue
                if self._take_one(push):
                    since_fanout += 1
                    continue
                if self._take_one(fanout):
                    on_fanout = True
                    continue
                tag.value = None
                if self.finished():
                    return
                if time.monotonic() - self._last_progress > STUCK_AFTER_S:
                    raise RuntimeError(f"no message finished for {STUCK_AFTER_S:.0f} s: queues stuck")
                time.sleep(IDLE_SLEEP_S)
        except BaseException as exc:
            self.error = exc
            self._stop.set()
        finally:
            tag.value = None

    def run(self) -> None:
        threads = [threading.Thread(target=self._worker, name=f"drain-{i}") for i in range(self.workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if self.error is not None:
            raise self.error


# --------------------------------------------------------------------------------- the benchmark


def run(endpoint_url: str, subscribers: int | None = None, workers: int = DEFAULT_WORKERS) -> tuple[list[dict], list[str]]:
    from chalicelib.domain.reminders import START
    from chalicelib.jobs import messages
    from chalicelib.services import reminders
    from tests.support.aws_calls import dynamodb_clients

    subscribers = subscribers or subscribers_from_env()
    server = MotoProcess()
    moto_url = server.url
    stub = ledger = recorder = latency = None
    try:
        deps, sns, sqs = _build_deps(moto_url)
        t0 = time.perf_counter()
        space_id, payload = _scheduled_space(deps)
        users = _seed(endpoint_url, deps, space_id, subscribers)
        seed_s = time.perf_counter() - t0

        stub = StubbedPublish(sns)
        ledger = Ledger(sqs)
        # A warm Lambda container has resolved its queue URLs (GetQueueUrl, once per container).
        deps.fanout_queue.url, deps.push_queue.url  # noqa: B018
        recorder = FanoutRecorder()
        latency = Latency()
        for client in [*dynamodb_clients(), sqs, sns]:
            recorder.attach(client)
            latency.attach(client)
        drain = Drain(deps, ledger, recorder, workers)

        # ------------------------------------------------ the measured window
        started = time.perf_counter()
        cpu_started = time.process_time()
        recorder.tag.value = "handler"
        reminders.handle_fanout(deps, messages.fanout_message(payload))
        recorder.tag.value = None
        fire_s = time.perf_counter() - started
        drain.run()
        elapsed = time.perf_counter() - started
        cpu_s = time.process_time() - cpu_started
        # ------------------------------------------------
        recorder.detach()
        latency.close()
        calls = list(recorder.tagged)

        # Correctness, outside the window.
        published = [params["TargetArn"] for _, svc, op, params in calls if op == "Publish"]
        seeded_arns = {arn for _, arn, _ in users.values()}
        published_set = set(published)
        doubled = len(published) - len(published_set)
        strangers = len(published_set - seeded_arns)
        missing = len(seeded_arns - published_set)
        sample = random.sample(sorted(users), min(SPOT_CHECKS, len(users)))
        claim_status = Counter(
            deps.push_claims.status(space_id, START, users[u][0]) or "none" for u in sample
        )
    finally:
        for hook in (stub, ledger, latency):
            if hook is not None:
                hook.close()
        if recorder is not None:
            recorder.detach()
        from chalicelib import bootstrap

        bootstrap.reset()
        server.stop()

    by_op = Counter((svc, op) for _, svc, op, _ in calls)
    by_role = Counter(tag for tag, _, _, _ in calls)
    total = len(calls)
    n = subscribers
    publishes = by_op[("sns", "Publish")]
    smb = by_op[("sqs", "SendMessageBatch")]
    smb_entries = sum(len(p.get("Entries", [])) for _, _, op, p in calls if op == "SendMessageBatch")
    scans = sum(1 for _, _, op, _ in calls if op == "Scan")
    without_publish = total - publishes

    ok = (
        publishes == n and doubled == 0 and strangers == 0 and missing == 0
        and claim_status == Counter({"sent": len(sample)}) and scans == 0 and not drain.failures
    )
    name = metric_name(n)
    results = [
        {"name": name, "value": round(elapsed, 1), "unit": "s"},
        {"name": "reminder_calls_per_subscriber", "value": round(total / n, 4), "unit": "calls/subscriber"},
        {"name": "reminder_publishes_per_subscriber", "value": round(publishes / n, 4), "unit": "calls/subscriber"},
        {"name": "reminder_send_message_batch_per_subscriber", "value": round(smb / n, 4), "unit": "calls/subscriber"},
        {"name": "reminder_other_calls_per_subscriber", "value": round(without_publish / n, 4), "unit": "calls/subscriber"},
    ]

    width = max(len(f"{svc} {op}") for svc, op in by_op)
    busy = sum(latency.seconds.values())
    table = "\n".join(
        f"      {f'{svc} {op}'.ljust(width)}  {count:>9,}  {count / n:8.4f}/subscriber  "
        f"{latency.seconds[(svc, op)] / count * 1000:7.2f} ms/call  "
        f"{latency.seconds[(svc, op)]:6.1f} thread-s ({latency.seconds[(svc, op)] / max(busy, 1e-9):4.0%})"
        for (svc, op), count in sorted(by_op.items(), key=lambda kv: (-kv[1], kv[0]))
    )
    notes = [
        f"{name}: {n:,} subscribers (one device each, {sum(1 for *_, p in users.values() if p == 'ios'):,} iOS), "
        f"one `start` fire to both queues empty in {elapsed:.1f} s wall ({n / elapsed:,.0f} pushes/s), "
        f"{workers} drain threads standing in for Lambda consumers, on {os.cpu_count()} cores; "
        f"fire {fire_s * 1000:.0f} ms; this process's CPU {cpu_s:.1f} s (moto runs in a child process, DynamoDB Local in Java); "
        f"seeding (not measured) {seed_s:.1f} s",
        f"reminder fan-out, AWS calls in the window: {total:,} = {total / n:.4f}/subscriber "
        f"({by_role['handler']:,} by the handlers, {by_role['consumer']:,} by the consumer loop that "
        f"stands in for Lambda's SQS event source mapping, {drain.empty_receives:,} of them empty receives); "
        f"without the publishes {without_publish:,} = {without_publish / n:.4f}/subscriber; by operation:\n" + table,
        f"reminder fan-out, messages: {len(ledger.sent):,} sent by SendMessageBatch in {smb:,} calls "
        f"({smb_entries / max(smb, 1):.1f} entries per call), handled {dict(drain.handled)}; "
        f"{ledger.received_twice()} received twice (an at-least-once redelivery: its deliver skipped "
        f"the devices already claimed); "
        f"handler failures {dict(drain.failures) or 'none'}",
        f"reminder fan-out, correctness: {'OK' if ok else 'FAILED (the numbers above are not a working fan-out)'}: {publishes:,} publishes to "
        f"{len(published_set):,} distinct endpoints ({doubled} published twice, {missing} seeded devices "
        f"not published, {strangers} unknown endpoints); deliver reported {drain.sent:,} sent, "
        f"{drain.skipped:,} skipped; {len(sample)} random claims by GetItem: {dict(claim_status)}; Scans: {scans}",
    ]
    return results, notes
