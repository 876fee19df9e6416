"""`python -m bench` (`make bench`): run every benchmark, write bench/results.json, print a table.

Benchmarks measure; they never fail on a number. The exit status is non-zero only when a
benchmark could not run at all (DynamoDB Local missing, a crash).

    python -m bench                         # everything (a few minutes)
    python -m bench --only aws_calls,tokens # a subset; results.json is left alone
    python -m bench --only reminders --reminder-subscribers 10000   # a quick, smaller fan-out
    python -m bench --markdown              # the last results.json as a Markdown table
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

from bench import environment as env

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.json"
GROUPS = ("imports", "tokens", "aws_calls", "join_overhead", "hot_keys", "tickets", "reminders", "media", "stage_pool")
ORDER = [
    "aws_calls.join_listener.cold",
    "aws_calls.join_listener.warm",
    "ivs_calls.join_listener",
    "aws_calls.get_space",
    "aws_calls.list_live",
    "aws_calls.list_live.container_cold",
    "aws_calls.create_space",
    "aws_calls.start_space",
    "ivs_calls.start_space",
    "aws_calls.follow",
    "aws_calls.purchase_ticket",
    "import_ms.app",
    "import_ms.baseline",
    "import_ratio",
    "token_mint_per_s",
    "join_overhead_ratio",
    "max_writes_per_key_per_s",
    "oversell_trials",
    "oversold_tickets",
    "reminder_fanout_100k_s",
    "reminder_calls_per_subscriber",
    "reminder_publishes_per_subscriber",
    "reminder_send_message_batch_per_subscriber",
    "reminder_other_calls_per_subscriber",
    "media_mouth_to_ear_ms.p50",
    "media_mouth_to_ear_ms.p95",
    "media_subscribers_per_core",
    "media_cpu_ms_per_subscriber_s",
    "top_of_hour.starts_answered_201",
    "top_of_hour.ivs_throttles_seen_by_users",
    "top_of_hour.pool_low_water",
    "top_of_hour.delete_drain_s",
    "raid.refused_at_once",
    "raid.disconnects_done",
    "raid.throttled",
    "raid.drain_s",
]


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return f"nproc {cores}, {cpu}, Python {platform.python_version()}, load average {load}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Run the benchmarks.")
    parser.add_argument("--only", help=f"comma-separated subset of {', '.join(GROUPS)}")
    parser.add_argument(
        "--markdown", action="store_true", help="print bench/results.json as a Markdown table and exit"
    )
    parser.add_argument(
        "--reminder-subscribers",
        type=int,
        help="subscribers of the reminder fan-out (default 100,000, or SPACES_BENCH_REMINDER_SUBSCRIBERS); "
        "a smaller run is reported under its own name, e.g. reminder_fanout_10k_s",
    )
    parser.add_argument(
        "--reminder-workers", type=int, default=4, help="threads draining the reminder queues (default 4)"
    )
    args = parser.parse_args(argv)
    if args.markdown:
        import json

        from bench import report

        print(report.markdown_table(json.loads(RESULTS.read_text())))
        return 0
    groups = GROUPS if not args.only else tuple(g.strip() for g in args.only.split(",") if g.strip())
    unknown = set(groups) - set(GROUPS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")

    started = time.perf_counter()
    print(f"machine: {machine()}", flush=True)
    table_prefix = f"bench-{os.getpid()}"
    env.configure_process(table_prefix)
    results: list[dict] = []
    notes: list[str] = []
    timings: list[str] = []

    with env.temporary_directory() as tmp:
        tmp_path = Path(tmp)
        keys = env.make_keys(tmp_path / "keys")
        env.configure_settings(keys)
        dynamodb = env.DynamoDB(tmp_path)
        ivs = None
        try:
            def step(name: str, fn):
                if name not in groups:
                    return
                print(f"running {name} ...", flush=True)
                t0 = time.perf_counter()
                out = fn()
                results.extend(out[0])
                notes.extend(out[1])
                timings.append(f"{name} {time.perf_counter() - t0:.1f} s")

            from bench import aws_calls, hot_keys, imports, join_overhead, media, oversell, reminders, stage_pool, tokens

            # First, on a quiet machine: the import probe sends nothing over the network, and a
            # DynamoDB Local that has just created the tables keeps a core busy (its JIT) for a
            # while, which on 2 cores moved the ratio by several hundredths between runs.
            step("imports", lambda: imports.run(keys, imports.UNUSED_ENDPOINT))
            dynamodb.start(table_prefix)
            step("tokens", tokens.run)
            ivs = env.StubbedIvs()
            deps = env.make_deps(ivs)
            step("aws_calls", lambda: aws_calls.run(deps, ivs)[:2])
            step(
                "join_overhead",
                lambda: join_overhead.run(deps, ivs, dynamodb.endpoint_url, table_prefix),
            )
            step("hot_keys", lambda: hot_keys.run(deps, ivs))
            step("tickets", lambda: oversell.run(deps))
            step(
                "reminders",
                lambda: reminders.run(
                    dynamodb.endpoint_url, args.reminder_subscribers, workers=args.reminder_workers
                ),
            )
            step("media", media.run)
            step("stage_pool", lambda: stage_pool.run(deps))
        finally:
            if ivs is not None:
                ivs.close()
            dynamodb.stop()

    from bench import report

    results.sort(key=lambda r: ORDER.index(r["name"]) if r["name"] in ORDER else len(ORDER))
    if set(groups) == set(GROUPS):
        report.write_results(RESULTS, results)
        written = f"wrote {RESULTS.relative_to(HERE.parent)}"
    else:
        written = f"subset run: {RESULTS.relative_to(HERE.parent)} left unchanged"

    print()
    print(report.table(results))
    print()
    print(report.not_measured_footer(results))
    print()
    print("notes:")
    for note in notes:
        print(f"  - {note}")
    print()
    print(f"steps: {', '.join(timings)}; total {time.perf_counter() - started:.1f} s; {written}")
    print(f"machine at the end: {machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
