"""Time per warm listener join through the app, over time per bare boto3 PutItem, same DynamoDB Local.

join      `stage.join_space(deps, new_user, space_id)` with the Space's stage cached (a warm join):
          participant id, one conditional PutItem of the participant item (the counters are moved
          later by the count fold, from the table's stream: not part of the request), and an
          ES384 token minted in-process.
put       `boto3.client("dynamodb").put_item(...)` of a copy of the participant item a join stores
          (same attributes, same size, a fresh key), into a table of its own in the same server.
write     diagnostic: the join's own write request (recorded from a join: its PutItem with the
          condition), replayed with a fresh participant key through the same bare boto3 client:
          what the database part of a join costs without the app.

Operations run in blocks of `BLOCK`, the three kinds taking turns (the order rotates per round),
`ROUNDS` rounds: `BLOCK * ROUNDS` of each. Values are medians of per-operation times.
"""
from __future__ import annotations

import copy
import statistics
import time

from bench import environment as env
from bench.recorder import ApiCallRecorder
from tests.support.aws_calls import dynamodb_clients

BLOCK = 10
ROUNDS = 35  # 350 of each


def _bare_client(endpoint_url: str):
    import boto3

    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint_url,
        region_name=env.REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _item_size(item: dict) -> int:
    """DynamoDB's item size rule: attribute name bytes + value bytes (numbers roughly)."""
    size = 0
    for name, value in item.items():
        size += len(name.encode())
        (kind, raw), = value.items()
        if kind == "S":
            size += len(raw.encode())
        elif kind == "N":
            size += len(raw) // 2 + 1
        elif kind == "BOOL" or kind == "NULL":
            size += 1
        else:
            size += len(str(raw))
    return size


def run(deps, ivs: env.StubbedIvs, endpoint_url: str, table_prefix: str) -> tuple[list[dict], list[str]]:
    from chalicelib.adapters.dynamodb.models import ParticipantModel
    from chalicelib.services import stage

    client = _bare_client(endpoint_url)
    put_table = f"{table_prefix}-bench-put"
    client.create_table(
        TableName=put_table,
        AttributeDefinitions=[{"AttributeName": "key", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "key", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.get_waiter("table_exists").wait(TableName=put_table)

    space_id = env.live_space(deps, ivs, "bench join overhead")
    recorder = ApiCallRecorder()
    for ddb in dynamodb_clients():
        recorder.attach(ddb)
    try:
        sample_user = env.new_id("sample")
        stage.join_space(deps, sample_user, space_id)  # warms the cache and shows the request
        write_op, write = next((op, p) for _, op, p in recorder.calls if op in ("PutItem", "TransactWriteItems"))
    finally:
        recorder.detach()
    write = copy.deepcopy(write)
    participants_table = ParticipantModel.Meta.table_name
    stored = client.get_item(
        TableName=participants_table, Key={"key": {"S": ParticipantModel.key_for(space_id, sample_user)}}
    )["Item"]

    def put_op(i: int) -> None:
        item = dict(stored)
        item["key"] = {"S": f"{space_id}#put-{i}"}
        client.put_item(TableName=put_table, Item=item)

    def transact_op(i: int) -> None:
        user = f"replay-{i}"
        params = copy.deepcopy(write)
        if write_op == "PutItem":
            params["Item"]["key"] = {"S": ParticipantModel.key_for(space_id, user)}
            params["Item"]["user_id"] = {"S": user}
            client.put_item(**params)
            return
        # botocore fills ClientRequestToken (an idempotency token) when absent: let it make a new one.
        params.pop("ClientRequestToken", None)
        for action in params["TransactItems"]:
            body = action.get("Update")
            if body and body["TableName"] == participants_table:
                body["Key"] = {"key": {"S": ParticipantModel.key_for(space_id, user)}}
        client.transact_write_items(**params)

    join_users = [env.new_id("join") for _ in range(BLOCK * ROUNDS)]

    def join_op(i: int) -> None:
        stage.join_space(deps, join_users[i], space_id)

    kinds = {"join": join_op, "put": put_op, "transact": transact_op}
    for i in range(10):  # warm-up, not timed
        put_op(10_000 + i)
        transact_op(10_000 + i)
        stage.join_space(deps, env.new_id("warm"), space_id)

    times: dict[str, list[float]] = {name: [] for name in kinds}
    cpu: dict[str, list[float]] = {name: [] for name in kinds}
    names = list(kinds)
    for rnd in range(ROUNDS):
        order = names[rnd % 3:] + names[: rnd % 3]
        for name in order:
            op = kinds[name]
            for j in range(BLOCK):
                i = rnd * BLOCK + j
                start, start_cpu = time.perf_counter(), time.thread_time()
                op(i)
                times[name].append(time.perf_counter() - start)
                cpu[name].append(time.thread_time() - start_cpu)

    med = {name: statistics.median(values) * 1000 for name, values in times.items()}
    p90 = {name: statistics.quantiles(values, n=10)[-1] * 1000 for name, values in times.items()}
    cpu_med = {name: statistics.median(values) * 1000 for name, values in cpu.items()}
    ratio = med["join"] / med["put"]
    results = [{"name": "join_overhead_ratio", "value": round(ratio, 3), "unit": "ratio"}]
    n = len(times["join"])
    notes = [
        f"join_overhead_ratio: warm join median {med['join']:.2f} ms (p90 {p90['join']:.2f}) vs bare "
        f"PutItem median {med['put']:.2f} ms (p90 {p90['put']:.2f}), {n} of each, "
        f"item {_item_size(stored)} bytes",
        f"join_overhead_ratio, diagnostic: the join's {write_op} replayed with bare boto3: "
        f"median {med['transact']:.2f} ms (p90 {p90['transact']:.2f}) = {med['transact'] / med['put']:.2f}x "
        f"PutItem; the app adds {med['join'] - med['transact']:.2f} ms on top of it",
        f"join_overhead_ratio, diagnostic: this process's CPU time per operation (median): join "
        f"{cpu_med['join']:.2f} ms, transact {cpu_med['transact']:.2f} ms, put {cpu_med['put']:.2f} ms",
    ]
    return results, notes
