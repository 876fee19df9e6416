"""`python -m bench.load` (`make load`): a bounded burst against a running `make run` stack.

    python -m bench.load                         # 200 clients x 20 requests on http://127.0.0.1:8000
    python -m bench.load --clients 50 --requests 8 --base-url http://127.0.0.1:8010

Setup: the seeded host `alice` goes live with one Space (or reuses her live one). Then every
client (user `load-<n>`, a token minted from the stack's keys in .local/) starts at the same
moment and sends its requests one after another, each on a new connection (the local server
speaks HTTP/1.0): join, list live Spaces, leave, list, and again. Afterwards alice ends the
Space. Reported, never asserted: connection resets, other connection errors, answers by status
(5xx apart) and latency percentiles. Loopback addresses only; it stops by itself after
clients x requests requests, or at --max-seconds, whichever comes first.
"""
from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import socket
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
TIMEOUT_S = 60.0


def loopback_address(base_url: str) -> tuple[str, int]:
    """(host, port) of `base_url`, refusing anything but a loopback address."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if parts.scheme != "http" or not loopback:
        raise SystemExit(f"{base_url}: only http:// on a loopback address (127.0.0.0/8, ::1, localhost)")
    return host, parts.port or 80


def outcome_of(exc: BaseException) -> str:
    if isinstance(exc, (ConnectionResetError, BrokenPipeError)):
        return "reset"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timeout"
    return "error"


def request(host: str, port: int, method: str, path: str, headers: dict | None = None, body=None):
    """(status or an outcome word, seconds, parsed JSON body or None) on a new connection."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection(host, port, timeout=TIMEOUT_S)
    try:
        payload = json.dumps(body) if body is not None else None
        sent = {"Content-Type": "application/json", **(headers or {})} if payload else dict(headers or {})
        connection.request(method, path, body=payload, headers=sent)
        response = connection.getresponse()
        raw = response.read()
        status = response.status
    except (OSError, http.client.HTTPException) as exc:
        return outcome_of(exc), time.perf_counter() - started, None
    finally:
        connection.close()
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = None
    return status, time.perf_counter() - started, parsed


def connection_burst(host: str, port: int, clients: int, path: str = "/health") -> Counter:
    """`clients` connections opened at the same moment, one GET each: outcome -> count
    ("ok" for a 200, the status for any other answer, or reset / refused / timeout / error)."""
    barrier = threading.Barrier(clients)
    outcomes: Counter = Counter()
    lock = threading.Lock()

    def client() -> None:
        barrier.wait()
        status, _, _ = request(host, port, "GET", path)
        with lock:
            outcomes["ok" if status == 200 else status] += 1

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT_S * 2)
    return outcomes


@dataclass
class Tally:
    outcomes: Counter = field(default_factory=Counter)
    by_route: dict = field(default_factory=dict)
    latencies_s: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, route: str, outcome, seconds: float) -> None:
        key = outcome if isinstance(outcome, str) else f"{outcome // 100}xx"
        with self.lock:
            self.outcomes[key] += 1
            self.by_route.setdefault(route, Counter())[str(outcome)] += 1
            if not isinstance(outcome, str):
                self.latencies_s.append(seconds)


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def _tokens(users: list[str]) -> dict[str, str]:
    from scripts.keys import mint_token_for

    return {user: mint_token_for(user) for user in users}


def _live_space(host: str, port: int, token: str) -> str:
    auth = {"Authorization": f"Bearer {token}"}
    status, _, body = request(host, port, "POST", "/spaces", auth, {"title": "load test"})
    if status == 201:
        return body["id"]
    # Already live: find her live Space.
    status, _, listed = request(host, port, "GET", "/spaces?state=live&host_id=alice&limit=1", auth)
    if status == 200 and listed.get("spaces"):
        return listed["spaces"][0]["id"]
    raise SystemExit(f"cannot make a live Space as alice: {status} {body}")


def run(base_url: str, clients: int, requests_per_client: int, max_seconds: float) -> dict:
    host, port = loopback_address(base_url)
    tokens = _tokens(["alice"] + [f"load-{n}" for n in range(clients)])
    space_id = _live_space(host, port, tokens["alice"])
    steps = [
        ("join", "POST", f"/spaces/{space_id}/join"),
        ("list", "GET", "/spaces?state=live&limit=20"),
        ("leave", "POST", f"/spaces/{space_id}/leave"),
        ("list", "GET", "/spaces?state=live&limit=20"),
    ]
    tally = Tally()
    barrier = threading.Barrier(clients)
    deadline = [0.0]

    def client(n: int) -> None:
        auth = {"Authorization": f"Bearer {tokens[f'load-{n}']}"}
        barrier.wait()
        for i in range(requests_per_client):
            if time.monotonic() > deadline[0]:
                tally.add("stopped", "not_sent", 0.0)
                continue
            route, method, path = steps[i % len(steps)]
            body = {} if method == "POST" else None
            outcome, seconds, _ = request(host, port, method, path, auth, body)
            tally.add(route, outcome, seconds)

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    started = time.monotonic()
    deadline[0] = started + max_seconds
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline[0] + TIMEOUT_S - time.monotonic()))
    elapsed = time.monotonic() - started
    request(host, port, "POST", f"/spaces/{space_id}/end", {"Authorization": f"Bearer {tokens['alice']}"}, {})

    latencies = sorted(tally.latencies_s)
    return {
        "base_url": base_url,
        "clients": clients,
        "requests_per_client": requests_per_client,
        "sent": sum(v for k, v in tally.outcomes.items() if k != "not_sent"),
        "elapsed_s": round(elapsed, 2),
        "resets": tally.outcomes.get("reset", 0),
        "other_connection_errors": sum(tally.outcomes.get(k, 0) for k in ("refused", "timeout", "error")),
        "status_5xx": tally.outcomes.get("5xx", 0),
        "outcomes": dict(tally.outcomes),
        "by_route": {route: dict(counts) for route, counts in tally.by_route.items()},
        "latency_ms": {
            name: round(percentile(latencies, q) * 1000, 1)
            for name, q in (("p50", 0.50), ("p90", 0.90), ("p99", 0.99), ("max", 1.0))
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default=DEFAULT_BASE_URL)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--requests", type=int, default=20, help="requests per client")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="stop sending after this long")
    parser.add_argument("--json", help="also write the report to this file")
    args = parser.parse_args(argv)
    if not (1 <= args.clients <= 1000 and 1 <= args.requests <= 1000):
        raise SystemExit("--clients and --requests: 1 to 1000")
    report = run(args.base_url, args.clients, args.requests, args.max_seconds)
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        with open(args.json, "w") as out:
            out.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
