"""The PaymentsPort contract, run against both adapters, then what each one does on its own.

- StripePayments runs through the real Stripe SDK down to its HTTP layer, where
  tests/support/fake_stripe.py answers as Stripe's API reference says (no network).
- SandboxPayments runs with its real outbox, an SqsQueue on the session's moto server.

Webhook signatures here are made as Stripe makes them (HMAC-SHA256 over "<t>.<payload>", computed
in this file) and checked inside the adapters by the Stripe SDK's own `Webhook.construct_event`.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from chalicelib.adapters.payments.sandbox import (
    AUTHENTICATION_TOKEN,
    DECLINE_TOKEN,
    SUCCESS_TOKEN,
    WEBHOOK_PATH,
    SandboxPayments,
    deliver,
)
from chalicelib.adapters.payments.stripe_provider import StripePayments
from chalicelib.adapters.sqs import SqsQueue
from chalicelib.domain.errors import DependencyFailed
from chalicelib.domain.payments import InvalidWebhook, PaymentDeclined, PaymentEvent, RenewalHandle
from tests.support.fake_stripe import FakeStripeHttp, connection_error
from tests.support.payments import FakePayments

ROOT = Path(__file__).resolve().parents[2]
SECRET = "whsec_test_contract"
API_KEY = "sk_test_contract"


def stripe_signature(payload: str, secret: str, timestamp: int) -> str:
    """The Stripe-Signature header as Stripe's documentation specifies it."""
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def stripe_event(event_type: str, obj: dict, event_id: str = "evt_1NG8Du2eZvKYlo2CUI79vXWy") -> str:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "api_version": "2026-10-28.endive",
            "created": int(time.time()),
            "livemode": False,
            "type": event_type,
            "data": {"object": obj},
        }
    )


def payment_intent(status: str = "succeeded", **overrides) -> dict:
    return {
        "id": "pi_3MtwBwLkdIwHu7ix28a3tqPa",
        "object": "payment_intent",
        "amount": 1500,
        "currency": "usd",
        "status": status,
        "metadata": {"reference": "ticket-42"},
        **overrides,
    }


def refunded_charge(**overrides) -> dict:
    return {
        "id": "ch_3MmlLrLkdIwHu7ix0snN0B15",
        "object": "charge",
        "amount": 1500,
        "amount_refunded": 1500,
        "currency": "usd",
        "refunded": True,
        "payment_intent": "pi_3MtwBwLkdIwHu7ix28a3tqPa",
        "metadata": {"reference": "ticket-42"},
        **overrides,
    }


def signed(payload: str, *, secret: str = SECRET, age_seconds: int = 0) -> dict:
    return {"Stripe-Signature": stripe_signature(payload, secret, int(time.time()) - age_seconds)}


def new_key() -> str:
    return f"buy-{uuid.uuid4().hex}"


def buy(provider, key=None, *, amount=1500, reference="ticket-42", payment_method=None, save_for_renewal=False):
    return provider.create_payment(
        reference=reference,
        amount_cents=amount,
        currency="usd",
        description="Ticket to a Space",
        idempotency_key=key or new_key(),
        payment_method=payment_method,
        **({"save_for_renewal": True} if save_for_renewal else {}),
    )


def renew(provider, handle, key=None, *, reference="renew:c:s:sub1.2.1"):
    return provider.charge_renewal(
        handle,
        reference=reference,
        amount_cents=499,
        currency="USD",
        description="Subscription, period 2",
        idempotency_key=key or new_key(),
        metadata={"creator_id": "c"},
    )


@pytest.fixture
def outbox(aws):
    name = f"payments-outbox-{uuid.uuid4().hex[:10]}"
    aws.sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "0"})
    return SqsQueue(aws.sqs, queue_name=name)


def drain(queue) -> list[dict]:
    messages = []
    while batch := queue.receive(max_messages=10):
        for receipt, body in batch:
            messages.append(body)
            queue.delete(receipt)
    return messages


# ---------------------------------------------------------------------- the contract


