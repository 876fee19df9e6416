"""Use cases of recording: consent, the composition's start and stop, the replay's landing,
reading and deleting replays, and who may hear them. docs/recording.md tells the whole story.

Order of effects, as for stages (services/spaces.py):
- a recorded Space's composition starts right after its stage is created and BEFORE the write
  that makes it live; if IVS refuses, the stage is released and the request fails with nothing
  changed, so no Space is ever live claiming a recording it does not have;
- ending commits first (with the replay `processing` and on the landing job's sparse index),
  then stops the composition; IVS writes the last files asynchronously, so the replay lands
  when its end marker is in the bucket (checked at once, then by `land_recordings`): its HLS
  recording is remuxed into one audio file, and the replay is available once that file exists.
"""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime

from aws_lambda_powertools import Logger

from chalicelib.config import SERVICE_NAME
from chalicelib.domain.errors import Conflict, DependencyFailed, Forbidden, Gone, NotFound, RuleViolation
from chalicelib.domain.permissions import require_creator
from chalicelib.domain.recording import (
    AVAILABLE,
    DELETED,
    FAILED,
    PROCESSING,
    REMUXING,
    TRANSCRIPT_FAILED,
    TRANSCRIPT_LIVE,
    TRANSCRIPT_READY,
    TRANSCRIPT_RUNNING,
    RecordingInfo,
    available_until,
    build_webvtt,
    consent_required,
    parse_recording_end,
    replay_file_key,
    replay_files_prefix,
    validate_consent,
)
from chalicelib.domain.spaces import SCHEDULED, SUBSCRIBERS, TICKETED, Space, iso
from chalicelib.domain.tickets import PAID
from chalicelib.ports import Refused
from chalicelib.services.context import Deps

logger = Logger(child=True, service=SERVICE_NAME)

STOP_ATTEMPTS = 3
_JOB_NAME_FORBIDDEN = re.compile(r"[^0-9a-zA-Z._-]")


# ------------------------------------------------------------------------ telling the room


def _announce(deps: Deps, space: Space, name: str, **attrs) -> None:
    """THE ONE place this feature tells a Space's room something: recording turned on or off
    (`recording_state`), a caption segment (`caption`). Through room events (best effort, like
    every room event); tests may also collect what was announced in `deps.room_announcements`.
    A caption too long for an event's 1 KB of attributes goes without its text
    (`text_omitted`): clients read it with GET /spaces/{id}/captions."""
    from chalicelib.domain import room_events as ev
    from chalicelib.services import room_events

    if deps.room_announcements is not None:
        deps.room_announcements.append((space.id, name, dict(attrs)))
    try:
        ev.event_attributes(**attrs)
    except ValueError:
        attrs = {k: v for k, v in attrs.items() if k != "text"} | {"text_omitted": True}
    room_events.emit(deps, space, ev.RECORDING_STATE if name == "recording" else name, **attrs)


# ------------------------------------------------------------------------ starting and stopping


def with_recording(space: Space, on: bool, now: datetime) -> Space:
    """The Space as the host decided at its start: recording on (the host consents) or off."""
    return replace(space, recording=on, consents={space.creator_id: iso(now)} if on else {})


def start_for(deps: Deps, space: Space) -> Space:
    """Start the composition of a recorded Space on its (new) stage; the Space, with its
    recording, to be written live. Raises DependencyFailed / RuleViolation if IVS cannot."""
    if not space.recording:
        return space
    if not deps.remux.configured:
        # A recording this deployment could not make playable (nor transcribe) is not made.
        raise RuleViolation("recording is not configured in this deployment", code="recording_not_available")
    handle = deps.media.start_recording(space.id, space.stage.arn)
    logger.info("recording started", space_id=space.id, composition_arn=handle.composition_arn)
    return replace(
        space,
        recording_info=RecordingInfo(
            started_at=handle.started_at, composition_arn=handle.composition_arn, prefix=handle.prefix
        ),
    )


def started(deps: Deps, space: Space) -> None:
    """After the write that made a recorded Space live."""
    if space.recording and space.recording_info is not None:
        deps.telemetry.count("RecordingStarted")
        _announce(deps, space, "recording", state="on", started_at=iso(space.recording_info.started_at))


def discard(deps: Deps, space: Space) -> None:
    """Best effort, when the Space the composition was started for was not written live: stop
    it (IVS also stops a composition a minute after its stage empties or is deleted)."""
    info = space.recording_info
    if info is None or not info.composition_arn:
        return
    try:
        deps.media.stop_recording(info.composition_arn)
    except DependencyFailed:
        logger.warning("could not stop an unused composition", space_id=space.id, composition_arn=info.composition_arn)


