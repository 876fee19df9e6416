"""What the Space item's own writes and reads carry of its recording (the "Recording" block of
`SpaceModel`): `adapters/dynamodb/spaces.py` adds these to its create, start and end
transactions, and `space_items.py` reads `RecordingInfo` back, so those stay single writes. The
recording's own use cases (consent, captions, the replay's states) are in `recording.py`.
"""
from __future__ import annotations

from datetime import datetime

from chalicelib.adapters.dynamodb.models import SpaceModel
from chalicelib.domain.recording import PROCESSING, RecordingInfo

# `recording_pending` once a recorded Space ended, until its replay is mixed and transcribed.
LANDING = "1"


def recording_info_of(m: SpaceModel) -> RecordingInfo | None:
    if not m.recording_started_at and not m.replay_state:
        return None
    return RecordingInfo(
        started_at=m.recording_started_at,
        prefix=m.recording_prefix,
        stopped_at=m.recording_stopped_at,
        replay_state=m.replay_state,
        media_key=m.replay_media_key,
        duration_ms=int(m.replay_duration_ms) if m.replay_duration_ms is not None else None,
        mix_version=int(m.mix_version or 1),
        mix_started_at=m.mix_started_at,
        mix_attempts=int(m.mix_attempts or 0),
        transcript_state=m.transcript_state,
        transcription_job=m.transcription_job,
        transcript_key=m.transcript_key,
        withdrawals=dict(m.consent_withdrawals.as_dict() if m.consent_withdrawals else {}),
        clipping=not m.clipping_off,
    )


def recording_item_fields(space) -> dict:
    """SpaceModel attributes of a new Space: its consents, and its recording if it started live."""
    fields: dict = {"consents": dict(space.consents)}
    info = space.recording_info
    if info is not None:
        fields.update(recording_started_at=info.started_at, recording_prefix=info.prefix)
    return fields


def recording_start_actions(space) -> list:
    """The start transaction's part: recording as decided at the start (the host may turn it on
    or off then), the host's consent, and where IVS records the stage."""
    if not space.recording:
        return [SpaceModel.recording.set(False)]
    actions = [SpaceModel.recording.set(True), SpaceModel.consents.set(dict(space.consents))]
    info = space.recording_info
    if info is not None:
        actions.append(SpaceModel.recording_started_at.set(info.started_at))
        if info.prefix:
            actions.append(SpaceModel.recording_prefix.set(info.prefix))
    return actions


def recording_end_actions(space, now: datetime) -> list:
    """The end transaction's part: a recorded Space's replay starts processing, and the landing
    job will find it on the sparse `recording_pending` index."""
    if not space.recording or space.recording_info is None:
        return []
    return [
        SpaceModel.recording_stopped_at.set(now),
        SpaceModel.replay_state.set(PROCESSING),
        SpaceModel.mix_version.set(1),
        SpaceModel.recording_pending.set(LANDING),
    ]
