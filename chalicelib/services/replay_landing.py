"""The replay's landing, after a recorded Space ended: the state machine processing -> mixing ->
available (or failed), then the clips cut from the replay and a running transcription followed.
docs/recording.md tells the whole story; the use cases around it are in `services/recording.py`
(the recorded stage, consent), `replays.py` and `clips.py`; `on_space_ended` (below) calls `land`
once at the end of a Space.

IVS writes a stage's participant recordings asynchronously: the `land_recordings` job (a Query on
the sparse `recording_pending` index) goes on where the end left off. Once every participant
recording ended (or, past the wait, those that did), one run claims the mix (a conditional
write), mixes the consenting speakers' recordings at their offsets into one file (the mixer
port: PyAV, imported only when it mixes) and makes it available. A withdrawal asks for the next
version: the job mixes again without them, and cuts every clip again from it.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

from aws_lambda_powertools import Logger
from msgspec.structs import replace

from chalicelib.config import SERVICE_NAME
from chalicelib.domain.errors import DependencyFailed, NotFound
from chalicelib.domain.events.lifecycle import SpaceEnded
from chalicelib.domain.captions import build_webvtt
from chalicelib.domain.clips import Clip, clip_keys
from chalicelib.domain.recording import (
    AVAILABLE,
    DELETED,
    FAILED,
    MIXING,
    PROCESSING,
    TRANSCRIPT_FAILED,
    TRANSCRIPT_LIVE,
    TRANSCRIPT_READY,
    TRANSCRIPT_RUNNING,
    RecordingInfo,
)
from chalicelib.domain.replay_landing import (
    ENDED_MARKER,
    STARTED_MARKER,
    ParticipantRecording,
    Track,
    landing_plan,
    mix_members,
    offset_ms,
    participant_recordings,
    playlist_key,
    recording_started_at,
)
from chalicelib.domain.replays import replay_file_key
from chalicelib.domain.spaces import Space
from chalicelib.services.context import Deps
from chalicelib.services.recording import announce

logger = Logger(child=True, service=SERVICE_NAME)


# ------------------------------------------------------------------------ the end


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

_JOB_NAME_FORBIDDEN = re.compile(r"[^0-9a-zA-Z._-]")


def land_recordings(deps: Deps, limit: int = 50) -> int:
    """The scheduled job: mix the replays whose recordings IVS finished writing, cut clips,
    follow transcriptions. Returns how many Spaces changed. A Query on the sparse
    `recording_pending` index."""
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
    """One Space's next steps, as far as they go now: processing -> mixing -> available (its
    recordings ended: one run mixes them), then clips cut and a running transcription followed.
    True when something changed."""
    space = deps.spaces.get(space_id, with_count=False)
    info = space.recording_info
    if info is None or info.replay_state in (None, FAILED, DELETED):
        if from_job:
            deps.recordings.drop_pending(space_id)  # deleted or failed meanwhile: nothing left to do
        return False
    if info.replay_state in (PROCESSING, MIXING):
        return _land_recording(deps, space, info)
    changed = False
    if info.transcript_state == TRANSCRIPT_RUNNING:
        changed = _follow_transcription(deps, space, info)
    elif from_job:
        # Off the index before looking at clips: a clip made after this is put back on it.
        deps.recordings.drop_pending(space_id)
    return _cut_clips(deps, space, info) or changed


def _land_recording(deps: Deps, space: Space, info: RecordingInfo) -> bool:
    """processing -> mixing -> available once every participant recording ended (or, past the
    wait, those that did), or -> failed when none did by the landing deadline."""
    now = deps.clock.now()
    if _mixing_elsewhere(deps, info, now):
        return False  # another run is mixing this version
    recordings = _recordings_of(deps, info)
    plan = landing_plan(
        recordings,
        _waited_seconds(space, info, now),
        segment_wait_seconds=deps.settings.replay_segment_wait_seconds,
        deadline_seconds=deps.settings.replay_landing_deadline_seconds,
    )
    if plan == "wait":
        return False
    kept, dropped = mix_members(space.id, recordings, space.consents, info.withdrawals)
    if plan == "fail" or not kept:
        if deps.recordings.fail(space.id, version=info.mix_version):
            deps.telemetry.count("ReplayFailed")
            logger.warning("nothing to mix; replay failed", space_id=space.id, recordings=len(recordings))
            return True
        return False
    if info.mix_attempts >= deps.settings.replay_mix_max_attempts:
        return _give_up_mixing(deps, space, info)
    stale_before = now - timedelta(seconds=deps.settings.replay_mix_timeout_seconds)
    claimed = deps.recordings.claim_mix(
        space.id, version=info.mix_version, now=now, stale_before=stale_before,
        max_attempts=deps.settings.replay_mix_max_attempts,
    )
    if not claimed:
        return False  # another run claimed it (or a withdrawal asked for the next version)
    if dropped:
        # Raw files of a withdrawn (or never consenting) speaker never stay in the bucket.
        deps.replays.delete_keys([k for rec in dropped for k in deps.replays.list_keys(rec.prefix)])
    tracks = [_track(deps, info, user, rec) for user, rec in kept]
    media_key = replay_file_key(space.id, info.mix_version)
    duration_ms = deps.mixer.mix(tracks, media_key)
    missing = len([r for r in recordings if not r.ended])
    left_out = missing + len(dropped)
    if left_out:
        deps.telemetry.count("ReplaySegmentMissing", missing)
    logger.info("replay mixed", space_id=space.id, version=info.mix_version, tracks=len(tracks), left_out=left_out)
    return _make_available(deps, space, replace(info, media_key=media_key), duration_ms)


def _give_up_mixing(deps: Deps, space: Space, info: RecordingInfo) -> bool:
    """Every allowed run claimed this version's mix and none landed it (each failed or died):
    the replay fails, rather than costing a 15-minute run every `replay_mix_timeout_seconds`."""
    if not deps.recordings.fail(space.id, version=info.mix_version):
        return False
    deps.telemetry.count("ReplayMixFailed")
    logger.error("replay mix failed every attempt; replay failed", space_id=space.id,
                 version=info.mix_version, attempts=info.mix_attempts)
    return True


def _mixing_elsewhere(deps: Deps, info: RecordingInfo, now: datetime) -> bool:
    """Whether another run claimed this version's mix recently enough to be mixing it still."""
    if info.replay_state != MIXING or info.mix_started_at is None:
        return False
    return (now - info.mix_started_at).total_seconds() <= deps.settings.replay_mix_timeout_seconds


