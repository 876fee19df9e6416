"""Business metrics through Powertools (CloudWatch embedded metric format)."""
from __future__ import annotations


class PowertoolsTelemetry:
    def __init__(self, metrics):
        self._metrics = metrics

    def count(self, event: str, value: int = 1) -> None:
        from aws_lambda_powertools.metrics import MetricUnit

        self._metrics.add_metric(name=event, unit=MetricUnit.Count, value=value)

    def flush(self) -> None:
        self._metrics.flush_metrics(raise_on_empty_metrics=False)
