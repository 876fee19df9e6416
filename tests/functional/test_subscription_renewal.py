"""Monthly renewal of subscriptions, against DynamoDB Local with a payment provider the test
drives (tests/support/payments.py) and a clock the test moves: the job charges once per period,
the webhook extends once, declines keep access through the grace and then lapse the
subscription, and an unsubscribed subscriber is never charged again.

The job sweeps every test's subscriptions (one DynamoDB Local is shared), so most tests call
`renew_one` for their own subscription after checking the index finds it, as the job would; the
job-level tests see only their own subscriptions through `OnlyThese`."""
from __future__ import annotations

import json
import threading
import uuid
from datetime import timedelta

import pytest

from chalicelib.domain.errors import DependencyFailed
from chalicelib.domain.spaces import utcnow
from chalicelib.domain.subscriptions import RENEWAL_GRACE, SUBSCRIPTION_DAYS
from chalicelib.jobs.reminders import process_push
from chalicelib.services import renewals
from tests.support.clock import FixedClock
from tests.support.moto_server import sns_messages
from tests.support.payments import unavailable

pytestmark = pytest.mark.usefixtures("deps")
DAY = timedelta(days=1)


class OnlyThese:
    """The subscription repository, with the renewal index narrowed to this test's pairs."""

    def __init__(self, repo, pairs):
        self._repo, self._pairs = repo, set(pairs)

    def due_renewals(self, now, limit=100):
        return [pair for pair in self._repo.due_renewals(now, limit=1000) if pair in self._pairs]

    def __getattr__(self, name):
        return getattr(self._repo, name)


@pytest.fixture
def clock(deps):
    deps.clock = FixedClock(utcnow().replace(microsecond=0))
    return deps.clock


@pytest.fixture
def creator(new_user):
    return new_user("creator", followers=1200)


def webhook(api, deps, payment_id, kind="payment_succeeded"):
    payload, headers = deps.payments.webhook(payment_id, kind)
    response = api.call("POST", "/webhooks/payments", None, payload, headers=headers)
    assert response.status_code == 200, response.data
    return response.data["handled"]


def subscribe(api, deps, creator, fan, payment_method=None):
    """A paid, active subscription (period 1). Returns it as stored."""
    body = {"tier": "tier_2", **({"payment_method": payment_method} if payment_method else {})}
    started = api.post(f"/users/{creator}/subscription", fan, body)
    assert started.status_code == 201, started.data
    assert webhook(api, deps, started.data["payment"]["payment_id"]) is True
    sub = deps.subscriptions.get(creator, fan)
    assert (sub.status, sub.period) == ("active", 1)
    return sub


def at(clock, when):
    clock.at = when
    return when


def due(deps, sub, now):
    return (sub.creator_id, sub.subscriber_id) in deps.subscriptions.due_renewals(now, limit=1000)


def renew(deps, sub, now):
    return renewals.renew_one(deps, sub.creator_id, sub.subscriber_id, now)


def stored(deps, sub):
    return deps.subscriptions.get(sub.creator_id, sub.subscriber_id)


def renewal_payments(deps, sub):
    return deps.payments.charges_for(f"renew:{sub.creator_id}:{sub.subscriber_id}:")


