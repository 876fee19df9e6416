"""Business metrics through Powertools (CloudWatch embedded metric format)."""
from __future__ import annotations

import threading


class PowertoolsTelemetry:
    """Powertools keeps one metric set per process. Lambda runs one request at a time, but the
    local API server runs requests on threads: without the lock one request's flush empties the
    set while another adds to it, and Powertools raises on the half-built set (a 500)."""

    def __init__(self, metrics):
        self._metrics = metrics
        self._lock = threading.Lock()

    def count(self, event: str, value: int = 1) -> None:
        from aws_lambda_powertools.metrics import MetricUnit

        with self._lock:
            self._metrics.add_metric(name=event, unit=MetricUnit.Count, value=value)

    def flush(self) -> None:
        with self._lock:
            self._metrics.flush_metrics(raise_on_empty_metrics=False)
