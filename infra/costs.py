"""The cost model of docs/operations.md: dollars per 10,000 joins and per 1,000 listener-hours.

    .venv/bin/python -m infra.costs      # prints the tables (Markdown)

Calls per request come from `make bench` (bench/results.json, aws_calls.*); the capacity units
per call from the items those calls read and write (the bench's notes, docs/performance.md).
Prices are AWS's public on-demand list prices for us-east-1 as known when this was written
(PRICES_AS_OF); they were NOT checked live from this machine, which has no access to AWS's price
pages. Check them at https://aws.amazon.com/pricing before relying on a number.
"""
from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent.parent / "bench" / "results.json"

PRICES_AS_OF = "2025 list prices (us-east-1), not re-checked live"
PRICES = {
    "api_gateway_rest_request": 3.50 / 1e6,  # REST API, first 333 M requests a month
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second": 0.0000166667,  # x86_64
    "dynamodb_wru": 0.625 / 1e6,  # on-demand write request unit (price cut of Nov 2024)
    "dynamodb_rru": 0.125 / 1e6,  # on-demand read request unit
    "logs_ingest_gb": 0.50,
    "xray_trace": 5.00 / 1e6,
    "ivs_participant_hour": 0.072,  # IVS real-time streaming, per participant-hour (unverified)
}

# Assumptions that no benchmark here can measure (no Lambda, no IVS on this machine).
API_MEMORY_GB = 0.5  # infra/stages.py api_memory_mb
BILLED_MS_PER_REQUEST = 50  # warm request incl. one DynamoDB round trip; cold starts averaged in
LOG_KB_PER_REQUEST = 1.5  # Lambda START/END/REPORT lines + Powertools' EMF metric line + app log
XRAY_SAMPLED = 0.05  # X-Ray's default rule: 1 request/s then 5 %
HEARTBEATS_PER_HOUR = 3600 / 150  # the join response asks for a heartbeat every 150 s
# Capacity units per request, from the items each call touches (docs/performance.md):
# A join: PutItem of its participant item (1) + the presence index entry (1) + the listeners index
# entry (1, docs/people.md), then the count fold's transactional SET counted (2; docs/joins.md). The
# fold's counter update (2 per batch and shard) is shared by up to 99 joins: left out.
JOIN_WRU = 1 + 1 + 1 + 2
JOIN_COLD_RRU = 1  # BatchGetItem of 2 items, eventually consistent (a cold container, at most once per 10 s)
HEARTBEAT_WRU = 1 + 2  # one conditional UpdateItem + the presence index entry moved (delete + put)


def bench_calls() -> dict[str, float]:
    if not RESULTS.exists():
        return {}
    return {r["name"]: r["value"] for r in json.loads(RESULTS.read_text())}


def per_request(wru: float, rru: float = 0.0) -> dict[str, float]:
    p = PRICES
    return {
        "API Gateway": p["api_gateway_rest_request"],
        "Lambda requests": p["lambda_request"],
        "Lambda duration": API_MEMORY_GB * BILLED_MS_PER_REQUEST / 1000 * p["lambda_gb_second"],
        "DynamoDB": wru * p["dynamodb_wru"] + rru * p["dynamodb_rru"],
        "CloudWatch Logs": LOG_KB_PER_REQUEST / 1024 / 1024 * p["logs_ingest_gb"],
        "X-Ray": XRAY_SAMPLED * p["xray_trace"],
        "IVS API": 0.0,  # participant tokens are minted in-process (bench: ivs_calls.join_listener = 0)
    }


def model() -> dict[str, dict[str, float]]:
    calls = bench_calls()
    # A cold join makes one more call than a warm one (a BatchGetItem of 2 items). The model
    # charges it to every join: an upper bound, since a container is cold at most once per 10 s.
    cold_extra = max(0.0, calls.get("aws_calls.join_listener.cold", 2.0) - calls.get("aws_calls.join_listener.warm", 1.0))
    join = {k: v * 10_000 for k, v in per_request(JOIN_WRU, JOIN_COLD_RRU * cold_extra).items()}
    heartbeat = per_request(HEARTBEAT_WRU)
    hours = {k: v * HEARTBEATS_PER_HOUR * 1000 for k, v in heartbeat.items()}
    hours["IVS participant-hours"] = 1000 * PRICES["ivs_participant_hour"]
    return {"per 10,000 joins": join, "per 1,000 listener-hours": hours}


def main() -> None:
    calls = bench_calls()
    source = f"bench/results.json ({len(calls)} results)" if calls else "no bench/results.json: the bench's published figures"
    print(f"Prices: {PRICES_AS_OF}. Calls per request: {source}.\n")
    for title, lines in model().items():
        print(f"| {title} | USD |\n|---|---:|")
        for name, value in lines.items():
            print(f"| {name} | {value:.4f} |")
        print(f"| **total** | **{sum(lines.values()):.2f}** |\n")


if __name__ == "__main__":
    main()
