"""Use cases of ticketed Spaces: buy, settle, expire, refund (subscribing: services/subscriptions.py).

Order of effects, so no money or seat is ever lost:
- a seat is HELD in the database before the provider is asked for a payment; if the provider
  fails or declines, the hold is let go at once (and if even that fails, it expires);
- the provider's signed webhook settles a payment: a held ticket becomes paid; a payment that
  arrives for a ticket no longer held gets the seat back if one is free, else is refunded;
- refunds are claimed (paid -> refunding) before the provider is asked, with an idempotency key
  per ticket, so retries and Lambda redeliveries refund each ticket exactly once.
"""
from __future__ import annotations

from typing import Any

from datetime import datetime, timedelta

from aws_lambda_powertools import Logger
from msgspec.structs import replace

from chalicelib.config import SERVICE_NAME
from chalicelib.domain.errors import BadRequest, Conflict, DependencyFailed, Forbidden, RuleViolation
from chalicelib.domain.events.lifecycle import SpaceCanceled
from chalicelib.domain.commands.commerce import BuyTicket
from chalicelib.domain.ids import new_ulid
from chalicelib.domain.messages import RefundSpace
from chalicelib.domain.reminders import CANCELED as CANCELED_MOMENT
from chalicelib.domain.spaces import CANCELED, LIVE, SCHEDULED, TICKETED, Space
from chalicelib.domain.payments import parse_reference, ticket_reference
from chalicelib.domain.tickets import EXPIRED, FAILED, HELD, PAID, REFUNDING, RELEASED, Refunds, Ticket
from chalicelib.domain.payments import InvalidWebhook, Payment, PaymentDeclined, PaymentEvent
from chalicelib.ports import FIRST_PAGE, PageCursor, Refused
from chalicelib.services import reminders, renewals, subscriptions
from chalicelib.services.context import Deps

logger = Logger(child=True, service=SERVICE_NAME)

REFUND_PAGE = 100


# ---------------------------------------------------------------------------------- buying


def buy_ticket(deps: Deps, buyer_id: str, space_id: str, buy: BuyTicket = BuyTicket()) -> tuple[Ticket, Payment]:
    """The ticket (held, or paid at once) and the payment the app completes (api/views.py
    purchase_view)."""
    space = deps.spaces.get(space_id, with_count=False)
    payment_method = buy.payment_method
    if space.access != TICKETED or space.ticket is None:
        raise RuleViolation(f"Space {space_id} is not ticketed", code="not_ticketed")
    _require_on_sale(space)
    if not space.needs_pass(buyer_id):
        raise Conflict("hosts, co-hosts, speakers and invited speakers need no ticket", code="ticket_not_needed")

    now = deps.clock.now()
    ticket = Ticket(
        space_id=space_id,
        buyer_id=buyer_id,
        ticket_id=new_ulid(),
        status=HELD,
        price_cents=space.ticket.price_cents,
        currency=space.ticket.currency,
        created_at=now,
        hold_expires_at=now + timedelta(seconds=deps.settings.ticket_hold_seconds),
        provider=deps.payments.name,
    )
    _hold(deps, ticket)
    try:
        payment = deps.payments.create_payment(
            reference=ticket_reference(ticket),
            amount_cents=ticket.price_cents,
            currency=ticket.currency,
            description=f"Ticket: {space.title}"[:200],
            idempotency_key=f"ticket-{ticket.ticket_id}",
            payment_method=payment_method,
            metadata={"space_id": space_id, "buyer_id": buyer_id},
        )
    except PaymentDeclined as exc:
        _let_go(deps, ticket, FAILED)
        raise RuleViolation(
            "the payment was declined; no money was taken",
            code="payment_declined",
            details={"decline_code": exc.decline_code} if exc.decline_code else None,
        ) from exc
    except DependencyFailed:
        _let_go(deps, ticket, FAILED)
        raise
    try:
        deps.tickets.set_payment(ticket, payment.provider, payment.payment_id)
    except (Refused, DependencyFailed):
        # Not needed to settle (the webhook names the ticket); only lets an expiring hold
        # cancel its payment. Logged, not failed: the buyer's money path is intact.
        logger.warning("payment id not recorded on ticket", ticket_id=ticket.ticket_id)
    ticket = replace(ticket, payment_id=payment.payment_id, provider=payment.provider)
    deps.telemetry.count("TicketHeld")
    if payment.status == "succeeded":
        _settle(deps, ticket, payment.payment_id)
        ticket = deps.tickets.get(space_id, buyer_id) or ticket
    logger.info("ticket held", space_id=space_id, buyer_id=buyer_id, ticket_id=ticket.ticket_id)
    return ticket, payment


