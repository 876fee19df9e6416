"""Participant counts: joins and leaves write only the participant item; the count fold reads
the participants table's stream and moves the sharded counters (adapters/dynamodb/counts.py).

In AWS the fold is the Lambda `fold_participant_counts` on the table's stream (batches of up to
1,000 records, a 1 s window): a Space's count follows its joins within about a second. Under
`make run` the local worker polls DynamoDB Local's stream. docs/joins.md.
"""
from __future__ import annotations

from typing import Any

from chalicelib.services import analytics
from chalicelib.services.context import Deps


def fold(deps: Deps, records: list[dict[str, Any]]) -> int:
    """Apply one batch of stream records; returns how many participants moved a counter. Raises
    DependencyFailed when the database keeps failing, so the batch is delivered again (the fold
    is idempotent)."""
    moved = deps.participants.fold_count_records(records)
    if moved:
        deps.telemetry.count("ParticipantCountsFolded", moved)
    analytics.fold(deps, records)  # the same batch's listening sessions (docs/analytics.md)
    return moved
