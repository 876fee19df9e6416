"""A Stripe API stand-in at the SDK's HTTP layer: a `stripe.HTTPClient` subclass, given to
`stripe.StripeClient(http_client=...)`, so every request goes through the real SDK (parameter
encoding, headers, idempotency keys, retries, error parsing) and stops here instead of the network.

It records each attempt (method, URL, form body, headers) and answers like the endpoints the
adapter uses, from Stripe's API reference: Customers (create), PaymentIntents (create, cancel),
Refunds (create, list), with idempotent replays (the same Idempotency-Key replays the first answer; with other
parameters it is an `idempotency_error`), Stripe's test payment methods (`pm_card_visa` succeeds,
`pm_card_chargeDeclined` is a 402 `card_declined` / `generic_decline`), and the error bodies of
the states the adapter handles.
Saving for renewals: a PaymentIntent confirmed with a `customer` and `setup_future_usage` turns a
test token into a PaymentMethod of its own (`pm_...`) attached to that Customer, as Stripe does;
an off-session confirm must use a method attached to its `customer`, and
`pm_card_authenticationRequired` (Stripe's card that always asks for 3-D Secure) is then a 402
`authentication_required`. `outage` makes the next attempts fail (a status and body, or a
connection error) before any of that.

What it cannot tell: whether real Stripe still answers exactly so. It is written from the API
reference and the SDK's source, not from recorded traffic.
"""
from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

import stripe

API = "https://api.stripe.com"


@dataclass
class Attempt:
    method: str
    url: str
    path: str
    form: dict  # the form-encoded body (or query string), decoded: {"metadata[reference]": "t1", ...}
    headers: dict


