"""Recording consent, replays and captions in memory (RecordingRepository,
chalicelib/repository_ports.py), with the rules of adapters/dynamodb/recording.py: each method
checks the condition the adapter's one write carries before it changes anything, and refuses with
the same Refused("space") (Refused("caption") for a segment already stored) or answers False.

The recording and the replay live on the Space (its `consents` and `recording_info`) in the
`SpaceStore` of tests/fakes/spaces.py, as they live on the Space item. As on the item, clipping
turned off and consents withdrawn before the recording started are kept (`SpaceStore.recording_of`)
though the Space shows no `recording_info` until the recording starts; the landing job's index is
`SpaceStore.recording_pending`, which the fake Space repository's end fills as the adapter's end
transaction does. tests/integration/test_recording_repository_contract.py runs the same tests on
this and on the DynamoDB adapter.
"""
from __future__ import annotations

from msgspec.structs import replace
from datetime import datetime
from typing import Any

from chalicelib.domain.moderation import ModerationEntry
from chalicelib.domain.captions import Caption
from chalicelib.domain.recording import (
    AVAILABLE,
    DELETED,
    FAILED,
    MIXING,
    PROCESSING,
    TRANSCRIPT_RUNNING,
    RecordingInfo,
)
from chalicelib.domain.spaces import ENDED, LIVE
from chalicelib.ports import Refused
from tests.fakes.spaces import SpaceStore, _SpaceRow, _stamp