def stop_after_end(deps: Deps, space: Space) -> None:
    """The Space ended (committed): stop its composition, then try to land the replay at once
    (locally the recording is complete on stop; in AWS the landing job usually lands it)."""
    info = space.recording_info
    if not space.recording or info is None or not info.composition_arn:
        return
    prefix = None
    for attempt in range(1, STOP_ATTEMPTS + 1):
        try:
            prefix = deps.media.stop_recording(info.composition_arn)
            break
        except DependencyFailed:
            logger.warning("recording stop failed", space_id=space.id, attempt=attempt)
    else:
        # IVS stops the composition itself a minute after the stage empties (it is deleted next).
        deps.telemetry.count("RecordingStopDeferred")
    deps.telemetry.count("RecordingStopped")
    _announce(deps, space, "recording", state="off")
    try:
        if prefix and prefix != info.prefix:
            deps.recordings.set_prefix(space.id, prefix)
        land(deps, space.id)
    except DependencyFailed:
        logger.warning("replay not landed at the end; the landing job will", space_id=space.id)


# ------------------------------------------------------------------------ consent


def consent_for_stage(deps: Deps, space: Space, user_id: str, body: dict | None) -> datetime | None:
    """Accepting an invitation in a recorded Space: the time of the user's consent (to store
    with their coming on stage), None when none is needed (not recorded, or consented before).
    Without `recording_consent: true` the user stays a listener: 422 recording_consent_required."""
    consent = validate_consent(body)
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


# ------------------------------------------------------------------------ landing


def land_recordings(deps: Deps, limit: int = 50) -> int:
    """The scheduled job: land the replays IVS has finished writing, follow transcriptions.
    Returns how many Spaces changed. A Query on the sparse `recording_pending` index."""
    changed = 0
    for space_id in deps.recordings.pending(limit):
        try:
            if land(deps, space_id, from_job=True):
                changed += 1
        except DependencyFailed:
            logger.warning("replay landing failed; next run retries", space_id=space_id)
        except NotFound:
            deps.recordings.drop_pending(space_id)
    return changed


def land(deps: Deps, space_id: str, *, from_job: bool = False) -> bool:
    """One Space's next steps, as far as they go now: processing -> remuxing (its recording is
    complete in the bucket: a remux job starts) -> available (the job wrote the replay's file),
    or a running transcription -> its WebVTT. True when something changed."""
    space = deps.spaces.get(space_id, with_count=False)
    info = space.recording_info
    if info is not None and info.replay_state == PROCESSING:
        return _land_recording(deps, space, info)
    if info is not None and info.replay_state == REMUXING:
        return _follow_remux(deps, space, info)
    if info is not None and info.replay_state == AVAILABLE and info.transcript_state == TRANSCRIPT_RUNNING:
        return _follow_transcription(deps, space, info)
    if from_job:
        deps.recordings.drop_pending(space_id)  # deleted or failed meanwhile: nothing left to do
    return False


def _land_recording(deps: Deps, space: Space, info: RecordingInfo) -> bool:
    now = deps.clock.now()
    ended = deps.replays.get_json(f"{info.prefix}/events/recording-ended.json") if info.prefix else None
    if ended is None:
        stopped = info.stopped_at or space.ended_at
        if stopped is not None and (now - stopped).total_seconds() > deps.settings.replay_landing_deadline_seconds:
            if deps.recordings.fail(space.id):
                deps.telemetry.count("ReplayFailed")
                logger.warning("no recording arrived; replay failed", space_id=space.id, prefix=info.prefix)
                return True
        return False
    source_key, duration_ms = parse_recording_end(ended, info.prefix)
    if duration_ms is None and info.started_at and info.stopped_at:
        duration_ms = int((info.stopped_at - info.started_at).total_seconds() * 1000)
    job = deps.remux.start(_remux_name(deps, space.id, 1), source_key, replay_file_key(space.id))
    if not deps.recordings.start_remux(
        space.id, job_id=job, source_key=source_key, duration_ms=duration_ms, prefix=info.prefix, now=now
    ):
        return False  # another landing started it (the same job, within MediaConvert's minute), or deleted
    logger.info("recording landed; remux started", space_id=space.id, remux_job=job)
    _follow_remux(
        deps,
        space,
        replace(info, replay_state=REMUXING, source_key=source_key, remux_job=job, remux_attempts=1, remux_started_at=now),
    )
    return True


