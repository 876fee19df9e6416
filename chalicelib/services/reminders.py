"""Devices, reminders, schedules and the push fan-out.

The pipeline, each stage idempotent because Scheduler, SQS and Lambda may all deliver twice:

    EventBridge Scheduler (one-time, per Space and moment)      -- or an immediate event
      -> fan-out queue: `fire`    decides who hears, one message per subscriber shard
      -> fan-out queue: `expand`  Queries one shard page by page, batches of 100 users
      -> push queue:    `deliver` claims each (space, moment, device) with a conditional write,
                                  publishes, settles: sent, or claim deleted for a retry
"""
from __future__ import annotations

from typing import Any

import random
from collections.abc import Iterator
from datetime import timedelta

from aws_lambda_powertools import Logger
from msgspec.structs import replace

from chalicelib.config import SERVICE_NAME
from chalicelib.domain.errors import Conflict, DependencyFailed, NotFound, RuleViolation
from chalicelib.domain.events.lifecycle import SpaceCanceled, SpaceCreated, SpaceEdited, SpaceStarted
from chalicelib.domain.reminders import (
    CANCELED,
    HOST_HEADS_UP,
    INVITED,
    SCHEDULED_MOMENTS,
    START,
    Delivery,
    PushContext,
    PushMessage,
    RegisteredDevice,
    ReminderChange,
    device_id_for,
    push_for,
    schedule_name,
    schedule_times,
    subscription_push,
    subscription_push_subject,
)
from chalicelib.domain.commands.people import RegisterDevice
from chalicelib.domain.messages import (
    ExpandShard,
    FanoutMessage,
    FireMoment,
    PushBatch,
    SubscriptionPush,
    reminder_push,
)
from chalicelib.domain.spaces import CANCELED as STATE_CANCELED
from chalicelib.domain.spaces import ENDED, LIVE, SCHEDULED, Space, iso, parse_iso
from chalicelib.ports import EndpointGone, Refused
from chalicelib.services.context import Deps

logger = Logger(child=True, service=SERVICE_NAME)

SUBSCRIBER_PAGE = 1000
# Pages one `expand` invocation reads before handing the rest of its shard to a new message.
PAGES_PER_EXPAND = 20
# Sends recorded per BatchWriteItem (its maximum), and attempts to record them.
SETTLE_BATCH = 25
SETTLE_ATTEMPTS = 4


# ------------------------------------------------------------------------------------ devices


def register_device(deps: Deps, user_id: str, device: RegisterDevice) -> RegisteredDevice:
    platform, token = device.platform, device.token
    device_id = device_id_for(platform, token)
    previous = deps.devices.get(device_id)
    endpoint_arn = deps.push.create_endpoint(platform, token, user_id)
    try:
        deps.devices.register(
            device_id=device_id,
            user_id=user_id,
            platform=platform,
            endpoint_arn=endpoint_arn,
            now=deps.clock.now(),
            previous_owner=previous.user_id if previous else None,
            max_devices=deps.settings.max_devices_per_user,
        )
    except Refused as exc:
        if exc.part == "too_many":
            raise RuleViolation(
                f"at most {deps.settings.max_devices_per_user} devices per user; remove one first",
                code="too_many_devices",
            ) from exc
        raise Conflict("this device was registered elsewhere meanwhile; retry", code="device_moved") from exc
    if previous is None or previous.user_id != user_id:
        deps.telemetry.count("DeviceRegistered")
    return RegisteredDevice(device_id, platform, user_id)


def remove_device(deps: Deps, user_id: str, device_id: str) -> None:
    device = deps.devices.get(device_id)
    if device is None or device.user_id != user_id or not deps.devices.remove(user_id, device_id):
        raise NotFound("no such device of yours", code="device_not_found")
    deps.push.delete_endpoint(device.endpoint_arn)


# ------------------------------------------------------------------------------------ reminders


def set_reminder(deps: Deps, user_id: str, space_id: str) -> ReminderChange:
    space = deps.spaces.get(space_id, with_count=False)
    _require_scheduled(space)
    try:
        changed = deps.reminders.set_reminder(space_id, user_id, deps.clock.now())
    except Refused as exc:
        _require_scheduled(deps.spaces.get(space_id, with_count=False))
        raise Conflict("the Space changed meanwhile; retry", code="space_changed") from exc
    if changed:
        deps.telemetry.count("ReminderSet")
    return _change(deps, space_id, True, changed)


def clear_reminder(deps: Deps, user_id: str, space_id: str) -> ReminderChange:
    deps.spaces.get(space_id, with_count=False)
    changed = deps.reminders.clear_reminder(space_id, user_id)
    return _change(deps, space_id, False, changed)


def _change(deps: Deps, space_id: str, is_set: bool, changed: bool) -> ReminderChange:
    return ReminderChange(space_id, is_set, changed, deps.spaces.get(space_id).subscriber_count)


def _require_scheduled(space: Space) -> None:
    if space.state == SCHEDULED:
        return
    if space.state == LIVE:
        raise Conflict(f"Space {space.id} is already live: join it instead", code="space_live")
    raise Conflict(f"Space {space.id} is {space.state}; reminders are for scheduled Spaces", code=f"space_{space.state}")


