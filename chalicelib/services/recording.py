"""Use cases of recording: consent and its withdrawal, the recorded stage, clips, reading and
deleting replays, and who may hear them. The replay's landing and mixing after the end, and the
cutting of clips, are the landing job's (`services/replay_landing.py`). docs/recording.md tells
the whole story.

- a recorded Space gets its own stage, created with IVS individual participant recording (audio
  only), not one from the pool (pooled stages record nothing; each stage serves one Space);
  no composition is involved;
- ending commits first (the replay `processing`, on the landing job's sparse index); IVS writes
  the last files asynchronously, so `on_space_ended` tries to land the replay once and the
  landing job (`replay_landing.land_recordings`) goes on;
- a withdrawal asks for the next version of the replay: the job mixes it again without them,
  and cuts every clip again from it.
"""
from __future__ import annotations

from typing import Any, Callable
from dataclasses import replace
from datetime import datetime

from aws_lambda_powertools import Logger

from chalicelib.config import SERVICE_NAME
from chalicelib.domain.errors import BadRequest, Conflict, DependencyFailed, Forbidden, Gone, NotFound, RuleViolation
from chalicelib.domain import room_events as ev
from chalicelib.domain.events import ClipMade, ReplayPlayed, SpaceEnded, SpaceStarted
from chalicelib.domain.commands import MakeClip, SetClipping
from chalicelib.domain.ids import new_ulid
from chalicelib.domain.moderation import CLIPPING_OFF, CLIPPING_ON, REPLAY_DELETED, space_entry
from chalicelib.domain.permissions import require_creator
from chalicelib.domain.recording import (
    AVAILABLE,
    DELETED,
    FAILED,
    TRANSCRIPT_LIVE,
    TRANSCRIPT_READY,
    TRANSCRIPT_RUNNING,
    Clip,
    ClipPage,
    ClippingChange,
    RecordingInfo,
    Replay,
    ReplayDeletion,
    ServedClip,
    Withdrawal,
    available_until,
    clip_keys,
    consent_required,
    new_clip_id,
    participant_recordings,
    replay_files_prefix,
    space_of_clip,
    speaker_tag,
    withdrawal_window_open,
)
from chalicelib.domain.spaces import ENDED, LIVE, SCHEDULED, SUBSCRIBERS, TICKETED, Space, StageInfo, iso
from chalicelib.domain.tickets import PAID
from chalicelib.ports import Refused
from chalicelib.services import room_events, stage_pool
from chalicelib.services.context import Deps
from chalicelib.services.replay_landing import land, save_clip, stored_clips

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


def land_replay_after_end(deps: Deps, event: SpaceEnded) -> None:
    """Reaction to SpaceEnded (services/dispatch.py)."""
    on_space_ended(deps, event.space)


def on_space_ended(deps: Deps, space: Space) -> None:
    """Recording's reaction to a Space having ended (committed): say so, and try to land the
    replay at once (the landing job goes on from there: IVS finishes writing asynchronously).
    Never raises for an outside failure."""
    if not space.recording or space.recording_info is None:
        return
    deps.telemetry.count("RecordingStopped")
    announce(deps, space, "recording", state="off")
    try:
        land(deps, space.id)
    except DependencyFailed:
        logger.warning("replay not landed at the end; the landing job will", space_id=space.id)


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


# ------------------------------------------------------------------------ withdrawing consent


