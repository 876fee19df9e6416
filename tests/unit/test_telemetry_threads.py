"""The local API server runs requests on threads; Powertools keeps one metric set per process."""
import sys
import threading

from chalicelib.adapters.telemetry import PowertoolsTelemetry


def test_requests_counting_and_flushing_on_threads_never_raise(monkeypatch, capsys):
    # Given one telemetry adapter over a real Powertools Metrics, as the API's container has
    from aws_lambda_powertools import Metrics

    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "spaces-test")
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)  # the suite turns them off
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    telemetry = PowertoolsTelemetry(Metrics(service="spaces-test"))
    errors: list[BaseException] = []

    def request() -> None:
        try:
            for _ in range(300):
                telemetry.count("listener_joined")
                telemetry.flush()
        except BaseException as exc:  # noqa: BLE001 - the test counts every failure
            errors.append(exc)

    # When eight requests count and flush at once, switching threads as often as the
    # interpreter allows (so the interleavings a loaded server meets show up in a short test)
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    threads = [threading.Thread(target=request) for _ in range(8)]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(previous)

    # Then none of them fails on another's half-flushed metric set
    capsys.readouterr()
    assert errors == []