# ------------------------------------------------------------------------------------ schedules


def _fire(space: Space, moment: str, user_ids: list[str] | None = None) -> FireMoment:
    return FireMoment(space.id, moment, iso(space.scheduled_start), user_ids)


def schedule_moments(deps: Deps, space: Space) -> None:
    """Create or move the Space's schedules to its scheduled start (both idempotent)."""
    assert space.scheduled_start is not None  # only a scheduled Space has moments
    heads_up = timedelta(minutes=deps.settings.host_heads_up_minutes)
    times = schedule_times(space.scheduled_start, deps.clock.now(), heads_up)
    for moment in SCHEDULED_MOMENTS:
        name = schedule_name(space.id, moment)
        if moment in times:
            deps.scheduler.put_one_time(name, times[moment], _fire(space, moment))
        else:
            deps.scheduler.delete(name)


def unschedule_moments(deps: Deps, space_id: str) -> None:
    for moment in SCHEDULED_MOMENTS:
        deps.scheduler.delete(schedule_name(space_id, moment))


def announce(deps: Deps, space: Space, moment: str, user_ids: list[str] | None = None) -> None:
    """Fire a moment now (early start, cancel, invitations) through the same fan-out queue."""
    deps.fanout_queue.send_batch([_fire(space, moment, None if user_ids is None else list(user_ids))])


def unschedule_or_log(deps: Deps, space_id: str) -> None:
    """Best effort: a schedule left behind checks the Space when it fires and stays quiet."""
    try:
        unschedule_moments(deps, space_id)
    except DependencyFailed:
        logger.warning("schedule delete failed", space_id=space_id)


def _announce_or_log(deps: Deps, space: Space, moment: str, user_ids: list[str] | None = None) -> bool:
    try:
        announce(deps, space, moment, user_ids)
        return True
    except DependencyFailed:
        logger.warning("announce failed", space_id=space.id, moment=moment)
        deps.telemetry.count("AnnounceFailed")
        return False


# ------------------------------------------------------------------- reactions to domain events


def tell_invited_people(deps: Deps, event: SpaceCreated) -> None:
    """The co-hosts and speakers a host named when creating the Space hear they were invited."""
    invitees = list(event.space.cohosts) + event.space.invited_user_ids
    if invitees:
        _announce_or_log(deps, event.space, INVITED, invitees)


def tell_subscribers_live_now(deps: Deps, event: SpaceStarted) -> None:
    """"Live now" goes out at once; only then are the pending schedules removed (if the
    announce failed, the start schedule still fires, late rather than never)."""
    if event.from_schedule and _announce_or_log(deps, event.space, START):
        unschedule_or_log(deps, event.space.id)


def move_schedules(deps: Deps, event: SpaceEdited) -> None:
    """An edit that names the scheduled start puts the schedules again (raises DependencyFailed:
    the edit answers 503 and its retry moves them)."""
    if event.start_moved:
        schedule_moments(deps, event.edited)


def drop_schedules(deps: Deps, event: SpaceCanceled) -> None:
    unschedule_or_log(deps, event.space.id)


def tell_subscribers_canceled(deps: Deps, event: SpaceCanceled) -> None:
    """Raises DependencyFailed: the cancel answers 503 and its retry announces again (pushes
    are deduplicated per device)."""
    announce(deps, event.space, CANCELED)


# ------------------------------------------------------------------------------------ fan-out


def handle_fanout(deps: Deps, message: FanoutMessage) -> None:
    if isinstance(message, FireMoment):
        fire(deps, message)
    else:
        expand(deps, message)


def fire(deps: Deps, message: FireMoment) -> None:
    """A moment is due: decide whether it still applies, then who hears about it."""
    space_id, moment = message.space_id, message.moment
    try:
        space = deps.spaces.get(space_id, with_count=False)
    except NotFound:
        logger.info("fire for a Space that does not exist", space_id=space_id, moment=moment)
        return
    if not _still_applies(space, message):
        logger.info("stale moment skipped", space_id=space_id, moment=moment, state=space.state)
        return
    context = PushContext(space.id, moment, space.title, space.creator_id, space.state == LIVE)
    batches = []
    if moment in (HOST_HEADS_UP, START):
        batches.append(reminder_push(context, "host", [space.creator_id]))
    if moment == INVITED:
        for chunk in _chunks(message.user_ids or [], deps.settings.push_batch_size):
            batches.append(reminder_push(context, "invited", chunk))
    if batches:
        deps.push_queue.send_batch(batches)
    if moment in (START, CANCELED):
        deps.fanout_queue.send_batch(
            [ExpandShard(space.id, moment, space.title, space.creator_id, context.live, shard)
             for shard in range(deps.reminders.shards)]
        )
    deps.telemetry.count("ReminderMomentFired")
    logger.info("moment fired", space_id=space_id, moment=moment)


