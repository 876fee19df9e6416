"""How many IVS stages the pool keeps ready (docs/capacity.md). No AWS here.

A start claims a ready stage and makes no IVS call; the pool job creates stages ahead of demand
at the rate the IVS control plane allows (5 calls a second for the whole account). So the pool
must already hold what the next minutes will take:

- every scheduled Space starting within `lookahead_minutes` (they are known in advance, and the
  top of the hour is where starts bunch up),
- plus what unscheduled starts took recently, for `lead_minutes` (the time until the job runs
  again and refills),
- plus a margin of `margin_percent` of the scheduled starts: unscheduled starts bunch at the top
  of the hour too, and the recent rate only learns of them a minute late. Without it the pool
  reached 0 in the top-of-hour bench (every stage taken, nothing left for a start nobody
  scheduled); with 10 % of 2,000 scheduled starts, 200 unscheduled ones in the same minute still
  find a ready stage (docs/capacity.md),
- never under `min_size`, and never more than the stage quota leaves after the live Spaces and
  `quota_headroom` (stages kept free for starts that fall back to CreateStage and for stages being
  deleted).

Stages are never handed to a second Space: see `REUSE_POLICY`.
"""
from __future__ import annotations

import math

from msgspec import Struct

# A stage serves one Space and is deleted after it. Participant tokens minted for a Space name
# its stage and stay valid until they expire (up to an hour here, 14 days at most for IVS), and
# IVS cannot revoke a token: only deleting the stage makes every one of them worthless.
# Reusing a stage would need it to sit idle, out of the pool and counting against the stage
# quota, for the longest token lifetime after the Space's last join: more stages held than the
# one DeleteStage + CreateStage it saves.
REUSE_POLICY = "delete_after_use"


class PoolRules(Struct, frozen=True):
    """How many ready stages the pool keeps (settings; see the module's docstring)."""

    lookahead_minutes: int = 15
    lead_minutes: int = 2
    min_size: int = 2
    stage_quota: int = 100
    quota_headroom: int = 5
    margin_percent: int = 10


def target_size(
    rules: PoolRules, *, scheduled_soon: int, recent_starts_per_minute: float, live_stages: int
) -> int:
    """How many ready stages the pool should hold now."""
    margin = math.ceil(max(0, scheduled_soon) * max(0, rules.margin_percent) / 100)
    wanted = scheduled_soon + margin + math.ceil(max(0.0, recent_starts_per_minute) * rules.lead_minutes)
    wanted = max(rules.min_size, wanted)
    room = rules.stage_quota - rules.quota_headroom - max(0, live_stages)
    return max(0, min(wanted, room))


def to_create(target: int, available: int) -> int:
    return max(0, target - available)


def recent_start_rate(
    previous_available: int | None,
    available_now: int,
    minutes: float,
    *,
    scheduled_before: int = 0,
    scheduled_now: int = 0,
) -> float:
    """Unscheduled starts per minute since the last refill: what the pool held when that refill
    ended less what is left now (only refills add stages), less the scheduled Spaces that left the
    scheduled list meanwhile (they were counted ahead already: a top of the hour must not make
    the next minutes look busy). 0 when there was no previous run."""
    if previous_available is None or minutes <= 0:
        return 0.0
    taken = previous_available - available_now - max(0, scheduled_before - scheduled_now)
    return max(0, taken) / minutes