def _recordings_of(deps: Deps, info: RecordingInfo) -> list[ParticipantRecording]:
    """The stage's participant recordings IVS has written (or begun to) under its prefix."""
    if not info.prefix:
        return []
    return participant_recordings(info.prefix, deps.replays.list_keys(info.prefix))


def _waited_seconds(space: Space, info: RecordingInfo, now: datetime) -> float:
    """How long since the recording stopped (the Space's end, when no stop was written)."""
    stopped = info.stopped_at or space.ended_at
    return (now - stopped).total_seconds() if stopped is not None else 0.0


def _track(deps: Deps, info: RecordingInfo, user_id: str, rec: ParticipantRecording) -> Track:
    """One kept speaker's recording, placed at its offset from the start of the Space's recording."""
    started = recording_started_at(deps.replays.get_json(f"{rec.prefix}/{STARTED_MARKER}"), rec.prefix)
    return Track(
        user_id=user_id,
        prefix=rec.prefix,
        playlist_key=playlist_key(deps.replays.get_json(f"{rec.prefix}/{ENDED_MARKER}"), rec.prefix),
        offset_ms=offset_ms(info.started_at, started),
    )


def _make_available(deps: Deps, space: Space, info: RecordingInfo, duration_ms: int) -> bool:
    """The replay's file exists: prepare its captions, then make it available."""
    assert info.media_key is not None
    job = transcript_key = None
    captions = [c for c in deps.recordings.all_captions(space.id) if c.user_id not in info.withdrawals] if deps.recordings.has_captions(space.id) else []
    if captions:
        # Captioned live: the replay's WebVTT is those segments (of the speakers still in it),
        # stored next to the recording so a replay answer can hand out a URL for it too.
        transcript_key = f"captions/{space.id}/live-{info.mix_version}.vtt"
        deps.replays.put_text(transcript_key, build_webvtt(captions), "text/vtt")
        transcript_state = TRANSCRIPT_LIVE
    else:
        # Transcribe reads one media file: the mixed one (a job name per version).
        job = _JOB_NAME_FORBIDDEN.sub("-", f"{deps.settings.table_prefix}-{space.id}-{info.mix_version}")[:200]
        deps.transcription.start(job, info.media_key, f"captions/{space.id}/transcript-{info.mix_version}.json", deps.settings.transcribe_language)
        transcript_state = TRANSCRIPT_RUNNING
    landed = deps.recordings.land(
        space.id,
        version=info.mix_version,
        media_key=info.media_key,
        duration_ms=duration_ms,
        transcript_state=transcript_state,
        transcription_job=job,
        transcript_key=transcript_key,
    )
    if landed:
        deps.telemetry.count("ReplayAvailable")
        logger.info("replay available", space_id=space.id, version=info.mix_version, transcript=transcript_state)
        _cut_clips(deps, space, replace(info, replay_state=AVAILABLE, duration_ms=duration_ms))
    else:
        _discard_unused_mix(deps, space.id, info.media_key)
    return landed


