"""A recording payment provider for service and route tests: payments succeed or fail when the
test says so (by sending the webhook the provider would send), and any call can be made to fail.

It implements ports.PaymentsPort. The real adapters (Stripe, and the sandbox of `make run`) have
their own contract tests; this one lets a test decide when a payment settles."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading

from chalicelib.domain.errors import DependencyFailed
from chalicelib.ports import InvalidWebhook, Payment, PaymentDeclined, PaymentEvent, RenewalHandle

SECRET = b"test-webhook-secret"


class FakePayments:
    name = "fake"

    def __init__(self):
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
        if payment_method in self.decline_methods:
            raise PaymentDeclined("Your card was declined.", "generic_decline")
        status = "succeeded" if payment_method in self.succeed_at_once_methods else "pending"
        renewal = None
        if save_for_renewal:
            renewal = RenewalHandle(customer_id or "cus_" + _digest(idempotency_key), payment_method or "pm_card_visa")
        return self._record(idempotency_key, reference, amount_cents, currency, status, renewal)

    def charge_renewal(self, handle, *, reference, amount_cents, currency, description, idempotency_key,
                       metadata=None) -> Payment:
        with self._lock:
            self.renewal_calls.append((idempotency_key, handle))  # every call, answered or not
        self._maybe_fail("charge_renewal")
        if handle.payment_method_id in self.decline_renewal_methods:
            # As on Stripe, the declined charge exists (and its payment_failed webhook may follow).
            self._record(idempotency_key, reference, amount_cents, currency, "failed", None)
            raise PaymentDeclined("Your card was declined.", "authentication_required")
        status = "succeeded" if self.renewals_succeed_at_once else "pending"
        return self._record(idempotency_key, reference, amount_cents, currency, status, None)

    def charges_for(self, reference_prefix: str) -> list[str]:
        """Payment ids created for references starting so (one per distinct idempotency key)."""
        return [pid for pid, p in self.payments.items() if p["reference"].startswith(reference_prefix)]

    def _record(self, idempotency_key, reference, amount_cents, currency, status, renewal) -> Payment:
        payment_id = "pay_" + _digest(idempotency_key)
        with self._lock:
            if payment_id not in self.payments:
                self.creates += 1
                self.payments[payment_id] = {
                    "reference": reference, "amount": amount_cents, "currency": currency, "status": status,
                    "renewal": renewal,
                }
        return Payment("fake", payment_id, status, amount_cents, currency, client_secret=f"{payment_id}_secret",
                       renewal=renewal)

    def cancel_payment(self, payment_id: str) -> None:
        self._maybe_fail("cancel_payment")
        if payment_id in self.succeeded_remotely:
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
        return "re_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:20]

    # ---- webhooks

    def webhook(self, payment_id: str, kind: str = "payment_succeeded", event_id: str | None = None):
        """(payload bytes, headers) of the provider's webhook for a payment."""
        p = self.payments[payment_id]
        payload = json.dumps({
            "id": event_id or f"evt_{kind}_{payment_id}",
            "kind": kind,
            "payment_id": payment_id,
            "reference": p["reference"],
            "amount": p["amount"],
            "currency": p["currency"],
            "renewal": [p["renewal"].customer_id, p["renewal"].payment_method_id] if p.get("renewal") else None,
            "decline_code": "card_declined" if kind == "payment_failed" else None,
        }).encode()
        return payload, {"x-fake-signature": sign(payload)}

    def parse_webhook(self, payload: bytes, headers: dict) -> PaymentEvent | None:
        signature = {k.lower(): v for k, v in headers.items()}.get("x-fake-signature", "")
        if not hmac.compare_digest(signature, sign(payload)):
            raise InvalidWebhook("bad signature")
        try:
            data = json.loads(payload)
        except ValueError as exc:
            raise InvalidWebhook("not JSON") from exc
        if data.get("kind") not in ("payment_succeeded", "payment_failed", "payment_canceled", "refunded"):
            return None
        renewal = RenewalHandle(*data["renewal"]) if data.get("renewal") else None
        return PaymentEvent(data["id"], data["kind"], data["payment_id"], data["reference"], data["amount"],
                            data["currency"], renewal=renewal, decline_code=data.get("decline_code"))


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:20]


def sign(payload: bytes) -> str:
    return hmac.new(SECRET, payload, hashlib.sha256).hexdigest()


def unavailable() -> DependencyFailed:
    return DependencyFailed("the payment provider is unavailable", code="payments_unavailable")
