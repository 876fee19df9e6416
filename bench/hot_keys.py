"""The busiest partition key in a 10,000-join burst into one live Space at 1,700 joins/s.

1,700 joins/s is 100,000 joins in about a minute (docs/limits.md). The joins really run, through
`stage.join_space` against DynamoDB Local, each with a distinct user; the clock is simulated:
join i happens at i / 1700 s. Every DynamoDB write the joins send is taken from the recorded API
parameters (TransactWriteItems actions, PutItem, UpdateItem, DeleteItem, BatchWriteItem) and
counted per (table, partition key, simulated second), and so is every global secondary index
entry they write (PutItem items and `SET` updates carrying an index's key: the listener list's
`listed_in`, the presence index's `presence_shard`), per (table/index, index key, second): an index
partition takes about 1,000 writes a second too. The value is the largest such count. The Space is
a famous host's (followers at the listener-shard threshold), as a 1,700 joins/s Space is.

A join writes its own participant item only; the counters are moved by the count fold from the
participants table's stream. So the fold runs too, on DynamoDB Local's stream records of the
burst: each simulated second's records in batches of `FOLD_BATCH` (the Lambda event source's batch
size), its writes counted in that second. In AWS each stream shard has its own invocations, so a
counter key takes up to (stream shards x batches per second) writes/s: see the notes.

Sequential when the burst would take under `SEQUENTIAL_LIMIT_S` here; otherwise the rest runs on
`THREADS` threads (the index, not the order of completion, gives each join its time).
"""
from __future__ import annotations

import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

from bench import environment as env
from bench.recorder import ApiCallRecorder, hash_key_names, index_key_names, written_index_keys, written_partition_keys
from tests.support.aws_calls import dynamodb_clients

JOINS = 10_000
RATE = 1_700
PILOT = 300
SEQUENTIAL_LIMIT_S = 150.0
THREADS = 4
FOLD_BATCH = 1_000


def run(deps, ivs: env.StubbedIvs) -> tuple[list[dict], list[str]]:
    from chalicelib.services import stage

    space_id = env.live_space(deps, ivs, "bench burst", followers=deps.settings.listener_shard_min_followers)
    users = [f"burst-{i:05d}-{env.new_id('u')}" for i in range(JOINS)]
    recorder = ApiCallRecorder()
    for client in dynamodb_clients() + [ivs.client]:
        recorder.attach(client)
    failures: Counter = Counter()

    def join(i: int) -> None:
        recorder.tag.value = i
        try:
            stage.join_space(deps, users[i], space_id)
        except Exception as exc:  # a benchmark counts failures, it does not stop on them
            failures[type(exc).__name__] += 1
        finally:
            recorder.tag.value = None

    started = time.perf_counter()
    try:
        for i in range(PILOT):
            join(i)
        pilot_s = time.perf_counter() - started
        projected = pilot_s / PILOT * JOINS
        threads = 1 if projected <= SEQUENTIAL_LIMIT_S else THREADS
        if threads == 1:
            for i in range(PILOT, JOINS):
                join(i)
        else:
            with ThreadPoolExecutor(max_workers=threads) as pool:
                list(pool.map(join, range(PILOT, JOINS), chunksize=50))
        fold_batches = _fold_burst(deps, space_id, users, recorder)
    finally:
        recorder.detach()
    elapsed = time.perf_counter() - started

    hash_keys = hash_key_names()
    index_keys = index_key_names()
    suffix = {table: table.rsplit("-", 1)[-1] for table in hash_keys}
    suffix.update({f"{t}/{i}": f"{suffix[t]}/{i}" for t, indexes in index_keys.items() for i in indexes})
    per_second: Counter = Counter()
    wcu_per_second: Counter = Counter()
    ivs_calls = 0
    for tag, service, operation, params in recorder.tagged:
        if service != "dynamodb":
            ivs_calls += service == "ivs-realtime"
            continue
        if tag is None:
            continue
        second = int(tag // RATE)
        # A transactional write costs 2 WCU per item of up to 1 KB; a plain write 1 (all items here are small).
        units = 2 if operation == "TransactWriteItems" else 1
        for table, key in written_partition_keys(operation, params, hash_keys):
            per_second[(table, key, second)] += 1
            wcu_per_second[(table, key, second)] += units
        for index, key in written_index_keys(operation, params, index_keys):
            per_second[(index, key, second)] += 1  # an index entry's write costs 1 WCU, in a transaction or not
            wcu_per_second[(index, key, second)] += 1

    peak_by_key: dict[tuple[str, str], int] = defaultdict(int)
    totals: Counter = Counter()
    for (table, key, _), count in per_second.items():
        peak_by_key[(table, key)] = max(peak_by_key[(table, key)], count)
        totals[(table, key)] += count
    top = sorted(peak_by_key.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    peak = top[0][1] if top else 0
    peak_wcu = max(wcu_per_second.values(), default=0)
    distinct_keys = len(peak_by_key)
    writes = sum(totals.values())

    notes = [
        f"max_writes_per_key_per_s: {JOINS} joins ({sum(failures.values())} failed"
        + (f": {dict(failures)}" if failures else "")
        + f") ran in {elapsed:.1f} s real time on {threads} thread(s) ({JOINS / elapsed:.0f} joins/s here); "
        f"{writes} item writes over {distinct_keys} partition keys; IVS calls: {ivs_calls}",
        "max_writes_per_key_per_s, top 3 keys (peak writes in one simulated second / writes in the burst): "
        + "; ".join(f"{suffix[t]}:{k} {p}/s ({totals[(t, k)]})" for (t, k), p in top),
        f"max_writes_per_key_per_s, diagnostic: the busiest key's peak is {peak_wcu} WCU/s "
        f"(transactional writes cost 2 WCU per item); the partition limit is 1,000 WCU/s",
        f"max_writes_per_key_per_s, fold: the burst's stream records folded in {fold_batches} batches of "
        f"<= {FOLD_BATCH} (one stream shard here; AWS runs one invocation per shard at a time, so a counter "
        f"shard's writes/s is at most the stream's shard count times the batches per second)",
    ]
    return [{"name": "max_writes_per_key_per_s", "value": peak, "unit": "writes/s"}], notes


def _fold_burst(deps, space_id: str, users: list[str], recorder) -> int:
    """Fold the burst's stream records, second by simulated second, in Lambda-sized batches."""
    from chalicelib.adapters.dynamodb.streams import participants_pump

    index = {user: i for i, user in enumerate(users)}
    records: list[dict] = []
    participants_pump(records.extend).drain()
    by_second: dict[int, list[dict]] = defaultdict(list)
    prefix = f"{space_id}#"
    for record in records:
        key = record["dynamodb"]["Keys"]["key"]["S"]
        i = index.get(key[len(prefix):]) if key.startswith(prefix) else None
        if i is not None:
            by_second[i // RATE].append(record)
    batches = 0
    for second, batch in sorted(by_second.items()):
        for start in range(0, len(batch), FOLD_BATCH):
            recorder.tag.value = second * RATE  # counted in that simulated second
            try:
                deps.participants.fold_count_records(batch[start : start + FOLD_BATCH])
            finally:
                recorder.tag.value = None
            batches += 1
    return batches
