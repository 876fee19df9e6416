"""One table of scheduled jobs (chalicelib/jobs/scheduled.py), read by the Chalice app and by the
local worker: what one runs, the other runs."""
import importlib

from chalice.app import ScheduledEventConfig

from chalicelib.jobs.scheduled import JOBS

# The scheduled Lambdas as deployed (infra/ and the alarms know them by these names and rates).
DEPLOYED = {
    "refresh_live_ranks": "rate(1 minute)",
    "release_pending_media": "rate(5 minutes)",
    "sweep_presence": "rate(1 minute)",
    "reconcile_stages": "rate(15 minutes)",
    "reconcile_rooms": "rate(15 minutes)",
    "expire_ticket_holds": "rate(1 minute)",
    "renew_subscriptions": "rate(15 minutes)",
    "land_recordings": "rate(1 minute)",
    "drain_media_queue": "rate(1 minute)",
    "refill_stage_pool": "rate(1 minute)",
    "refill_room_pool": "rate(1 minute)",
}


def _scheduled_lambdas():
    from app import app

    return [s for s in app.event_sources if isinstance(s, ScheduledEventConfig)]


def test_the_app_schedules_exactly_the_table_under_the_deployed_names_and_rates():
    assert {s.name: s.schedule_expression for s in _scheduled_lambdas()} == DEPLOYED
    assert {job.name: job.rate for job in JOBS} == DEPLOYED


def test_each_scheduled_lambda_handler_is_importable_where_chalice_points_the_lambda():
    for source in _scheduled_lambdas():
        module, _, attr = source.handler_string.rpartition(".")
        assert callable(getattr(importlib.import_module(module), attr)), source.handler_string


def test_every_step_names_a_service_function():
    for job in JOBS:
        assert job.steps and job.what
        for step in job.steps:
            module = importlib.import_module(f"chalicelib.services.{step.service}")
            assert callable(getattr(module, step.function)), (job.name, step)


def test_the_local_worker_runs_every_step_of_the_table_when_due(monkeypatch):
    from scripts import local_worker

    ran = []
    for job in JOBS:
        for step in job.steps:
            module = importlib.import_module(f"chalicelib.services.{step.service}")
            monkeypatch.setattr(module, step.function, lambda deps, _n=step.function: ran.append(_n) or 0)
    monkeypatch.setattr(local_worker, "fold_counts", lambda deps: 0)
    monkeypatch.setattr(local_worker, "_last_run", {})

    class Idle:  # no due schedules, no queued messages
        def list_due(self, now):
            return []

        def receive(self, **kwargs):
            return []

    idle = Idle()
    deps = type("Deps", (), {"scheduler": idle, "fanout_queue": idle, "push_queue": idle, "tickets_queue": idle})()
    local_worker.tick(deps)
    assert sorted(ran) == sorted(step.function for job in JOBS for step in job.steps)
    ran.clear()
    local_worker.tick(deps)  # a second later nothing is due again
    assert ran == []