class PaymentsContract:
    """What the ticket service may rely on, whichever provider is configured."""

    def test_a_new_payment_waits_for_the_app_to_confirm_it_with_a_client_secret(self, provider):
        payment = buy(provider, amount=1500)

        assert payment.status == "pending"
        assert payment.client_secret
        assert (payment.provider, payment.amount_cents, payment.currency) == (provider.name, 1500, "USD")

    def test_a_retried_purchase_with_the_same_key_is_the_same_payment(self, provider):
        key = new_key()

        first, again = buy(provider, key), buy(provider, key)

        assert again.payment_id == first.payment_id
        assert again.client_secret == first.client_secret

    def test_another_key_is_another_payment(self, provider):
        assert buy(provider).payment_id != buy(provider).payment_id

    def test_a_key_reused_for_another_amount_is_refused(self, provider):
        key = new_key()
        buy(provider, key, amount=1500)

        with pytest.raises(DependencyFailed) as refused:
            buy(provider, key, amount=2500)
        assert refused.value.code == "payments_unavailable"

    @pytest.mark.parametrize(
        "event_type, obj, kind",
        [
            ("payment_intent.succeeded", payment_intent("succeeded"), "payment_succeeded"),
            ("payment_intent.payment_failed", payment_intent("requires_payment_method"), "payment_failed"),
            ("payment_intent.canceled", payment_intent("canceled"), "payment_canceled"),
            ("charge.refunded", refunded_charge(), "refunded"),
        ],
    )
    def test_a_correctly_signed_event_is_verified_and_read(self, provider, event_type, obj, kind):
        payload = stripe_event(event_type, obj)

        event = provider.parse_webhook(payload.encode(), signed(payload, secret=self.secret))

        assert event == PaymentEvent(
            event_id="evt_1NG8Du2eZvKYlo2CUI79vXWy",
            kind=kind,
            payment_id="pi_3MtwBwLkdIwHu7ix28a3tqPa",
            reference="ticket-42",
            amount_cents=1500,
            currency="USD",
        )

    def test_the_signature_header_is_found_in_any_letter_case(self, provider):
        payload = stripe_event("payment_intent.succeeded", payment_intent())
        headers = {"stripe-signature": signed(payload, secret=self.secret)["Stripe-Signature"]}

        assert provider.parse_webhook(payload.encode(), headers).kind == "payment_succeeded"

    def test_an_event_signed_with_another_secret_is_refused(self, provider):
        payload = stripe_event("payment_intent.succeeded", payment_intent())

        with pytest.raises(InvalidWebhook):
            provider.parse_webhook(payload.encode(), signed(payload, secret="whsec_someone_else"))

    def test_a_body_changed_after_signing_is_refused(self, provider):
        payload = stripe_event("payment_intent.succeeded", payment_intent(amount=1500))
        headers = signed(payload, secret=self.secret)
        tampered = payload.replace('"amount": 1500', '"amount": 1')
        assert tampered != payload

        with pytest.raises(InvalidWebhook):
            provider.parse_webhook(tampered.encode(), headers)

    def test_a_signature_older_than_five_minutes_is_refused(self, provider):
        payload = stripe_event("payment_intent.succeeded", payment_intent())

        with pytest.raises(InvalidWebhook):
            provider.parse_webhook(payload.encode(), signed(payload, secret=self.secret, age_seconds=3600))

    @pytest.mark.parametrize("headers", [{}, {"Stripe-Signature": ""}, {"Stripe-Signature": "garbage"}])
    def test_a_missing_or_unreadable_signature_is_refused(self, provider, headers):
        payload = stripe_event("payment_intent.succeeded", payment_intent())

        with pytest.raises(InvalidWebhook):
            provider.parse_webhook(payload.encode(), headers)

    @pytest.mark.parametrize("payload", ["not json", '{"no": "event"', '{"id": "evt_1", "type": "payment_intent.succeeded"}'])
    def test_a_signed_body_that_is_not_an_event_is_refused(self, provider, payload):
        with pytest.raises(InvalidWebhook):
            provider.parse_webhook(payload.encode(), signed(payload, secret=self.secret))

    @pytest.mark.parametrize(
        "event_type, obj",
        [
            ("customer.created", {"id": "cus_1", "object": "customer"}),
            ("payment_intent.created", payment_intent("requires_payment_method")),
            ("charge.refunded", refunded_charge(refunded=False, amount_refunded=500)),  # partial: not ours
            ("charge.refunded", refunded_charge(payment_intent=None)),  # a charge without a PaymentIntent
        ],
    )
    def test_events_the_app_does_not_act_on_are_ignored(self, provider, event_type, obj):
        payload = stripe_event(event_type, obj)

        assert provider.parse_webhook(payload.encode(), signed(payload, secret=self.secret)) is None

    def test_a_refund_retried_with_the_same_key_is_the_same_refund(self, provider):
        payment = buy(provider, payment_method=SUCCESS_TOKEN)
        key = new_key()

        first = provider.refund(payment.payment_id, idempotency_key=key)

        assert first
        assert provider.refund(payment.payment_id, idempotency_key=key) == first

    def test_refunding_again_under_another_key_returns_the_first_refund(self, provider):
        payment = buy(provider, payment_method=SUCCESS_TOKEN)
        first = provider.refund(payment.payment_id, idempotency_key=new_key())

        assert provider.refund(payment.payment_id, idempotency_key=new_key()) == first

    def test_a_payment_that_succeeded_cannot_be_canceled(self, provider):
        payment = buy(provider, payment_method=SUCCESS_TOKEN)

        with pytest.raises(PaymentDeclined):
            provider.cancel_payment(payment.payment_id)

    def test_canceling_an_unknown_payment_is_not_an_error(self, provider):
        provider.cancel_payment("pi_unknown000000000000000")