def at_once(n, work):
    """Run `work(i)` for i in range(n) in n threads released together; their results in order."""
    results, barrier = [None] * n, threading.Barrier(n)

    def run(i):
        barrier.wait()
        results[i] = work(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


# ---------------------------------------------------------------- charging once


def test_the_first_payment_saves_the_method_and_the_renewal_is_due_a_day_before_the_period_ends(
    api, deps, clock, creator, new_user
):
    sub = subscribe(api, deps, creator, new_user("fan"))
    end = sub.current_period_end
    assert end == clock.at + timedelta(days=SUBSCRIPTION_DAYS)
    assert (sub.customer_id, sub.payment_method_id) == (f"cus_{sub.customer_id[4:]}", "pm_card_visa")

    assert not due(deps, sub, end - DAY - timedelta(seconds=1))
    assert renew(deps, sub, at(clock, end - DAY - timedelta(seconds=1))) is None
    assert due(deps, sub, end - DAY)
    assert renew(deps, sub, at(clock, end - DAY)) == "charging"
    [(key, handle)] = deps.payments.renewal_calls
    assert key == f"renew-{sub.subscription_id}-2-1"
    assert (handle.customer_id, handle.payment_method_id) == (sub.customer_id, sub.payment_method_id)


def test_a_renewal_charges_once_however_often_the_job_runs(api, deps, clock, creator, new_user):
    sub = subscribe(api, deps, creator, new_user("fan"))
    now = at(clock, sub.current_period_end - DAY)
    assert renew(deps, sub, now) == "charging"
    assert renew(deps, sub, now) is None  # claimed by the first run
    assert renew(deps, sub, now + timedelta(minutes=9)) is None
    assert len(deps.payments.renewal_calls) == 1
    # No webhook yet and the claim ran out: asked again, with the same key, so the same charge.
    assert renew(deps, sub, now + timedelta(hours=1)) == "charging"
    assert {key for key, _ in deps.payments.renewal_calls} == {f"renew-{sub.subscription_id}-2-1"}
    assert len(renewal_payments(deps, sub)) == 1


def test_concurrent_job_runs_charge_a_period_once(api, deps, clock, creator, new_user):
    subs = [subscribe(api, deps, creator, new_user("fan")) for _ in range(3)]
    deps.subscriptions = OnlyThese(deps.subscriptions, [(s.creator_id, s.subscriber_id) for s in subs])
    at(clock, max(s.current_period_end for s in subs) - DAY)

    results = at_once(6, lambda i: renewals.renew_subscriptions(deps))

    assert sum(results) == 3
    assert sorted(key for key, _ in deps.payments.renewal_calls) == sorted(
        f"renew-{s.subscription_id}-2-1" for s in subs
    )
    assert renewals.renew_subscriptions(deps) == 0  # run again: nothing more to charge


def test_the_webhook_extends_the_period_once_even_when_redelivered(api, deps, clock, creator, new_user):
    sub = subscribe(api, deps, creator, new_user("fan"))
    end = sub.current_period_end
    renew(deps, sub, at(clock, end - DAY))
    [payment_id] = renewal_payments(deps, sub)

    assert webhook(api, deps, payment_id) is True
    assert webhook(api, deps, payment_id) is False
    renewed = stored(deps, sub)
    assert (renewed.status, renewed.period, renewed.renewal_attempts) == ("active", 2, 0)
    assert renewed.current_period_end == end + timedelta(days=SUBSCRIPTION_DAYS)
    assert renewed.grants_access(end + DAY)
    assert deps.payments.refund_calls == []
    # Next month's charge is period 3, due a day before the new end.
    assert not due(deps, renewed, end)
    assert renew(deps, renewed, at(clock, renewed.current_period_end - DAY)) == "charging"
    assert deps.payments.renewal_calls[-1][0] == f"renew-{sub.subscription_id}-3-1"


def test_a_renewal_the_provider_confirms_at_once_extends_without_a_webhook(api, deps, clock, creator, new_user):
    sub = subscribe(api, deps, creator, new_user("fan"))
    deps.payments.renewals_succeed_at_once = True
    assert renew(deps, sub, at(clock, sub.current_period_end - DAY)) == "renewed"
    [payment_id] = renewal_payments(deps, sub)
    assert webhook(api, deps, payment_id) is False  # its webhook, arriving later, changes nothing
    assert stored(deps, sub).period == 2


def test_an_unanswered_charge_is_retried_with_the_same_key_after_the_claim_runs_out(
    api, deps, clock, creator, new_user
):
    sub = subscribe(api, deps, creator, new_user("fan"))
    now = at(clock, sub.current_period_end - DAY)
    deps.payments.fail_next["charge_renewal"] = unavailable()
    assert renew(deps, sub, now) is None
    assert renew(deps, sub, now + timedelta(minutes=5)) is None  # still claimed: no call
    assert renew(deps, sub, at(clock, now + timedelta(minutes=11))) == "charging"
    assert [key for key, _ in deps.payments.renewal_calls] == [f"renew-{sub.subscription_id}-2-1"] * 2
    assert stored(deps, sub).status == "active"


# ---------------------------------------------------------------- declines, grace, lapse


def test_a_declined_renewal_keeps_access_through_the_grace_then_lapses(api, deps, clock, creator, new_user):
    space = api.post("/spaces", creator, {"title": "Subscribers only", "access": "subscribers"}).data
    fan = new_user("fan")
    sub = subscribe(api, deps, creator, fan, payment_method="pm_card_authenticationRequired")
    end = sub.current_period_end

    assert renew(deps, sub, at(clock, end - DAY)) == "past_due"
    late = stored(deps, sub)
    assert (late.status, late.renewal_attempts, late.renew_at) == ("past_due", 1, end)
    assert api.post(f"/spaces/{space['id']}/join", fan).status_code == 200  # the join's own check agrees
    assert renew(deps, late, end - timedelta(hours=1)) is None  # not yet time to retry

    for attempt, when in ((2, end), (3, end + DAY)):
        assert renew(deps, stored(deps, sub), at(clock, when)) == "past_due"
        assert stored(deps, sub).renewal_attempts == attempt
        assert stored(deps, sub).grants_access(when + DAY - timedelta(seconds=1))  # grace: access goes on

    assert renew(deps, stored(deps, sub), at(clock, end + 2 * DAY)) == "lapsed"
    lapsed = stored(deps, sub)
    assert (lapsed.status, lapsed.renewal_attempts, lapsed.renew_at) == ("lapsed", 4, None)
    assert not lapsed.grants_access(end + 2 * DAY)
    assert api.post(f"/spaces/{space['id']}/join", fan).status_code == 403
    assert not due(deps, lapsed, end + 10 * DAY)
    assert [key for key, _ in deps.payments.renewal_calls] == [
        f"renew-{sub.subscription_id}-2-{n}" for n in (1, 2, 3, 4)
    ]
    # A lapsed subscriber may subscribe again.
    assert api.post(f"/users/{creator}/subscription", fan, {"tier": "tier_2"}).status_code == 201


def test_a_retry_that_is_paid_makes_the_subscription_active_again(api, deps, clock, creator, new_user):
    sub = subscribe(api, deps, creator, new_user("fan"), payment_method="pm_card_authenticationRequired")
    end = sub.current_period_end
    assert renew(deps, sub, at(clock, end - DAY)) == "past_due"
    deps.payments.decline_renewal_methods.clear()  # the subscriber fixed their card with the bank
    assert renew(deps, stored(deps, sub), at(clock, end + timedelta(hours=2))) == "charging"
    declined, payment_id = renewal_payments(deps, sub)
    assert deps.payments.payments[declined]["status"] == "failed"
    assert webhook(api, deps, payment_id) is True

    renewed = stored(deps, sub)
    assert (renewed.status, renewed.period, renewed.renewal_attempts) == ("active", 2, 0)
    assert renewed.current_period_end == end + timedelta(days=SUBSCRIPTION_DAYS)  # the billing day stays


def test_a_failed_renewal_webhook_is_a_decline_counted_once(api, deps, clock, creator, new_user):
    sub = subscribe(api, deps, creator, new_user("fan"))
    end = sub.current_period_end
    renew(deps, sub, at(clock, end - DAY))
    [payment_id] = renewal_payments(deps, sub)

    assert webhook(api, deps, payment_id, "payment_failed") is True
    assert webhook(api, deps, payment_id, "payment_failed") is False
    late = stored(deps, sub)
    assert (late.status, late.renewal_attempts, late.renew_at) == ("past_due", 1, end)
    assert renew(deps, late, at(clock, end)) == "charging"
    assert deps.payments.renewal_calls[-1][0] == f"renew-{sub.subscription_id}-2-2"


def test_a_decline_answered_at_once_and_then_by_webhook_counts_once(api, deps, clock, creator, new_user):
    sub = subscribe(api, deps, creator, new_user("fan"), payment_method="pm_card_authenticationRequired")
    end = sub.current_period_end
    assert renew(deps, sub, at(clock, end - DAY)) == "past_due"
    [payment_id] = renewal_payments(deps, sub)

    assert webhook(api, deps, payment_id, "payment_failed") is False
    assert stored(deps, sub).renewal_attempts == 1


def test_a_provider_down_for_the_whole_grace_lapses_the_subscription(api, deps, clock, creator, new_user):
    sub = subscribe(api, deps, creator, new_user("fan"), payment_method="pm_card_authenticationRequired")
    end = sub.current_period_end
    assert renew(deps, sub, at(clock, end - DAY)) == "past_due"
    assert stored(deps, sub).grants_access(end + RENEWAL_GRACE - timedelta(seconds=1))
    assert renew(deps, stored(deps, sub), at(clock, end + RENEWAL_GRACE)) == "lapsed"
    assert len(deps.payments.renewal_calls) == 1


# ---------------------------------------------------------------- unsubscribing


def test_an_unsubscribed_subscriber_is_never_charged_again_and_keeps_the_paid_month(
    api, deps, clock, creator, new_user
):
    fan = new_user("fan")
    sub = subscribe(api, deps, creator, fan)
    end = sub.current_period_end
    assert api.post(f"/users/{creator}/subscription", fan, {"tier": "tier_2"}).status_code == 409
    canceled = api.delete(f"/users/{creator}/subscription", fan).data["subscription"]
    assert (canceled["status"], canceled["renews"]) == ("canceled", False)

    assert not due(deps, sub, end + DAY)
    assert renew(deps, stored(deps, sub), at(clock, end - DAY)) is None
    assert deps.payments.renewal_calls == []
    assert stored(deps, sub).grants_access(end - timedelta(seconds=1))
    assert not stored(deps, sub).grants_access(end)


def test_a_renewal_paid_after_the_subscriber_unsubscribed_is_refunded(api, deps, clock, creator, new_user):
    fan = new_user("fan")
    sub = subscribe(api, deps, creator, fan)
    renew(deps, sub, at(clock, sub.current_period_end - DAY))
    api.delete(f"/users/{creator}/subscription", fan)
    [payment_id] = renewal_payments(deps, sub)

    assert webhook(api, deps, payment_id) is True
    assert webhook(api, deps, payment_id) is True  # a redelivery asks again, with the same key
    assert {key for key, _ in deps.payments.refund_calls} == {f"refund-renew-{sub.subscription_id}-2-1"}
    assert (stored(deps, sub).status, stored(deps, sub).period) == ("canceled", 1)


def test_a_past_due_subscriber_may_unsubscribe_and_is_not_retried(api, deps, clock, creator, new_user):
    fan = new_user("fan")
    sub = subscribe(api, deps, creator, fan, payment_method="pm_card_authenticationRequired")
    end = sub.current_period_end
    renew(deps, sub, at(clock, end - DAY))
    answer = api.delete(f"/users/{creator}/subscription", fan).data
    assert answer["changed"] is True
    view = answer["subscription"]
    assert (view["status"], view["renews"], view["renewal_attempts"]) == ("canceled", False, 1)
    assert view["access_until"] == view["current_period_end"]  # no grace once unsubscribed
    assert renew(deps, stored(deps, sub), at(clock, end)) is None
    assert len(deps.payments.renewal_calls) == 1



# ---------------------------------------------------------------- with the sandbox provider


@pytest.fixture
def sandbox(api, deps, aws):
    """The sandbox provider of `make run`, its outbox on SQS (moto); returns a function that
    delivers the outbox's signed events to the webhook route, as the local worker does."""
    from chalicelib.adapters.payments.sandbox import SandboxPayments, deliver
    from chalicelib.adapters.sqs import SqsQueue

    name = f"renewal-outbox-{uuid.uuid4().hex[:10]}"
    aws.sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "0"})
    outbox = SqsQueue(aws.sqs, queue_name=name)
    deps.payments = SandboxPayments("whsec_renewal_test", outbox)

    def deliver_all():
        while batch := outbox.receive(max_messages=10):
            for receipt, message in batch:
                post = lambda path, body, headers: api.call("POST", path, None, body, headers=headers).status_code  # noqa: E731
                assert deliver(message, post) == 200
                outbox.delete(receipt)

    return deliver_all


