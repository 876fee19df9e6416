"""A recording payment provider for service and route tests: payments succeed or fail when the
test says so (by sending the webhook the provider would send), and any call can be made to fail.

It implements ports.PaymentsPort and is held to the same contract suite as the real adapters
(tests/integration/test_payments_adapters.py): its webhooks are Stripe events signed as Stripe
signs them, read by the production code (chalicelib/adapters/payments/webhooks.py); a key reused
for another payment is refused; a refund is one per payment; a payment confirmed with a card that
succeeds cannot be canceled."""
from __future__ import annotations

import hashlib
import json
import threading
import time

from chalicelib.adapters.payments.webhooks import SIGNATURE_HEADER, read_event, signature_header
from chalicelib.domain.errors import DependencyFailed
from chalicelib.domain.payments import Payment, PaymentDeclined, PaymentEvent, RenewalHandle

SECRET = "whsec_fake_payments"
# Stripe event types of the kinds a test settles a payment with.
EVENT_TYPES = {
    "payment_succeeded": "payment_intent.succeeded",
    "payment_failed": "payment_intent.payment_failed",
    "payment_canceled": "payment_intent.canceled",
    "refunded": "charge.refunded",
}


class FakePayments:
    name = "fake"

    def __init__(self, secret: str = SECRET):
        self.secret = secret
        self._lock = threading.Lock()
        self.payments: dict[str, dict] = {}  # payment id -> {reference, amount, currency, status}
        self.creates = 0
        self.create_calls: list[str] = []  # the idempotency key of every create_payment call
        self.refunds: dict[str, str] = {}  # idempotency key -> payment id
        self.canceled: list[str] = []
        self.fail_next: dict[str, Exception] = {}  # method name -> exception raised once
        self.decline_methods = {"pm_card_chargeDeclined"}
        self.succeed_at_once_methods = {"pm_card_instant"}
        self.succeeded_remotely: set[str] = set()  # cancel_payment answers "already succeeded"
        self.refund_calls: list[tuple[str, str]] = []  # (idempotency key, payment id), every call
        # Renewals: every charge_renewal call (idempotency key, handle), methods whose renewals
        # are declined (at once, as Stripe's off-session confirm answers), and whether renewals
        # succeed at once instead of waiting for the test's webhook.
        self.renewal_calls: list[tuple[str, RenewalHandle]] = []
        self.decline_renewal_methods = {"pm_card_authenticationRequired"}
        self.renewals_succeed_at_once = False
        self._rate, self._rng = 0.0, None

    def fail_at(self, rate: float, seed: int) -> None:
        """Make create_payment, cancel_payment and refund fail (provider unavailable) at `rate`,
        drawn from a seeded generator."""
        import random

        self._rate, self._rng = rate, random.Random(seed)

    def _maybe_fail(self, method: str) -> None:
        exc = self.fail_next.pop(method, None)
        if exc is not None:
            raise exc
        if self._rng is not None and self._rng.random() < self._rate:
            raise unavailable()

    def create_payment(self, *, reference, amount_cents, currency, description, idempotency_key,
                       payment_method=None, metadata=None, save_for_renewal=False, customer_id=None) -> Payment:
        with self._lock:
            self.create_calls.append(idempotency_key)  # every call, answered or not
        self._maybe_fail("create_payment")
        request = (reference, amount_cents, currency.upper(), description, payment_method, save_for_renewal,
                   customer_id, tuple(sorted((metadata or {}).items())))
        if payment_method in self.decline_methods:
            raise PaymentDeclined("Your card was declined.", "generic_decline")
        status = "succeeded" if payment_method in self.succeed_at_once_methods else "pending"
        renewal = None
        if save_for_renewal:
            renewal = RenewalHandle(customer_id or "cus_" + _digest(idempotency_key), payment_method or "pm_card_visa")
        # Confirmed with a card (as Stripe confirms at once): the provider has charged it.
        charged = payment_method is not None
        return self._record(idempotency_key, reference, amount_cents, currency, status, renewal, request, charged)

    def charge_renewal(self, handle, *, reference, amount_cents, currency, description, idempotency_key,
                       metadata=None) -> Payment:
        with self._lock:
            self.renewal_calls.append((idempotency_key, handle))  # every call, answered or not
        self._maybe_fail("charge_renewal")
        request = (reference, amount_cents, currency.upper(), description, handle, tuple(sorted((metadata or {}).items())))
        if handle.payment_method_id in self.decline_renewal_methods:
            # As on Stripe, the declined charge exists (and its payment_failed webhook may follow).
            self._record(idempotency_key, reference, amount_cents, currency, "failed", None, request, False)
            raise PaymentDeclined("Your card was declined.", "authentication_required")
        status = "succeeded" if self.renewals_succeed_at_once else "pending"
        return self._record(idempotency_key, reference, amount_cents, currency, status, None, request, True)

    def charges_for(self, reference_prefix: str) -> list[str]:
        """Payment ids created for references starting so (one per distinct idempotency key)."""
        return [pid for pid, p in self.payments.items() if p["reference"].startswith(reference_prefix)]

    def _record(self, idempotency_key, reference, amount_cents, currency, status, renewal, request, charged) -> Payment:
        payment_id = "pay_" + _digest(idempotency_key)
        with self._lock:
            known = self.payments.get(payment_id)
            if known is not None and known["request"] != request:
                # Stripe answers idempotency_error: a key belongs to one request.
                raise unavailable()
            if known is None:
                self.creates += 1
                self.payments[payment_id] = {
                    "reference": reference, "amount": amount_cents, "currency": currency.upper(), "status": status,
                    "renewal": renewal, "request": request, "charged": charged,
                }
        return Payment("fake", payment_id, status, amount_cents, currency.upper(), client_secret=f"{payment_id}_secret",
                       renewal=renewal)

    def cancel_payment(self, payment_id: str) -> None:
        self._maybe_fail("cancel_payment")
        known = self.payments.get(payment_id)
        if payment_id in self.succeeded_remotely or (known is not None and known["charged"]):
            raise PaymentDeclined("already succeeded")
        with self._lock:
            self.canceled.append(payment_id)
            if payment_id in self.payments:
                self.payments[payment_id]["status"] = "canceled"

    def refund(self, payment_id: str, *, idempotency_key: str) -> str:
        self._maybe_fail("refund")
        with self._lock:
            self.refund_calls.append((idempotency_key, payment_id))
            self.refunds.setdefault(idempotency_key, payment_id)
            # A payment is refunded once, in full: another key gets the first refund back.
            first_key = next(key for key, paid in self.refunds.items() if paid == payment_id)
        return "re_" + hashlib.sha256(first_key.encode()).hexdigest()[:20]

    # ---- webhooks

    def webhook(self, payment_id: str, kind: str = "payment_succeeded", event_id: str | None = None):
        """(payload bytes, headers) of the provider's webhook for a payment: a Stripe event,
        signed as Stripe signs it."""
        p = self.payments[payment_id]
        intent = {
            "id": payment_id, "object": "payment_intent", "amount": p["amount"], "currency": p["currency"].lower(),
            "metadata": {"reference": p["reference"]},
            "status": {"payment_failed": "requires_payment_method", "payment_canceled": "canceled"}.get(kind, "succeeded"),
        }
        if p.get("renewal"):
            intent |= {"customer": p["renewal"].customer_id, "payment_method": p["renewal"].payment_method_id}
        if kind == "payment_failed":
            intent["last_payment_error"] = {"code": "card_declined", "decline_code": "card_declined"}
        obj = intent
        if kind == "refunded":
            obj = {
                "id": "ch_" + _digest(payment_id), "object": "charge", "amount": p["amount"],
                "amount_refunded": p["amount"], "currency": p["currency"].lower(), "refunded": True,
                "payment_intent": payment_id, "metadata": {"reference": p["reference"]},
            }
        created = int(time.time())
        payload = json.dumps({
            "id": event_id or f"evt_{kind}_{payment_id}", "object": "event", "api_version": None,
            "created": created, "livemode": False, "type": EVENT_TYPES[kind], "data": {"object": obj},
        })
        return payload.encode(), {SIGNATURE_HEADER: signature_header(payload, self.secret, created)}

    def parse_webhook(self, payload: bytes, headers: dict) -> PaymentEvent | None:
        return read_event(payload, headers, self.secret)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:20]


def unavailable() -> DependencyFailed:
    return DependencyFailed("the payment provider is unavailable", code="payments_unavailable")
