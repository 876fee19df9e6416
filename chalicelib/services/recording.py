"""Use cases of recording: the recorded stage (its own stage, its start, telling the room) and
consent to come on stage. The rest of recording, each in its own module: consent withdrawal and
replays (`services/replays.py`), clips (`services/clips.py`), captions (`services/captions.py`),
who holds a ticketed Space's pass (`services/passes.py`), and the replay's landing, mixing and
the cutting of clips after the end (`services/replay_landing.py`). docs/recording.md tells the
whole story.

- a recorded Space gets its own stage, created with IVS individual participant recording (audio
  only), not one from the pool (pooled stages record nothing; each stage serves one Space);
  no composition is involved;
- ending commits first (the replay `processing`, on the landing job's sparse index); IVS writes
  the last files asynchronously, so `replay_landing.on_space_ended` tries to land the replay once
  and the landing job (`replay_landing.land_recordings`) goes on;
- a withdrawal asks for the next version of the replay: the job mixes it again without them,
  and cuts every clip again from it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any
from datetime import datetime

from aws_lambda_powertools import Logger
from msgspec.structs import replace

from chalicelib.config import SERVICE_NAME
from chalicelib.domain import room_events as ev
from chalicelib.domain.recording import RecordingInfo, consent_required
from chalicelib.domain.spaces import Space, StageInfo, iso
from chalicelib.ports import Refused
from chalicelib.services import room_events, stage_pool
from chalicelib.services.context import Deps

if TYPE_CHECKING:  # annotations only
    from chalicelib.domain.events.lifecycle import SpaceStarted

logger = Logger(child=True, service=SERVICE_NAME)


# ------------------------------------------------------------------------ telling the room


def announce(deps: Deps, space: Space, name: str, **attrs: Any) -> None:
    """THE ONE place this feature tells a Space's room something: recording turned on or off
    (`recording_state`), a caption segment (`caption`), a withdrawn consent
    (`recording_consent_withdrawn`). Through room events (best effort, like every room event);
    tests may also collect what was announced in `deps.room_announcements`. A caption too long
    for an event's 1 KB of attributes goes without its text (`text_omitted`): clients read it
    with GET /spaces/{id}/captions."""
    if deps.room_announcements is not None:
        deps.room_announcements.append((space.id, name, dict(attrs)))
    try:
        ev.event_attributes(**attrs)
    except ValueError:
        attrs = {k: v for k, v in attrs.items() if k != "text"} | {"text_omitted": True}
    room_events.emit(deps, space, ev.RECORDING_STATE if name == "recording" else name, **attrs)


# ------------------------------------------------------------------------ the recorded stage


def with_recording(space: Space, on: bool, now: datetime) -> Space:
    """The Space as the host decided at its start: recording on (the host consents) or off."""
    return replace(space, recording=on, consents={space.creator_id: iso(now)} if on else {})


def acquire_stage(deps: Deps, space: Space) -> StageInfo:
    """The stage a Space goes live on. A recorded Space's is created now, with individual
    participant recording (a pooled stage was created without it, and IVS takes the
    configuration only at creation); the others come from the pool."""
    if not space.recording:
        return stage_pool.acquire_stage(deps, space.id)
    return deps.media.create_stage(space.id, record=True)


def start_for(deps: Deps, space: Space) -> Space:
    """The Space, with its recording, to be written live: offset 0 of the replay is now, and IVS
    writes under the stage's id."""
    if not space.recording:
        return space
    assert space.stage is not None  # started on the stage the Space just got
    info = RecordingInfo(started_at=deps.clock.now(), prefix=space.stage.stage_id)
    logger.info("recording started", space_id=space.id, prefix=info.prefix)
    return replace(space, recording_info=info)


def started(deps: Deps, space: Space) -> None:
    """After the write that made a recorded Space live."""
    if space.recording and space.recording_info is not None:
        deps.telemetry.count("RecordingStarted")
        announce(deps, space, "recording", state="on", started_at=iso(space.recording_info.started_at))


def announce_recording_on(deps: Deps, event: SpaceStarted) -> None:
    """Reaction to SpaceStarted (services/dispatch.py)."""
    started(deps, event.space)


# ------------------------------------------------------------------------ consent


def consent_for_stage(deps: Deps, space: Space, user_id: str, consent: bool) -> datetime | None:
    """Accepting an invitation in a recorded Space: the time of the user's consent (to store
    with their coming on stage), None when none is needed (not recorded, or consented before).
    Without `recording_consent: true` the user stays a listener: 422 recording_consent_required."""
    if not space.recording or user_id in space.consents:
        return None
    if not consent:
        raise consent_required(space.id)
    return deps.clock.now()


def cohost_may_publish(deps: Deps, space: Space | None, space_id: str, user_id: str, consent: bool) -> bool:
    """A co-host joining a recorded Space publishes only once they consented (co-hosts named by
    the host are co-hosts at once, but are recorded only with their own consent). Consent given
    now (`recording_consent: true` in the join) is stored first."""
    if space is None:
        space = deps.spaces.get(space_id, with_count=False)
    if not space.recording or user_id in space.consents:
        return True
    if not consent:
        return False
    try:
        deps.recordings.record_consent(space_id, user_id, deps.clock.now())
    except Refused:
        return False  # no longer a co-host of the live Space: a listener's token it is
    deps.telemetry.count("RecordingConsentGiven")
    logger.info("recording consent", space_id=space_id, user_id=user_id, role="cohost")
    return True
