"""How big the stage pool should be (chalicelib/domain/stage_pool.py)."""
from chalicelib.domain.stage_pool import PoolRules, recent_start_rate, target_size, to_create

RULES = PoolRules(lookahead_minutes=15, lead_minutes=2, min_size=2, stage_quota=100, quota_headroom=5)


def test_the_pool_holds_the_scheduled_starts_ahead_plus_a_margin_plus_recent_demand():
    assert target_size(RULES, scheduled_soon=30, recent_starts_per_minute=4.5, live_stages=10) == 30 + 3 + 9


def test_the_margin_leaves_ready_stages_for_unscheduled_starts_at_a_peak():
    big = PoolRules(stage_quota=5000)
    assert big.margin_percent == 10
    assert target_size(big, scheduled_soon=2000, recent_starts_per_minute=0, live_stages=0) == 2200
    no_margin = PoolRules(stage_quota=5000, margin_percent=0)
    assert target_size(no_margin, scheduled_soon=2000, recent_starts_per_minute=0, live_stages=0) == 2000


def test_a_quiet_account_keeps_the_minimum():
    assert target_size(RULES, scheduled_soon=0, recent_starts_per_minute=0, live_stages=0) == 2


def test_the_pool_never_outgrows_the_stage_quota_left_by_live_spaces():
    assert target_size(RULES, scheduled_soon=2000, recent_starts_per_minute=0, live_stages=60) == 100 - 5 - 60
    assert target_size(RULES, scheduled_soon=5, recent_starts_per_minute=0, live_stages=99) == 0


def test_only_the_shortfall_is_created():
    assert to_create(10, 4) == 6 and to_create(3, 8) == 0


def test_recent_rate_is_what_starts_took_since_the_last_refill():
    assert recent_start_rate(None, 5, 1.0) == 0
    assert recent_start_rate(12, 2, 2.0) == 5.0
    assert recent_start_rate(3, 5, 1.0) == 0  # nothing taken (a refill elsewhere)


def test_scheduled_starts_that_took_stages_do_not_count_as_recent_demand():
    # 2,000 scheduled Spaces started since the last run and took 2,000 stages, 10 others took 10.
    assert recent_start_rate(2100, 90, 1.0, scheduled_before=2000, scheduled_now=0) == 10
