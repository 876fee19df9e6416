"""Recording, consent, replays and captions on DynamoDB.

The recording and replay live on the Space item (its `SpaceModel` attributes in the "Recording"
block); caption segments have their own table (`CaptionModel`). As elsewhere, every rule two
requests could race on is a condition in the write:

- a caption is written in one transaction with a check that its author is on stage of a live
  Space, so a speaker demoted a moment ago cannot slip one in;
- a co-host's consent is written only while they are a co-host of a recorded Space;
- a restarted recording's new segment is appended only while the Space is live, still names the
  stopped composition as current and is under its restart cap, so two job runs append one;
- each replay transition (processing -> remuxing | failed, remuxing -> remuxing (a new job) |
  available | failed, -> deleted) is conditional on the state it leaves (and, from remuxing, on
  the job it followed), so the landing job, a second landing and a host's delete never undo
  each other.

The helpers at the top are what `adapters/dynamodb/spaces.py` adds to its own writes (create,
start, end) and reads, so those stay single writes.
"""
from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.adapters.dynamodb.errors import dependency_failure, error_code
from chalicelib.adapters.dynamodb.models import BlockModel, CaptionModel, SpaceModel
from chalicelib.adapters.dynamodb.transactions import ConditionsFailed, transaction
from chalicelib.domain.recording import (
    AVAILABLE,
    DELETED,
    FAILED,
    PROCESSING,
    REMUXING,
    TRANSCRIPT_RUNNING,
    Caption,
    RecordingInfo,
    RecordingSegment,
)
from chalicelib.ports import Refused

LIVE = "live"  # chalicelib.domain.spaces.LIVE (not imported: domain.spaces imports this module's domain)
# `recording_pending` while the Space is live (the rank job keeps its composition running), and
# once it ended until the replay landed (the landing job).
WATCHED, LANDING = "live", "1"


def _stamp(now: datetime) -> str:
    return now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# ------------------------------------------------------------------ what the Space writes carry


def _segments_of(m: SpaceModel) -> tuple[RecordingSegment, ...]:
    """The recording's compositions in order, each with its prefix when known. A Space recorded
    before segments existed has one: `composition_arn` under `recording_prefix`."""
    arns = list(m.recording_compositions or ([m.composition_arn] if m.composition_arn else []))
    learned = dict(fact.split(" ", 1) for fact in (m.recording_prefixes or []) if " " in fact)
    if arns and m.recording_prefix:
        learned.setdefault(arns[0], m.recording_prefix)
    return tuple(RecordingSegment(arn, learned.get(arn)) for arn in arns)


def prefix_fact(composition_arn: str, prefix: str) -> str:
    return f"{composition_arn} {prefix}"


def _append(attribute, values: list, missing: list | None = None):
    """SET attribute = list_append(if_not_exists(attribute, missing), values): no read, and an
    item that has no list yet gets one."""
    return attribute.set((attribute | (missing or [])).append(values))


def recording_info_of(m: SpaceModel) -> RecordingInfo | None:
    if not m.composition_arn and not m.replay_state:
        return None
    sources = list(m.replay_source_keys or ([m.replay_source_key] if m.replay_source_key else []))
    return RecordingInfo(
        started_at=m.recording_started_at,
        composition_arn=m.composition_arn,
        prefix=m.recording_prefix,
        segments=_segments_of(m),
        restarts=int(m.recording_restarts or 0),
        stopped_at=m.recording_stopped_at,
        replay_state=m.replay_state,
        media_key=m.replay_media_key,
        duration_ms=int(m.replay_duration_ms) if m.replay_duration_ms is not None else None,
        source_keys=tuple(sources),
        remux_job=m.remux_job,
        remux_attempts=int(m.remux_attempts or 0),
        remux_started_at=m.remux_started_at,
        transcript_state=m.transcript_state,
        transcription_job=m.transcription_job,
        transcript_key=m.transcript_key,
    )


def recording_item_fields(space) -> dict:
    """SpaceModel attributes of a new Space: its consents, and its recording if it started live."""
    fields: dict = {"consents": dict(space.consents)}
    info = space.recording_info
    if info is not None:
        fields.update(
            recording_started_at=info.started_at,
            composition_arn=info.composition_arn,
            recording_prefix=info.prefix,
            recording_compositions=[info.composition_arn],
            recording_pending=WATCHED,
        )
    return fields