def _discard_unused_mix(deps: Deps, space_id: str, media_key: str) -> None:
    """A mix that will never be served (a withdrawal asked for the next version while it ran, or
    the replay was deleted) is deleted: it may hold the voice of someone who withdrew. Unless the
    replay names that very file (another run of the same version landed it first)."""
    current = deps.spaces.get(space_id, with_count=False).recording_info
    if current is None or current.media_key != media_key:
        deps.replays.delete_keys([media_key])
        logger.info("unused mix deleted", space_id=space_id, media_key=media_key)


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


# ------------------------------------------------------------------------ clips


def stored_clips(deps: Deps, space_id: str) -> list[Clip]:
    """The Space's clips, as their metadata documents in the recordings bucket hold them."""
    clips = []
    for key in deps.replays.list_keys(f"clips/{space_id}"):
        if key.endswith(".json"):
            doc = deps.replays.get_json(key)
            if doc:
                clips.append(Clip.from_json(doc))
    return clips


def _cut_clips(deps: Deps, space: Space, info: RecordingInfo) -> bool:
    """Cut every clip not yet cut from the current replay version (new clips, and all of them
    after a withdrawal). The job does it, never a request: PyAV stays off request paths."""
    if info.replay_state != AVAILABLE or not info.media_key:
        return False
    cut = 0
    for clip in stored_clips(deps, space.id):
        if clip.cut_from == info.mix_version:
            continue
        _, audio_key = clip_keys(space.id, clip.clip_id)
        deps.mixer.cut(info.media_key, clip.start_ms, clip.duration_ms, audio_key)
        save_clip(deps, replace(clip, cut_from=info.mix_version))
        cut += 1
    if cut:
        deps.telemetry.count("ClipCut", cut)
    return cut > 0


def save_clip(deps: Deps, clip: Clip) -> None:
    """Writes a clip's metadata document (compact JSON) next to its audio."""
    meta_key, _ = clip_keys(clip.space_id, clip.clip_id)
    deps.replays.put_text(meta_key, json.dumps(clip.to_json(), separators=(",", ":")), "application/json")
