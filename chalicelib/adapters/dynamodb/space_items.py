"""What the Space repositories share: items to domain objects, and the base they build on.

The Space aggregate is stored in three tables (the Space item, its participant items, its
speaker requests) plus the discovery lists; each repository in `spaces.py`, `participants.py`,
`stage_members.py`, `overflow_claims.py` and `listings.py` owns one consistency boundary of it
and reads the items through these converters.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.adapters.dynamodb.models import ParticipantModel, SpaceModel
from chalicelib.adapters.dynamodb.recording_fields import recording_info_of
from chalicelib.domain.pinned import PinnedPost
from chalicelib.domain.spaces import LISTENER, OverflowInfo, Space, StageInfo
from chalicelib.domain.tickets import Sales, TicketOffer
from chalicelib.ports import Participant


class SpaceTables:
    """The DynamoDB connection transactions go through, and how many shards the participant
    counters and the presence index are spread over (the same number for every repository)."""

    def __init__(self, connection: Any = None, *, count_shards: int = 10) -> None:
        self._connection = connection or SpaceModel._get_connection().connection
        self._shards = count_shards


def stamp(now: datetime, tiebreak: str = "") -> str:
    return f"{now.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}{tiebreak}"


def to_space(m: SpaceModel, participant_count: int = 0) -> Space:
    stage = None
    if m.stage_arn:
        stage = StageInfo(arn=m.stage_arn, events_url=m.stage_events_url or "", whip_url=m.stage_whip_url or "")
    return Space(
        id=m.space_id,
        state=m.state,
        title=m.title,
        creator_id=m.creator_id,
        created_at=m.created_at,
        updated_at=m.updated_at,
        topics=tuple(m.topics or ()),
        scheduled_start=m.scheduled_start,
        started_at=m.started_at,
        ended_at=m.ended_at,
        access=m.access,
        recording=bool(m.recording),
        cohosts=dict(m.cohosts.as_dict() if m.cohosts else {}),
        speakers=dict(m.speakers.as_dict() if m.speakers else {}),
        invited=dict(m.invited.as_dict() if m.invited else {}),
        muted=dict(m.muted.as_dict() if m.muted else {}),
        stage=stage,
        room_arn=m.room_arn,
        overflow=overflow_of(m),
        participant_count=participant_count,
        ticket=_ticket_offer(m),
        sales=_sales(m),
        consents=dict(m.consents.as_dict() if m.consents else {}),
        recording_info=recording_info_of(m),
        blocked_filter=bytes(m.blocked_filter) if m.blocked_filter else None,
        allow_incognito=not m.incognito_off,
        listener_shards=int(m.listener_shards or 1),
        pinned=_pinned(m),
    )


def _pinned(m: SpaceModel) -> PinnedPost | None:
    if m.pinned_url is None or m.pinned_at is None:
        return None
    return PinnedPost(m.pinned_url, m.pinned_text or "", m.pinned_by or "", m.pinned_at)


def overflow_of(m: SpaceModel) -> OverflowInfo | None:
    if m.overflow_state != "on" or not m.overflow_playback_url:
        return None
    return OverflowInfo(
        m.overflow_channel_arn or "",
        m.overflow_playback_url,
        m.overflow_composition_arn or "",
        int(m.overflow_restarts or 0),
    )


def _ticket_offer(m: SpaceModel) -> TicketOffer | None:
    if m.ticket_capacity is None:
        return None
    return TicketOffer(int(m.ticket_price_cents), m.ticket_currency, int(m.ticket_capacity))


def _sales(m: SpaceModel) -> Sales | None:
    if m.ticket_capacity is None:
        return None
    return Sales(
        capacity=int(m.ticket_capacity),
        held=int(m.tickets_held or 0),
        sold=int(m.tickets_sold or 0),
        refunded=int(m.tickets_refunded or 0),
        gross_cents=int(m.tickets_gross_cents or 0),
    )


def to_participant(m: ParticipantModel) -> Participant:
    return Participant(
        space_id=m.space_id,
        user_id=m.user_id,
        role=m.role or LISTENER,
        connected=bool(m.connected),
        participant_id=m.participant_id,
        removed=m.removed_at is not None,
        playback=m.media_kind == "playback",
        blocked=m.blocked_at is not None,
        incognito=bool(m.incognito),
    )


def participant_from_raw(raw: dict | None) -> Participant | None:
    if not raw:
        return None
    return to_participant(ParticipantModel.from_raw_data(raw))