def _require_on_sale(space: Space) -> None:
    if space.state not in (SCHEDULED, LIVE):
        raise Conflict(f"Space {space.id} is {space.state}; its tickets are off sale", code=f"space_{space.state}")


def _hold(deps: Deps, ticket: Ticket) -> None:
    try:
        deps.tickets.hold(ticket)
    except Refused as exc:
        if exc.part == "ticket":
            raise _already(getattr(exc, "ticket", None)) from exc
        _require_on_sale(deps.spaces.get(ticket.space_id, with_count=False))
        deps.telemetry.count("TicketSoldOut")
        raise Conflict("this Space is sold out", code="sold_out") from exc
    except DependencyFailed:
        stored = deps.tickets.get(ticket.space_id, ticket.buyer_id)
        if stored is None or stored.ticket_id != ticket.ticket_id:
            raise
        logger.info("hold committed despite the error", ticket_id=ticket.ticket_id)


def _already(existing: Ticket | None) -> Conflict:
    details = {"ticket_id": existing.ticket_id, "status": existing.status} if existing else None
    if existing is not None and existing.status == HELD:
        return Conflict(
            "you already hold a ticket for this Space, waiting for its payment", code="ticket_pending", details=details
        )
    if existing is not None and existing.status == PAID:
        return Conflict("you already have a ticket for this Space", code="already_has_ticket", details=details)
    return Conflict("your ticket for this Space was refunded", code="ticket_refunded", details=details)


def _let_go(deps: Deps, ticket: Ticket, to_status: str) -> bool:
    """Return a held seat. False if it could not be done now (the hold then expires)."""
    try:
        deps.tickets.release(ticket, to_status, deps.clock.now())
    except Refused:
        return False  # no longer held: settled or let go by someone else
    except DependencyFailed:
        logger.warning("hold not released; it will expire", ticket_id=ticket.ticket_id)
        return False
    deps.telemetry.count("TicketHoldReleased")
    return True


# ---------------------------------------------------------------------------------- webhooks


def handle_webhook(deps: Deps, payload: bytes, headers: dict[str, Any]) -> bool:
    """A provider webhook, received: whether it changed anything (False for an event about
    nothing of ours, or one redelivered). A signature that does not verify: 400."""
    try:
        event = deps.payments.parse_webhook(payload, headers)
    except InvalidWebhook as exc:
        logger.warning("webhook refused", reason=str(exc))
        raise BadRequest("the webhook signature does not verify", code="invalid_webhook_signature") from exc
    if event is None:
        return False
    return handle_payment_event(deps, event)


def handle_payment_event(deps: Deps, event: PaymentEvent) -> bool:
    """Apply one verified provider event. Every transition is conditional, so a redelivered
    event finds its work done and changes nothing."""
    ref = parse_reference(event.reference)
    if ref is None:
        logger.info("payment event for nothing of ours", event_id=event.event_id, kind=event.kind)
        return False
    kind, a, b, object_id = ref
    logger.info("payment event", event_id=event.event_id, kind=event.kind, reference=event.reference)
    if kind == "ticket":
        return _ticket_event(deps, a, b, object_id, event)
    if kind in ("renew", "update"):
        handler = renewals.renewal_event if kind == "renew" else renewals.card_update_event
        return handler(deps, a, b, object_id, event)
    return subscriptions.subscription_event(deps, a, b, object_id, event)


