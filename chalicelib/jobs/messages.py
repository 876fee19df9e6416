"""The queues' JSON bodies read into their typed messages (chalicelib/domain/messages.py), at
the edge, as `api/bodies/` reads HTTP bodies into commands.

A body that is not a message of its queue is logged and dropped (`None`): it can never succeed,
and raising would only hand it back to the consumer until it reached the dead-letter queue.
"""
from __future__ import annotations

from typing import Any

import msgspec
from aws_lambda_powertools import Logger

from chalicelib.config import SERVICE_NAME
from chalicelib.domain.messages import (
    FanoutMessage,
    PushBatch,
    RefundSpace,
    ReminderPush,
    SubscriptionPush,
)
from chalicelib.domain.reminders import MOMENTS, SUBSCRIPTION_NOTICES

logger = Logger(child=True, service=SERVICE_NAME)


def fanout_message(body: Any) -> FanoutMessage | None:
    message = _read(body, FanoutMessage, "fan-out")
    if message is not None and message.moment not in MOMENTS:
        _dropped(body, "fan-out", f"unknown moment {message.moment!r}")
        return None
    return message


def push_batch(body: Any) -> PushBatch | None:
    """A push batch is a reminder's, or (`kind` "subscription") a subscription notice."""
    if isinstance(body, dict) and body.get("kind") == SubscriptionPush.__struct_config__.tag:
        notice = _read(body, SubscriptionPush, "push")
        if notice is not None and notice.notice not in SUBSCRIPTION_NOTICES:
            _dropped(body, "push", f"unknown notice {notice.notice!r}")
            return None
        return notice
    return _read(body, ReminderPush, "push")


def ticket_job(body: Any) -> RefundSpace | None:
    return _read(body, RefundSpace, "ticket")


def _read(body: Any, kind: Any, queue: str) -> Any:
    try:
        return msgspec.convert(body, kind)
    except msgspec.ValidationError as exc:
        _dropped(body, queue, str(exc))
        return None


def _dropped(body: Any, queue: str, why: str) -> None:
    logger.error("malformed queue message dropped", queue=queue, why=why, body=body)
