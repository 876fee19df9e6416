"""The capacity model (infra/capacity.py) reads one table of quotas (infra/quotas.py) and cannot
silently skip a quota a profile's workload touches."""
from __future__ import annotations

import json

import pytest

from infra import capacity
from infra.quotas import BY_KEY, LEVEL, QUOTAS, RATE

REQUIRED_SERVICES = {
    "IVS real-time",
    "IVS low-latency",
    "IVS Chat",
    "DynamoDB",
    "Lambda",
    "API Gateway",
    "SNS",
    "EventBridge Scheduler",
}
REQUIRED_PROFILES = {"normal_day", "top_of_hour", "million_listener_space", "raid_500_removals"}


def test_every_quota_has_a_source_a_limit_and_a_lift():
    assert len(BY_KEY) == len(QUOTAS), "two quotas share a key"
    for q in QUOTAS:
        assert q.source.startswith("https://docs.aws.amazon.com/"), q.key
        assert q.limit > 0 and q.kind in (RATE, LEVEL) and q.lift, q.key
    assert REQUIRED_SERVICES <= {q.service for q in QUOTAS}


def test_every_operation_costs_only_quotas_of_the_table():
    for name, op in capacity.OPERATIONS.items():
        unknown = set(op.costs) - set(BY_KEY)
        assert not unknown, f"{name} costs quotas no table row has: {unknown}"
        assert op.deferred <= set(op.costs), name


def test_the_issue_profiles_exist_and_each_touches_every_required_service():
    assert REQUIRED_PROFILES <= set(capacity.PROFILES)
    for name in ("normal_day", "top_of_hour"):
        services = {BY_KEY[k].service for k in capacity.quotas_touched(capacity.PROFILES[name])}
        assert REQUIRED_SERVICES - {"IVS low-latency"} <= services, name


@pytest.mark.parametrize("pool", [True, False])
@pytest.mark.parametrize("name", sorted(capacity.PROFILES))
def test_every_touched_quota_is_in_the_output(name, pool):
    """Enumerates: each quota any of the profile's operations costs (even 0) is a row of the
    printed table and of the JSON, with its limit from the table."""
    profile = capacity.PROFILES[name]
    touched = capacity.quotas_touched(profile, pool)
    assert touched, name
    text = capacity.render(profile, pool)
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| service")]
    assert len(rows) == len(touched)
    for key in touched:
        q = BY_KEY[key]
        assert any(f"| {q.service} | {q.name} |" in row for row in rows), f"{name}: {key} missing"
    printed = {row["key"] for row in capacity.as_json(profile, pool)["quotas"]}
    assert printed == touched


def test_every_quota_of_the_table_is_used_by_some_profile():
    used = set().union(*(capacity.quotas_touched(p) for p in capacity.PROFILES.values()))
    assert used == set(BY_KEY), f"quotas no profile exercises: {set(BY_KEY) - used}"


def test_peak_use_is_rate_times_cost_and_queued_work_is_left_out_of_the_share():
    raid = capacity.PROFILES["raid_500_removals"]
    uses = {u.quota.key: u for u in capacity.evaluate(raid)}
    stage = uses["ivs_rt.stage_control_tps"]
    # 500 DisconnectParticipant in 60 s are queued: none at the peak, all drained after it.
    assert stage.now == 0
    assert stage.backlog == pytest.approx(500)
    assert stage.drain_seconds == pytest.approx(500 / 4)  # at the limiter's 4 a second
    assert uses["ivschat.disconnect_user_tps"].now == pytest.approx(500 / 60)


def test_without_the_pool_starts_spend_the_stage_quota_on_requests():
    top = capacity.PROFILES["top_of_hour"]
    pooled = {u.quota.key: u for u in capacity.evaluate(top, pool=True)}
    unpooled = {u.quota.key: u for u in capacity.evaluate(top, pool=False)}
    # Pooled, only the recorded starts (1 in 10) create a stage on the request: their stage
    # records, which a pooled one does not (docs/recording.md).
    assert pooled["ivs_rt.stage_control_tps"].now == pytest.approx(0.1 * 2000 / 60)
    assert unpooled["ivs_rt.stage_control_tps"].now == pytest.approx(2000 / 60)
    assert unpooled["ivs_rt.stage_control_tps"].share > 6


def test_binds_first_skips_limits_the_app_enforces():
    for profile in capacity.PROFILES.values():
        first = capacity.binding(capacity.evaluate(profile))
        assert not first.quota.enforced_by_app


def test_cli_prints_a_profile_and_rejects_an_unknown_one(capsys):
    assert capacity.main(["--profile", "raid_500_removals", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out[0]["profile"] == "raid_500_removals" and out[0]["binds_first"]
    with pytest.raises(SystemExit):
        capacity.main(["--profile", "nope"])