def _ticket_event(deps: Deps, space_id: str, buyer_id: str, ticket_id: str, event: PaymentEvent) -> bool:
    ticket = deps.tickets.get(space_id, buyer_id)
    if ticket is None or ticket.ticket_id != ticket_id:
        if event.kind == "payment_succeeded":
            # Money for a ticket that no longer exists (the buyer bought again after this one
            # failed): give it back.
            refund_id = deps.payments.refund(event.payment_id, idempotency_key=f"refund-{ticket_id}")
            deps.telemetry.count("OrphanPaymentRefunded")
            logger.info("orphan payment refunded", ticket_id=ticket_id, refund_id=refund_id)
            return True
        return False
    if event.kind == "payment_succeeded":
        return _settle(deps, ticket, event.payment_id)
    if event.kind in ("payment_failed", "payment_canceled") and ticket.status == HELD:
        return _let_go(deps, ticket, FAILED)
    return False


def _settle(deps: Deps, ticket: Ticket, payment_id: str) -> bool:
    """The buyer's payment succeeded. True when this call changed the ticket."""
    now = deps.clock.now()
    for _ in range(3):
        if ticket.status in (PAID, REFUNDING) or (ticket.status == "refunded" and ticket.payment_id == payment_id):
            return False
        try:
            if ticket.status == HELD:
                deps.tickets.confirm(ticket, payment_id, now)
            else:
                deps.tickets.retake(ticket, payment_id, now)
            deps.telemetry.count("TicketSold")
            return True
        except Refused as exc:
            if exc.part == "space":
                # Paid after the hold was let go, and no seat is left (sold out or canceled).
                return _refund_unseated(deps, replace(ticket, payment_id=payment_id), payment_id)
            ticket = deps.tickets.get(ticket.space_id, ticket.buyer_id) or ticket
    raise DependencyFailed("the ticket kept changing while settling; retry", code="write_conflict")


def _refund_unseated(deps: Deps, ticket: Ticket, payment_id: str) -> bool:
    refund_id = deps.payments.refund(payment_id, idempotency_key=f"refund-{ticket.ticket_id}")
    try:
        deps.tickets.finish_refund(ticket, refund_id, deps.clock.now())
    except Refused:
        return False
    deps.telemetry.count("LatePaymentRefunded")
    return True


# ---------------------------------------------------------------------------------- holds


def expire_holds(deps: Deps) -> int:
    """Let go of holds whose buyer did not pay in time (the scheduled job). Returns how many."""
    now = deps.clock.now()
    expired = sum(expire_hold(deps, space_id, buyer_id, now) for space_id, buyer_id in deps.tickets.expired_holds(now))
    if expired:
        deps.telemetry.count("TicketHoldExpired", expired)
    return expired


def expire_hold(deps: Deps, space_id: str, buyer_id: str, now: datetime) -> bool:
    """One hold past its time: void its payment, then return the seat. True when let go."""
    ticket = deps.tickets.get(space_id, buyer_id)
    if ticket is None or ticket.status != HELD or (ticket.hold_expires_at and ticket.hold_expires_at > now):
        return False
    if ticket.payment_id:
        try:
            deps.payments.cancel_payment(ticket.payment_id)
        except PaymentDeclined:
            _settle(deps, ticket, ticket.payment_id)  # it went through after all
            return False
        except DependencyFailed:
            return False  # next run
    return _let_go(deps, ticket, EXPIRED)


# ---------------------------------------------------------------------------------- refunds


