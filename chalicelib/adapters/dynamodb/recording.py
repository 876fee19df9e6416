"""Recording, consent, replays and captions on DynamoDB.

The recording and replay live on the Space item (its `SpaceModel` attributes in the "Recording"
block); caption segments have their own table (`CaptionModel`). As elsewhere, every rule two
requests could race on is a condition in the write:

- a caption is written in one transaction with a check that its author is on stage of a live
  Space, so a speaker demoted a moment ago cannot slip one in;
- a co-host's consent is written only while they are a co-host of a recorded Space;
- the mix of a replay version is claimed by one conditional write (processing, that version, or
  a claim gone stale): of two job runs at once one mixes, the other does nothing; the replay
  becomes available only if that version is still the one asked for (a withdrawal meanwhile
  asks for the next);
- a withdrawal is written once per user (it must be someone who consented and has not
  withdrawn) and asks for the next version in the same write.

What the Space's own writes (create, start, end) and reads carry of the recording is in
`recording_fields.py`, so those stay single writes and a cold start does not load this module.
"""
from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.adapters.dynamodb.errors import dependency_failure, error_code
from chalicelib.adapters.dynamodb.models import BlockModel, CaptionModel, SpaceModel
from chalicelib.adapters.dynamodb.moderation import add_entry
from chalicelib.adapters.dynamodb.recording_fields import LANDING
from chalicelib.adapters.dynamodb.transactions import ConditionsFailed, transaction
from chalicelib.domain.moderation import ModerationEntry
from chalicelib.domain.captions import Caption
from chalicelib.domain.recording import (
    AVAILABLE,
    DELETED,
    FAILED,
    MIXING,
    PROCESSING,
    TRANSCRIPT_RUNNING,
)
from chalicelib.ports import Refused

LIVE, ENDED = "live", "ended"  # chalicelib.domain.spaces (not imported: it imports this module's domain)
def _stamp(now: datetime) -> str:
    return now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _to_caption(m: CaptionModel) -> Caption:
    return Caption(
        space_id=m.space_id,
        seq=m.seq,
        user_id=m.user_id,
        text=m.text,
        language=m.language,
        start_ms=int(m.start_ms),
        end_ms=int(m.end_ms),
        created_at=m.created_at,
    )


