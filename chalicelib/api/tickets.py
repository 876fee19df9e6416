"""Ticket sales, subscriptions and the payment provider's webhook."""
from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.api.http import command, current_user_id, endpoint
from chalicelib.api.idempotency import idempotent
from chalicelib.api.pages import RequestPage
from chalicelib.api.views import (
    purchase_view, sales_view, subscription_payment_view, tickets_page_view, unsubscribed_view,
)
from chalicelib.domain.spaces import validate_space_id
from chalicelib.lazy import bodies, service

body = bodies("commerce")
spaces = service("spaces")
tickets = service("tickets")
subscriptions = service("subscriptions")

bp = Blueprint(__name__)


@bp.route("/spaces/{space_id}/tickets", methods=["POST"])
@idempotent(bp, required=True)
@endpoint(status=201)
def buy_ticket(space_id):
    request = bp.current_request
    deps, space_id = bootstrap.deps(), validate_space_id(space_id)
    buy = command(request, body.buy_ticket, authorize=lambda: spaces.get_space(deps, space_id), required=False)
    return purchase_view(*tickets.buy_ticket(deps, current_user_id(request), space_id, buy))


@bp.route("/spaces/{space_id}/tickets", methods=["GET"])
@endpoint()
def space_sales(space_id):
    request = bp.current_request
    return sales_view(*tickets.space_sales(
        bootstrap.deps(), current_user_id(request), validate_space_id(space_id), RequestPage(request),
    ))


@bp.route("/me/tickets", methods=["GET"])
@endpoint()
def my_tickets():
    request = bp.current_request
    return tickets_page_view(
        *tickets.my_tickets(bootstrap.deps(), current_user_id(request), RequestPage(request))
    )


@bp.route("/users/{user_id}/subscription", methods=["POST"])
@idempotent(bp)
@endpoint(status=201)
def subscribe(user_id):
    request = bp.current_request
    subscription = command(request, body.subscribe, authorize=None, required=False)  # nobody to refuse first
    answer = subscriptions.subscribe(bootstrap.deps(), current_user_id(request), user_id, subscription)
    return subscription_payment_view(*answer)


@bp.route("/users/{user_id}/subscription", methods=["DELETE"])
@endpoint()
def unsubscribe(user_id):
    return unsubscribed_view(*subscriptions.unsubscribe(bootstrap.deps(), current_user_id(bp.current_request), user_id))


# No bearer token: the provider's signature over the raw body is the authentication
# (chalicelib/api/middleware.py lets /webhooks/ through).
@bp.route("/webhooks/payments", methods=["POST"], content_types=["application/json", "text/plain"])
@endpoint()
def payment_webhook():
    request = bp.current_request
    return webhook_view(tickets.handle_webhook(bootstrap.deps(), request.raw_body or b"", dict(request.headers or {})))


def webhook_view(handled: bool) -> dict[str, bool]:
    """The provider is told its event was received (else it delivers it again), and whether it
    changed anything."""
    return {"received": True, "handled": handled}