def _remux_name(deps: Deps, space_id: str, attempt: int) -> str:
    return f"{deps.settings.table_prefix}-{space_id}-{attempt}"


def _follow_remux(deps: Deps, space: Space, info: RecordingInfo) -> bool:
    """remuxing -> available when the job completed; a failed (or stuck) job is started again
    while attempts are left, then the replay fails."""
    status = deps.remux.status(info.remux_job)
    if status.state == "COMPLETE":
        return _make_available(deps, space, info)
    now = deps.clock.now()
    if status.state != "ERROR":
        started = info.remux_started_at
        if started is None or (now - started).total_seconds() <= deps.settings.replay_remux_timeout_seconds:
            return False
        status = replace(status, failure=f"still running after {deps.settings.replay_remux_timeout_seconds} s")
    deps.telemetry.count("ReplayRemuxFailed")
    logger.warning("replay remux failed", space_id=space.id, remux_job=info.remux_job, attempt=info.remux_attempts, reason=status.failure)
    if info.remux_attempts < deps.settings.replay_remux_attempts:
        attempt = info.remux_attempts + 1
        job = deps.remux.start(_remux_name(deps, space.id, attempt), info.source_key, replay_file_key(space.id))
        return deps.recordings.retry_remux(space.id, failed_job=info.remux_job, job_id=job, now=now)
    if deps.recordings.fail(space.id, remux_job=info.remux_job):
        deps.telemetry.count("ReplayFailed")
        logger.warning("no remux succeeded; replay failed", space_id=space.id, attempts=info.remux_attempts)
        return True
    return False


def _make_available(deps: Deps, space: Space, info: RecordingInfo) -> bool:
    """The replay's file exists: prepare its captions, then make it available."""
    media_key = replay_file_key(space.id)
    job = transcript_key = None
    if deps.recordings.has_captions(space.id):
        # Captioned live: the replay's WebVTT is those segments, stored next to the recording so
        # a replay answer can hand out a URL for it too.
        transcript_key = f"captions/{space.id}/live.vtt"
        deps.replays.put_text(transcript_key, build_webvtt(deps.recordings.all_captions(space.id)), "text/vtt")
        transcript_state = TRANSCRIPT_LIVE
    else:
        # Transcribe reads one media file (not HLS): the remuxed one.
        job = _JOB_NAME_FORBIDDEN.sub("-", f"{deps.settings.table_prefix}-{space.id}")[:200]
        deps.transcription.start(job, media_key, f"captions/{space.id}/transcript.json", deps.settings.transcribe_language)
        transcript_state = TRANSCRIPT_RUNNING
    landed = deps.recordings.land(
        space.id,
        remux_job=info.remux_job,
        media_key=media_key,
        transcript_state=transcript_state,
        transcription_job=job,
        transcript_key=transcript_key,
    )
    if landed:
        deps.telemetry.count("ReplayAvailable")
        logger.info("replay available", space_id=space.id, transcript=transcript_state)
    return landed


def _follow_transcription(deps: Deps, space: Space, info: RecordingInfo) -> bool:
    status = deps.transcription.status(info.transcription_job)
    if status.state == "COMPLETED" and status.subtitle_key:
        done = deps.recordings.finish_transcript(space.id, state=TRANSCRIPT_READY, transcript_key=status.subtitle_key)
        if done:
            deps.telemetry.count("TranscriptReady")
        return done
    if status.state in ("COMPLETED", "FAILED"):
        logger.warning("transcription failed", space_id=space.id, reason=status.failure)
        done = deps.recordings.finish_transcript(space.id, state=TRANSCRIPT_FAILED, transcript_key=None)
        if done:
            deps.telemetry.count("TranscriptFailed")
        return done
    return False


# ------------------------------------------------------------------------ the audience


def require_audience(deps: Deps, space: Space, user_id: str) -> None:
    """Whoever could join the Space may hear its replay and read its captions: not a removed
    or blocked user; for a ticketed Space a paid ticket, for a subscriber-only one an active
    subscription, unless they were the hosts, on stage, invited, or recorded."""
    if user_id == space.creator_id:
        return
    participant = deps.spaces.get_participant(space.id, user_id)
    if participant is not None and participant.removed:
        raise Forbidden("you were removed from this Space", code="removed_from_space")
    if deps.recordings.is_blocked(space.creator_id, user_id):
        raise Forbidden("the host has blocked you", code="blocked_by_host")
    if not space.needs_pass(user_id) or user_id in space.consents:
        return
    if space.access == TICKETED:
        ticket = deps.tickets.get(space.id, user_id)
        if ticket is None or ticket.status != PAID:
            raise Forbidden("this Space was ticketed: its replay is for ticket holders", code="ticket_required")
    elif space.access == SUBSCRIBERS:
        sub = deps.subscriptions.get(space.creator_id, user_id)
        if sub is None or not sub.grants_access(deps.clock.now()):
            raise Forbidden(
                f"this Space is for {space.creator_id}'s subscribers: subscribe to hear it",
                code="subscription_required",
            )


