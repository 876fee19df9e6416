"""The count fold's Lambda: invoked with batches of the participants table's stream records
(infra binds the event source; services/counts.py)."""
from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.lazy import service

counts = service("counts")

bp = Blueprint(__name__)


@bp.lambda_function(name="fold_participant_counts")
def fold_participant_counts(event, context):
    try:
        moved = counts.fold(bootstrap.deps(), event.get("Records", []))
        return {"moved": moved}
    finally:
        bootstrap.flush_metrics()
