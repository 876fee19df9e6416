"""IVS Chat's message review handler: IVS invokes it (synchronously) for every message a client
sends straight to a Space's room; the verdict limits each user's message rate
(services/room_events.review_message). Rooms name it in CreateRoom when
SPACES_CHAT_REVIEW_HANDLER_ARN is set (infra sets it to this function).

IVS's payload and answer (the IVS Chat user guide, "Message Review Handler") are read and written
here, at the edge: the service sees a `ChatMessage` and answers a `ChatVerdict`."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.domain.room_events import ChatMessage, ChatVerdict
from chalicelib.lazy import service

if TYPE_CHECKING:
    from chalicelib.services.context import Deps

room_events = service("room_events")

bp = Blueprint(__name__)


@bp.lambda_function(name="chat_message_review")
def chat_message_review(event, context):
    try:
        return review(bootstrap.deps(), event)
    finally:
        bootstrap.flush_metrics()


def review(deps: Deps, event: Any) -> dict[str, Any]:
    """IVS's review payload in, IVS's answer out: `ReviewResult` ALLOW with the content (and the
    message's attributes, unchanged), or DENY with a `Reason` (and `RetryAfterMs`)."""
    message = chat_message(event)
    verdict = room_events.review_message(deps, message)
    return review_answer(verdict, message)


def chat_message(event: Any) -> ChatMessage | None:
    """The message of a review payload; None for one that is not a message (denied)."""
    event = event if isinstance(event, dict) else {}
    sender = event["Sender"] if isinstance(event.get("Sender"), dict) else {}
    room, user_id, content = event.get("RoomArn"), sender.get("UserId"), event.get("Content")
    if not (isinstance(room, str) and room and isinstance(user_id, str) and user_id and isinstance(content, str)):
        return None
    attributes = event.get("Attributes")
    return ChatMessage(room, user_id, content, attributes if isinstance(attributes, dict) else {})


def review_answer(verdict: ChatVerdict, message: ChatMessage | None) -> dict[str, Any]:
    if not verdict.allowed or message is None:
        reason: dict[str, str] = {"Reason": verdict.reason or "invalid_message"}
        if verdict.retry_after_ms is not None:
            reason["RetryAfterMs"] = str(verdict.retry_after_ms)
        return {"ReviewResult": "DENY", "Attributes": reason}
    allowed: dict[str, Any] = {"ReviewResult": "ALLOW", "Content": message.content}
    if message.attributes:
        allowed["Attributes"] = message.attributes
    return allowed
