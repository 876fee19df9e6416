"""PaymentsPort over Stripe PaymentIntents, with the official SDK's `StripeClient`.

- create_payment: POST /v1/payment_intents with the caller's idempotency key as the
  `Idempotency-Key` header (Stripe replays the first response for 24 h for the same key; the same
  key with other parameters is an `idempotency_error`). Without a payment method the intent waits
  for the app's Stripe SDK to confirm it with `client_secret`; with one it is confirmed at once
  (`confirm=true`, redirect-based methods off so no `return_url` is needed). PaymentIntent status
  "succeeded" is "succeeded"; every other status is "pending" (the outcome comes by webhook).
- create_payment with save_for_renewal: first POST /v1/customers (idempotency key
  "<key>-customer"; one Customer per subscription, not per user), then the PaymentIntent with
  `customer` and `setup_future_usage=off_session`, so Stripe attaches the method to the Customer
  when the payment is confirmed (by the app's SDK, or at once with a method). The handle is the
  Customer and, once known, the PaymentMethod (also read from the payment_intent.succeeded event).
  With `customer_id` (a past-due subscriber's new card) no Customer is created: the intent names
  that one, so the new method is attached to the Customer the renewals already charge.
- charge_renewal: POST /v1/payment_intents with `customer`, the saved `payment_method`,
  `off_session=true` and `confirm=true` (redirect-based methods off), with the caller's key.
  Stripe answers an off-session confirm that needs the cardholder (3-D Secure) with a 402
  card_error `authentication_required`: that, like any card error, is PaymentDeclined, and the
  subscriber has to act. A confirm that ends in `requires_action` / `requires_payment_method`
  without an error is declined as well; `processing` is "pending" (settled by webhook).
- cancel_payment: POST /v1/payment_intents/{id}/cancel. Stripe refuses to cancel a PaymentIntent
  that is already canceled or succeeded (`payment_intent_unexpected_state`, with the intent in
  the error): the first is success, the second PaymentDeclined. An unknown id is success.
- refund: POST /v1/refunds with `payment_intent` (a full refund) and the idempotency key. A
  payment already refunded in full under another key (`charge_already_refunded`) returns that
  refund, read with one GET /v1/refunds on this failure path only.
- parse_webhook: `stripe.Webhook.construct_event` (webhooks.read_event).

Errors are decided by the SDK's exception type and Stripe's error code, never by message:
CardError (HTTP 402) becomes PaymentDeclined(message, decline_code). Everything else becomes
`DependencyFailed(code="payments_unavailable")`: connection errors, 5xx, 429, and also the
errors that mean this app or its configuration is wrong (invalid request, idempotency key reused
with other parameters, bad API key, missing permission), which are logged as errors as well.

Network retries are the SDK's: `max_network_retries` attempts more on connection errors, 409 and
5xx (Stripe's `Stripe-Should-Retry` header decides when present), each with the same
idempotency key, then the error is raised. The HTTP timeout is short because an API Gateway
request has 29 s in all.
"""
from __future__ import annotations

from typing import Any

import stripe
from aws_lambda_powertools import Logger

from chalicelib.adapters.payments.webhooks import id_of, read_event
from chalicelib.config import SERVICE_NAME
from chalicelib.domain.errors import DependencyFailed
from chalicelib.domain.payments import Payment, PaymentDeclined, PaymentEvent, RenewalHandle

PAYMENTS_UNAVAILABLE = "payments_unavailable"

logger = Logger(child=True, service=SERVICE_NAME)

# Errors that retrying will not fix: this app's request or its configuration is wrong.
_OUR_FAULT = (
    stripe.InvalidRequestError,
    stripe.IdempotencyError,
    stripe.AuthenticationError,
    stripe.PermissionError,
)


