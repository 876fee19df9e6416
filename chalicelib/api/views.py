"""How domain objects look on the wire (the contract's field names, X API v2 Space object)."""
from __future__ import annotations

from chalicelib.domain.recording import Caption
from chalicelib.domain.spaces import Space, iso


def space_view(space: Space) -> dict:
    return {
        "id": space.id,
        "state": space.state,
        "title": space.title,
        "creator_id": space.creator_id,
        "host_ids": space.host_ids,
        # Who is on stage now: nobody before the start or after the end.
        "speaker_ids": space.speaker_ids if space.state == "live" else [],
        "invited_user_ids": space.invited_user_ids,
        "muted_user_ids": sorted(space.muted),
        "participant_count": space.participant_count,
        "subscriber_count": space.subscriber_count,
        "scheduled_start": iso(space.scheduled_start),
        "started_at": iso(space.started_at),
        "ended_at": iso(space.ended_at),
        "is_ticketed": space.access == "ticketed",
        "access": space.access,
        "ticket": _ticket_view(space),
        "topics": list(space.topics),
        "recording": space.recording,
        # When the recording (IVS composition) started; null when not recorded.
        "recording_started_at": iso(space.recording_info.started_at) if space.recording_info else None,
        "created_at": iso(space.created_at),
        "updated_at": iso(space.updated_at),
    }


def _ticket_view(space: Space) -> dict | None:
    if space.ticket is None:
        return None
    sales = space.sales
    return {
        "price_cents": space.ticket.price_cents,
        "currency": space.ticket.currency,
        "capacity": space.ticket.capacity,
        "sold": sales.sold if sales else 0,
        "remaining": sales.remaining if sales else space.ticket.capacity,
    }


def caption_view(caption: Caption) -> dict:
    return {
        "id": caption.caption_id,
        "space_id": caption.space_id,
        "user_id": caption.user_id,
        "text": caption.text,
        "language": caption.language,
        "start_ms": caption.start_ms,
        "end_ms": caption.end_ms,
        "created_at": iso(caption.created_at),
    }


def caption_page_view(space_id: str, captions: list[Caption], next_cursor: str | None) -> dict:
    return {"space_id": space_id, "captions": [caption_view(c) for c in captions], "next_cursor": next_cursor}
