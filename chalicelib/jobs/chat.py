"""IVS Chat's message review handler: IVS invokes it (synchronously) for every message a client
sends straight to a Space's room; the verdict limits each user's message rate
(services/room_events.review_message). Rooms name it in CreateRoom when
SPACES_CHAT_REVIEW_HANDLER_ARN is set (infra sets it to this function)."""
from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.lazy import service

room_events = service("room_events")

bp = Blueprint(__name__)


@bp.lambda_function(name="chat_message_review")
def chat_message_review(event, context):
    try:
        return room_events.review_message(bootstrap.deps(), event)
    finally:
        bootstrap.flush_metrics()