@pytest.mark.parametrize(
    "card, status, period", [("pm_card_visa", "active", 2), ("pm_card_authenticationRequired", "past_due", 1)]
)
def test_the_sandbox_provider_renews_through_its_signed_webhooks(api, deps, sandbox, clock, creator, new_user, card, status, period):
    """What `make run` does: the sandbox saves the card, charges the renewal, and its outbox's
    signed events (delivered here as the local worker would) settle it."""
    fan = new_user("fan")
    assert api.post(f"/users/{creator}/subscription", fan, {"tier": "tier_1", "payment_method": card}).status_code == 201
    sandbox()
    sub = deps.subscriptions.get(creator, fan)
    assert (sub.status, sub.payment_method_id) == ("active", card)
    assert sub.customer_id.startswith("sbcus_")

    assert renew(deps, sub, at(clock, sub.current_period_end - DAY)) == "charging"
    sandbox()
    after = stored(deps, sub)
    assert (after.status, after.period) == (status, period)


def test_the_sandbox_provider_takes_a_past_due_subscribers_new_card(api, deps, sandbox, clock, creator, new_user):
    fan = new_user("fan")
    api.post(f"/users/{creator}/subscription", fan, {"tier": "tier_1", "payment_method": "pm_card_authenticationRequired"})
    sandbox()
    sub = deps.subscriptions.get(creator, fan)
    renew(deps, sub, at(clock, sub.current_period_end - DAY))
    sandbox()
    assert stored(deps, sub).status == "past_due"

    answer = api.post(f"/users/{creator}/subscription", fan, {"payment_method": "pm_card_visa"})
    assert (answer.status_code, answer.data["payment"]["status"]) == (201, "pending")
    sandbox()

    after = stored(deps, sub)
    assert (after.status, after.period, after.subscription_id) == ("active", 2, sub.subscription_id)
    assert (after.customer_id, after.payment_method_id) == (sub.customer_id, "pm_card_visa")
    assert renew(deps, after, at(clock, after.current_period_end - DAY)) == "charging"
    sandbox()
    assert (stored(deps, sub).status, stored(deps, sub).period) == ("active", 3)


