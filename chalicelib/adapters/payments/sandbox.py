"""PaymentsPort without a network: the payment provider of `make run` and of tests.

It behaves like Stripe where the app can see it:

- Ids come from the idempotency key (`sbpi_` + 24 hex of a SHA-256), so the same key gives the
  same payment in any process, with no shared state. A refund's id comes from the payment's, as a
  payment can be refunded in full only once.
- Payments are confirmed asynchronously: create_payment answers "pending" with a client secret,
  and the outcome arrives as a signed webhook event, put on an outbox queue (`send_batch`, as
  SqsQueue has) that the local worker POSTs to the app's webhook route. `pm_card_chargeDeclined`
  as the payment method gives `payment_intent.payment_failed`; anything else (none,
  `pm_card_visa`) gives `payment_intent.succeeded`. Unlike Stripe, a payment method does not
  make create_payment confirm synchronously: the outcome always comes by webhook.
- Renewals: create_payment with save_for_renewal answers a handle at once (a customer `sbcus_`
  from the key, and the payment method given, else `pm_card_visa`), and its events carry both, as
  Stripe's do; with `customer_id` (a card update) the handle keeps that customer and names the
  new method. charge_renewal is a payment like the others (its outcome by webhook): it fails for
  `pm_card_chargeDeclined` and for `pm_card_authenticationRequired` (decline code
  `authentication_required`, what Stripe answers off-session for a card that always asks for
  3-D Secure; unlike Stripe, the sandbox's first payment with it simply succeeds).
- Events are shaped like Stripe's (`evt_...`, `type`, `data.object`), signed like Stripe's
  (`Stripe-Signature: t=...,v1=HMAC-SHA256(secret, "t.payload")`), and parse_webhook verifies
  them with the Stripe SDK's own `construct_event`, as the Stripe adapter does. An event's id
  comes from its type and its object, so an event sent again (a retried create) is a redelivery
  of the same event.

What it remembers: the payments this process created (amount, currency, reference, outcome, at
most `MEMORY` of them), so that an idempotent replay sends no second event, a replay with other
parameters is refused (as Stripe's `idempotency_error`), cancel knows a succeeded payment from a
failed one, and refund and cancel events carry the payment's amount and reference. A payment it
does not remember (made before a restart, or by another process) is canceled as an unknown
payment (nothing happens) and refunded with an event carrying amount 0, no currency and no
reference: that event still names the payment by `payment_id`.
"""
from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict

from msgspec import Struct
from msgspec.structs import replace

from chalicelib.adapters.payments.webhooks import (
    SIGNATURE_HEADER,
    TOLERANCE_SECONDS,
    read_event,
    signature_header,
)
from chalicelib.domain.errors import DependencyFailed
from chalicelib.domain.payments import Payment, PaymentDeclined, PaymentEvent, RenewalHandle

DECLINE_TOKEN = "pm_card_chargeDeclined"  # Stripe's test token for a generic decline
SUCCESS_TOKEN = "pm_card_visa"  # Stripe's test token for a card that succeeds
AUTHENTICATION_TOKEN = "pm_card_authenticationRequired"  # renewals of it are declined
WEBHOOK_PATH = "/webhooks/payments"  # where the local worker POSTs the outbox's events
MEMORY = 10_000
PAYMENTS_UNAVAILABLE = "payments_unavailable"


class _Known(Struct, frozen=True):
    """A payment the sandbox provider created, as it remembers it."""

    request: tuple  # what create_payment was asked, to refuse a key reused for another payment
    reference: str
    amount_cents: int
    currency: str  # upper case
    metadata: dict
    failed: bool
    canceled: bool = False
    refunded: bool = False
    renewal: RenewalHandle | None = None
    decline_code: str = "generic_decline"


