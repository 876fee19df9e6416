"""Reminders and pushes: which moments exist, who hears about each, and what the push says.

Moments of a scheduled Space:
- `host_heads_up`: the host, 30 minutes before the scheduled start;
- `start`: the host and everyone who set a reminder, at the scheduled start, or at once when the
  host starts early (one moment either way, so nobody hears twice);
- `canceled`: everyone who set a reminder, when the host cancels;
- `invited`: co-hosts and speakers named when the Space was scheduled.
"""
from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta
from typing import Any

from msgspec import Struct

from chalicelib.domain.subscriptions import RENEWAL_GRACE

HOST_HEADS_UP, START, CANCELED, INVITED = "host_heads_up", "start", "canceled", "invited"
SCHEDULED_MOMENTS = (HOST_HEADS_UP, START)
MOMENTS = (HOST_HEADS_UP, START, CANCELED, INVITED)

PLATFORMS = ("ios", "android")
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_:\-.]{8,4096}$")


class PushMessage(Struct, frozen=True):
    """A push notification's text and the app's deep-link data."""

    title: str
    body: str
    # Deep-link data for the app (space_id, moment ...): string values only.
    data: dict[str, Any]


class RegisteredDevice(Struct, frozen=True):
    """A device pushes go to, as its owner registered it."""
    device_id: str
    platform: str
    user_id: str


class ReminderChange(Struct, frozen=True):
    """A reminder set or cleared: `changed` False when it already was so (setting twice and
    clearing twice both succeed); the Space's subscriber count read after the change."""
    space_id: str
    is_set: bool
    changed: bool
    subscriber_count: int


class Delivery(Struct, frozen=True):
    """What one push batch did: pushes sent, devices skipped (another run's claims held them),
    and the first lines of the local push log."""
    sent: int
    skipped: int
    log: list[str]


def schedule_name(space_id: str, moment: str) -> str:
    return f"{space_id}-{moment}"


def schedule_times(scheduled_start: datetime, now: datetime, heads_up: timedelta) -> dict[str, datetime]:
    """When each scheduled moment fires. A heads-up that would already be past is skipped."""
    times = {START: scheduled_start}
    if scheduled_start - heads_up > now:
        times[HOST_HEADS_UP] = scheduled_start - heads_up
    return times


def device_id_for(platform: str, token: str) -> str:
    """Stable id of a push token: registering the same token again finds the same device."""
    return hashlib.sha256(f"{platform}:{token}".encode()).hexdigest()[:32]


class PushContext(Struct, frozen=True):
    """What a reminder push is about: the Space, the moment and its host."""

    space_id: str
    moment: str
    title: str
    host_id: str
    live: bool


def push_for(ctx: PushContext, audience: str) -> PushMessage:
    """The text a person sees. `audience` is "host", "subscribers" or "invited"."""
    quoted = f"\u201c{ctx.title}\u201d"
    if ctx.moment == HOST_HEADS_UP:
        title, body = "Your Space starts in 30 minutes", f"{quoted} is scheduled to start soon. Get ready."
    elif ctx.moment == START and audience == "host":
        title, body = "It's time to start your Space", f"{quoted} is scheduled to start now."
    elif ctx.moment == START and ctx.live:
        title, body = f"{ctx.host_id} is live now", f"{quoted}: tap to listen."
    elif ctx.moment == START:
        title, body = f"{ctx.host_id}'s Space is starting", f"{quoted}: tap to tune in."
    elif ctx.moment == CANCELED:
        title, body = f"{ctx.host_id} canceled a Space", f"{quoted} will not take place."
    else:
        title, body = f"{ctx.host_id} invited you to speak", f"You are invited to the stage of {quoted}."
    return PushMessage(title=title, body=body, data={"space_id": ctx.space_id, "moment": ctx.moment})


# Subscription notices (services/renewals.py): not about a Space, so they have their own kind
# on the push queue, and their claims are per (subscription, period, notice, device).
RENEWAL_DECLINED, SUBSCRIPTION_LAPSED = "renewal_declined", "subscription_lapsed"
SUBSCRIPTION_NOTICES = (RENEWAL_DECLINED, SUBSCRIPTION_LAPSED)


def subscription_push_subject(subscription_id: str, period: int) -> str:
    """What a subscription notice's claims are keyed by, in place of a Space id: the period the
    renewal would have paid, so each period's notice goes once per device."""
    return f"sub-{subscription_id}-{period}"


def subscription_push(notice: str, creator_id: str) -> PushMessage:
    """The text a subscriber sees when a renewal is declined or the subscription ends. The
    deadline is the grace after the period's end: the first decline comes a day before the end,
    so "within 3 days" is always still true."""
    if notice == RENEWAL_DECLINED:
        grace_days = RENEWAL_GRACE.days
        title = "Update your payment method"
        body = (
            f"Your subscription to @{creator_id} could not be renewed; "
            f"update your card within {grace_days} days to keep it."
        )
    else:
        title = "Subscription ended"
        body = f"Your subscription to @{creator_id} has ended."
    return PushMessage(title=title, body=body, data={"creator_id": creator_id, "notice": notice})