# ---------------------------------------------------------------- telling the subscriber


def register_device(api, user, platform):
    token = f"{platform}-token-{user}-{uuid.uuid4().hex[:12]}"
    response = api.post("/me/devices", user, {"platform": platform, "token": token})
    assert response.status_code == 201, response.data
    return response.data["device_id"]


def devices_of(api, user):
    return [register_device(api, user, "ios"), register_device(api, user, "android")]


def push_texts(deps, device_id):
    """The (title, body) of every push this device got, read back from what SNS was given."""
    texts = []
    for message in sns_messages(deps.devices.get(device_id).endpoint_arn):
        structure = json.loads(message)
        if "APNS" in structure and json.loads(structure["APNS"])["aps"]:
            alert = json.loads(structure["APNS"])["aps"]["alert"]
            fcm = json.loads(structure["GCM"])["fcmV1Message"]["message"]["notification"]
            assert (alert["title"], alert["body"]) == (fcm["title"], fcm["body"])
            texts.append((alert["title"], alert["body"]))
    return texts


def deliver_pushes(deps, *, copies=1):
    """Run the push worker over the push queue until it is empty, or until a round makes no
    progress (every message left failing), each message `copies` times at once (SQS may deliver
    a message more than once, to concurrent workers). A delivery that fails goes back to the
    queue, as SQS does after the visibility timeout."""
    for _ in range(50):
        progress = False
        for receipt, body in deps.push_queue.receive(max_messages=10, wait_seconds=0):

            def work(_, body=body):
                try:
                    process_push(body)
                    return "ok"
                except DependencyFailed:
                    return "failed"

            if "failed" in at_once(copies, work):
                deps.push_queue.change_visibility(receipt, 0)
            else:
                deps.push_queue.delete(receipt)
                progress = True
        if not progress:
            return
    raise AssertionError("the push queue did not drain")