def withdraw_consent(deps: Deps, user_id: str, space_id: str) -> Withdrawal:
    """`DELETE /spaces/{id}/recording/consent`: the caller is no longer in the replay. While
    live, or after the end until the replay expires. Their audio is left out of the replay (mixed
    again without them) and of every clip (cut again), their raw recordings are deleted, their
    caption segments leave the replay's WebVTT; the host is told (room event while live; the
    replay answer lists withdrawals for the host)."""
    space = deps.spaces.get(space_id, with_count=False)
    if not space.recording or user_id not in space.consents:
        raise NotFound(f"you have not consented to be recorded in Space {space_id}", code="consent_not_found")
    info = space.recording_info or RecordingInfo()
    if user_id in info.withdrawals:
        return Withdrawal(space_id, user_id, _stored_time(info.withdrawals[user_id]))
    now = deps.clock.now()
    if space.state == SCHEDULED:
        raise Conflict(f"Space {space_id} has not started: nothing is recorded yet", code="replay_not_ready")
    if space.state == ENDED and not withdrawal_window_open(space.ended_at, now, deps.settings.replay_retention_days):
        raise Gone(f"the replay of Space {space_id} has expired", code="replay_expired")
    ended = space.state != LIVE
    try:
        deps.recordings.withdraw_consent(space_id, user_id, now, ended=ended)
    except Refused as exc:
        current = deps.spaces.get(space_id, with_count=False)
        if current.recording_info and user_id in current.recording_info.withdrawals:
            return Withdrawal(space_id, user_id, _stored_time(current.recording_info.withdrawals[user_id]))
        if ended and current.recording_info and current.recording_info.replay_state in (FAILED, DELETED):
            raise NotFound(f"Space {space_id} has no replay any more", code="replay_not_found") from exc
        raise Conflict(f"Space {space_id} changed; try again", code=f"space_{current.state}") from exc
    deps.telemetry.count("RecordingConsentWithdrawn")
    logger.info("recording consent withdrawn", space_id=space_id, user_id=user_id, live=not ended)
    if ended:
        _remove_withdrawn_audio(deps, space, info, user_id)
    else:
        announce(deps, space, "recording_consent_withdrawn", user_id=user_id)
    return Withdrawal(space_id, user_id, now)


def _stored_time(stamp: str) -> datetime:
    """A time as the Space item stores it (ISO 8601, to the microsecond)."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _remove_withdrawn_audio(deps: Deps, space: Space, info: RecordingInfo, user_id: str) -> None:
    """At once, not when the job next runs: their raw recordings, the replay file with them in
    it, and the clips' audio cut from it (the clips are cut again from the next version)."""
    tag = speaker_tag(space.id, user_id)
    doomed: list[str] = []
    if info.prefix:
        for rec in participant_recordings(info.prefix, deps.replays.list_keys(info.prefix)):
            if rec.participant_id.split("-", 1)[0] == tag:
                doomed += deps.replays.list_keys(rec.prefix)
    doomed += [k for k in deps.replays.list_keys(replay_files_prefix(space.id))]
    doomed += [k for k in deps.replays.list_keys(f"clips/{space.id}") if k.endswith(".m4a")]
    if doomed:
        deps.replays.delete_keys(doomed)


# ------------------------------------------------------------------------ clips


def _recorded_space_for_clips(deps: Deps, user_id: str, space_id: str) -> tuple[Space, RecordingInfo]:
    space = deps.spaces.get(space_id, with_count=False)
    if not space.recording:
        raise NotFound(f"Space {space_id} was not recorded", code="replay_not_found")
    require_audience(deps, space, user_id)
    info = space.recording_info or RecordingInfo()
    return space, info


def may_clip(deps: Deps, user_id: str, space_id: str) -> tuple[Space, RecordingInfo]:
    """Who may clip, and whether this Space can be clipped (404, 403), judged before the body:
    anyone who may hear a recorded Space, unless the host turned clipping off."""
    space, info = _recorded_space_for_clips(deps, user_id, space_id)
    if not info.clipping:
        raise Forbidden(f"the host turned clipping off for Space {space_id}", code="clipping_off")
    if info.replay_state in (FAILED, DELETED):
        raise NotFound(f"Space {space_id} has no replay to clip", code="replay_not_found")
    return space, info