class DynamoRecordingRepository:
    def __init__(self, connection=None):
        self._connection = connection or SpaceModel._get_connection().connection

    # ------------------------------------------------------------------ captions

    def add_caption(self, caption: Caption, *, expires_at: datetime) -> None:
        """Store a segment, on condition its author is on stage of the live Space.
        Refused("space") when they are not (or the Space is not live)."""
        user_id = caption.user_id
        try:
            with transaction(self._connection) as tx:
                tx.save(
                    "caption",
                    CaptionModel(
                        caption.space_id,
                        caption.seq,
                        user_id=user_id,
                        text=caption.text,
                        language=caption.language,
                        start_ms=caption.start_ms,
                        end_ms=caption.end_ms,
                        created_at=caption.created_at,
                        expires_at=expires_at,
                    ),
                    condition=CaptionModel.seq.does_not_exist(),
                )
                tx.check(
                    "space",
                    SpaceModel,
                    caption.space_id,
                    condition=(SpaceModel.state == LIVE)
                    & (
                        (SpaceModel.creator_id == user_id)
                        | SpaceModel.cohosts[user_id].exists()
                        | SpaceModel.speakers[user_id].exists()
                    ),
                )
        except ConditionsFailed as exc:
            raise Refused("space" if "space" in exc else "caption") from exc

    def captions_page(self, space_id: str, *, limit: int, after: str | None) -> tuple[list[Caption], str | None]:
        """Up to `limit` segments after the `after` sort key, in order, and the key to continue
        from (None on the last page: one more item is read to know)."""
        condition = CaptionModel.seq > after if after else None
        try:
            items = list(CaptionModel.query(space_id, condition, limit=limit + 1, page_size=limit + 1))
        except Exception as exc:
            raise dependency_failure(exc) from exc
        page = [_to_caption(m) for m in items[:limit]]
        return page, (page[-1].seq if len(items) > limit else None)

    def has_captions(self, space_id: str) -> bool:
        try:
            return any(True for _ in CaptionModel.query(space_id, limit=1, attributes_to_get=["seq"]))
        except Exception as exc:
            raise dependency_failure(exc) from exc

    def all_captions(self, space_id: str, max_items: int = 50_000) -> list[Caption]:
        try:
            return [_to_caption(m) for m in CaptionModel.query(space_id, limit=max_items, page_size=1000)]
        except Exception as exc:
            raise dependency_failure(exc) from exc

    # ------------------------------------------------------------------ consent

    def record_consent(self, space_id: str, user_id: str, now: datetime) -> None:
        """A co-host consents to being recorded. Refused("space") unless they are a co-host of a
        live, recorded Space."""
        self._update(
            space_id,
            [SpaceModel.consents[user_id].set(_stamp(now))],
            (SpaceModel.state == LIVE) & (SpaceModel.recording == True) & SpaceModel.cohosts[user_id].exists(),  # noqa: E712
        )

    def withdraw_consent(self, space_id: str, user_id: str, now: datetime, *, ended: bool) -> None:
        """The user withdraws their consent: kept with its time, once. After the end, the replay
        is asked for again without them (the next version; back to processing and onto the
        landing job's index). Refused("space") when they never consented, already withdrew, the
        Space is no longer in the state read, or its replay failed or was deleted."""
        condition = SpaceModel.consents[user_id].exists() & (SpaceModel.state == (ENDED if ended else LIVE))
        actions = []
        if ended:
            condition = condition & SpaceModel.replay_state.is_in(PROCESSING, MIXING, AVAILABLE)
            actions = [
                SpaceModel.mix_version.add(1),
                SpaceModel.replay_state.set(PROCESSING),
                SpaceModel.replay_media_key.remove(),
                SpaceModel.mix_started_at.remove(),
                SpaceModel.mix_attempts.remove(),
                SpaceModel.recording_pending.set(LANDING),
            ]
        try:  # the usual case: someone withdrew before, the map exists
            self._update(
                space_id,
                [SpaceModel.consent_withdrawals[user_id].set(_stamp(now)), *actions],
                condition & SpaceModel.consent_withdrawals.exists() & SpaceModel.consent_withdrawals[user_id].does_not_exist(),
            )
        except Refused:
            self._update(
                space_id,
                [SpaceModel.consent_withdrawals.set({user_id: _stamp(now)}), *actions],
                condition & SpaceModel.consent_withdrawals.does_not_exist(),
            )

    def set_clipping(self, space_id: str, enabled: bool, entry: ModerationEntry | None = None) -> bool:
        """-> changed. The write is conditional on clipping being the other way, so turning it on
        twice changes nothing and logs nothing: `entry` rides in the same transaction."""
        if enabled:
            actions: list = [SpaceModel.clipping_off.remove()]
            condition = SpaceModel.space_id.exists() & SpaceModel.clipping_off.exists()
        else:
            actions = [SpaceModel.clipping_off.set(True)]
            condition = SpaceModel.space_id.exists() & SpaceModel.clipping_off.does_not_exist()
        return self._logged_transition(space_id, actions, condition, entry)

    # ------------------------------------------------------------------ the replay

    def pending(self, limit: int = 50) -> list[str]:
        """Recorded Spaces whose replay is to be mixed or whose transcription runs (a Query on
        the sparse index)."""
        try:
            return [m.space_id for m in SpaceModel.recording_pending_index.query(LANDING, limit=limit)]
        except Exception as exc:
            raise dependency_failure(exc) from exc

    def claim_mix(
        self, space_id: str, *, version: int, now: datetime, stale_before: datetime, max_attempts: int
    ) -> bool:
        """processing -> mixing for `version`, or a mixing claim older than `stale_before` taken
        over (its job died), while fewer than `max_attempts` runs claimed it. True for the one run
        that may mix."""
        return self._transition(
            space_id,
            [SpaceModel.replay_state.set(MIXING), SpaceModel.mix_started_at.set(now), SpaceModel.mix_attempts.add(1)],
            (SpaceModel.mix_version == version)
            & (SpaceModel.mix_attempts.does_not_exist() | (SpaceModel.mix_attempts < max_attempts))
            & (
                (SpaceModel.replay_state == PROCESSING)
                | ((SpaceModel.replay_state == MIXING) & (SpaceModel.mix_started_at < stale_before))
            ),
        )

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
        """mixing -> available, once `version`'s file is written. Stays on the pending index
        while a transcription runs. False when that version is no longer the one being mixed
        (a withdrawal asked for the next, or deleted)."""
        actions = [
            SpaceModel.replay_state.set(AVAILABLE),
            SpaceModel.replay_media_key.set(media_key),
            SpaceModel.replay_duration_ms.set(duration_ms),
            SpaceModel.transcript_state.set(transcript_state),
        ]
        if transcription_job:
            actions.append(SpaceModel.transcription_job.set(transcription_job))
        if transcript_key:
            actions.append(SpaceModel.transcript_key.set(transcript_key))
        if transcript_state != TRANSCRIPT_RUNNING:
            actions.append(SpaceModel.recording_pending.remove())
        return self._transition(space_id, actions, (SpaceModel.replay_state == MIXING) & (SpaceModel.mix_version == version))

    def finish_transcript(self, space_id: str, *, state: str, transcript_key: str | None) -> bool:
        """A transcription ended (ready or failed); the Space leaves the pending index."""
        actions = [SpaceModel.transcript_state.set(state), SpaceModel.recording_pending.remove()]
        if transcript_key:
            actions.append(SpaceModel.transcript_key.set(transcript_key))
        return self._transition(space_id, actions, SpaceModel.transcript_state == TRANSCRIPT_RUNNING)

    def fail(self, space_id: str, *, version: int) -> bool:
        """processing | mixing -> failed: no recording appeared in time, or nothing is left to
        mix (everyone recorded withdrew)."""
        return self._transition(
            space_id,
            [SpaceModel.replay_state.set(FAILED), SpaceModel.recording_pending.remove()],
            SpaceModel.replay_state.is_in(PROCESSING, MIXING) & (SpaceModel.mix_version == version),
        )

    def mark_pending(self, space_id: str) -> None:
        """Put an ended Space with a replay back on the landing job's index (a clip to cut)."""
        self._update(
            space_id,
            [SpaceModel.recording_pending.set(LANDING)],
            SpaceModel.replay_state.is_in(PROCESSING, MIXING, AVAILABLE),
        )

    def drop_pending(self, space_id: str) -> None:
        """Leave the pending index (a Space the job can do nothing more for)."""
        self._update(space_id, [SpaceModel.recording_pending.remove()], SpaceModel.space_id.exists())

    def delete_replay(self, space_id: str, entry: ModerationEntry | None = None) -> bool:
        """-> deleted. False when it already was (and then `entry`, in the same write, is not
        logged)."""
        return self._logged_transition(
            space_id,
            [SpaceModel.replay_state.set(DELETED), SpaceModel.recording_pending.remove()],
            SpaceModel.replay_state.exists() & (SpaceModel.replay_state != DELETED),
            entry,
        )

    # ------------------------------------------------------------------ the audience

    def is_blocked(self, host_id: str, user_id: str) -> bool:
        try:
            BlockModel.get(BlockModel.pair_for(host_id, user_id), attributes_to_get=["pair"])
            return True
        except DoesNotExist:
            return False
        except Exception as exc:
            raise dependency_failure(exc) from exc

    # ------------------------------------------------------------------ helpers

    def _transition(self, space_id: str, actions: list, condition) -> bool:
        try:
            self._update(space_id, actions, condition)
        except Refused:
            return False
        return True

    def _logged_transition(self, space_id: str, actions: list, condition, entry: ModerationEntry | None) -> bool:
        """`_transition` with a moderation ledger entry in the same write (both or neither)."""
        if entry is None:
            return self._transition(space_id, actions, condition)
        try:
            with transaction(self._connection) as tx:
                tx.update("space", SpaceModel(space_id), actions=actions, condition=condition)
                add_entry(tx, entry)
        except ConditionsFailed as exc:
            if "space" in exc:
                return False
            raise Refused("ledger") from exc
        return True

    @staticmethod
    def _update(space_id: str, actions: list, condition) -> None:
        try:
            SpaceModel(space_id).update(actions=actions, condition=condition)
        except UpdateError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise Refused("space") from exc
            raise dependency_failure(exc) from exc

