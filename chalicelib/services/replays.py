"""Use cases of a recorded Space's replay (docs/recording.md): who may hear it (its audience),
handing it out, its captions, the host deleting it, and a speaker withdrawing their consent,
which takes them out of the replay and its clips."""
from __future__ import annotations

from datetime import datetime

from aws_lambda_powertools import Logger

from chalicelib.config import SERVICE_NAME
from chalicelib.domain.errors import Conflict, Forbidden, Gone, NotFound
from chalicelib.domain.events.counted import ReplayPlayed
from chalicelib.domain.ids import new_ulid
from chalicelib.domain.moderation import REPLAY_DELETED, space_entry
from chalicelib.domain.permissions import require_creator
from chalicelib.domain.recording import (
    AVAILABLE, DELETED, FAILED, TRANSCRIPT_LIVE, TRANSCRIPT_READY, TRANSCRIPT_RUNNING, RecordingInfo, speaker_tag,
)
from chalicelib.domain.replay_landing import participant_recordings
from chalicelib.domain.replays import Replay, ReplayDeletion, Withdrawal, available_until, replay_files_prefix, withdrawal_window_open
from chalicelib.domain.spaces import ENDED, LIVE, SCHEDULED, TICKETED, Space, iso
from chalicelib.ports import Refused
from chalicelib.services.context import Deps
from chalicelib.services.passes import holds_pass
from chalicelib.services.recording import announce

logger = Logger(child=True, service=SERVICE_NAME)


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