def recording_start_actions(space) -> list:
    """The start transaction's part: recording as decided at the start (the host may turn it on
    or off then), the host's consent, and the composition when one started."""
    if not space.recording:
        return [SpaceModel.recording.set(False)]
    actions = [SpaceModel.recording.set(True), SpaceModel.consents.set(dict(space.consents))]
    info = space.recording_info
    if info is not None:
        actions += [
            SpaceModel.recording_started_at.set(info.started_at),
            SpaceModel.composition_arn.set(info.composition_arn),
            SpaceModel.recording_compositions.set([info.composition_arn]),
            SpaceModel.recording_pending.set(WATCHED),
        ]
        if info.prefix:
            actions.append(SpaceModel.recording_prefix.set(info.prefix))
    return actions


def recording_end_actions(space, now: datetime) -> list:
    """The end transaction's part: a recorded Space's replay starts processing, and the landing
    job will find it on the sparse `recording_pending` index."""
    if not space.recording or space.recording_info is None or not space.recording_info.composition_arn:
        return []
    return [
        SpaceModel.recording_stopped_at.set(now),
        SpaceModel.replay_state.set(PROCESSING),
        SpaceModel.recording_pending.set(LANDING),
    ]


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

    # ------------------------------------------------------------------ the replay

    def set_prefix(self, space_id: str, composition_arn: str, prefix: str) -> None:
        """Where IVS writes one of the recording's compositions."""
        self._update(
            space_id, [_append(SpaceModel.recording_prefixes, [prefix_fact(composition_arn, prefix)])], SpaceModel.space_id.exists()
        )

    def pending(self, limit: int = 50) -> list[str]:
        """Recorded Spaces whose replay has not landed or whose transcription runs (a Query on
        the sparse index)."""
        return self._pending(LANDING, limit)

    def live_recorded(self, limit: int = 1000) -> list[str]:
        """Live recorded Spaces whose composition the rank job keeps running (the same sparse
        index, its "live" value: one Query, never a Scan)."""
        return self._pending(WATCHED, limit)

    def _pending(self, value: str, limit: int) -> list[str]:
        try:
            return [m.space_id for m in SpaceModel.recording_pending_index.query(value, limit=limit)]
        except Exception as exc:
            raise dependency_failure(exc) from exc

    def add_segment(
        self,
        space_id: str,
        *,
        stopped_arn: str,
        stopped_prefix: str | None,
        new_arn: str,
        new_prefix: str | None,
        restarts: int,
        max_restarts: int,
    ) -> None:
        """A restarted recording: `new_arn` becomes the current composition and is appended to
        the segments, on condition the Space is live, still records `stopped_arn` as current, and
        has fewer than `max_restarts` restarts; so of two job runs restarting the same composition
        one writes. Refused("space") otherwise. What IVS reported of the prefixes is kept."""
        facts = [prefix_fact(arn, p) for arn, p in ((stopped_arn, stopped_prefix), (new_arn, new_prefix)) if p]
        actions = [
            SpaceModel.composition_arn.set(new_arn),
            _append(SpaceModel.recording_compositions, [new_arn], missing=[stopped_arn]),
            SpaceModel.recording_restarts.set(restarts),
        ]
        if facts:
            actions.append(_append(SpaceModel.recording_prefixes, facts))
        self._update(
            space_id,
            actions,
            (SpaceModel.state == LIVE)
            & (SpaceModel.composition_arn == stopped_arn)
            & (SpaceModel.recording_pending == WATCHED)
            & (SpaceModel.recording_restarts.does_not_exist() | (SpaceModel.recording_restarts < max_restarts)),
        )

    def stop_watching(self, space_id: str, composition_arn: str) -> bool:
        """The live Space's recording is not restarted any more (its cap is reached): it leaves
        the rank job's list. True for the one call that took it off."""
        return self._transition(
            space_id,
            [SpaceModel.recording_pending.remove()],
            (SpaceModel.state == LIVE) & (SpaceModel.composition_arn == composition_arn) & (SpaceModel.recording_pending == WATCHED),
        )

    def start_remux(
        self,
        space_id: str,
        *,
        job_id: str,
        source_keys: list[str],
        duration_ms: int | None,
        now: datetime,
    ) -> bool:
        """processing -> remuxing: the recording is complete (its segments landed) and its first
        remux job runs on their playlists, in order. False when the replay is no longer
        processing (another landing won, or deleted)."""
        actions = [
            SpaceModel.replay_state.set(REMUXING),
            SpaceModel.replay_source_keys.set(list(source_keys)),
            SpaceModel.replay_source_key.set(source_keys[0]),
            SpaceModel.remux_job.set(job_id),
            SpaceModel.remux_attempts.set(1),
            SpaceModel.remux_started_at.set(now),
        ]
        if duration_ms is not None:
            actions.append(SpaceModel.replay_duration_ms.set(duration_ms))
        return self._transition(space_id, actions, SpaceModel.replay_state == PROCESSING)

    def retry_remux(self, space_id: str, *, failed_job: str, job_id: str, now: datetime) -> bool:
        """remuxing -> remuxing with a new job, on condition the failed one is still current."""
        return self._transition(
            space_id,
            [
                SpaceModel.remux_job.set(job_id),
                SpaceModel.remux_attempts.add(1),
                SpaceModel.remux_started_at.set(now),
            ],
            self._remuxing_with(failed_job),
        )

    def land(
        self,
        space_id: str,
        *,
        remux_job: str,
        media_key: str,
        transcript_state: str,
        transcription_job: str | None = None,
        transcript_key: str | None = None,
    ) -> bool:
        """remuxing -> available, once `remux_job` wrote the replay's file. Stays on the pending
        index while a transcription runs. False when the replay is no longer remuxing with that
        job (deleted meanwhile, or another landing moved on)."""
        actions = [
            SpaceModel.replay_state.set(AVAILABLE),
            SpaceModel.replay_media_key.set(media_key),
            SpaceModel.transcript_state.set(transcript_state),
        ]
        if transcription_job:
            actions.append(SpaceModel.transcription_job.set(transcription_job))
        if transcript_key:
            actions.append(SpaceModel.transcript_key.set(transcript_key))
        if transcript_state != TRANSCRIPT_RUNNING:
            actions.append(SpaceModel.recording_pending.remove())
        return self._transition(space_id, actions, self._remuxing_with(remux_job))

    def finish_transcript(self, space_id: str, *, state: str, transcript_key: str | None) -> bool:
        """A transcription ended (ready or failed); the Space leaves the pending index."""
        actions = [SpaceModel.transcript_state.set(state), SpaceModel.recording_pending.remove()]
        if transcript_key:
            actions.append(SpaceModel.transcript_key.set(transcript_key))
        return self._transition(space_id, actions, SpaceModel.transcript_state == TRANSCRIPT_RUNNING)

    def fail(self, space_id: str, *, remux_job: str | None = None) -> bool:
        """processing -> failed (no recording appeared in time), or, given the job that failed
        last, remuxing -> failed (no remux succeeded)."""
        return self._transition(
            space_id,
            [SpaceModel.replay_state.set(FAILED), SpaceModel.recording_pending.remove()],
            self._remuxing_with(remux_job) if remux_job else SpaceModel.replay_state == PROCESSING,
        )

    def drop_pending(self, space_id: str) -> None:
        """Leave the pending index (a Space the job can do nothing more for)."""
        self._update(space_id, [SpaceModel.recording_pending.remove()], SpaceModel.space_id.exists())

    def delete_replay(self, space_id: str) -> bool:
        """-> deleted. False when it already was."""
        return self._transition(
            space_id,
            [SpaceModel.replay_state.set(DELETED), SpaceModel.recording_pending.remove()],
            SpaceModel.replay_state.exists() & (SpaceModel.replay_state != DELETED),
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

    @staticmethod
    def _remuxing_with(job_id: str):
        return (SpaceModel.replay_state == REMUXING) & (SpaceModel.remux_job == job_id)

    def _transition(self, space_id: str, actions: list, condition) -> bool:
        try:
            self._update(space_id, actions, condition)
        except Refused:
            return False
        return True

    @staticmethod
    def _update(space_id: str, actions: list, condition) -> None:
        try:
            SpaceModel(space_id).update(actions=actions, condition=condition)
        except UpdateError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise Refused("space") from exc
            raise dependency_failure(exc) from exc
