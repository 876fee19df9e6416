"""The one dispatcher of domain events (chalicelib/domain/events/): who reacts to what.

A use case commits its write, then publishes what happened (`deps.publish(SpaceEnded(...))`;
bootstrap wires `Deps.dispatcher` to `publish` below). The reactions run in-process, in the
order of the table, each in turn:

- a reaction that fails is logged with the event and counted (`EventHandlerFailed`), and the
  next one still runs: stopping the recording must not keep the stage from being released;
- `publish` returns the failures, so a use case whose contract is "503, and the client retries"
  (canceling, blocking) raises the first one after every reaction had its turn. Every reaction
  is safe to run again; those that defer work (a stage delete left `release_pending`, a
  schedule left to find its Space canceled) keep doing so inside themselves.

The use cases never import this module (it imports them: recording, room events, ...), so no
import cycle runs through it.
"""
from __future__ import annotations

from typing import Any, Callable

from aws_lambda_powertools import Logger

from chalicelib.config import SERVICE_NAME
from chalicelib.domain.errors import DomainError
from chalicelib.domain.events.counted import ClipMade, ReactionSent, ReplayPlayed, SubscriptionPaid
from chalicelib.domain.events.lifecycle import (
    LiveCountsRefreshed,
    SpaceCanceled,
    SpaceCreated,
    SpaceEdited,
    SpaceEnded,
    SpaceStarted,
)
from chalicelib.domain.events.stage import BlockedWhileLive, SpeakerAdded, SpeakerRemoved
from chalicelib.services import (
    analytics,
    media_release,
    overflow,
    recording,
    reminders,
    replay_landing,
    room_events,
    stage_moderation,
    tickets,
)
from chalicelib.services.context import Deps

logger = Logger(child=True, service=SERVICE_NAME)

Handler = Callable[[Deps, Any], None]

# Event type -> its reactions, in the order they run.
HANDLERS: dict[type, tuple[Handler, ...]] = {
    SpaceCreated: (
        reminders.tell_invited_people,  # co-hosts and invited speakers named at creation
    ),
    SpaceEdited: (
        reminders.move_schedules,  # failing, the edit answers 503 and the client's retry moves them
        room_events.announce_space_updated,
    ),
    SpaceStarted: (
        recording.announce_recording_on,
        reminders.tell_subscribers_live_now,  # then drops the start schedules
    ),
    SpaceEnded: (
        replay_landing.land_replay_after_end,  # says so in the room, then lands the replay if it is complete
        room_events.announce_space_ended,  # everyone in the room hears it before the room goes
        media_release.release_media_after_end,  # overflow, stage, room; else release_pending
    ),
    SpaceCanceled: (
        reminders.drop_schedules,
        tickets.queue_refunds,  # failing, the cancel answers 503 and the client's retry queues again
        reminders.tell_subscribers_canceled,
    ),
    SpeakerAdded: (room_events.announce_speaker_added,),
    SpeakerRemoved: (room_events.announce_speaker_removed,),
    BlockedWhileLive: (stage_moderation.remove_blocked_user,),
    LiveCountsRefreshed: (
        overflow.start_overflows_needed,
        overflow.restart_stopped_overflows,
    ),
    # Host analytics' totals (docs/analytics.md): each counted once per event id.
    ReactionSent: (analytics.count_reaction,),
    ReplayPlayed: (analytics.count_replay_play,),
    ClipMade: (analytics.count_clip,),
    SubscriptionPaid: (analytics.count_subscription,),
}


def publish(deps: Deps, event: object, handlers: dict[type, tuple[Handler, ...]] = HANDLERS) -> list[Exception]:
    """Run every reaction to `event`; return the exceptions of those that failed (logged)."""
    failures: list[Exception] = []
    for handler in handlers.get(type(event), ()):
        try:
            handler(deps, event)
        except Exception as exc:  # noqa: BLE001 - one reaction's failure must not stop the others
            # A dependency that failed is expected (and retried or deferred); anything else is a bug.
            log = logger.warning if isinstance(exc, DomainError) else logger.exception
            log(
                "event handler failed",
                handler=f"{handler.__module__}.{handler.__qualname__}",
                error=str(exc),
                **describe(event),
            )
            deps.telemetry.count("EventHandlerFailed")
            failures.append(exc)
    return failures


def describe(event: object) -> dict[str, Any]:
    """The event for a log line: its type and the ids it names (not the whole Space)."""
    fields: dict[str, Any] = {"event": type(event).__name__}
    space = getattr(event, "space", None)
    space_id = getattr(event, "space_id", None) or getattr(space, "id", None)
    if space_id:
        fields["space_id"] = space_id
    for name in ("user_id", "by"):
        value = getattr(event, name, None)
        if value:
            fields[name] = value
    return fields