def declined_text(creator):
    return (
        "Update your payment method",
        f"Your subscription to @{creator} could not be renewed; update your card within 3 days to keep it.",
    )


def ended_text(creator):
    return ("Subscription ended", f"Your subscription to @{creator} has ended.")


def test_a_declined_renewal_pushes_the_subscriber_once_on_each_device(api, deps, clock, creator, new_user):
    fan = new_user("fan")
    devices = devices_of(api, fan)
    others = devices_of(api, creator)
    sub = subscribe(api, deps, creator, fan, payment_method="pm_card_authenticationRequired")
    end = sub.current_period_end

    assert renew(deps, sub, at(clock, end - DAY)) == "past_due"
    deliver_pushes(deps)
    assert [push_texts(deps, d) for d in devices] == [[declined_text(creator)]] * 2
    # The second decline of the same period says nothing new.
    assert renew(deps, stored(deps, sub), at(clock, end)) == "past_due"
    deliver_pushes(deps)
    assert [len(push_texts(deps, d)) for d in devices] == [1, 1]
    assert [push_texts(deps, d) for d in others] == [[], []]
    assert deps.telemetry.events.count("PushSent") == 2


def test_a_renewal_declined_by_webhook_pushes_too(api, deps, clock, creator, new_user):
    fan = new_user("fan")
    [ios, android] = devices_of(api, fan)
    sub = subscribe(api, deps, creator, fan)
    renew(deps, sub, at(clock, sub.current_period_end - DAY))
    [payment_id] = renewal_payments(deps, sub)

    assert webhook(api, deps, payment_id, "payment_failed") is True
    assert webhook(api, deps, payment_id, "payment_failed") is False
    deliver_pushes(deps)

    assert push_texts(deps, ios) == push_texts(deps, android) == [declined_text(creator)]


def test_a_lapse_pushes_once_that_the_subscription_ended(api, deps, clock, creator, new_user):
    fan = new_user("fan")
    devices = devices_of(api, fan)
    sub = subscribe(api, deps, creator, fan, payment_method="pm_card_authenticationRequired")
    end = sub.current_period_end
    for when in (end - DAY, end, end + DAY):
        assert renew(deps, stored(deps, sub), at(clock, when)) == "past_due"
    assert renew(deps, stored(deps, sub), at(clock, end + 2 * DAY)) == "lapsed"
    assert renew(deps, stored(deps, sub), at(clock, end + 3 * DAY)) is None
    deliver_pushes(deps, copies=2)

    assert [push_texts(deps, d) for d in devices] == [[declined_text(creator), ended_text(creator)]] * 2


def test_a_subscription_that_lapses_without_a_decline_pushes_that_it_ended(api, deps, clock, creator, new_user):
    fan = new_user("fan")
    [device] = [register_device(api, fan, "android")]
    sub = subscribe(api, deps, creator, fan)
    deps.payments.fail_next["charge_renewal"] = unavailable()
    assert renew(deps, sub, at(clock, sub.current_period_end - DAY)) is None  # no answer: no decline
    assert renew(deps, stored(deps, sub), at(clock, sub.current_period_end + RENEWAL_GRACE)) == "lapsed"
    deliver_pushes(deps)

    assert push_texts(deps, device) == [ended_text(creator)]


def test_concurrent_job_runs_and_duplicate_deliveries_push_each_device_once(api, deps, clock, creator, new_user):
    fans = [new_user("fan") for _ in range(3)]
    devices = [devices_of(api, fan) for fan in fans]
    subs = [subscribe(api, deps, creator, fan, payment_method="pm_card_authenticationRequired") for fan in fans]
    deps.subscriptions = OnlyThese(deps.subscriptions, [(s.creator_id, s.subscriber_id) for s in subs])
    at(clock, max(s.current_period_end for s in subs) - DAY)
    assert sum(at_once(6, lambda i: renewals.renew_subscriptions(deps))) == 3
    # And the job runs again for every decline that follows: the same notice is queued again.
    at(clock, max(s.current_period_end for s in subs))
    assert renewals.renew_subscriptions(deps) == 3
    deliver_pushes(deps, copies=3)

    assert [[len(push_texts(deps, d)) for d in pair] for pair in devices] == [[1, 1]] * 3