# ------------------------------------------------------------------------ replays


def _replay_of(deps: Deps, space_id: str, user_id: str) -> tuple[Space, RecordingInfo, datetime, datetime]:
    """The Space, its available replay, until when, and now; or the precise refusal."""
    space = deps.spaces.get(space_id, with_count=False)
    info = space.recording_info
    if not space.recording or info is None:
        if space.recording and space.state == SCHEDULED:
            raise Conflict(f"Space {space_id} has not started: its replay comes after the end", code="replay_not_ready")
        raise NotFound(f"Space {space_id} was not recorded", code="replay_not_found")
    require_audience(deps, space, user_id)
    if info.replay_state is None:
        raise Conflict(f"Space {space_id} is still live: its replay comes after the end", code="replay_not_ready")
    if info.replay_state == DELETED:
        raise NotFound(f"the host deleted the replay of Space {space_id}", code="replay_not_found")
    now = deps.clock.now()
    until = available_until(space.ended_at, deps.settings.replay_retention_days)
    if until is None or now >= until:
        raise Gone(
            f"the replay of Space {space_id} was available until {iso(until)}", code="replay_expired"
        )
    if info.replay_state == FAILED:
        raise NotFound(f"Space {space_id}'s recording could not be processed", code="replay_not_found")
    if info.replay_state != AVAILABLE or not info.media_key:
        raise Conflict(f"the replay of Space {space_id} is still being processed", code="replay_not_ready")
    return space, info, until, now


def get_replay(deps: Deps, user_id: str, space_id: str) -> dict:
    space, info, until, now = _replay_of(deps, space_id, user_id)
    # Short-lived, and never outliving the retention.
    ttl = max(1, min(deps.settings.replay_url_seconds, int((until - now).total_seconds())))
    media = deps.replays.presign_get(info.media_key, ttl)
    captions = None
    if info.transcript_key and info.transcript_state in (TRANSCRIPT_LIVE, TRANSCRIPT_READY):
        captions = deps.replays.presign_get(info.transcript_key, ttl).url
    deps.telemetry.count("ReplayServed")
    return {
        "space_id": space.id,
        "url": media.url,
        "expires_at": iso(media.expires_at),
        "duration_seconds": round(info.duration_ms / 1000) if info.duration_ms is not None else None,
        "available_until": iso(until),
        "captions_url": captions,
        "captions": info.transcript_state or "none",
    }


def replay_captions(deps: Deps, user_id: str, space_id: str) -> str:
    """The replay's WebVTT (live segments, or Transcribe's subtitles)."""
    _, info, _, _ = _replay_of(deps, space_id, user_id)
    if info.transcript_state == TRANSCRIPT_RUNNING:
        raise Conflict("the replay's captions are still being transcribed", code="captions_not_ready")
    text = deps.replays.get_text(info.transcript_key) if info.transcript_key else None
    if text is None or info.transcript_state not in (TRANSCRIPT_LIVE, TRANSCRIPT_READY):
        raise NotFound(f"the replay of Space {space_id} has no captions", code="captions_not_found")
    return text


def delete_replay(deps: Deps, user_id: str, space_id: str) -> dict:
    """The host deletes a replay: marked deleted first (no URL is handed out from then on), then
    its objects go. A 503 from S3 is retried by repeating the request."""
    space = deps.spaces.get(space_id, with_count=False)
    require_creator(space, user_id, "delete the replay")
    info = space.recording_info
    if not space.recording or info is None:
        raise NotFound(f"Space {space_id} was not recorded", code="replay_not_found")
    if info.replay_state is None:
        raise Conflict(f"Space {space_id} is still live: end it first", code="replay_not_ready")
    changed = deps.recordings.delete_replay(space_id)
    removed = deps.replays.delete_prefix(info.prefix) if info.prefix else 0
    removed += deps.replays.delete_prefix(replay_files_prefix(space_id))
    removed += deps.replays.delete_prefix(f"captions/{space_id}")
    if changed:
        deps.telemetry.count("ReplayDeleted")
        logger.info("replay deleted", space_id=space_id, objects=removed)
    return {"space_id": space_id, "deleted": True, "objects_deleted": removed}
