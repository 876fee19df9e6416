"""The scheduled Lambda entry points run their use cases and report what they did."""
import pytest


@pytest.mark.parametrize(
    "name, counted",
    [
        ("release_pending_media", ["released"]),
        ("refresh_live_ranks", ["changed"]),
        ("sweep_presence", ["disconnected"]),
        ("reconcile_stages", ["deleted", "channels_deleted"]),
        ("expire_ticket_holds", ["expired"]),
        ("reconcile_rooms", ["deleted"]),
        ("renew_subscriptions", ["renewed"]),
        ("land_recordings", ["changed"]),
    ],
)
def test_each_scheduled_job_runs_and_reports_a_count(deps, host, name, counted):
    from chalice.test import Client

    from app import app
    from chalicelib.services import spaces as space_service
    from chalicelib.api.bodies.spaces import create_space as space_request

    space_service.create_space(deps, host, space_request({"title": "a live Space for the jobs to see"}))
    with Client(app) as client:
        event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])
        result = client.lambda_.invoke(name, event)

    assert sorted(result.payload) == sorted(counted)
    assert all(isinstance(result.payload[key], int) for key in counted)
