"""Webhook verification and reading, shared by the Stripe and the sandbox adapters.

Both providers sign events the way Stripe does (`Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256
of "<t>.<payload>">`) and both verify them with the Stripe SDK's own `Webhook.construct_event`,
so the sandbox runs the very verification code production runs.

What the app acts on:

| event type                      | kind              | payment_id              | amount                 |
| ------------------------------- | ----------------- | ----------------------- | ---------------------- |
| payment_intent.succeeded        | payment_succeeded | the PaymentIntent's id  | amount                 |
| payment_intent.payment_failed   | payment_failed    | the PaymentIntent's id  | amount                 |
| payment_intent.canceled         | payment_canceled  | the PaymentIntent's id  | amount                 |
| charge.refunded (fully refunded)| refunded          | the charge's PI         | amount_refunded        |

A PaymentIntent made with a `customer` (save_for_renewal, and renewal charges) also gives the
RenewalHandle (customer, payment_method) on its events: the app stores it when the first payment
succeeds. A failed one gives `last_payment_error`'s decline code (or error code).

Everything else returns None, including a partial refund (made outside this app: the port only
refunds in full) and a charge made without a PaymentIntent (not one of this app's payments).
`reference` is `metadata.reference` of the object in the event; on a charge it is there only if
the provider copied the PaymentIntent's metadata onto the charge, so it may be "" on `refunded`:
find the payment by `payment_id` there.
"""
from __future__ import annotations

import hashlib
import hmac

from chalicelib.domain.payments import InvalidWebhook, PaymentEvent, RenewalHandle

SIGNATURE_HEADER = "Stripe-Signature"
TOLERANCE_SECONDS = 300  # Stripe's default: older signatures are refused (replays)

_PAYMENT_INTENT_KINDS = {
    "payment_intent.succeeded": "payment_succeeded",
    "payment_intent.payment_failed": "payment_failed",
    "payment_intent.canceled": "payment_canceled",
}


def header_value(headers: dict, name: str) -> str | None:
    """A header by name in any letter case (API Gateway, chalice local and the worker differ)."""
    wanted = name.lower()
    for key, value in (headers or {}).items():
        if str(key).lower() == wanted:
            return value
    return None


def signature_header(payload: str, secret: str, timestamp: int) -> str:
    """The `Stripe-Signature` value Stripe would send for `payload` (the exact JSON text)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def read_event(
    payload: bytes | str, headers: dict, secret: str, *, tolerance: int = TOLERANCE_SECONDS
) -> PaymentEvent | None:
    """Verify the signature with the Stripe SDK, then reduce the event to a PaymentEvent.

    Raises InvalidWebhook for a missing, wrong or too old signature, and for a body that is not a
    Stripe event; returns None for an event the app does not act on."""
    import stripe

    signature = header_value(headers, SIGNATURE_HEADER)
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret, tolerance)
    except stripe.SignatureVerificationError as exc:
        raise InvalidWebhook("webhook signature rejected") from exc
    except ValueError as exc:  # not UTF-8, not JSON, or a thin (v2) event notification
        raise InvalidWebhook("webhook body is not an event") from exc
    return event_from_dict(event.to_dict())


def event_from_dict(event: dict) -> PaymentEvent | None:
    """The PaymentEvent of a verified Stripe event (a dict), or None for the ones not acted on."""
    try:
        event_type = event["type"]
        obj = event["data"]["object"]
        event_id = event["id"]
        if event_type in _PAYMENT_INTENT_KINDS:
            return PaymentEvent(
                event_id=event_id,
                kind=_PAYMENT_INTENT_KINDS[event_type],
                payment_id=obj["id"],
                reference=_reference(obj),
                amount_cents=int(obj["amount"]),
                currency=str(obj["currency"]).upper(),
                renewal=_renewal_handle(obj),
                decline_code=_decline_code(obj),
            )
        if event_type == "charge.refunded":
            if not obj.get("payment_intent") or not obj.get("refunded"):
                return None
            payment_intent = obj["payment_intent"]
            if isinstance(payment_intent, dict):  # an expanded PaymentIntent
                payment_intent = payment_intent["id"]
            return PaymentEvent(
                event_id=event_id,
                kind="refunded",
                payment_id=payment_intent,
                reference=_reference(obj),
                amount_cents=int(obj["amount_refunded"]),
                currency=str(obj["currency"]).upper(),
            )
        return None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidWebhook("webhook event lacks the fields of its type") from exc


def id_of(value) -> str | None:
    """An id field that may come expanded (an object) or as its id."""
    return value if value is None or isinstance(value, str) else value["id"]


def _renewal_handle(intent: dict) -> RenewalHandle | None:
    customer = id_of(intent.get("customer"))
    return RenewalHandle(customer, id_of(intent.get("payment_method"))) if customer else None


def _decline_code(intent: dict) -> str | None:
    error = intent.get("last_payment_error")
    return (error.get("decline_code") or error.get("code")) if isinstance(error, dict) else None


def _reference(obj: dict) -> str:
    metadata = obj.get("metadata") or {}
    return str(metadata.get("reference", "")) if isinstance(metadata, dict) else ""
