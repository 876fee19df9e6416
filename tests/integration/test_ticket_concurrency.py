"""Ticket sales never oversell: 32 threads, 1,000 purchase attempts, 50 seats, DynamoDB Local.

The trial itself lives in bench/oversell.py (`make bench` reports the same numbers)."""
from __future__ import annotations

import os
import random

import pytest

from bench.oversell import run_trial

TRIALS = int(os.environ.get("SPACES_OVERSELL_TRIALS", "20"))


@pytest.mark.slow
def test_concurrent_buyers_never_oversell_a_ticketed_space(deps):
    seeds = [random.randrange(2**32) for _ in range(TRIALS)]
    for n, seed in enumerate(seeds):
        deps.payments.__init__()  # a fresh provider per trial (its counters)
        result = run_trial(deps, seats=50, attempts=1000, threads=32, buyers=300, seed=seed)
        where = f"trial {n} (seed {seed}): {dict(result.outcomes)}"
        assert result.paid == 50, where
        assert result.held_left == 0, where
        assert result.buyers_with_two == 0, where
        assert result.max_taken_seen <= result.capacity == 50, where
        assert result.bad_outcomes == [], where
        assert result.outcomes[(409, "sold_out")] > 0, where
        # The threads really overlapped: many purchases were in flight at once.
        assert result.max_in_flight >= 8, where