class OverFakeStripe:
    """The Stripe adapter through the real SDK, its HTTP layer answered by FakeStripeHttp."""

    @pytest.fixture
    def http(self):
        return FakeStripeHttp()

    @pytest.fixture
    def provider(self, http):
        return StripePayments(API_KEY, SECRET, http_client=http, max_network_retries=2)


class TestStripeContract(OverFakeStripe, PaymentsContract):
    secret = SECRET


class TestSandboxContract(PaymentsContract):
    secret = SECRET

    @pytest.fixture
    def provider(self, outbox):
        return SandboxPayments(SECRET, outbox)


class TestFakeContract(PaymentsContract):
    """The fake behind every functional test is held to what the real providers promise."""

    secret = SECRET

    @pytest.fixture
    def provider(self):
        return FakePayments(SECRET)


# ---------------------------------------------------------------------- Stripe: request shapes


class TestStripeRequests(OverFakeStripe):
    """What goes over the wire, as the SDK's HTTP layer sees it."""

    def test_a_payment_for_the_app_to_confirm(self, provider, http):
        provider.create_payment(
            reference="ticket-42",
            amount_cents=1500,
            currency="USD",
            description="Ticket: Friday AMA",
            idempotency_key="buy-ticket-42",
            metadata={"space_id": "sp1"},
        )

        [attempt] = http.attempts
        assert (attempt.method, attempt.url) == ("POST", "https://api.stripe.com/v1/payment_intents")
        assert attempt.headers["Idempotency-Key"] == "buy-ticket-42"
        assert attempt.headers["Authorization"] == f"Bearer {API_KEY}"
        assert attempt.headers["Content-Type"] == "application/x-www-form-urlencoded"
        assert attempt.form == {
            "amount": "1500",
            "currency": "usd",
            "description": "Ticket: Friday AMA",
            "metadata[space_id]": "sp1",
            "metadata[reference]": "ticket-42",
            "automatic_payment_methods[enabled]": "true",
        }

    def test_a_payment_confirmed_at_once_with_a_payment_method(self, provider, http):
        payment = buy(provider, "buy-2", payment_method=SUCCESS_TOKEN)

        [attempt] = http.attempts
        assert attempt.form["payment_method"] == SUCCESS_TOKEN
        assert attempt.form["confirm"] == "true"
        assert attempt.form["automatic_payment_methods[allow_redirects]"] == "never"
        assert "return_url" not in attempt.form
        assert payment.status == "succeeded"

    def test_the_callers_reference_wins_over_a_metadata_reference(self, provider, http):
        provider.create_payment(
            reference="ticket-42",
            amount_cents=100,
            currency="usd",
            description="x",
            idempotency_key=new_key(),
            metadata={"reference": "forged"},
        )

        assert http.attempts[0].form["metadata[reference]"] == "ticket-42"

    def test_a_declined_card_is_payment_declined_with_the_decline_code(self, provider, http):
        with pytest.raises(PaymentDeclined) as declined:
            buy(provider, payment_method=DECLINE_TOKEN)

        assert declined.value.decline_code == "generic_decline"
        assert str(declined.value) == "Your card was declined."
        assert len(http.attempts) == 1  # a decline is an answer: not retried

    def test_a_stripe_outage_is_retried_twice_with_the_same_key_then_dependency_failed(self, provider, http):
        http.outage = [(500, {"error": {"type": "api_error", "message": "Something went wrong"}})] * 5

        with pytest.raises(DependencyFailed) as failed:
            buy(provider, "buy-outage")

        assert failed.value.code == "payments_unavailable"
        assert len(http.attempts) == 3
        assert {a.headers["Idempotency-Key"] for a in http.attempts} == {"buy-outage"}

    def test_no_answer_at_all_is_retried_then_dependency_failed(self, provider, http):
        http.outage = [connection_error() for _ in range(5)]

        with pytest.raises(DependencyFailed):
            buy(provider)

        assert len(http.attempts) == 3

    def test_an_outage_that_ends_within_the_retries_is_a_payment(self, provider, http):
        http.outage = [connection_error()]

        payment = buy(provider, "buy-flaky")

        assert payment.status == "pending"
        assert len(http.attempts) == 2

    @pytest.mark.parametrize(
        "status, error",
        [
            (429, {"type": "invalid_request_error", "code": "rate_limit", "message": "Too many requests"}),
            (401, {"type": "invalid_request_error", "message": "Invalid API Key provided"}),
            (403, {"type": "invalid_request_error", "message": "The provided key does not have access"}),
            (400, {"type": "invalid_request_error", "code": "parameter_invalid_integer", "param": "amount", "message": "Invalid integer"}),
        ],
    )
    def test_other_refusals_are_dependency_failed_and_not_retried(self, provider, http, status, error):
        http.outage = [(status, {"error": error})]

        with pytest.raises(DependencyFailed) as failed:
            buy(provider)

        assert failed.value.code == "payments_unavailable"
        assert len(http.attempts) == 1

    def test_a_pending_payment_is_canceled(self, provider, http):
        payment = buy(provider)

        provider.cancel_payment(payment.payment_id)
        provider.cancel_payment(payment.payment_id)  # already canceled: fine

        cancels = http.posts(f"/v1/payment_intents/{payment.payment_id}/cancel")
        assert len(cancels) == 2
        assert http.intents[payment.payment_id]["status"] == "canceled"

    def test_a_declined_payment_can_be_canceled(self, provider, http):
        with pytest.raises(PaymentDeclined):
            buy(provider, payment_method=DECLINE_TOKEN)
        [intent_id] = http.intents

        provider.cancel_payment(intent_id)

        assert http.intents[intent_id]["status"] == "canceled"

    def test_a_refund_names_the_payment_intent_and_carries_the_key(self, provider, http):
        payment = buy(provider, payment_method=SUCCESS_TOKEN)

        refund_id = provider.refund(payment.payment_id, idempotency_key="refund-ticket-42")

        [attempt] = http.posts("/v1/refunds")
        assert attempt.form == {"payment_intent": payment.payment_id}
        assert attempt.headers["Idempotency-Key"] == "refund-ticket-42"
        assert refund_id.startswith("re_")

    def test_refunding_a_payment_that_never_succeeded_is_dependency_failed(self, provider):
        payment = buy(provider)

        with pytest.raises(DependencyFailed):
            provider.refund(payment.payment_id, idempotency_key=new_key())

    def test_no_sdk_global_is_set(self, provider):
        import stripe

        buy(provider)

        assert stripe.api_key is None