def test_a_throttled_publish_is_retried_and_the_subscriber_still_gets_one_push(api, aws, deps, clock, creator, new_user):
    from tests.support.faults import AwsFaults

    fan = new_user("fan")
    devices = devices_of(api, fan)
    sub = subscribe(api, deps, creator, fan, payment_method="pm_card_authenticationRequired")

    with AwsFaults(seed=5).fail("Publish", rate=1.0, kinds=("throttle",), service="sns").attach(aws.sns) as faults:
        assert renew(deps, sub, at(clock, sub.current_period_end - DAY)) == "past_due"  # the job is not held up
        deliver_pushes(deps)
        assert faults.count("throttle") >= deps.settings.push_publish_attempts
        assert [push_texts(deps, d) for d in devices] == [[], []]
    assert stored(deps, sub).status == "past_due"  # the state change stands
    deliver_pushes(deps)  # SNS recovered: the message was still queued
    deliver_pushes(deps)
    assert [push_texts(deps, d) for d in devices] == [[declined_text(creator)]] * 2


def test_a_publish_throttled_at_first_goes_out_once_within_the_retries(api, aws, deps, clock, creator, new_user):
    from tests.support.faults import AwsFaults

    fan = new_user("fan")
    [device] = [register_device(api, fan, "ios")]
    sub = subscribe(api, deps, creator, fan, payment_method="pm_card_authenticationRequired")
    renew(deps, sub, at(clock, sub.current_period_end - DAY))

    with AwsFaults(seed=6).fail_next("Publish", "throttle", times=2, service="sns").attach(aws.sns) as faults:
        deliver_pushes(deps)
    assert faults.count("throttle") == 2
    assert push_texts(deps, device) == [declined_text(creator)]


def test_a_push_queue_that_is_down_does_not_undo_or_fail_the_renewal(api, deps, clock, creator, new_user):
    class DownQueue:
        def send_batch(self, bodies):
            raise DependencyFailed("SQS is down", code="queue_unavailable")

    sub = subscribe(api, deps, creator, new_user("fan"), payment_method="pm_card_authenticationRequired")
    deps.push_queue = DownQueue()

    assert renew(deps, sub, at(clock, sub.current_period_end - DAY)) == "past_due"
    assert stored(deps, sub).status == "past_due"
    assert len(deps.payments.renewal_calls) == 1
    assert "SubscriptionNoticeNotQueued" in deps.telemetry.events


# ---------------------------------------------------------------- a past-due subscriber gives a new card


def past_due(api, deps, clock, creator, fan):
    sub = subscribe(api, deps, creator, fan, payment_method="pm_card_authenticationRequired")
    assert renew(deps, sub, at(clock, sub.current_period_end - DAY)) == "past_due"
    return stored(deps, sub)


def update_payments(deps, sub):
    return deps.payments.charges_for(f"update:{sub.creator_id}:{sub.subscriber_id}:")


def test_a_past_due_subscriber_pays_with_a_new_card_and_is_active_for_the_period_it_renews(
    api, deps, clock, creator, new_user
):
    fan = new_user("fan")
    sub = past_due(api, deps, clock, creator, fan)
    end = sub.current_period_end

    at(clock, end)  # the day of the job's next retry
    answer = api.post(f"/users/{creator}/subscription", fan, {"tier": "tier_2", "payment_method": "pm_card_visa"})

    assert answer.status_code == 201, answer.data
    assert set(answer.data) == {"subscription", "payment"}
    assert answer.data["subscription"]["status"] == "past_due"
    payment = answer.data["payment"]
    assert (payment["status"], payment["amount_cents"], payment["currency"]) == ("pending", 499, "USD")
    assert payment["client_secret"]
    [payment_id] = update_payments(deps, sub)
    assert payment["payment_id"] == payment_id
    assert stored(deps, sub).subscription_id == sub.subscription_id  # the same subscription

    # The job's retry falls inside the card update's hold: it does not charge the old card.
    assert renew(deps, stored(deps, sub), at(clock, end + timedelta(minutes=14))) is None
    assert len(deps.payments.renewal_calls) == 1

    assert webhook(api, deps, payment_id) is True
    assert webhook(api, deps, payment_id) is False  # redelivered: changes nothing
    renewed = stored(deps, sub)
    assert (renewed.status, renewed.period, renewed.renewal_attempts) == ("active", 2, 0)
    assert renewed.current_period_end == end + timedelta(days=SUBSCRIPTION_DAYS)
    assert (renewed.customer_id, renewed.payment_method_id) == (sub.customer_id, "pm_card_visa")
    assert renewed.subscription_id == sub.subscription_id
    assert deps.payments.refund_calls == []
    # Next month's renewal charges the new card, once.
    assert renew(deps, renewed, at(clock, renewed.current_period_end - DAY)) == "charging"
    key, handle = deps.payments.renewal_calls[-1]
    assert (key, handle.payment_method_id) == (f"renew-{sub.subscription_id}-3-1", "pm_card_visa")
    assert len(deps.payments.renewal_calls) == 2