class StripePayments:
    name = "stripe"

    def __init__(
        self,
        api_key: str,
        webhook_secret: str,
        *,
        http_client: stripe.HTTPClient | None = None,
        max_network_retries: int = 2,
        timeout_seconds: float = 10.0,
    ):
        if not api_key:
            raise ValueError("StripePayments needs an API key")
        if not webhook_secret:
            raise ValueError("StripePayments needs a webhook signing secret")
        self._client = stripe.StripeClient(
            api_key,
            http_client=http_client or stripe.RequestsClient(timeout=timeout_seconds),
            max_network_retries=max_network_retries,
        )
        self._webhook_secret = webhook_secret

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
        params = _intent_params(reference, amount_cents, currency, description, metadata)
        if not save_for_renewal:
            customer_id = None
        elif customer_id is None:
            customer_id = self._customer(reference, metadata, f"{idempotency_key}-customer")
        if customer_id:
            params["customer"] = customer_id
            params["setup_future_usage"] = "off_session"
        if payment_method:
            params["payment_method"] = payment_method
            params["confirm"] = True
            params["automatic_payment_methods"] = {"enabled": True, "allow_redirects": "never"}
        else:
            params["automatic_payment_methods"] = {"enabled": True}
        try:
            intent = self._client.v1.payment_intents.create(
                params=params, options={"idempotency_key": idempotency_key}
            )
        except stripe.StripeError as exc:
            raise _failure("create_payment", exc) from exc
        renewal = RenewalHandle(customer_id, id_of(getattr(intent, "payment_method", None))) if customer_id else None
        return self._payment(intent, "succeeded" if intent.status == "succeeded" else "pending", renewal)

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
        if not handle.payment_method_id:
            raise PaymentDeclined("no payment method was saved for renewals", "no_saved_payment_method")
        params: Any = {
            **_intent_params(reference, amount_cents, currency, description, metadata),
            "customer": handle.customer_id,
            "payment_method": handle.payment_method_id,
            "off_session": True,
            "confirm": True,
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
        }
        try:
            intent = self._client.v1.payment_intents.create(
                params=params, options={"idempotency_key": idempotency_key}
            )
        except stripe.StripeError as exc:
            raise _failure("charge_renewal", exc) from exc
        if intent.status == "succeeded":
            return self._payment(intent, "succeeded")
        if intent.status == "processing":
            return self._payment(intent, "pending")
        # requires_action / requires_payment_method: the subscriber must act; Stripe normally
        # answers an off-session confirm so with a card error instead.
        code = "authentication_required" if intent.status == "requires_action" else intent.status
        raise PaymentDeclined("the saved payment method needs the subscriber", code)

    def cancel_payment(self, payment_id: str) -> None:
        try:
            self._client.v1.payment_intents.cancel(payment_id)
        except stripe.InvalidRequestError as exc:
            if exc.code == "resource_missing":
                return
            if exc.code == "payment_intent_unexpected_state":
                status = (_error_body(exc).get("payment_intent") or {}).get("status")
                if status == "canceled":
                    return
                if status == "succeeded":
                    raise PaymentDeclined("the payment already succeeded: refund it instead") from exc
            raise _failure("cancel_payment", exc) from exc
        except stripe.StripeError as exc:
            raise _failure("cancel_payment", exc) from exc

    def refund(self, payment_id: str, *, idempotency_key: str) -> str:
        try:
            refund = self._client.v1.refunds.create(
                params={"payment_intent": payment_id}, options={"idempotency_key": idempotency_key}
            )
        except stripe.InvalidRequestError as exc:
            if exc.code == "charge_already_refunded":
                return self._existing_refund(payment_id, exc)
            raise _failure("refund", exc) from exc
        except stripe.StripeError as exc:
            raise _failure("refund", exc) from exc
        return refund.id

    def parse_webhook(self, payload: bytes, headers: dict) -> PaymentEvent | None:
        return read_event(payload, headers, self._webhook_secret)

    # ------------------------------------------------------------------ internals

    def _payment(self, intent, status: str, renewal: RenewalHandle | None = None) -> Payment:
        return Payment(
            provider=self.name,
            payment_id=intent.id,
            status=status,
            amount_cents=int(intent.amount),
            currency=str(intent.currency).upper(),
            client_secret=intent.client_secret,
            renewal=renewal,
        )

    def _customer(self, reference: str, metadata: dict | None, idempotency_key: str) -> str:
        try:
            customer = self._client.v1.customers.create(
                params={"metadata": _metadata(reference, metadata)}, options={"idempotency_key": idempotency_key}
            )
        except stripe.StripeError as exc:
            raise _failure("create_customer", exc) from exc
        return customer.id

    def _existing_refund(self, payment_id: str, refused: stripe.StripeError) -> str:
        try:
            refunds = self._client.v1.refunds.list(params={"payment_intent": payment_id, "limit": 10})
        except stripe.StripeError as exc:
            raise _failure("refund", exc) from exc
        for refund in refunds.data:  # newest first
            if refund.status not in ("failed", "canceled"):
                return refund.id
        raise _failure("refund", refused) from refused


def _metadata(reference: str, metadata: dict | None) -> dict:
    # Stripe metadata values are strings; `reference` is the app's, it always wins.
    return {**{str(k): str(v) for k, v in (metadata or {}).items()}, "reference": reference}


def _intent_params(reference: str, amount_cents: int, currency: str, description: str, metadata: dict | None) -> Any:
    return {
        "amount": amount_cents,
        "currency": currency.lower(),
        "description": description,
        "metadata": _metadata(reference, metadata),
    }


def _failure(operation: str, exc: stripe.StripeError) -> Exception:
    """The port's error for a Stripe error (to raise from it)."""
    if isinstance(exc, stripe.CardError):
        decline_code = _error_body(exc).get("decline_code") or exc.code
        return PaymentDeclined(exc.user_message or "the card was declined", decline_code)
    if isinstance(exc, _OUR_FAULT):
        _log_our_fault(operation, exc)
        return DependencyFailed(
            f"Stripe refused {operation} ({type(exc).__name__}: {exc.code})", code=PAYMENTS_UNAVAILABLE
        )
    # Connection errors, 5xx, 429 and anything else of Stripe's: retryable.
    return DependencyFailed(f"Stripe {operation} failed ({type(exc).__name__})", code=PAYMENTS_UNAVAILABLE)


def _error_body(exc: stripe.StripeError) -> dict:
    body = exc.json_body if isinstance(exc.json_body, dict) else {}
    error = body.get("error")
    return error if isinstance(error, dict) else {}


def _log_our_fault(operation: str, exc: stripe.StripeError) -> None:
    error = _error_body(exc)
    logger.error(
        "Stripe refused a request: fix the app or its configuration",
        operation=operation,
        error_class=type(exc).__name__,
        error_type=error.get("type"),
        error_code=error.get("code"),
        param=error.get("param"),
        http_status=getattr(exc, "http_status", None),
        request_id=getattr(exc, "request_id", None),
    )
