"""AWS API calls per request, for the use cases that exist, counted with botocore event hooks.

Every PynamoDB model's client and the stubbed `ivs-realtime` client are watched. A request's cost
is every call made between its start and its end; setup (seeding hosts, queueing stub responses)
happens outside those windows. Each number is an average over `REQUESTS` requests.
"""
from __future__ import annotations

from collections import Counter

from bench import environment as env
from bench.recorder import ApiCallRecorder, hash_key_names, written_partition_keys
from tests.support.aws_calls import dynamodb_clients

REQUESTS = 30


def _items_read(operation: str, params: dict) -> int:
    """Items a read call asks for by key (a Query's items are not known from its request: 0)."""
    if operation == "GetItem":
        return 1
    if operation == "BatchGetItem":
        return sum(len(t.get("Keys", [])) for t in (params.get("RequestItems") or {}).values())
    if operation == "TransactGetItems":
        return len(params.get("TransactItems", []))
    return 0


def _list_live(deps):
    """`discovery.list_spaces(deps, viewer, <the live list>)` when the discovery feature exists."""
    try:
        from chalicelib.domain.discovery import list_request
        from chalicelib.services import discovery
    except ImportError:
        return None
    list_spaces = getattr(discovery, "list_spaces", None)
    if list_spaces is None:
        return None
    return lambda viewer: list_spaces(deps, viewer, list_request({"state": "live"}))


class Window:
    """Per-request slices of what the recorders saw."""

    def __init__(self, ivs: env.StubbedIvs, *more_clients):
        self.hash_keys = hash_key_names()
        self.api = ApiCallRecorder()
        for client in dynamodb_clients() + [ivs.client, *more_clients]:
            self.api.attach(client)

    def measure(self, requests: int, setup, request) -> dict:
        per_request: list[list[tuple[str, str]]] = []
        items_read = items_written = 0
        for i in range(requests):
            args = setup(i)
            start = len(self.api.calls)
            request(args)
            made = self.api.calls[start:]
            per_request.append([(svc, op) for svc, op, _ in made])
            for svc, op, params in made:
                if svc == "dynamodb":
                    items_read += _items_read(op, params)
                    items_written += len(written_partition_keys(op, params, self.hash_keys))
        total = sum(len(calls) for calls in per_request)
        ivs = sum(1 for calls in per_request for svc, _ in calls if svc == "ivs-realtime")
        chat = sum(1 for calls in per_request for svc, _ in calls if svc == "ivschat")
        ops = Counter(f"{svc}:{op}" for calls in per_request for svc, op in calls)
        return {
            "requests": requests,
            "per_request": total / requests,
            "ivs_per_request": ivs / requests,
            "ivs_calls": ivs,
            "ivs_chat_per_request": chat / requests,
            "ops": {name: count / requests for name, count in sorted(ops.items())},
            "items_read": items_read / requests,
            "items_written": items_written / requests,
        }

    def close(self) -> None:
        self.api.detach()


def run(deps, ivs: env.StubbedIvs) -> tuple[list[dict], list[str], dict]:
    from chalicelib.services import spaces, stage, users
    from chalicelib.api.bodies.spaces import create_space as space_request

    window = Window(ivs)
    scenarios: dict[str, dict] = {}
    skipped: list[str] = []
    try:
        # Cold listener join: this container has not seen the Space (first join, or cache expired).
        cold_space = env.live_space(deps, ivs, "bench cold joins")

        def cold_setup(i):
            deps.media_cache.drop(cold_space)
            return env.new_id("cold")

        scenarios["join_listener.cold"] = window.measure(
            REQUESTS, cold_setup, lambda user: stage.join_space(deps, user, cold_space)
        )

        # Warm listener join: the Space's stage is in this container's cache.
        warm_space = env.live_space(deps, ivs, "bench warm joins")
        stage.join_space(deps, env.new_id("warmup"), warm_space)
        scenarios["join_listener.warm"] = window.measure(
            REQUESTS, lambda i: env.new_id("warm"), lambda user: stage.join_space(deps, user, warm_space)
        )

        # GET /spaces/{id} of a live Space (the page a listener opens), through the use case.
        scenarios["get_space"] = window.measure(
            REQUESTS, lambda i: warm_space, lambda space_id: spaces.get_space(deps, space_id)
        )

        # GET /spaces (discovery), once the feature exists: measured only if it is there and works.
        list_live = _list_live(deps)
        if list_live is not None:
            try:
                # A container's first page also reads the "blocked by someone" filter (once a
                # minute per container, shared by every viewer): measured on its own, like a
                # cold join. Then pages of new viewers in that container.
                users.forget_blocked_filter(deps)
                scenarios["list_live.container_cold"] = window.measure(
                    1, lambda i: env.new_id("viewer"), lambda viewer: list_live(viewer)
                )
                scenarios["list_live"] = window.measure(
                    REQUESTS, lambda i: env.new_id("viewer"), lambda viewer: list_live(viewer)
                )
            except Exception as exc:  # a half-built feature is reported, never faked
                skipped.append(f"aws_calls.list_live not measured: GET /spaces failed ({type(exc).__name__}: {exc})")

        # Create a live Space: eligibility read, IVS CreateStage (stubbed, counted), the write.
        def create_setup(i):
            host = env.seed_host()
            ivs.expect_create_stage()
            return host

        scenarios["create_space"] = window.measure(
            REQUESTS, create_setup, lambda host: spaces.create_space(deps, host, space_request({"title": "bench create"}))
        )

        # Buy a ticket (POST /spaces/{id}/tickets): read the Space, hold a seat, record the
        # payment id. The payment provider is in-process here (not an AWS call).
        from bench.oversell import make_seller
        from chalicelib.services import tickets

        seller = make_seller(deps, "bench-seller")
        ticketed = spaces.create_space(deps, seller, space_request({
            "title": "bench tickets",
            "scheduled_start": (deps.clock.now() + __import__("datetime").timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "access": "ticketed",
            "ticket": {"price_cents": 500, "currency": "USD", "capacity": 10_000},
        })).id
        scenarios["purchase_ticket"] = window.measure(
            REQUESTS, lambda i: env.new_id("buyer"), lambda buyer: tickets.buy_ticket(deps, buyer, ticketed)
        )

        followee = env.seed_host("followee")
        scenarios["follow"] = window.measure(
            REQUESTS, lambda i: env.new_id("fan"), lambda fan: users.follow(deps, fan, followee)
        )
    finally:
        window.close()

    joins = [scenarios["join_listener.cold"], scenarios["join_listener.warm"]]
    results = [
        {"name": f"aws_calls.{name}", "value": round(s["per_request"], 3), "unit": "calls/request"}
        for name, s in scenarios.items()
    ]
    ivs_per_join = sum(s["ivs_calls"] for s in joins) / sum(s["requests"] for s in joins)
    results.insert(2, {"name": "ivs_calls.join_listener", "value": round(ivs_per_join, 3), "unit": "calls/request"})

    notes = list(skipped)
    for name, s in scenarios.items():
        ops = ", ".join(f"{op} {n:g}" for op, n in s["ops"].items())
        notes.append(
            f"aws_calls.{name} ({s['requests']} requests): {ops}; items read by key "
            f"{s['items_read']:g}, items written {s['items_written']:g} per request"
        )
    if ivs.pending():
        notes.append(f"{ivs.pending()} queued CreateStage responses were never used")
    return results, notes, scenarios
