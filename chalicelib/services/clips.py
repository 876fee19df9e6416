"""Use cases of clips (docs/recording.md): up to 30 seconds of a recorded Space, made by whoever
may hear it while live or while its replay is served; the host may turn clipping off. The
landing job cuts each clip's audio from the replay (`services/replay_landing.py`)."""
from __future__ import annotations

from chalicelib.domain.errors import Conflict, Forbidden, Gone, NotFound, RuleViolation
from chalicelib.domain.events.counted import ClipMade
from chalicelib.domain.commands.recording import MakeClip, SetClipping
from chalicelib.domain.ids import new_ulid
from chalicelib.domain.moderation import CLIPPING_OFF, CLIPPING_ON, space_entry
from chalicelib.domain.permissions import require_creator
from chalicelib.domain.clips import CLIPS_PER_PAGE, Clip, ClipPage, ClippingChange, ServedClip, clip_keys, new_clip_id, space_of_clip
from chalicelib.domain.recording import AVAILABLE, DELETED, FAILED, RecordingInfo
from chalicelib.domain.replays import available_until
from chalicelib.domain.spaces import ENDED, SCHEDULED, Space, iso
from chalicelib.ports import FIRST_PAGE, PageCursor, Refused
from chalicelib.services.context import Deps
from chalicelib.services.replays import require_audience
from chalicelib.services.replay_landing import save_clip, stored_clips


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


def list_clips(
    deps: Deps, user_id: str, space_id: str, page: PageCursor = FIRST_PAGE, after: str | None = None
) -> ClipPage:
    """`GET /spaces/{id}/clips`: the Space's clips, oldest first (their ids sort by time), from
    the clip after `after` (the previous page's `next_cursor`, a clip id), `CLIPS_PER_PAGE` by
    default."""
    _recorded_space_for_clips(deps, user_id, space_id)
    limit = page.limit(CLIPS_PER_PAGE)
    clips = sorted((c for c in stored_clips(deps, space_id) if c.clip_id > (after or "")), key=lambda c: c.clip_id)
    shown = clips[:limit]
    return ClipPage(space_id, shown, shown[-1].clip_id if len(clips) > len(shown) else None)


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