# ---------------------------------------------------------------------- sandbox: its outbox


class TestSandboxOutbox:
    @pytest.fixture
    def provider(self, outbox):
        return SandboxPayments(SECRET, outbox)

    def test_a_purchase_puts_exactly_one_signed_event_on_the_outbox(self, provider, outbox):
        key = new_key()
        payment = buy(provider, key, reference="ticket-7", amount=999)
        buy(provider, key, reference="ticket-7", amount=999)  # a retry: no second event

        [message] = drain(outbox)

        event = provider.parse_webhook(message["payload"].encode(), message["headers"])
        assert event.kind == "payment_succeeded"
        assert (event.payment_id, event.reference, event.amount_cents, event.currency) == (
            payment.payment_id,
            "ticket-7",
            999,
            "USD",
        )
        body = json.loads(message["payload"])
        assert body["type"] == "payment_intent.succeeded"
        assert body["id"].startswith("evt_")
        assert body["data"]["object"]["metadata"]["reference"] == "ticket-7"

    def test_the_outbox_signature_is_stripes(self, provider, outbox):
        buy(provider)

        [message] = drain(outbox)

        header = message["headers"]["Stripe-Signature"]
        timestamp = int(header.split(",")[0].removeprefix("t="))
        assert header == stripe_signature(message["payload"], SECRET, timestamp)

    def test_the_decline_token_gives_a_failed_payment(self, provider, outbox):
        payment = buy(provider, payment_method=DECLINE_TOKEN)

        [message] = drain(outbox)

        assert payment.status == "pending"
        event = provider.parse_webhook(message["payload"].encode(), message["headers"])
        assert (event.kind, event.payment_id) == ("payment_failed", payment.payment_id)

    def test_the_visa_token_gives_a_succeeded_payment(self, provider, outbox):
        buy(provider, payment_method=SUCCESS_TOKEN)

        [message] = drain(outbox)

        assert provider.parse_webhook(message["payload"].encode(), message["headers"]).kind == "payment_succeeded"

    def test_the_same_key_in_another_process_is_the_same_payment_and_the_same_event(self, outbox):
        key = new_key()
        here, there = SandboxPayments(SECRET, outbox), SandboxPayments(SECRET, outbox)

        assert buy(here, key).payment_id == buy(there, key).payment_id
        first, second = drain(outbox)
        assert json.loads(first["payload"])["id"] == json.loads(second["payload"])["id"]  # one event, twice

    def test_a_declined_payment_is_canceled_once(self, provider, outbox):
        payment = buy(provider, payment_method=DECLINE_TOKEN)
        drain(outbox)

        provider.cancel_payment(payment.payment_id)
        provider.cancel_payment(payment.payment_id)

        [message] = drain(outbox)
        event = provider.parse_webhook(message["payload"].encode(), message["headers"])
        assert (event.kind, event.payment_id, event.reference) == ("payment_canceled", payment.payment_id, "ticket-42")

    def test_a_refund_puts_one_charge_refunded_event_on_the_outbox(self, provider, outbox):
        payment = buy(provider, reference="ticket-9", amount=2500)
        drain(outbox)

        provider.refund(payment.payment_id, idempotency_key=new_key())
        provider.refund(payment.payment_id, idempotency_key=new_key())

        [message] = drain(outbox)
        assert json.loads(message["payload"])["type"] == "charge.refunded"
        event = provider.parse_webhook(message["payload"].encode(), message["headers"])
        assert (event.kind, event.payment_id, event.reference, event.amount_cents, event.currency) == (
            "refunded",
            payment.payment_id,
            "ticket-9",
            2500,
            "USD",
        )

    def test_a_payment_made_elsewhere_is_refunded_by_payment_id(self, outbox):
        payment = buy(SandboxPayments(SECRET, outbox))
        drain(outbox)
        after_a_restart = SandboxPayments(SECRET, outbox)

        after_a_restart.refund(payment.payment_id, idempotency_key=new_key())

        [message] = drain(outbox)
        event = after_a_restart.parse_webhook(message["payload"].encode(), message["headers"])
        assert (event.kind, event.payment_id, event.reference) == ("refunded", payment.payment_id, "")

    def test_a_failed_payment_cannot_be_refunded(self, provider):
        payment = buy(provider, payment_method=DECLINE_TOKEN)

        with pytest.raises(DependencyFailed):
            provider.refund(payment.payment_id, idempotency_key=new_key())

    def test_an_outbox_failure_is_dependency_failed_and_the_purchase_can_be_retried(self, aws):
        broken = SqsQueue(aws.sqs, queue_name=f"no-such-queue-{uuid.uuid4().hex[:8]}")
        provider = SandboxPayments(SECRET, broken)
        key = new_key()

        with pytest.raises(DependencyFailed):
            buy(provider, key)
        with pytest.raises(DependencyFailed):
            buy(provider, key)  # not remembered as sent: the retry sends again