def test_a_new_card_confirmed_at_once_makes_the_subscription_active_in_the_answer(api, deps, clock, creator, new_user):
    fan = new_user("fan")
    sub = past_due(api, deps, clock, creator, fan)

    answer = api.post(f"/users/{creator}/subscription", fan, {"payment_method": "pm_card_instant"})

    assert answer.status_code == 201
    assert (answer.data["payment"]["status"], answer.data["subscription"]["status"]) == ("succeeded", "active")
    assert (stored(deps, sub).period, stored(deps, sub).payment_method_id) == (2, "pm_card_instant")


def test_a_declined_new_card_takes_no_money_and_leaves_the_retries_to_the_job(api, deps, clock, creator, new_user):
    fan = new_user("fan")
    sub = past_due(api, deps, clock, creator, fan)

    answer = api.post(f"/users/{creator}/subscription", fan, {"payment_method": "pm_card_chargeDeclined"})

    assert answer.status_code == 422 and answer.data["code"] == "payment_declined"
    assert stored(deps, sub).status == "past_due"
    assert renew(deps, stored(deps, sub), at(clock, sub.current_period_end)) == "past_due"  # not held back
    assert len(deps.payments.renewal_calls) == 2


def test_a_new_card_whose_payment_fails_later_gives_the_charge_back_to_the_job(api, deps, clock, creator, new_user):
    fan = new_user("fan")
    sub = past_due(api, deps, clock, creator, fan)
    payment_id = api.post(f"/users/{creator}/subscription", fan, {}).data["payment"]["payment_id"]

    assert webhook(api, deps, payment_id, "payment_failed") is True
    assert webhook(api, deps, payment_id, "payment_failed") is False
    after = stored(deps, sub)
    assert (after.status, after.renewal_attempts) == ("past_due", 1)  # not counted as a renewal decline
    # The job retries the saved card, voiding the card update's payment first (the app could
    # still confirm it with yet another card).
    assert renew(deps, after, at(clock, sub.current_period_end)) == "past_due"
    assert payment_id in deps.payments.canceled
    assert len(deps.payments.renewal_calls) == 2


def test_a_card_update_left_open_is_voided_before_the_job_charges_the_saved_card(api, deps, clock, creator, new_user):
    fan = new_user("fan")
    sub = past_due(api, deps, clock, creator, fan)
    deps.payments.decline_renewal_methods.clear()  # the bank now accepts the saved card
    payment_id = api.post(f"/users/{creator}/subscription", fan, {}).data["payment"]["payment_id"]

    assert renew(deps, stored(deps, sub), at(clock, sub.current_period_end)) == "charging"  # the hold ran out
    assert deps.payments.canceled == [payment_id]
    assert len(deps.payments.renewal_calls) == 2


def test_a_card_update_paid_after_its_hold_stops_the_job_from_charging_the_saved_card(
    api, deps, clock, creator, new_user
):
    fan = new_user("fan")
    sub = past_due(api, deps, clock, creator, fan)
    payment_id = api.post(f"/users/{creator}/subscription", fan, {}).data["payment"]["payment_id"]
    deps.payments.succeeded_remotely.add(payment_id)  # confirmed by the app; its webhook is late

    assert renew(deps, stored(deps, sub), at(clock, sub.current_period_end)) is None
    assert len(deps.payments.renewal_calls) == 1
    assert webhook(api, deps, payment_id) is True
    assert (stored(deps, sub).status, stored(deps, sub).period) == ("active", 2)


def test_a_second_payment_for_a_period_already_paid_is_refunded(api, deps, clock, creator, new_user):
    fan = new_user("fan")
    sub = past_due(api, deps, clock, creator, fan)
    first = api.post(f"/users/{creator}/subscription", fan, {}).data["payment"]["payment_id"]
    # The job voids it after the hold and the saved card pays; the app had confirmed it anyway.
    deps.payments.decline_renewal_methods.clear()
    deps.payments.renewals_succeed_at_once = True
    assert renew(deps, stored(deps, sub), at(clock, sub.current_period_end)) == "renewed"

    assert webhook(api, deps, first) is True
    assert webhook(api, deps, first) is True  # a redelivery asks again, with the same key
    assert {key for key, _ in deps.payments.refund_calls} == {f"refund-update-{sub.subscription_id}-2-1"}
    assert (stored(deps, sub).period, stored(deps, sub).payment_method_id) == (2, "pm_card_authenticationRequired")