class FakeStripeHttp(stripe.HTTPClient):
    name = "fake-stripe"

    def __init__(self):
        super().__init__()
        self.attempts: list[Attempt] = []
        self.outage: list = []  # next answers to give instead: (status, body) or an APIConnectionError
        self.intents: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.customers: dict[str, dict] = {}
        self.methods: dict[str, dict] = {}  # saved PaymentMethods: id -> {customer, token}
        self._replays: dict[str, tuple[tuple, int, dict]] = {}
        self._ids = itertools.count(1)

    # ------------------------------------------------------------------ stripe.HTTPClient

    def request(self, method, url, headers, post_data=None, **_):
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}" == API, url
        form = dict(parse_qsl(post_data.decode() if isinstance(post_data, bytes) else (post_data or parts.query)))
        self.attempts.append(Attempt(method.upper(), url, parts.path, form, dict(headers)))
        if self.outage:
            failure = self.outage.pop(0)
            if isinstance(failure, Exception):
                raise failure
            status, body = failure
            return json.dumps(body), status, {"request-id": "req_outage"}
        status, body = self._answer(method.upper(), parts.path, form, headers.get("Idempotency-Key"))
        return json.dumps(body), status, {"request-id": f"req_{len(self.attempts)}"}

    def request_stream(self, method, url, headers, post_data=None, **_):
        raise NotImplementedError("the adapter streams nothing")

    def close(self):
        pass

    def _sleep_time_seconds(self, num_retries):
        return 0.0  # the SDK's backoff between retries: none in tests, the count is what matters

    # ------------------------------------------------------------------ for assertions

    def posts(self, path: str) -> list[Attempt]:
        return [a for a in self.attempts if a.method == "POST" and a.path == path]

    # ------------------------------------------------------------------ the simulated API

    def _answer(self, method, path, form, idempotency_key):
        if method == "POST" and idempotency_key:
            request = (path, tuple(sorted(form.items())))
            replay = self._replays.get(idempotency_key)
            if replay is not None:
                if replay[0] != request:
                    return 400, _error(
                        "idempotency_error",
                        None,
                        "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                    )
                return replay[1], replay[2]
            status, body = self._route(method, path, form)
            self._replays[idempotency_key] = (request, status, body)
            return status, body
        return self._route(method, path, form)

    def _route(self, method, path, form):
        segments = path.strip("/").split("/")
        if method == "POST" and segments == ["v1", "customers"]:
            customer_id = f"cus_{next(self._ids):014d}"
            metadata = {k[len("metadata[") : -1]: v for k, v in form.items() if k.startswith("metadata[")}
            self.customers[customer_id] = {"id": customer_id, "object": "customer", "metadata": metadata}
            return 200, self.customers[customer_id]
        if method == "POST" and segments == ["v1", "payment_intents"]:
            return self._create_intent(form)
        if method == "POST" and len(segments) == 4 and segments[1] == "payment_intents" and segments[3] == "cancel":
            return self._cancel_intent(segments[2])
        if method == "POST" and segments == ["v1", "refunds"]:
            return self._create_refund(form)
        if method == "GET" and segments == ["v1", "refunds"]:
            data = [r for r in reversed(self.refunds.values()) if r["payment_intent"] == form.get("payment_intent")]
            return 200, {"object": "list", "data": data, "has_more": False, "url": "/v1/refunds"}
        return 404, _error("invalid_request_error", "resource_missing", f"Unrecognized request URL ({method}: {path})")

    def _create_intent(self, form):
        intent_id = f"pi_{next(self._ids):024d}"
        intent = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": int(form["amount"]),
            "currency": form["currency"],
            "description": form.get("description"),
            "metadata": {k[len("metadata[") : -1]: v for k, v in form.items() if k.startswith("metadata[")},
            "client_secret": f"{intent_id}_secret_fake",
            "payment_method": form.get("payment_method"),
            "status": "requires_payment_method",
            "livemode": False,
        }
        customer = form.get("customer")
        if customer is not None:
            if customer not in self.customers:
                return 400, _error("invalid_request_error", "resource_missing", f"No such customer: '{customer}'")
            intent["customer"] = customer
            intent["setup_future_usage"] = form.get("setup_future_usage")
        self.intents[intent_id] = intent
        token = form.get("payment_method")
        if token in self.methods:
            saved = self.methods[token]
            if saved["customer"] != customer:
                return 400, _error(
                    "invalid_request_error",
                    "payment_method_not_attached",  # what the adapter would see (not its exact code)
                    "The PaymentMethod does not belong to the Customer.",
                )
            token = saved["token"]
        if form.get("confirm") == "true":
            if form.get("off_session") == "true" and token == "pm_card_authenticationRequired":
                return _card_error(
                    intent,
                    "authentication_required",
                    "authentication_required",
                    "Your card was declined. This transaction requires authentication.",
                )
            if token == "pm_card_chargeDeclined":
                return _card_error(intent, "card_declined", "generic_decline", "Your card was declined.")
            intent["status"] = "succeeded"
            if customer is not None and form.get("setup_future_usage") and token == form.get("payment_method"):
                method_id = f"pm_{next(self._ids):024d}"
                self.methods[method_id] = {"customer": customer, "token": token}
                intent["payment_method"] = method_id
        return 200, intent

    def _cancel_intent(self, intent_id):
        intent = self.intents.get(intent_id)
        if intent is None:
            return 404, _error("invalid_request_error", "resource_missing", f"No such payment_intent: '{intent_id}'")
        if intent["status"] in ("succeeded", "canceled"):
            return 400, _error(
                "invalid_request_error",
                "payment_intent_unexpected_state",
                f"You cannot cancel this PaymentIntent because it has a status of {intent['status']}.",
                payment_intent=intent,
            )
        intent["status"] = "canceled"
        return 200, intent

    def _create_refund(self, form):
        intent = self.intents.get(form.get("payment_intent", ""))
        if intent is None:
            return 404, _error("invalid_request_error", "resource_missing", "No such payment_intent")
        if intent["status"] != "succeeded":
            return 400, _error(
                "invalid_request_error",
                "payment_intent_unexpected_state",
                "This PaymentIntent does not have a successful charge to refund.",
                payment_intent=intent,
            )
        if any(r["payment_intent"] == intent["id"] for r in self.refunds.values()):
            return 400, _error("invalid_request_error", "charge_already_refunded", "Charge has already been refunded.")
        refund_id = f"re_{next(self._ids):024d}"
        self.refunds[refund_id] = {
            "id": refund_id,
            "object": "refund",
            "amount": intent["amount"],
            "currency": intent["currency"],
            "payment_intent": intent["id"],
            "status": "succeeded",
        }
        return 200, self.refunds[refund_id]


def _card_error(intent, code, decline_code, message):
    """A 402 for a confirm the card refused; the intent waits for another payment method."""
    intent["last_payment_error"] = {"code": code, "decline_code": decline_code}
    return 402, _error("card_error", code, message, decline_code=decline_code, payment_intent=intent)


def _error(error_type, code, message, **fields):
    body = {"type": error_type, "message": message, **fields}
    if code:
        body["code"] = code
    return {"error": body}


def connection_error() -> stripe.APIConnectionError:
    """What the SDK's own HTTP clients raise when no answer comes (retryable)."""
    return stripe.APIConnectionError("Network error: connection refused", should_retry=True)