class TestDeliver:
    MESSAGE = {"payload": '{"id":"evt_1","type":"payment_intent.succeeded"}', "headers": {"Stripe-Signature": "t=1,v1=ab"}}

    def test_posts_the_exact_payload_bytes_and_headers_to_the_webhook_route(self):
        posted = []

        status = deliver(self.MESSAGE, lambda path, body, headers: posted.append((path, body, headers)) or 200)

        assert status == 200
        [(path, body, headers)] = posted
        assert path == WEBHOOK_PATH == "/webhooks/payments"
        assert body == self.MESSAGE["payload"].encode()
        assert headers["Stripe-Signature"] == "t=1,v1=ab"
        assert headers["Content-Type"] == "application/json"

    def test_signs_each_attempt_afresh_as_stripe_does(self, outbox):
        provider = SandboxPayments(SECRET, outbox, clock=lambda: time.time() - 3600)  # queued an hour ago
        buy(provider)
        [message] = drain(outbox)
        with pytest.raises(InvalidWebhook):
            provider.parse_webhook(message["payload"].encode(), message["headers"])
        posted = []

        deliver(message, lambda path, body, headers: posted.append((body, headers)) or 200, secret=SECRET)

        [(body, headers)] = posted
        assert provider.parse_webhook(body, headers).kind == "payment_succeeded"


class TestLocalWorkerDelivery:
    """scripts/local_worker.py's delivery of the outbox, over the real queue."""

    def deliver_all(self, outbox, answer):
        from scripts.local_worker import deliver_payment_webhooks

        posted = []

        def post(path, body, headers):
            posted.append(body)
            if isinstance(answer, Exception):
                raise answer
            return answer

        return deliver_payment_webhooks(outbox, post, SECRET), posted

    @pytest.mark.parametrize("status", [200, 204, 400, 404])
    def test_an_accepted_or_refused_event_leaves_the_outbox(self, outbox, status):
        buy(SandboxPayments(SECRET, outbox))

        done, posted = self.deliver_all(outbox, status)

        assert (done, len(posted)) == (1, 1)
        assert drain(outbox) == []

    @pytest.mark.parametrize("answer", [500, 503, 429, ConnectionRefusedError("connection refused")])
    def test_an_event_the_app_could_not_take_stays_for_a_retry(self, outbox, answer):
        buy(SandboxPayments(SECRET, outbox))

        done, posted = self.deliver_all(outbox, answer)

        assert (done, len(posted)) == (0, 1)
        assert len(drain(outbox)) == 1  # visible again (this queue's visibility timeout is 0)


# ---------------------------------------------------------------------- wiring


