"""Use cases of recording: consent, the composition's start and stop, the replay's landing,
reading and deleting replays, and who may hear them. docs/recording.md tells the whole story.

Order of effects, as for stages (services/spaces.py):
- a recorded Space's composition starts right after its stage is created and BEFORE the write
  that makes it live; if IVS refuses, the stage is released and the request fails with nothing
  changed, so no Space is ever live claiming a recording it does not have;
- while live, the rank job keeps the recording's composition running (`keep_alive`): one IVS
  stopped on its own is started again, a new segment under its own S3 prefix, at most
  `recording_max_restarts` times;
- ending commits first (with the replay `processing` and on the landing job's sparse index),
  then stops the composition; IVS writes the last files asynchronously, so the replay lands
  when every segment's end marker is in the bucket (checked at once, then by
  `land_recordings`; after `replay_segment_wait_seconds` without some, from those that landed):
  the segments' HLS recordings are remuxed, in order, into one audio file, and the replay is
  available once that file exists.
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
    LandedSegment,
    RecordingInfo,
    available_until,
    build_webvtt,
    consent_required,
    landing_plan,
    parse_recording_end,
    replay_duration_ms,
    replay_file_key,
    replay_files_prefix,
)
from chalicelib.domain.spaces import SCHEDULED, SUBSCRIBERS, TICKETED, Space, iso
from chalicelib.domain.tickets import PAID
from chalicelib.ports import Refused
from chalicelib.services import compositions
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
    assert space.stage is not None  # started on the stage the Space just got
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
    arn = info.composition_arn
    try:
        # Read again: the rank job may have restarted the composition after `space` was read.
        info = deps.spaces.get(space.id, with_count=False).recording_info or info
        arn = info.composition_arn or arn
    except DependencyFailed:
        pass
    prefix = None
    for attempt in range(1, STOP_ATTEMPTS + 1):
        try:
            prefix = deps.media.stop_recording(arn)
            break
        except DependencyFailed:
            logger.warning("recording stop failed", space_id=space.id, attempt=attempt)
    else:
        # IVS stops the composition itself a minute after the stage empties (it is deleted next).
        deps.telemetry.count("RecordingStopDeferred")
    deps.telemetry.count("RecordingStopped")
    _announce(deps, space, "recording", state="off")
    try:
        _learn_prefix(deps, space.id, info, arn, prefix)
        land(deps, space.id)
    except DependencyFailed:
        logger.warning("replay not landed at the end; the landing job will", space_id=space.id)


def _learn_prefix(deps: Deps, space_id: str, info: RecordingInfo, composition_arn: str, prefix: str | None) -> None:
    """Keep where IVS writes a composition, once (IVS deletes a stopped composition a few
    minutes later, and with it the only place that says)."""
    known = next((s.prefix for s in info.segments if s.composition_arn == composition_arn), None)
    if prefix and prefix != known:
        deps.recordings.set_prefix(space_id, composition_arn, prefix)


# ------------------------------------------------------------------------ keeping it running


def keep_alive(deps: Deps) -> int:
    """The rank job, every minute: start again the recordings IVS stopped on its own while their
    Space is live (a minute without publishers, a failure), so the rest of the Space is recorded.
    Finds them with one Query (the sparse `recording_pending` index, value "live"), then per
    Space one GetItem and one GetComposition. Returns how many were restarted."""
    try:
        space_ids = deps.recordings.live_recorded()
    except DependencyFailed:
        logger.warning("live recordings not listed; next run retries")
        return 0
    return compositions.check_each(deps, space_ids, lambda space: _keep_recording(deps, space), what="recording")


def _keep_recording(deps: Deps, space: Space) -> int:
    space_id, info = space.id, space.recording_info
    if not space.recording or info is None or not info.composition_arn:
        return 0
    status = deps.media.recording_status(info.composition_arn)
    if status.running:
        _learn_prefix(deps, space_id, info, info.composition_arn, status.prefix)
        return 0
    cap = deps.settings.recording_max_restarts
    if info.restarts >= cap:
        # The rest of this Space is not recorded; it leaves the job's list (counted once).
        if deps.recordings.stop_watching(space_id, info.composition_arn):
            deps.telemetry.count("RecordingRestartCapReached")
            logger.warning("recording stopped again after its last restart; not restarted", space_id=space_id, restarts=info.restarts)
        return 0
    restart = info.restarts + 1
    stopped_arn = info.composition_arn
    assert space.stage is not None  # a live Space has its stage
    handle = deps.media.restart_recording(space_id, space.stage.arn, restart)
    restarted = compositions.record_restart(
        deps,
        space_id,
        handle.composition_arn,
        record=lambda: deps.recordings.add_segment(
            space_id,
            stopped_arn=stopped_arn,
            stopped_prefix=status.prefix,
            new_arn=handle.composition_arn,
            new_prefix=handle.prefix,
            restarts=restart,
            max_restarts=cap,
        ),
        names=lambda: _records(deps, space_id, handle.composition_arn),
        discard=lambda: deps.media.stop_recording(handle.composition_arn),
        what="recording",
        metric="RecordingRestarted",
        discard_failed_metric="RecordingStopDeferred",
    )
    if restarted:
        logger.info("recording composition restarted", space_id=space_id, composition_arn=handle.composition_arn, restarts=restart)
    return restarted


def _records(deps: Deps, space_id: str, composition_arn: str) -> bool:
    info = deps.spaces.get(space_id, with_count=False).recording_info
    return info is not None and any(s.composition_arn == composition_arn for s in info.segments)


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
    """processing -> remuxing once every segment's recording is complete (or, past the segment
    wait, those that are), or -> failed when none is by the landing deadline."""
    now = deps.clock.now()
    landed = _landed_segments(deps, info)
    stopped = info.stopped_at or space.ended_at
    waited = (now - stopped).total_seconds() if stopped is not None else 0.0
    plan = landing_plan(
        info.segments,
        landed,
        waited,
        segment_wait_seconds=deps.settings.replay_segment_wait_seconds,
        deadline_seconds=deps.settings.replay_landing_deadline_seconds,
    )
    if plan == "fail":
        if deps.recordings.fail(space.id):
            deps.telemetry.count("ReplayFailed")
            logger.warning("no recording arrived; replay failed", space_id=space.id, prefix=info.prefix)
            return True
        return False
    if plan == "wait":
        return False
    source_keys = [item.source_key for item in landed]
    duration_ms = replay_duration_ms(landed)
    if duration_ms is None and len(info.segments) == 1 and info.started_at and info.stopped_at:
        duration_ms = int((info.stopped_at - info.started_at).total_seconds() * 1000)
    job = deps.remux.start(_remux_name(deps, space.id, 1), source_keys, replay_file_key(space.id))
    if not deps.recordings.start_remux(space.id, job_id=job, source_keys=source_keys, duration_ms=duration_ms, now=now):
        return False  # another landing started it (the same job, within MediaConvert's minute), or deleted
    missing = [s.composition_arn for s in info.segments if s not in {item.segment for item in landed}]
    if missing:
        deps.telemetry.count("ReplaySegmentMissing", len(missing))
        logger.warning("replay remuxed without segments that never landed", space_id=space.id, missing=missing)
    logger.info("recording landed; remux started", space_id=space.id, remux_job=job, segments=len(source_keys))
    _follow_remux(
        deps,
        space,
        replace(
            info, replay_state=REMUXING, source_keys=tuple(source_keys), remux_job=job, remux_attempts=1, remux_started_at=now
        ),
    )
    return True


def _landed_segments(deps: Deps, info: RecordingInfo) -> list[LandedSegment]:
    """The segments whose recording IVS finished writing (its end marker is in the bucket), in
    order, with the playlist and duration the marker names."""
    landed = []
    for segment in info.segments:
        if not segment.prefix:
            continue  # where IVS writes it is not known yet: not landed
        ended = deps.replays.get_json(f"{segment.prefix}/events/recording-ended.json")
        if ended is not None:
            source_key, duration_ms = parse_recording_end(ended, segment.prefix)
            landed.append(LandedSegment(segment, source_key, duration_ms))
    return landed


def _remux_name(deps: Deps, space_id: str, attempt: int) -> str:
    return f"{deps.settings.table_prefix}-{space_id}-{attempt}"


def _follow_remux(deps: Deps, space: Space, info: RecordingInfo) -> bool:
    """remuxing -> available when the job completed; a failed (or stuck) job is started again
    while attempts are left, then the replay fails."""
    remux_job = info.remux_job
    assert remux_job is not None  # remuxing: the job was stored with the state
    status = deps.remux.status(remux_job)
    if status.state == "COMPLETE":
        return _make_available(deps, space, info)
    now = deps.clock.now()
    if status.state != "ERROR":
        started = info.remux_started_at
        if started is None or (now - started).total_seconds() <= deps.settings.replay_remux_timeout_seconds:
            return False
        status = replace(status, failure=f"still running after {deps.settings.replay_remux_timeout_seconds} s")
    deps.telemetry.count("ReplayRemuxFailed")
    logger.warning("replay remux failed", space_id=space.id, remux_job=remux_job, attempt=info.remux_attempts, reason=status.failure)
    if info.remux_attempts < deps.settings.replay_remux_attempts:
        attempt = info.remux_attempts + 1
        job = deps.remux.start(_remux_name(deps, space.id, attempt), list(info.source_keys), replay_file_key(space.id))
        return deps.recordings.retry_remux(space.id, failed_job=remux_job, job_id=job, now=now)
    if deps.recordings.fail(space.id, remux_job=remux_job):
        deps.telemetry.count("ReplayFailed")
        logger.warning("no remux succeeded; replay failed", space_id=space.id, attempts=info.remux_attempts)
        return True
    return False


def _make_available(deps: Deps, space: Space, info: RecordingInfo) -> bool:
    """The replay's file exists: prepare its captions, then make it available."""
    remux_job = info.remux_job
    assert remux_job is not None  # made available from a finished remux job
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
        remux_job=remux_job,
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
    transcription_job = info.transcription_job
    assert transcription_job is not None  # a running transcription has its job
    status = deps.transcription.status(transcription_job)
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
    if not space.needs_pass(user_id) or user_id in space.consents or holds_pass(deps, space, user_id):
        return
    if space.access == TICKETED:
        raise Forbidden("this Space was ticketed: its replay is for ticket holders", code="ticket_required")
    raise Forbidden(
        f"this Space is for {space.creator_id}'s subscribers: subscribe to hear it",
        code="subscription_required",
    )


def holds_pass(deps: Deps, space: Space, user_id: str) -> bool:
    """Whether the user has the pass a ticketed or subscriber-only Space asks of a listener: a
    paid ticket, or a subscription granting access now (what a join's transaction checks)."""
    if space.access == TICKETED:
        ticket = deps.tickets.get(space.id, user_id)
        return ticket is not None and ticket.status == PAID
    if space.access == SUBSCRIBERS:
        sub = deps.subscriptions.get(space.creator_id, user_id)
        return sub is not None and sub.grants_access(deps.clock.now())
    return True


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
    assert info.media_key is not None  # _replay_of answers only a replay that has its file
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
    prefixes = {s.prefix for s in info.segments if s.prefix} | ({info.prefix} if info.prefix else set())
    removed = sum(deps.replays.delete_prefix(prefix) for prefix in sorted(prefixes))
    removed += deps.replays.delete_prefix(replay_files_prefix(space_id))
    removed += deps.replays.delete_prefix(f"captions/{space_id}")
    if changed:
        deps.telemetry.count("ReplayDeleted")
        logger.info("replay deleted", space_id=space_id, objects=removed)
    return {"space_id": space_id, "deleted": True, "objects_deleted": removed}
