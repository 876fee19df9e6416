"""The one SQS consumer loop: every queue consumer of the app hands its batch to `consume`.

Each record's JSON body goes to the consumer's handler; a record whose handler raises is reported
back to Lambda as a partial batch failure (its `itemIdentifier`, the SQS message id), so only it
returns to the queue, after its visibility timeout, and reaches the dead-letter queue after the
queue's maxReceiveCount; the others are deleted. The event source mappings turn this on with
`ReportBatchItemFailures` (infra/stack.py). Batch sizes and why: docs/operations.md.

Powertools' batch utility is imported on the first batch, not with the app: it costs about as
much as the rest of a cold start, and most Lambdas of the app never consume a queue.
"""
from __future__ import annotations

import json
from typing import Any, Callable

from chalicelib import bootstrap


def consume(event: Any, handle: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    """Process one SQS batch (Chalice's SQSEvent); returns the partial batch response."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    try:
        return process_partial_response(  # type: ignore[return-value]  # a TypedDict of that dict
            event=event.to_dict(),
            record_handler=lambda record: handle(json.loads(record.body)),
            processor=BatchProcessor(event_type=EventType.SQS),
        )
    finally:
        bootstrap.flush_metrics()
