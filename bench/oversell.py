"""Ticket sales under contention: many buyers, few seats, real threads, DynamoDB Local.

One trial: a ticketed Space with `seats` seats; `threads` threads make `attempts` purchase
attempts between them, each by a random buyer of a pool smaller than the attempts (so buyers
retry and race themselves), each paying one of three ways at random: the provider confirms at
once, the payment stays pending and a settler thread confirms or fails it a moment later (its
webhook), or the card is declined. A monitor thread reads the seat count all along. When the
attempts are done, every payment still pending is confirmed. Then, exactly `seats` tickets must
be paid, no buyer may hold two, the seat count must never have gone past capacity, and every
attempt that was not a declined card must have ended as 201 or a clean 409.

Used by `make bench` (oversell_trials, oversold_tickets) and by
tests/integration/test_ticket_concurrency.py.
"""
from __future__ import annotations

import queue
import random
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta


@dataclass
class TrialResult:
    seats: int
    attempts: int
    paid: int
    held_left: int
    buyers_with_two: int
    max_taken_seen: int
    capacity: int
    outcomes: Counter = field(default_factory=Counter)
    max_in_flight: int = 0
    bad_outcomes: list = field(default_factory=list)

    @property
    def oversold(self) -> int:
        return max(self.paid - self.seats, 0) + max(self.max_taken_seen - self.capacity, 0)


def make_seller(deps, prefix: str = "seller") -> str:
    """A user who may sell tickets (followers, and 3 Spaces hosted in the last 30 days)."""
    from chalicelib.adapters.dynamodb.models import SpaceModel
    from chalicelib.domain.spaces import iso, utcnow

    user_id = f"{prefix}-{uuid.uuid4().hex[:10]}"
    deps.users.set_follower_count(user_id, deps.settings.ticketed_host_min_followers)
    now = utcnow()
    for n in range(deps.settings.ticketed_host_min_spaces_30d):
        started = now - timedelta(days=n + 1)
        SpaceModel(
            f"past{uuid.uuid4().hex[:16]}",
            state="ended",
            title="past",
            creator_id=user_id,
            sort_time=iso(started),
            created_at=started,
            updated_at=started,
            started_at=started,
            ended_at=started + timedelta(hours=1),
        ).save()
    return user_id