class SandboxPayments:
    name = "sandbox"

    def __init__(self, webhook_secret: str, outbox, *, clock=time.time, tolerance: int = TOLERANCE_SECONDS):
        if not webhook_secret:
            raise ValueError("SandboxPayments needs a webhook signing secret")
        self._secret = webhook_secret
        self._outbox = outbox
        self._clock = clock
        self._tolerance = tolerance
        self._known: OrderedDict[str, _Known] = OrderedDict()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ PaymentsPort

    def create_payment(
        self,
        *,
        reference: str,
        amount_cents: int,
        currency: str,
        description: str,
        idempotency_key: str,
        payment_method: str | None = None,
        metadata: dict | None = None,
        save_for_renewal: bool = False,
        customer_id: str | None = None,
    ) -> Payment:
        renewal = None
        if save_for_renewal:
            customer = customer_id or "sbcus_" + _digest("customer", idempotency_key)
            renewal = RenewalHandle(customer, payment_method or SUCCESS_TOKEN)
        return self._create(
            (reference, amount_cents, currency.upper(), description, payment_method, save_for_renewal, customer_id),
            reference, amount_cents, currency, idempotency_key, metadata,
            failed=payment_method == DECLINE_TOKEN,
            renewal=renewal,
        )

    def charge_renewal(
        self,
        handle: RenewalHandle,
        *,
        reference: str,
        amount_cents: int,
        currency: str,
        description: str,
        idempotency_key: str,
        metadata: dict | None = None,
    ) -> Payment:
        method = handle.payment_method_id
        return self._create(
            (reference, amount_cents, currency.upper(), description, handle),
            reference, amount_cents, currency, idempotency_key, metadata,
            failed=method in (DECLINE_TOKEN, AUTHENTICATION_TOKEN),
            renewal=handle,
            decline_code="authentication_required" if method == AUTHENTICATION_TOKEN else "generic_decline",
        )

    def _create(self, request: tuple, reference, amount_cents, currency, idempotency_key, metadata, *,
                failed: bool, renewal: RenewalHandle | None, decline_code: str = "generic_decline") -> Payment:
        payment_id = "sbpi_" + _digest("payment", idempotency_key)
        metadata = {**{str(k): str(v) for k, v in (metadata or {}).items()}, "reference": reference}
        asked = _Known(
            request=(*request, tuple(sorted(metadata.items()))),
            reference=reference,
            amount_cents=amount_cents,
            currency=currency.upper(),
            metadata=metadata,
            failed=failed,
            renewal=renewal,
            decline_code=decline_code,
        )
        known = self._recall(payment_id)
        if known is not None and known.request != asked.request:
            raise DependencyFailed(
                "sandbox: idempotency key reused with other parameters (Stripe: idempotency_error)",
                code=PAYMENTS_UNAVAILABLE,
            )
        if known is None:
            event_type = "payment_intent.payment_failed" if asked.failed else "payment_intent.succeeded"
            self._send(event_type, _payment_intent(payment_id, asked, event_type))
            self._remember(payment_id, asked)
        return Payment(
            provider=self.name,
            payment_id=payment_id,
            status="pending",
            amount_cents=amount_cents,
            currency=currency.upper(),
            client_secret=f"{payment_id}_secret_{_digest('secret', idempotency_key)}",
            renewal=renewal,
        )

    def cancel_payment(self, payment_id: str) -> None:
        known = self._recall(payment_id)
        if known is None or known.canceled:
            return
        if not known.failed:
            raise PaymentDeclined("the payment already succeeded: refund it instead")
        self._send("payment_intent.canceled", _payment_intent(payment_id, known, "payment_intent.canceled"))
        self._remember(payment_id, replace(known, canceled=True))

    def refund(self, payment_id: str, *, idempotency_key: str) -> str:
        refund_id = "sbre_" + _digest("refund", payment_id)
        known = self._recall(payment_id)
        if known is not None and (known.failed or known.canceled):
            raise DependencyFailed(
                "sandbox: only a succeeded payment can be refunded (Stripe: invalid_request_error)",
                code=PAYMENTS_UNAVAILABLE,
            )
        if known is not None and known.refunded:
            return refund_id
        self._send("charge.refunded", _refunded_charge(payment_id, known))
        if known is not None:
            self._remember(payment_id, replace(known, refunded=True))
        return refund_id

    def parse_webhook(self, payload: bytes, headers: dict) -> PaymentEvent | None:
        return read_event(payload, headers, self._secret, tolerance=self._tolerance)

    # ------------------------------------------------------------------ internals

    def _send(self, event_type: str, obj: dict) -> None:
        created = int(self._clock())
        event = {
            "id": "evt_" + _digest("event", f"{event_type}:{obj['id']}"),
            "object": "event",
            "api_version": None,
            "created": created,
            "livemode": False,
            "type": event_type,
            "data": {"object": obj},
        }
        payload = json.dumps(event, separators=(",", ":"))
        self._outbox.send_batch([outbox_message(payload, self._secret, created)])

    def _recall(self, payment_id: str) -> _Known | None:
        with self._lock:
            return self._known.get(payment_id)

    def _remember(self, payment_id: str, known: _Known) -> None:
        with self._lock:
            self._known[payment_id] = known
            self._known.move_to_end(payment_id)
            while len(self._known) > MEMORY:
                self._known.popitem(last=False)