def _still_applies(space: Space, message: FireMoment) -> bool:
    moment = message.moment
    if moment == CANCELED:
        return space.state == STATE_CANCELED
    if space.state in (STATE_CANCELED, ENDED):
        return False
    if moment == HOST_HEADS_UP:
        return space.state == SCHEDULED and _same_start(space, message.scheduled_start)
    if moment == START and space.state == SCHEDULED:
        return _same_start(space, message.scheduled_start)
    return True


def _same_start(space: Space, sent: str | None) -> bool:
    """A schedule from before a reschedule carries the old start: it must not fire."""
    if sent is None or space.scheduled_start is None:
        return True
    try:
        return parse_iso(sent, "scheduled_start") == space.scheduled_start.replace(microsecond=0)
    except Exception:
        return False


def expand(deps: Deps, message: ExpandShard) -> None:
    """Turn one subscriber shard into push batches, a bounded number of pages per invocation."""
    cursor = message.cursor
    for _ in range(PAGES_PER_EXPAND):
        users, cursor = deps.reminders.subscriber_page(message.space_id, message.shard, cursor, SUBSCRIBER_PAGE)
        if users:
            deps.push_queue.send_batch(
                [reminder_push(message.context, "subscribers", chunk)
                 for chunk in _chunks(users, deps.settings.push_batch_size)]
            )
        if cursor is None:
            return
    deps.fanout_queue.send_batch([replace(message, cursor=cursor)])


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# ------------------------------------------------------------------------------------ delivery


def deliver(deps: Deps, batch: PushBatch) -> Delivery:
    """Push one batch. Every device gets it at most once, however often this runs.

    A batch is a Space's moment (reminders), or a subscription notice (`kind` "subscription",
    services/renewals.py); both are claimed per (subject, moment, device), the subject being the
    Space or the subscription's period.

    Raises DependencyFailed when some publishes still fail after retries: their claims were
    deleted, so the queue's redelivery sends exactly those again.
    """
    subject, moment, message = _push_of(batch)
    devices = deps.devices.devices_for(batch.user_ids)
    targets = {(user, device_id): (arn, platform) for user, items in devices.items() for device_id, arn, platform in items}
    owned = deps.push_claims.claim(subject, moment, list(targets))
    sent, failed, log, unsettled = [], [], [], []
    for user_id, device_id in owned:
        arn, platform = targets[(user_id, device_id)]
        outcome = _publish_with_retries(deps, arn, platform, message)
        if outcome == "failed":
            failed.append((user_id, device_id))
            continue
        if outcome == "gone":
            _forget_device(deps, user_id, device_id, arn)
        sent.append((user_id, device_id))
        unsettled.append((user_id, device_id))
        log.append(f"{outcome}: {user_id} ({platform}) {message.title}: {message.body}")
        # Settle as we go, one BatchWriteItem per 25: if this worker dies, at most the last 25
        # sends are unrecorded (and could be sent again once their claims' lease runs out).
        if len(unsettled) == SETTLE_BATCH:
            _settle(deps, subject, moment, unsettled, [])
            unsettled = []
    _settle(deps, subject, moment, unsettled, failed)
    if sent:
        deps.telemetry.count("PushSent", len(sent))
    if failed:
        deps.telemetry.count("PushFailed", len(failed))
        raise DependencyFailed(f"{len(failed)} pushes failed; the batch will be retried", code="push_unavailable")
    return Delivery(sent=len(sent), skipped=len(targets) - len(owned), log=log[:20])


def _push_of(batch: PushBatch) -> tuple[str, str, PushMessage]:
    """(claim subject, moment, message) of a push batch."""
    if isinstance(batch, SubscriptionPush):
        subject = subscription_push_subject(batch.subscription_id, batch.period)
        return subject, batch.notice, subscription_push(batch.notice, batch.creator_id)
    return batch.space_id, batch.moment, push_for(batch.context, batch.audience)


def _settle(deps: Deps, subject: str, moment: str, sent: list[Any], failed: list[Any]) -> None:
    """Record sends (and release failed claims), retrying: a send left unrecorded is the one way
    a push could go out twice."""
    if not sent and not failed:
        return
    for attempt in range(SETTLE_ATTEMPTS):
        try:
            deps.push_claims.settle(subject, moment, sent, failed)
            return
        except DependencyFailed:
            if attempt + 1 == SETTLE_ATTEMPTS:
                raise
            deps.sleep(0.1 * 2**attempt)


def _publish_with_retries(deps: Deps, arn: str, platform: str, message: PushMessage) -> str:
    attempts = deps.settings.push_publish_attempts
    for attempt in range(attempts):
        try:
            deps.push.publish(arn, platform, message)
            return "sent"
        except EndpointGone:
            return "gone"
        except DependencyFailed:
            if attempt + 1 < attempts:
                deps.sleep(min(2.0, 0.05 * 2**attempt) * (0.5 + random.random()))
    return "failed"


def _forget_device(deps: Deps, user_id: str, device_id: str, arn: str) -> None:
    """SNS disabled this endpoint (app uninstalled, token expired): stop pushing to it."""
    deps.devices.remove(user_id, device_id)
    try:
        deps.push.delete_endpoint(arn)
    except DependencyFailed:
        logger.warning("could not delete a disabled endpoint", device_id=device_id)
    deps.telemetry.count("DeviceDisabled")

