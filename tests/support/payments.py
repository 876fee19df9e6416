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
from chalicelib.ports import InvalidWebhook, Payment, PaymentDeclined, PaymentEvent

SECRET = b"test-webhook-secret"


class FakePayments:
    name = "fake"

    def __init__(self):
        self._lock = threading.Lock()
        self.payments: dict[str, dict] = {}  # payment id -> {reference, amount, currency, status}
        self.creates = 0
        self.refunds: dict[str, str] = {}  # idempotency key -> payment id
        self.canceled: list[str] = []
        self.fail_next: dict[str, Exception] = {}  # method name -> exception raised once
        self.decline_methods = {"pm_card_chargeDeclined"}
        self.succeed_at_once_methods = {"pm_card_instant"}
        self.succeeded_remotely: set[str] = set()  # cancel_payment answers "already succeeded"
        self.refund_calls: list[tuple[str, str]] = []  # (idempotency key, payment id), every call
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
                       payment_method=None, metadata=None) -> Payment:
        self._maybe_fail("create_payment")
        if payment_method in self.decline_methods:
            raise PaymentDeclined("Your card was declined.", "generic_decline")
        payment_id = "pay_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:20]
        status = "succeeded" if payment_method in self.succeed_at_once_methods else "pending"
        with self._lock:
            if payment_id not in self.payments:
                self.creates += 1
                self.payments[payment_id] = {
                    "reference": reference, "amount": amount_cents, "currency": currency, "status": status,
                }
        return Payment("fake", payment_id, status, amount_cents, currency, client_secret=f"{payment_id}_secret")

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
        return PaymentEvent(data["id"], data["kind"], data["payment_id"], data["reference"], data["amount"], data["currency"])


def sign(payload: bytes) -> str:
    return hmac.new(SECRET, payload, hashlib.sha256).hexdigest()


def unavailable() -> DependencyFailed:
    return DependencyFailed("the payment provider is unavailable", code="payments_unavailable")