def outbox_message(payload: str, secret: str, timestamp: int) -> dict:
    """One outbox message: the exact JSON text of an event and the headers to POST it with."""
    return {"payload": payload, "headers": {SIGNATURE_HEADER: signature_header(payload, secret, timestamp)}}


def deliver(message: dict, post, *, secret: str | None = None, now: int | None = None) -> int:
    """POST one outbox message to the app: `post(url_path, body_bytes, headers)` returns the HTTP
    status. With `secret`, the payload is signed again with timestamp `now` (default: the current
    time), as Stripe signs each delivery attempt afresh: a message that waited in the outbox
    longer than the tolerance is then still accepted."""
    payload = message["payload"]
    headers = dict(message["headers"])
    if secret is not None:
        timestamp = int(time.time()) if now is None else now
        headers[SIGNATURE_HEADER] = signature_header(payload, secret, timestamp)
    headers.setdefault("Content-Type", "application/json")
    return post(WEBHOOK_PATH, payload.encode("utf-8"), headers)


def delivery_is_final(status: int) -> bool:
    """Whether an answer ends a delivery: 2xx (accepted), or a 4xx other than 408 / 429 (the app
    refuses this event, e.g. a bad signature: sending it again changes nothing). 5xx, 408 and 429
    mean: keep the message and try again later, as Stripe retries."""
    return 200 <= status < 300 or (400 <= status < 500 and status not in (408, 429))


# ---------------------------------------------------------------------- Stripe-shaped objects


def _payment_intent(payment_id: str, known: _Known, event_type: str) -> dict:
    status = {
        "payment_intent.succeeded": "succeeded",
        "payment_intent.payment_failed": "requires_payment_method",
        "payment_intent.canceled": "canceled",
    }[event_type]
    obj = {
        "id": payment_id,
        "object": "payment_intent",
        "amount": known.amount_cents,
        "currency": known.currency.lower(),
        "status": status,
        "metadata": dict(known.metadata),
        "livemode": False,
    }
    if known.renewal is not None:
        obj["customer"] = known.renewal.customer_id
        obj["payment_method"] = known.renewal.payment_method_id
    if known.failed:
        code = "authentication_required" if known.decline_code == "authentication_required" else "card_declined"
        obj["last_payment_error"] = {"type": "card_error", "code": code, "decline_code": known.decline_code}
    return obj


def _refunded_charge(payment_id: str, known: _Known | None) -> dict:
    amount = known.amount_cents if known else 0
    return {
        "id": "sbch_" + _digest("charge", payment_id),
        "object": "charge",
        "payment_intent": payment_id,
        "amount": amount,
        "amount_refunded": amount,
        "currency": known.currency.lower() if known else "",
        "refunded": True,
        "metadata": dict(known.metadata) if known else {},
        "livemode": False,
    }


def _digest(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()[:24]