def create_clip(deps: Deps, user_id: str, space_id: str, make: MakeClip) -> Clip:
    """`POST /spaces/{id}/clips {start_ms, duration_ms}`: while live or while its replay is
    served. The clip's audio is cut by the landing job from the replay (409 `clip_not_ready`
    until then)."""
    space, info = may_clip(deps, user_id, space_id)
    start_ms, duration_ms = make.start_ms, make.duration_ms
    now = deps.clock.now()
    if space.state == SCHEDULED or info.started_at is None:
        raise Conflict(f"Space {space_id} has not started", code="replay_not_ready")
    if space.state == ENDED:
        until = available_until(space.ended_at, deps.settings.replay_retention_days)
        if until is None or now >= until:
            raise Gone(f"the replay of Space {space_id} has expired", code="replay_expired")
    length_ms = info.duration_ms if info.duration_ms is not None else int((((info.stopped_at or now) - info.started_at).total_seconds()) * 1000)
    if start_ms + duration_ms > length_ms:
        raise RuleViolation(f"the clip ends after the recording ({length_ms} ms)", code="clip_out_of_range")
    clip = Clip(new_clip_id(space_id, new_ulid()), space_id, user_id, start_ms, duration_ms, now.replace(microsecond=0))
    save_clip(deps, clip)
    if space.state == ENDED:
        try:
            deps.recordings.mark_pending(space_id)  # the landing job cuts it
        except Refused:
            pass  # the replay failed or was deleted meanwhile: the clip is never cut
    deps.telemetry.count("ClipCreated")
    deps.publish(ClipMade(space_id, user_id, clip.clip_id, now))
    return clip


def get_clip(deps: Deps, user_id: str, clip_id: str) -> ServedClip:
    """`GET /clips/{id}`: a presigned URL (5 minutes, never past the replay's end) to whoever
    may hear the Space."""
    space_id = space_of_clip(clip_id)
    doc = deps.replays.get_json(clip_keys(space_id, clip_id)[0]) if space_id else None
    if doc is None:
        raise NotFound(f"clip {clip_id[:80]!r} does not exist", code="clip_not_found")
    clip = Clip.from_json(doc)
    space, info = _recorded_space_for_clips(deps, user_id, clip.space_id)
    if info.replay_state == DELETED:
        raise NotFound(f"the replay of Space {space.id} was deleted, and its clips with it", code="clip_not_found")
    now = deps.clock.now()
    until = available_until(space.ended_at, deps.settings.replay_retention_days)
    if until is not None and now >= until:
        raise Gone(f"clips of Space {space.id} expired with its replay on {iso(until)}", code="clip_expired")
    if info.replay_state != AVAILABLE or clip.cut_from != info.mix_version or until is None:
        raise Conflict("the clip is still being cut", code="clip_not_ready")
    ttl = max(1, min(deps.settings.replay_url_seconds, int((until - now).total_seconds())))
    link = deps.replays.presign_get(clip_keys(space.id, clip.clip_id)[1], ttl)
    return ServedClip(clip, link.url, link.expires_at)


def list_clips(deps: Deps, user_id: str, space_id: str, params: dict[str, Any]) -> ClipPage:
    """`GET /spaces/{id}/clips`: the Space's clips, oldest first (their ids sort by time)."""
    _recorded_space_for_clips(deps, user_id, space_id)
    limit = params.get("limit", "50")
    if not str(limit).isdigit() or not 1 <= int(limit) <= 100:
        raise BadRequest("limit must be 1-100", code="invalid_limit")
    after = params.get("after") or ""
    clips = sorted((c for c in stored_clips(deps, space_id) if c.clip_id > after), key=lambda c: c.clip_id)
    page = clips[: int(limit)]
    return ClipPage(space_id, page, page[-1].clip_id if len(clips) > len(page) else None)


def may_set_clipping(deps: Deps, user_id: str, space_id: str) -> Space:
    """Who may turn clipping on or off: the host of a recorded Space (404, 403)."""
    space = deps.spaces.get(space_id, with_count=False)
    require_creator(space, user_id, "turn clipping on or off")
    if not space.recording:
        raise NotFound(f"Space {space_id} is not recorded", code="replay_not_found")
    return space