def test_giving_another_card_replaces_the_card_update_not_yet_paid(api, deps, clock, creator, new_user):
    fan = new_user("fan")
    sub = past_due(api, deps, clock, creator, fan)
    first = api.post(f"/users/{creator}/subscription", fan, {}).data["payment"]["payment_id"]

    again = api.post(f"/users/{creator}/subscription", fan, {"payment_method": "pm_card_visa"})

    assert again.status_code == 201
    assert again.data["payment"]["payment_id"] != first
    assert deps.payments.canceled == [first]
    assert webhook(api, deps, again.data["payment"]["payment_id"]) is True
    assert (stored(deps, sub).period, stored(deps, sub).payment_method_id) == (2, "pm_card_visa")


def test_changing_tier_while_past_due_is_refused(api, deps, clock, creator, new_user):
    fan = new_user("fan")
    past_due(api, deps, clock, creator, fan)

    answer = api.post(f"/users/{creator}/subscription", fan, {"tier": "tier_3"})

    assert answer.status_code == 422 and answer.data["code"] == "tier_change_not_supported"
    assert deps.payments.create_calls[-1].startswith("sub-")  # no payment was made


def test_an_active_or_canceled_subscriber_still_cannot_subscribe_twice(api, deps, clock, creator, new_user):
    fan = new_user("fan")
    subscribe(api, deps, creator, fan)
    assert api.post(f"/users/{creator}/subscription", fan, {"tier": "tier_2"}).data["code"] == "already_subscribed"
    api.delete(f"/users/{creator}/subscription", fan)
    assert api.post(f"/users/{creator}/subscription", fan, {"tier": "tier_2"}).data["code"] == "already_subscribed"


def test_a_lapsed_subscriber_who_subscribes_again_starts_a_new_subscription(api, deps, clock, creator, new_user):
    fan = new_user("fan")
    sub = past_due(api, deps, clock, creator, fan)
    assert renew(deps, stored(deps, sub), at(clock, sub.current_period_end + RENEWAL_GRACE)) == "lapsed"

    answer = api.post(f"/users/{creator}/subscription", fan, {"tier": "tier_2"})

    assert answer.status_code == 201 and answer.data["subscription"]["status"] == "pending"
    assert stored(deps, sub).subscription_id != sub.subscription_id
    assert update_payments(deps, sub) == []


@pytest.fixture
def requests_per_thread(monkeypatch):
    """Chalice keeps the request being served on the app object (a Lambda serves one at a time);
    the test client calls the app in this process, so concurrent calls from threads need that
    attribute per thread. The test client also swaps `os.environ` for a copy during each call
    and puts back the one it found: interleaved calls can leave a copy in place, so the
    process's own is put back after the test."""
    import os

    from chalice.app import Chalice

    monkeypatch.setattr(os, "environ", os.environ)
    local = threading.local()
    monkeypatch.setattr(
        Chalice,
        "current_request",
        property(lambda self: getattr(local, "request", None), lambda self, value: setattr(local, "request", value)),
        raising=False,
    )


def test_concurrent_card_updates_with_one_idempotency_key_make_one_payment(
    api, deps, clock, creator, new_user, requests_per_thread
):
    fan = new_user("fan")
    sub = past_due(api, deps, clock, creator, fan)
    path, body, key = f"/users/{creator}/subscription", {"tier": "tier_2"}, {"Idempotency-Key": f"fix-{fan}"}

    answers = at_once(6, lambda i: api.post(path, fan, body, headers=key))

    assert {(a.status_code, (a.data or {}).get("code")) for a in answers} <= {(201, None), (409, "request_in_progress")}
    paid = {a.data["payment"]["payment_id"] for a in answers if a.status_code == 201}
    assert len(paid) == 1 and len(update_payments(deps, sub)) == 1
    assert len([k for k in deps.payments.create_calls if k.startswith("update-")]) == 1
    replay = api.post(path, fan, body, headers=key)  # the first answer, again
    assert (replay.status_code, replay.data["payment"]["payment_id"]) == (201, paid.pop())
    assert deps.payments.canceled == []


def test_concurrent_card_updates_without_a_key_make_one_payment(
    api, deps, clock, creator, new_user, requests_per_thread
):
    fan = new_user("fan")
    sub = past_due(api, deps, clock, creator, fan)

    answers = at_once(6, lambda i: api.post(f"/users/{creator}/subscription", fan, {}))

    # Without a key, a later POST is a new card replacing an unpaid one: it voids that one's
    # payment first. Whatever the interleaving, one payment at most can still be paid.
    assert {(a.status_code, (a.data or {}).get("code")) for a in answers} <= {(201, None), (409, "renewal_in_progress")}
    made = update_payments(deps, sub)
    answered = [a.data["payment"]["payment_id"] for a in answers if a.status_code == 201]
    assert sorted(answered) == sorted(made)
    payable = set(made) - set(deps.payments.canceled)
    assert len(payable) == 1 and stored(deps, sub).update_payment_id in payable
    assert stored(deps, sub).update_attempts == len(made)