class FakeRecordingRepository:
    def __init__(self, store: SpaceStore) -> None:
        self._store = store
        self.captions: dict[str, dict[str, Caption]] = {}  # space id -> seq -> segment

    # ------------------------------------------------------------------ captions

    def add_caption(self, caption: Caption, *, expires_at: datetime) -> None:
        row = self._store.row(caption.space_id)
        user = caption.user_id
        if row is None or row.space.state != LIVE or not (
            row.space.creator_id == user or user in row.space.cohosts or user in row.space.speakers
        ):
            raise Refused("space")
        segments = self.captions.setdefault(caption.space_id, {})
        if caption.seq in segments:
            raise Refused("caption")
        segments[caption.seq] = caption

    def captions_page(self, space_id: str, *, limit: int, after: str | None) -> tuple[list[Caption], str | None]:
        later = [c for seq, c in sorted(self.captions.get(space_id, {}).items()) if after is None or seq > after]
        page = later[:limit]
        return page, (page[-1].seq if len(later) > limit else None)

    def has_captions(self, space_id: str) -> bool:
        return bool(self.captions.get(space_id))

    def all_captions(self, space_id: str, max_items: int = 50_000) -> list[Caption]:
        return [c for _, c in sorted(self.captions.get(space_id, {}).items())][:max_items]

    # ------------------------------------------------------------------ consent

    def record_consent(self, space_id: str, user_id: str, now: datetime) -> None:
        row = self._row(space_id)
        if row.space.state != LIVE or not row.space.recording or user_id not in row.space.cohosts:
            raise Refused("space")
        self._store.edit(space_id, consents={**row.space.consents, user_id: _stamp(now)})

    def withdraw_consent(self, space_id: str, user_id: str, now: datetime, *, ended: bool) -> None:
        row = self._row(space_id)
        info = self._store.recording_of(space_id)  # a withdrawal before the recording started is kept too
        if (
            user_id not in row.space.consents
            or row.space.state != (ENDED if ended else LIVE)
            or user_id in info.withdrawals
            or (ended and info.replay_state not in (PROCESSING, MIXING, AVAILABLE))
        ):
            raise Refused("space")
        changes: dict[str, Any] = {"withdrawals": {**info.withdrawals, user_id: _stamp(now)}}
        if ended:
            changes.update(
                mix_version=info.mix_version + 1, replay_state=PROCESSING, media_key=None, mix_started_at=None,
                mix_attempts=0,
            )
            self._store.recording_pending.add(space_id)
        self._store.keep_recording(space_id, replace(info, **changes))

    def set_clipping(self, space_id: str, enabled: bool, entry: ModerationEntry | None = None) -> bool:
        # The adapter's condition names the Space item: no Space, or clipping already so, is False.
        if self._store.row(space_id) is None:
            return False
        info = self._store.recording_of(space_id)  # kept before the recording starts, as on the item
        if info.clipping == enabled:
            return False
        self._store.keep_recording(space_id, replace(info, clipping=enabled))
        self._store.append(entry)
        return True

    # ------------------------------------------------------------------ the replay

    def pending(self, limit: int = 50) -> list[str]:
        return sorted(self._store.recording_pending)[:limit]

    def claim_mix(
        self, space_id: str, *, version: int, now: datetime, stale_before: datetime, max_attempts: int
    ) -> bool:
        info = self._info(space_id)
        if info is None or info.mix_version != version or info.mix_attempts >= max_attempts:
            return False
        stale = info.replay_state == MIXING and info.mix_started_at is not None and info.mix_started_at < stale_before
        if info.replay_state != PROCESSING and not stale:
            return False
        self._store.edit(
            space_id,
            recording_info=replace(info, replay_state=MIXING, mix_started_at=now, mix_attempts=info.mix_attempts + 1),
        )
        return True

    def land(
        self,
        space_id: str,
        *,
        version: int,
        media_key: str,
        duration_ms: int,
        transcript_state: str,
        transcription_job: str | None = None,
        transcript_key: str | None = None,
    ) -> bool:
        info = self._info(space_id)
        if info is None or info.replay_state != MIXING or info.mix_version != version:
            return False
        changes: dict[str, Any] = dict(
            replay_state=AVAILABLE, media_key=media_key, duration_ms=duration_ms, transcript_state=transcript_state
        )
        if transcription_job:
            changes["transcription_job"] = transcription_job
        if transcript_key:
            changes["transcript_key"] = transcript_key
        self._store.edit(space_id, recording_info=replace(info, **changes))
        if transcript_state != TRANSCRIPT_RUNNING:
            self._store.recording_pending.discard(space_id)
        return True

    def finish_transcript(self, space_id: str, *, state: str, transcript_key: str | None) -> bool:
        info = self._info(space_id)
        if info is None or info.transcript_state != TRANSCRIPT_RUNNING:
            return False
        changes: dict[str, Any] = {"transcript_state": state}
        if transcript_key:
            changes["transcript_key"] = transcript_key
        self._store.edit(space_id, recording_info=replace(info, **changes))
        self._store.recording_pending.discard(space_id)
        return True

    def fail(self, space_id: str, *, version: int) -> bool:
        info = self._info(space_id)
        if info is None or info.replay_state not in (PROCESSING, MIXING) or info.mix_version != version:
            return False
        self._store.edit(space_id, recording_info=replace(info, replay_state=FAILED))
        self._store.recording_pending.discard(space_id)
        return True

    def mark_pending(self, space_id: str) -> None:
        info = self._info(space_id)
        if info is None or info.replay_state not in (PROCESSING, MIXING, AVAILABLE):
            raise Refused("space")
        self._store.recording_pending.add(space_id)

    def drop_pending(self, space_id: str) -> None:
        self._row(space_id)
        self._store.recording_pending.discard(space_id)

    def delete_replay(self, space_id: str, entry: ModerationEntry | None = None) -> bool:
        info = self._info(space_id)
        if info is None or info.replay_state is None or info.replay_state == DELETED:
            return False
        self._store.edit(space_id, recording_info=replace(info, replay_state=DELETED))
        self._store.recording_pending.discard(space_id)
        self._store.append(entry)
        return True

    # ------------------------------------------------------------------ the audience

    def is_blocked(self, host_id: str, user_id: str) -> bool:
        return (host_id, user_id) in self._store.blocks

    # ------------------------------------------------------------------ helpers

    def _row(self, space_id: str) -> _SpaceRow:
        row = self._store.row(space_id)
        if row is None:  # the adapter's conditions all need the item to exist
            raise Refused("space")
        return row

    def _info(self, space_id: str) -> RecordingInfo | None:
        row = self._store.row(space_id)
        return None if row is None else row.space.recording_info