def queue_refunds(deps: Deps, event: SpaceCanceled) -> None:
    """Queue the refund of a canceled ticketed Space (done by `refund_space`, in the ticket
    worker). Sent again on every cancel retry: refunding is idempotent. Raises DependencyFailed:
    the cancel answers 503 and the client retries it."""
    if event.space.access == TICKETED:
        deps.tickets_queue.send_batch([RefundSpace(event.space.id)])


def refund_space(deps: Deps, space_id: str) -> Refunds:
    """Refund every paid ticket of a canceled Space and let go of every hold, then tell the
    buyers. Safe to run again at any point: each ticket moves by conditional writes."""
    space = deps.spaces.get(space_id, with_count=False)
    if space.state != CANCELED:
        return Refunds()
    refunded, released, buyers = 0, 0, []
    cursor = None
    while True:
        page, cursor = deps.tickets.for_space(space_id, limit=REFUND_PAGE, after=cursor)
        for ticket in page:
            outcome = _refund_one(deps, ticket)
            if outcome == "refunded":
                refunded += 1
            elif outcome == "released":
                released += 1
            if ticket.status in (HELD, PAID, REFUNDING) or outcome is not None:
                buyers.append(ticket.buyer_id)
        if not cursor:
            break
    if buyers:
        reminders.announce(deps, space, CANCELED_MOMENT, buyers)
    if refunded:
        deps.telemetry.count("TicketRefunded", refunded)
    logger.info("space refunded", space_id=space_id, refunded=refunded, released=released)
    return Refunds(refunded, released)


def _refund_one(deps: Deps, ticket: Ticket) -> str | None:
    if ticket.status == HELD:
        if ticket.payment_id:
            try:
                deps.payments.cancel_payment(ticket.payment_id)
            except PaymentDeclined:
                _settle(deps, ticket, ticket.payment_id)  # paid meanwhile: refund it below
                ticket = deps.tickets.get(ticket.space_id, ticket.buyer_id) or ticket
        if ticket.status == HELD:
            try:
                deps.tickets.release(ticket, RELEASED, deps.clock.now())
                return "released"
            except Refused:
                ticket = deps.tickets.get(ticket.space_id, ticket.buyer_id) or ticket
    if ticket.status == PAID:
        try:
            deps.tickets.begin_refund(ticket)
        except Refused:
            ticket = deps.tickets.get(ticket.space_id, ticket.buyer_id) or ticket
            if ticket.status != REFUNDING:
                return None
        ticket = replace(ticket, status=REFUNDING)
    if ticket.status == REFUNDING:
        assert ticket.payment_id is not None  # only a paid ticket is refunded
        refund_id = deps.payments.refund(ticket.payment_id, idempotency_key=f"refund-{ticket.ticket_id}")
        try:
            deps.tickets.finish_refund(ticket, refund_id, deps.clock.now())
        except Refused:
            return None  # another worker finished it
        return "refunded"
    return None


# ---------------------------------------------------------------------------------- reading


def space_sales(deps: Deps, user_id: str, space_id: str, page: PageCursor = FIRST_PAGE) -> tuple[Space, list[Ticket], str | None]:
    """The host's view: seats and money, and the buyers page by page."""
    space = deps.spaces.get(space_id, with_count=False)
    if user_id != space.creator_id:
        raise Forbidden("only the host sees a Space's sales", code="not_host")
    if space.ticket is None or space.sales is None:
        raise RuleViolation(f"Space {space_id} is not ticketed", code="not_ticketed")
    limit = page.limit()
    tickets, last = deps.tickets.for_space(space_id, limit=limit, after=page.after({"buyer_id": str}))
    return space, tickets, page.seal(last)


def my_tickets(deps: Deps, user_id: str, page: PageCursor = FIRST_PAGE) -> tuple[list[Ticket], str | None]:
    limit = page.limit()
    after = page.after({"bought_key": str, "space_id": str})
    tickets, last = deps.tickets.for_buyer(user_id, limit=limit, after=after)
    return tickets, page.seal(last)
