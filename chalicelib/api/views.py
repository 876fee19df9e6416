"""How domain objects look on the wire (the contract's field names, X API v2 Space object)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.domain.people import PlaybackMedia
from chalicelib.domain.spaces import iso
from chalicelib.domain.tickets import HELD, PAID

if TYPE_CHECKING:  # annotations only: each area's types come with its service, on first use
    from chalicelib.domain.captions import Caption
    from chalicelib.domain.discovery import ListedSpace, SpacesPage
    from chalicelib.domain.people import Joined, ListenerPage, StageMedia, StagePeople
    from chalicelib.domain.pinned import PinnedPost
    from chalicelib.domain.room_events import RoomWay
    from chalicelib.domain.spaces import Space
    from chalicelib.domain.users import Profile
    from chalicelib.domain.subscriptions import Subscription
    from chalicelib.domain.tickets import Ticket
    from chalicelib.domain.payments import Payment


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
        "allow_incognito": space.allow_incognito,
        # When the recording (IVS composition) started; null when not recorded.
        "recording_started_at": iso(space.recording_info.started_at) if space.recording_info else None,
        # The pinned post ({url, text, pinned_by, pinned_at}), or null.
        "pinned": pinned_post_view(space.pinned),
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


def spaces_page_view(page: SpacesPage) -> dict[str, Any]:
    """A page of the Spaces tab (`GET /spaces`)."""
    return {"spaces": [space_summary_view(entry) for entry in page.spaces], "next_cursor": page.next_cursor}


def pinned_post_view(post: PinnedPost | None) -> dict[str, Any] | None:
    """A pinned post as the Space's view and the pin's answer show it (PinnedPost), or null."""
    if post is None:
        return None
    # pinned_at keeps its microseconds: a client orders pins by it.
    pinned_at = post.pinned_at.isoformat().replace("+00:00", "Z")
    return {"url": post.url, "text": post.text, "pinned_by": post.pinned_by, "pinned_at": pinned_at}


def space_summary_view(entry: ListedSpace) -> dict[str, Any]:
    """A list entry: less than `space_view`, from the list's own copy of the Space."""
    item = entry.listing
    return {
        "id": item.space_id,
        "state": item.state,
        "title": item.title,
        "creator_id": item.creator_id,
        "topics": list(item.topics or []),
        "participant_count": entry.participant_count,
        "scheduled_start": iso(item.scheduled_start),
        "started_at": iso(item.started_at),
        # Ticketed and subscriber-only Spaces are listed for everyone and shown locked: joining
        # one takes a ticket or a subscription.
        "access": item.access or "public",
        "is_ticketed": item.access == "ticketed",
        # The pinned post's link and text ({url, text}), or null; the Space's view has the rest.
        "pinned": {"url": item.pinned_url, "text": item.pinned_text or ""} if item.pinned_url else None,
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


def ticket_view(ticket: Ticket) -> dict[str, Any]:
    return {
        "ticket_id": ticket.ticket_id,
        "space_id": ticket.space_id,
        "buyer_id": ticket.buyer_id,
        "status": ticket.status,
        "price_cents": ticket.price_cents,
        "currency": ticket.currency,
        "created_at": iso(ticket.created_at),
        "hold_expires_at": iso(ticket.hold_expires_at) if ticket.status == HELD else None,
        "paid_at": iso(ticket.paid_at),
        "refunded_at": iso(ticket.refunded_at),
    }


def payment_view(payment: Payment) -> dict[str, Any]:
    """The payment a subscribe answer asks the app to complete (with `client_secret`)."""
    return {
        "provider": payment.provider,
        "payment_id": payment.payment_id,
        "client_secret": payment.client_secret,
        "status": payment.status,
        "amount_cents": payment.amount_cents,
        "currency": payment.currency,
    }


def subscription_view(sub: Subscription) -> dict[str, Any]:
    return {
        "creator_id": sub.creator_id,
        "subscriber_id": sub.subscriber_id,
        "tier": sub.tier,
        "price_cents": sub.price_cents,
        "currency": sub.currency,
        "status": sub.status,
        "current_period_end": iso(sub.current_period_end),
        "created_at": iso(sub.created_at),
        # Whether the job will charge the next period, and when access ends without it
        # (past_due: the grace's end).
        "renews": sub.renews,
        "renewal_attempts": sub.renewal_attempts,
        "access_until": iso(sub.access_ends_at),
    }


def purchase_view(ticket: Ticket, payment: Payment) -> dict[str, Any]:
    """A buy's answer: the ticket, and the payment the app completes before `pay_before`."""
    return {
        "ticket": ticket_view(ticket),
        "payment": {
            **payment_view(payment),
            # Paid at once (a saved card): the ticket says so even if the payment read pending.
            "status": "succeeded" if ticket.status == PAID else payment.status,
            "pay_before": iso(ticket.hold_expires_at),
        },
    }


def sales_view(space: Space, tickets: list[Ticket], next_cursor: str | None) -> dict[str, Any]:
    """The host's view of a ticketed Space's sales: seats and money, and a page of buyers."""
    assert space.ticket is not None and space.sales is not None  # the use case refused others
    s = space.sales
    return {
        "space_id": space.id,
        "price_cents": space.ticket.price_cents,
        "currency": space.ticket.currency,
        "capacity": s.capacity,
        "sold": s.sold,
        "held": s.held,
        "refunded": s.refunded,
        "remaining": s.remaining,
        "gross_cents": s.gross_cents,
        "tickets": [ticket_view(t) for t in tickets],
        "next_cursor": next_cursor,
    }


def tickets_page_view(tickets: list[Ticket], next_cursor: str | None) -> dict[str, Any]:
    return {"tickets": [ticket_view(t) for t in tickets], "next_cursor": next_cursor}


def subscription_payment_view(sub: Subscription, payment: Payment) -> dict[str, Any]:
    return {"subscription": subscription_view(sub), "payment": payment_view(payment)}


def unsubscribed_view(creator_id: str, sub: Subscription | None, changed: bool) -> dict[str, Any]:
    """`sub` None: there was no subscription granting access (nothing to cancel)."""
    if sub is None:
        return {"creator_id": creator_id, "subscribed": False, "changed": False}
    return {"subscription": subscription_view(sub), "changed": changed}


# ---------------------------------------------------------------- people (docs/people.md)


def profile_view(profile: Profile) -> dict[str, Any]:
    """GET / PATCH /me: what others see (`name`, `avatar_url`: the user's own, else the token's
    claims), and the user's own values apart, so an app can edit them."""
    return {
        "user_id": profile.user_id,
        "name": profile.name,
        "avatar_url": profile.avatar,
        "display_name": profile.display_name,
        "own_avatar_url": profile.avatar_url,
    }


def person_view(user_id: str, profiles: dict[str, Profile]) -> dict[str, Any]:
    """One person in a list: the id, and the name and avatar to show (null: show the id)."""
    profile = profiles.get(user_id)
    return {
        "user_id": user_id,
        "name": profile.name if profile else None,
        "avatar_url": profile.avatar if profile else None,
    }


def room_way_view(way: RoomWay) -> dict[str, Any]:
    """A join answer's `events`: IVS Chat's region (and endpoint, if the stage has its own), or
    the local event log's URL; then the chat token route."""
    view: dict[str, Any] = {"transport": way.transport}
    if way.region is not None:
        view["region"] = way.region
    if way.url is not None:
        view["url"] = way.url
    view["token_url"] = way.token_url
    return view


def joined_view(joined: Joined) -> dict[str, Any]:
    """A join's (and an accepted invitation's) answer: JoinResponse in openapi.yaml."""
    view: dict[str, Any] = {
        "space_id": joined.space_id,
        "role": joined.role,
        # media.kind: "stage" (an IVS participant token) or "playback" (the overflow channel).
        "media": media_view(joined.media),
        # Presence: call join again within this many seconds to keep being counted.
        "heartbeat_interval_seconds": joined.heartbeat_interval_seconds,
        # Where room events come from; no call made here (chat tokens: POST .../events/token).
        "events": room_way_view(joined.events),
        # Listening unlisted: counted, in no list of people (docs/people.md).
        "incognito": joined.incognito,
    }
    if joined.recording_consent_required:
        view["recording_consent_required"] = True
    if joined.incognito_refused is not None:
        # Asked for incognito and joined as a listener everyone sees: the client decides
        # whether to stay (leave, or keep listening).
        view["incognito_refused"] = joined.incognito_refused
    if joined.recording is not None:
        view["recording"] = joined.recording
    return view


def media_view(media: StageMedia | PlaybackMedia) -> dict[str, Any]:
    """A join's `media`: the stage's participant token, or an overflow listener's playback."""
    if isinstance(media, PlaybackMedia):
        return {
            "kind": media.kind,
            "playback_url": f"{media.playback_url}?token={media.token}",
            "stage_arn": None,
            "participant_id": media.participant_id,
            "token": media.token,
            "expires_at": iso(media.expires_at),
            "capabilities": [],
        }
    return {
        "kind": media.kind,
        "stage_arn": media.stage_arn,
        "participant_id": media.participant_id,
        "token": media.token,
        "expires_at": iso(media.expires_at),
        "capabilities": ["PUBLISH", "SUBSCRIBE"] if media.publish else ["SUBSCRIBE"],
        **media.endpoints,
    }


def stage_people_view(people: StagePeople) -> dict[str, Any]:
    """GET /spaces/{id}/participants: the id lists clients have relied on, and the same people
    with names and avatars (`hosts`, `speakers`, `invited`, each raised hand)."""
    space, profiles = people.space, people.profiles
    view: dict[str, Any] = {
        "space_id": space.id,
        "host_ids": space.host_ids,
        "speaker_ids": space.speaker_ids,
        "invited_user_ids": space.invited_user_ids,
        "muted_user_ids": sorted(space.muted),
        "participant_count": space.participant_count,
        "listener_count": max(space.participant_count - space.on_stage_count, 0),
        "recording": space.recording,
        "speaker_requests": {"count": people.request_count},
        "me": {
            "user_id": people.me.user_id,
            "role": people.me.role,
            "connected": people.me.connected,
            "removed": people.me.removed,
            "hand_raised": people.me.hand_raised,
            "invited": people.me.invited,
            "incognito": people.me.incognito,
        },
        "hosts": [person_view(uid, profiles) for uid in space.host_ids],
        "speakers": [person_view(uid, profiles) for uid in space.speaker_ids],
        "invited": [person_view(uid, profiles) for uid in space.invited_user_ids],
        "allow_incognito": space.allow_incognito,
    }
    if people.requests is not None:
        view["speaker_requests"]["requests"] = [
            {**person_view(uid, profiles), "raised_at": iso(at)} for uid, at in people.requests
        ]
    if people.moderator:
        # How many listen incognito, never who (hosts and co-hosts only).
        view["incognito_count"] = space.incognito_count
    return view


def listener_page_view(page: ListenerPage) -> dict[str, Any]:
    view: dict[str, Any] = {
        "space_id": page.space_id,
        "listeners": [
            {**person_view(entry.user_id, page.profiles), "joined_at": iso(entry.joined_at)} for entry in page.listeners
        ],
        "next_cursor": page.next_cursor,
        "participant_count": page.participant_count,
    }
    if page.incognito_count is not None:
        view["incognito_count"] = page.incognito_count
    return view