class TestBootstrap:
    def test_the_test_stage_gets_the_sandbox_on_the_outbox_queue(self, configure_bootstrap):
        bootstrap = configure_bootstrap(SPACES_PAYMENTS_PROVIDER="sandbox", SPACES_PAYMENTS_OUTBOX_QUEUE="outbox-x")

        assert isinstance(bootstrap.payments(), SandboxPayments)
        assert bootstrap.payments() is bootstrap.payments()
        assert bootstrap.payments_outbox()._name == "outbox-x"

    def test_an_aws_stage_refuses_the_sandbox(self, configure_bootstrap):
        bootstrap = configure_bootstrap(SPACES_STAGE="prod", SPACES_PAYMENTS_PROVIDER="sandbox")

        with pytest.raises(RuntimeError, match="sandbox"):
            bootstrap.payments()

    def test_stripe_reads_its_key_and_signing_secret_from_secrets_manager(self, configure_bootstrap, aws, moto_url):
        from tests.support.moto_server import boto_client

        secrets = boto_client("secretsmanager", moto_url)
        suffix = uuid.uuid4().hex[:8]
        key_arn = secrets.create_secret(Name=f"stripe-key-{suffix}", SecretString="sk_live_from_secrets_manager")["ARN"]
        hook_arn = secrets.create_secret(Name=f"stripe-whsec-{suffix}", SecretString="whsec_from_sm")["ARN"]
        bootstrap = configure_bootstrap(
            SPACES_STAGE="prod",
            SPACES_PAYMENTS_PROVIDER="stripe",
            SPACES_STRIPE_API_KEY_SECRET_ARN=key_arn,
            SPACES_PAYMENTS_WEBHOOK_SECRET_ARN=hook_arn,
        )
        bootstrap.override(secretsmanager_client=secrets)

        provider = bootstrap.payments()

        assert isinstance(provider, StripePayments)
        payload = stripe_event("payment_intent.succeeded", payment_intent())
        assert provider.parse_webhook(payload.encode(), signed(payload, secret="whsec_from_sm")) is not None

    def test_an_unreadable_secret_is_dependency_failed(self, configure_bootstrap, moto_url):
        from tests.support.moto_server import boto_client

        bootstrap = configure_bootstrap(
            SPACES_STAGE="prod",
            SPACES_PAYMENTS_PROVIDER="stripe",
            SPACES_STRIPE_API_KEY_SECRET_ARN="arn:aws:secretsmanager:us-east-1:123456789012:secret:missing-AbCdEf",
        )
        bootstrap.override(secretsmanager_client=boto_client("secretsmanager", moto_url))

        with pytest.raises(DependencyFailed):
            bootstrap.payments()

    def test_a_developer_may_use_a_test_mode_key_from_the_environment(self, configure_bootstrap):
        bootstrap = configure_bootstrap(
            SPACES_PAYMENTS_PROVIDER="stripe",
            SPACES_STRIPE_API_KEY="sk_test_mine",
            SPACES_PAYMENTS_WEBHOOK_SECRET="whsec_from_stripe_listen",
        )

        assert isinstance(bootstrap.payments(), StripePayments)

    def test_a_live_key_from_the_environment_is_refused(self, configure_bootstrap):
        bootstrap = configure_bootstrap(
            SPACES_PAYMENTS_PROVIDER="stripe",
            SPACES_STRIPE_API_KEY="sk_live_oops",
            SPACES_PAYMENTS_WEBHOOK_SECRET="whsec_x",
        )

        with pytest.raises(RuntimeError, match="test-mode"):
            bootstrap.payments()

    def test_stripe_refuses_the_sandbox_signing_secret(self, configure_bootstrap):
        bootstrap = configure_bootstrap(SPACES_PAYMENTS_PROVIDER="stripe", SPACES_STRIPE_API_KEY="sk_test_mine")

        with pytest.raises(RuntimeError, match="signing secret"):
            bootstrap.payments()