def run_trial(deps, seller: str | None = None, *, seats=50, attempts=1000, threads=32, buyers=300, seed=None) -> TrialResult:
    from chalicelib.adapters.dynamodb.models import SpaceModel, TicketModel
    from chalicelib.domain.errors import DomainError
    from chalicelib.domain.spaces import iso
    from chalicelib.services import spaces as space_service
    from chalicelib.api.bodies.spaces import create_space as space_request
    from chalicelib.domain.commands.commerce import BuyTicket
    from chalicelib.services import tickets
    from chalicelib.api.views import purchase_view

    rng = random.Random(seed)
    seller = seller or make_seller(deps)  # a host has at most 10 scheduled Spaces: one per trial
    start = iso(deps.clock.now() + timedelta(days=1))
    space = space_service.create_space(
        deps,
        seller,
        space_request({
            "title": "Oversell trial",
            "scheduled_start": start,
            "access": "ticketed",
            "ticket": {"price_cents": 500, "currency": "USD", "capacity": seats},
        }),
    )
    pool = [f"buyer-{uuid.uuid4().hex[:8]}" for _ in range(buyers)]
    plan = [(rng.choice(pool), rng.choice(("instant", "pending", "pending", "declined"))) for _ in range(attempts)]
    methods = {"instant": "pm_card_instant", "pending": None, "declined": "pm_card_chargeDeclined"}

    work: queue.Queue = queue.Queue()
    for item in plan:
        work.put(item)
    pending: queue.Queue = queue.Queue()
    outcomes: Counter = Counter()
    bad: list = []
    lock = threading.Lock()
    in_flight = [0, 0]  # now, max
    done = threading.Event()
    max_taken = [0]

    def buyer_thread(worker_seed: int):
        local = random.Random(worker_seed)
        while True:
            try:
                buyer, how = work.get_nowait()
            except queue.Empty:
                return
            with lock:
                in_flight[0] += 1
                in_flight[1] = max(in_flight[1], in_flight[0])
            try:
                answer = purchase_view(*tickets.buy_ticket(deps, buyer, space.id, BuyTicket(payment_method=methods[how])))
                outcome = (201, answer["ticket"]["status"])
                if answer["payment"]["status"] == "pending":
                    pending.put((answer["payment"]["payment_id"], local.random() < 0.8))
            except DomainError as exc:
                outcome = (exc.status, exc.code)
            finally:
                with lock:
                    in_flight[0] -= 1
            with lock:
                outcomes[outcome] += 1
                if outcome[0] not in (201, 409) and outcome != (422, "payment_declined"):
                    bad.append((buyer, how, outcome))

    def settle(payment_id: str, succeed: bool):
        payload, headers = deps.payments.webhook(payment_id, "payment_succeeded" if succeed else "payment_failed")
        tickets.handle_webhook(deps, payload, headers)

    def settler_thread():
        while not (done.is_set() and pending.empty()):
            try:
                payment_id, succeed = pending.get(timeout=0.05)
            except queue.Empty:
                continue
            try:
                settle(payment_id, succeed)
            except DomainError as exc:
                with lock:
                    bad.append(("settle", payment_id, (exc.status, exc.code)))

    def monitor_thread():
        while not done.is_set():
            item = SpaceModel.get(space.id, consistent_read=True)
            max_taken[0] = max(max_taken[0], int(item.tickets_taken or 0))
            done.wait(0.02)

    workers = [threading.Thread(target=buyer_thread, args=(rng.random(),)) for _ in range(threads)]
    helpers = [threading.Thread(target=settler_thread) for _ in range(2)] + [threading.Thread(target=monitor_thread)]
    for t in workers + helpers:
        t.start()
    for t in workers:
        t.join()
    done.set()
    for t in helpers:
        t.join()

    # Every payment still pending (its webhook not yet sent) now succeeds.
    for ticket in TicketModel.query(space.id):
        if ticket.status == "held" and ticket.payment_id:
            settle(ticket.payment_id, True)

    final = list(TicketModel.query(space.id))
    per_buyer = Counter(t.buyer_id for t in final if t.status == "paid")
    item = SpaceModel.get(space.id, consistent_read=True)
    return TrialResult(
        seats=seats,
        attempts=attempts,
        paid=sum(per_buyer.values()),
        held_left=sum(1 for t in final if t.status == "held"),
        buyers_with_two=sum(1 for n in per_buyer.values() if n > 1),
        max_taken_seen=max(max_taken[0], int(item.tickets_taken or 0)),
        capacity=int(item.ticket_capacity),
        outcomes=outcomes,
        max_in_flight=in_flight[1],
        bad_outcomes=bad,
    )


def run(deps, trials: int = 20) -> tuple[list[dict], list[str]]:
    """`make bench`: `trials` randomized trials; oversold_tickets counts seats sold past capacity
    (or paid tickets past the seats) over all of them."""
    import time

    oversold, seconds, outcomes, in_flight = 0, [], Counter(), []
    for n in range(trials):
        deps.payments.__init__()
        t0 = time.perf_counter()
        result = run_trial(deps, seed=n)
        seconds.append(time.perf_counter() - t0)
        oversold += result.oversold + result.buyers_with_two
        outcomes.update(result.outcomes)
        in_flight.append(result.max_in_flight)
    results = [
        {"name": "oversell_trials", "value": trials, "unit": "trials"},
        {"name": "oversold_tickets", "value": oversold, "unit": "tickets"},
    ]
    top = ", ".join(f"{status} {code}: {count}" for (status, code), count in outcomes.most_common(6))
    notes = [
        f"oversell: {trials} trials of 1,000 attempts by 32 threads for 50 seats, "
        f"{sum(seconds) / trials:.1f} s each, up to {max(in_flight)} purchases in flight at once; outcomes {top}"
    ]
    return results, notes