def set_clipping(deps: Deps, user_id: str, space_id: str, clipping: SetClipping) -> ClippingChange:
    """`PUT /spaces/{id}/clipping {"enabled": bool}`: the host turns clipping on or off."""
    may_set_clipping(deps, user_id, space_id)
    act = CLIPPING_ON if clipping.enabled else CLIPPING_OFF
    # Logged in the same write; setting it as it already is changes and logs nothing.
    changed = deps.recordings.set_clipping(
        space_id, clipping.enabled, space_entry(space_id, act, user_id, deps.clock.now())
    )
    return ClippingChange(space_id, clipping.enabled, changed)


# ------------------------------------------------------------------------ the audience


def require_audience(deps: Deps, space: Space, user_id: str) -> None:
    """Whoever could join the Space may hear its replay and read its captions: not a removed
    or blocked user; for a ticketed Space a paid ticket, for a subscriber-only one an active
    subscription, unless they were the hosts, on stage, invited, or recorded."""
    if user_id == space.creator_id:
        return
    participant = deps.participants.get_participant(space.id, user_id)
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


def get_replay(deps: Deps, user_id: str, space_id: str) -> Replay:
    space, info, until, now = _replay_of(deps, space_id, user_id)
    # Short-lived, and never outliving the retention.
    ttl = max(1, min(deps.settings.replay_url_seconds, int((until - now).total_seconds())))
    assert info.media_key is not None  # _replay_of answers only a replay that has its file
    media = deps.replays.presign_get(info.media_key, ttl)
    captions = None
    if info.transcript_key and info.transcript_state in (TRANSCRIPT_LIVE, TRANSCRIPT_READY):
        captions = deps.replays.presign_get(info.transcript_key, ttl).url
    deps.telemetry.count("ReplayServed")
    deps.publish(ReplayPlayed(space.id, user_id, new_ulid(), now))
    withdrawals = None
    if user_id == space.creator_id:
        # The host is told who withdrew their consent, and when (their audio is not in the file).
        withdrawals = [Withdrawal(space.id, u, _stored_time(at)) for u, at in sorted(info.withdrawals.items())]
    return Replay(
        space_id=space.id,
        url=media.url,
        expires_at=media.expires_at,
        duration_ms=info.duration_ms,
        available_until=until,
        captions_url=captions,
        captions=info.transcript_state or "none",
        clipping=info.clipping,
        withdrawals=withdrawals,
    )


def replay_captions(deps: Deps, user_id: str, space_id: str) -> str:
    """The replay's WebVTT (live segments, or Transcribe's subtitles)."""
    _, info, _, _ = _replay_of(deps, space_id, user_id)
    if info.transcript_state == TRANSCRIPT_RUNNING:
        raise Conflict("the replay's captions are still being transcribed", code="captions_not_ready")
    text = deps.replays.get_text(info.transcript_key) if info.transcript_key else None
    if text is None or info.transcript_state not in (TRANSCRIPT_LIVE, TRANSCRIPT_READY):
        raise NotFound(f"the replay of Space {space_id} has no captions", code="captions_not_found")
    return text


def delete_replay(deps: Deps, user_id: str, space_id: str) -> ReplayDeletion:
    """The host deletes a replay: marked deleted first (no URL is handed out from then on), then
    its objects go. A 503 from S3 is retried by repeating the request."""
    space = deps.spaces.get(space_id, with_count=False)
    require_creator(space, user_id, "delete the replay")
    info = space.recording_info
    if not space.recording or info is None:
        raise NotFound(f"Space {space_id} was not recorded", code="replay_not_found")
    if info.replay_state is None:
        raise Conflict(f"Space {space_id} is still live: end it first", code="replay_not_ready")
    changed = deps.recordings.delete_replay(space_id, space_entry(space_id, REPLAY_DELETED, user_id, deps.clock.now()))
    removed = deps.replays.delete_prefix(info.prefix) if info.prefix else 0
    removed += deps.replays.delete_prefix(replay_files_prefix(space_id))
    removed += deps.replays.delete_prefix(f"captions/{space_id}")
    removed += deps.replays.delete_prefix(f"clips/{space_id}")
    if changed:
        deps.telemetry.count("ReplayDeleted")
        logger.info("replay deleted", space_id=space_id, objects=removed)
    return ReplayDeletion(space_id, removed)