def test_the_app_and_the_worker_start_without_importing_the_stripe_sdk():
    code = (
        "import sys; import app, chalicelib.bootstrap, scripts.local_worker; "
        "print('stripe' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------------- renewals (off-session)


class RenewalContract:
    def test_a_payment_saved_for_renewal_names_a_customer(self, provider):
        payment = buy(provider, payment_method=SUCCESS_TOKEN, save_for_renewal=True)

        assert payment.renewal is not None and payment.renewal.customer_id

    def test_a_retried_renewal_with_the_same_key_is_the_same_charge(self, provider):
        handle = buy(provider, payment_method=SUCCESS_TOKEN, save_for_renewal=True).renewal
        key = new_key()

        assert renew(provider, handle, key).payment_id == renew(provider, handle, key).payment_id
        assert renew(provider, handle).payment_id != renew(provider, handle, key).payment_id


def update_card(provider, handle, key=None, *, payment_method=None):
    """A past-due subscriber's new card: a payment that saves its method on the existing customer."""
    return provider.create_payment(
        reference="update:c:s:sub1.2.1",
        amount_cents=499,
        currency="USD",
        description="Subscription, period 2",
        idempotency_key=key or new_key(),
        payment_method=payment_method,
        save_for_renewal=True,
        customer_id=handle.customer_id,
    )


class CardUpdateContract:
    def test_a_new_card_is_saved_on_the_customer_the_renewals_charge(self, provider):
        handle = buy(provider, payment_method=AUTHENTICATION_TOKEN, save_for_renewal=True).renewal

        updated = update_card(provider, handle, payment_method=SUCCESS_TOKEN)

        assert updated.renewal.customer_id == handle.customer_id
        assert updated.renewal.payment_method_id not in (None, handle.payment_method_id)
        assert renew(provider, updated.renewal).payment_id

    def test_a_retried_card_update_with_the_same_key_is_the_same_payment(self, provider):
        handle = buy(provider, payment_method=SUCCESS_TOKEN, save_for_renewal=True).renewal
        key = new_key()

        assert update_card(provider, handle, key).payment_id == update_card(provider, handle, key).payment_id


class TestStripeRenewals(OverFakeStripe, RenewalContract, CardUpdateContract):
    """Saving the method at the first payment, and off-session renewal charges."""

    def test_the_first_payment_makes_a_customer_and_saves_the_method_for_off_session_use(self, provider, http):
        payment = buy(provider, "sub-1", payment_method=SUCCESS_TOKEN, save_for_renewal=True)

        customer, intent = http.attempts
        assert (customer.method, customer.path) == ("POST", "/v1/customers")
        assert customer.headers["Idempotency-Key"] == "sub-1-customer"
        assert customer.form["metadata[reference]"] == "ticket-42"
        assert intent.path == "/v1/payment_intents"
        assert intent.headers["Idempotency-Key"] == "sub-1"
        assert intent.form["setup_future_usage"] == "off_session"
        assert intent.form["customer"] == payment.renewal.customer_id
        assert payment.status == "succeeded"
        # Stripe turns the test token into a PaymentMethod of the customer's own.
        assert payment.renewal.payment_method_id.startswith("pm_")
        assert http.methods[payment.renewal.payment_method_id]["customer"] == payment.renewal.customer_id

    def test_a_first_payment_the_app_confirms_learns_its_method_from_the_webhook(self, provider, http):
        payment = buy(provider, save_for_renewal=True)
        assert payment.renewal.payment_method_id is None  # not confirmed yet

        obj = payment_intent("succeeded", customer=payment.renewal.customer_id, payment_method="pm_123")
        payload = stripe_event("payment_intent.succeeded", obj)
        event = provider.parse_webhook(payload.encode(), signed(payload))

        assert event.renewal == RenewalHandle(payment.renewal.customer_id, "pm_123")

    def test_a_renewal_is_confirmed_off_session_with_the_saved_method_and_the_key(self, provider, http):
        handle = buy(provider, payment_method=SUCCESS_TOKEN, save_for_renewal=True).renewal

        payment = renew(provider, handle, "renew-sub1-2-1")

        attempt = http.attempts[-1]
        assert attempt.path == "/v1/payment_intents"
        assert attempt.headers["Idempotency-Key"] == "renew-sub1-2-1"
        assert attempt.form["customer"] == handle.customer_id
        assert attempt.form["payment_method"] == handle.payment_method_id
        assert attempt.form["off_session"] == "true"
        assert attempt.form["confirm"] == "true"
        assert attempt.form["automatic_payment_methods[allow_redirects]"] == "never"
        assert "setup_future_usage" not in attempt.form
        assert attempt.form["metadata[reference]"] == "renew:c:s:sub1.2.1"
        assert (payment.status, payment.amount_cents, payment.currency) == ("succeeded", 499, "USD")

    def test_a_renewal_that_needs_the_cardholder_to_authenticate_is_declined(self, provider, http):
        handle = buy(provider, payment_method=AUTHENTICATION_TOKEN, save_for_renewal=True).renewal
        before = len(http.attempts)

        with pytest.raises(PaymentDeclined) as declined:
            renew(provider, handle)

        assert declined.value.decline_code == "authentication_required"
        assert len(http.attempts) == before + 1  # an answer: not retried

    def test_a_declined_renewal_is_payment_declined(self, provider, http):
        handle = buy(provider, payment_method=SUCCESS_TOKEN, save_for_renewal=True).renewal
        http.methods[handle.payment_method_id]["token"] = DECLINE_TOKEN  # the card stopped working

        with pytest.raises(PaymentDeclined) as declined:
            renew(provider, handle)

        assert declined.value.decline_code == "generic_decline"

    def test_a_renewal_during_an_outage_is_retried_with_the_same_key(self, provider, http):
        handle = buy(provider, payment_method=SUCCESS_TOKEN, save_for_renewal=True).renewal
        http.outage = [connection_error()]

        payment = renew(provider, handle, "renew-sub1-2-1")

        keys = [a.headers["Idempotency-Key"] for a in http.posts("/v1/payment_intents")[-2:]]
        assert keys == ["renew-sub1-2-1", "renew-sub1-2-1"]
        assert payment.status == "succeeded"

    def test_a_card_update_makes_no_customer_and_attaches_the_new_method_to_the_old_one(self, provider, http):
        handle = buy(provider, payment_method=AUTHENTICATION_TOKEN, save_for_renewal=True).renewal
        before = len(http.attempts)

        updated = update_card(provider, handle, "update-sub1-2-1", payment_method=SUCCESS_TOKEN)

        [intent] = http.attempts[before:]
        assert intent.path == "/v1/payment_intents"
        assert intent.headers["Idempotency-Key"] == "update-sub1-2-1"
        assert intent.form["customer"] == handle.customer_id
        assert intent.form["setup_future_usage"] == "off_session"
        assert intent.form["payment_method"] == SUCCESS_TOKEN and intent.form["confirm"] == "true"
        assert intent.form["metadata[reference]"] == "update:c:s:sub1.2.1"
        assert "off_session" not in intent.form  # the subscriber is here: on-session
        assert len(http.customers) == 1
        assert http.methods[updated.renewal.payment_method_id]["customer"] == handle.customer_id
        assert updated.status == "succeeded"

    def test_a_card_update_the_app_confirms_learns_its_method_from_the_webhook(self, provider, http):
        handle = buy(provider, payment_method=SUCCESS_TOKEN, save_for_renewal=True).renewal

        updated = update_card(provider, handle)

        assert updated.renewal == RenewalHandle(handle.customer_id, None)
        assert http.attempts[-1].form["automatic_payment_methods[enabled]"] == "true"
        assert "confirm" not in http.attempts[-1].form

    def test_a_handle_without_a_method_is_declined_without_a_request(self, provider, http):
        with pytest.raises(PaymentDeclined) as declined:
            renew(provider, RenewalHandle("cus_1", None))

        assert declined.value.decline_code == "no_saved_payment_method"
        assert http.attempts == []

    def test_a_failed_renewal_event_carries_the_decline_code(self, provider):
        obj = payment_intent(
            "requires_payment_method",
            customer="cus_1",
            payment_method="pm_1",
            last_payment_error={"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds"},
        )
        payload = stripe_event("payment_intent.payment_failed", obj)

        event = provider.parse_webhook(payload.encode(), signed(payload))

        assert (event.kind, event.decline_code, event.renewal) == (
            "payment_failed",
            "insufficient_funds",
            RenewalHandle("cus_1", "pm_1"),
        )


class TestSandboxRenewals(RenewalContract, CardUpdateContract):
    @pytest.fixture
    def provider(self, outbox):
        return SandboxPayments(SECRET, outbox)

    def _events(self, provider, outbox):
        return [provider.parse_webhook(m["payload"].encode(), m["headers"]) for m in drain(outbox)]

    def test_a_renewal_settles_by_a_webhook_that_names_the_saved_method(self, provider, outbox):
        handle = buy(provider, payment_method=SUCCESS_TOKEN, save_for_renewal=True).renewal
        payment = renew(provider, handle)

        first, renewal = self._events(provider, outbox)

        assert first.renewal == handle == RenewalHandle(handle.customer_id, SUCCESS_TOKEN)
        assert payment.status == "pending"
        assert (renewal.kind, renewal.payment_id, renewal.reference) == (
            "payment_succeeded",
            payment.payment_id,
            "renew:c:s:sub1.2.1",
        )

    def test_a_card_update_settles_by_a_webhook_naming_the_customer_and_the_new_method(self, provider, outbox):
        handle = buy(provider, payment_method=AUTHENTICATION_TOKEN, save_for_renewal=True).renewal
        updated = update_card(provider, handle, payment_method=SUCCESS_TOKEN)

        _, event = self._events(provider, outbox)

        assert updated.renewal == RenewalHandle(handle.customer_id, SUCCESS_TOKEN)
        assert (event.kind, event.payment_id, event.reference) == (
            "payment_succeeded",
            updated.payment_id,
            "update:c:s:sub1.2.1",
        )
        assert event.renewal == updated.renewal

    def test_the_authentication_card_pays_once_and_declines_its_renewals(self, provider, outbox):
        handle = buy(provider, payment_method=AUTHENTICATION_TOKEN, save_for_renewal=True).renewal
        renew(provider, handle)

        first, renewal = self._events(provider, outbox)

        assert first.kind == "payment_succeeded"
        assert (renewal.kind, renewal.decline_code) == ("payment_failed", "authentication_required")


class TestFakeRenewals(RenewalContract, CardUpdateContract):
    @pytest.fixture
    def provider(self):
        return FakePayments(SECRET)
