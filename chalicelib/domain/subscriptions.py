"""Subscriber-only Spaces and subscriptions (Super Follows): tiers, a subscription's states, its
monthly renewal, and whom it admits until when (docs/payments.md). Nothing here imports AWS."""
from __future__ import annotations

from datetime import datetime, timedelta

from msgspec import Struct

# Subscriptions (Super Follows): X's tiers, as data. The price is stored on each subscription.
SUBSCRIPTION_TIERS = {"tier_1": 299, "tier_2": 499, "tier_3": 999}
SUBSCRIPTION_CURRENCY = "USD"
SUBSCRIPTION_DAYS = 30
SUB_PENDING, SUB_ACTIVE, SUB_CANCELED = "pending", "active", "canceled"
SUB_PAST_DUE, SUB_LAPSED = "past_due", "lapsed"

# Monthly renewal (every arrow a conditional write on the subscription item):
#
#     pending --first payment--> active --renewal paid--> active (period + 1, end + 30 days)
#     active --renewal declined--> past_due --retry paid--> active
#     past_due --declined RENEWAL_ATTEMPTS times, or grace over--> lapsed
#     active / past_due --unsubscribe--> canceled        (never charged again)
#
# The first renewal is charged RENEWAL_WINDOW before the period ends; a declined one is tried
# again every RENEWAL_RETRY, and access continues until RENEWAL_GRACE after the period's end.
# A lapsed or canceled subscription admits until the end of the period it paid for.
RENEWAL_WINDOW = timedelta(hours=24)
RENEWAL_RETRY = timedelta(hours=24)
RENEWAL_ATTEMPTS = 4
RENEWAL_GRACE = timedelta(days=3)
# How long one job run owns a renewal it claimed; a run that died is retried after it.
RENEWAL_CLAIM = timedelta(minutes=10)
# A past-due subscriber who gives a new card (POST /subscription again) holds the overdue
# period's charge this long: the job does not charge the old card meanwhile. After it, the job
# voids the card update's payment (if still open) before its own charge.
CARD_UPDATE_HOLD = timedelta(minutes=15)
# Who holds a renewal's claim (`Subscription.claimed_by`).
CLAIMED_BY_JOB, CLAIMED_BY_UPDATE = "job", "update"
# Access until `current_period_end`; past_due until `current_period_end + RENEWAL_GRACE`.
PAID_THROUGH_PERIOD = (SUB_ACTIVE, SUB_CANCELED, SUB_LAPSED)
RENEWABLE = (SUB_ACTIVE, SUB_PAST_DUE)


class Subscription(Struct, frozen=True):
    """One subscriber's subscription to a creator, its period and its renewal."""

    creator_id: str
    subscriber_id: str
    tier: str
    price_cents: int
    currency: str
    status: str
    created_at: datetime
    current_period_end: datetime | None = None
    payment_id: str | None = None
    subscription_id: str = ""
    period: int = 1  # the paid period: 1 after the first payment, n + 1 after each renewal
    renewal_attempts: int = 0  # declined attempts to pay the next period
    renew_at: datetime | None = None  # when the job next charges; None: never (canceled, lapsed)
    claim_until: datetime | None = None  # a job run is charging until then
    customer_id: str | None = None  # the provider's customer holding the saved method
    payment_method_id: str | None = None  # saved for off-session renewals
    update_attempts: int = 0  # card updates started by the subscriber while past due (ever)
    update_payment_id: str | None = None  # the latest card update's payment, until a renewal
    claimed_by: str | None = None  # CLAIMED_BY_JOB or CLAIMED_BY_UPDATE while `claim_until` holds

    def grants_access(self, now: datetime) -> bool:
        if self.status not in PAID_THROUGH_PERIOD and self.status != SUB_PAST_DUE:
            return False
        end = access_until(self)
        return end is not None and end > now

    @property
    def can_renew(self) -> bool:
        return bool(self.customer_id and self.payment_method_id)

    @property
    def renews(self) -> bool:
        """Whether the renewal job will charge the next period."""
        return self.status in RENEWABLE and self.renew_at is not None

    @property
    def access_ends_at(self) -> datetime | None:
        """When access ends unless a renewal is paid (past due: the grace's end)."""
        return access_until(self)


# What the renewal job does with a subscription its index says is due (services/renewals.py).
RENEWAL_SKIP, RENEWAL_LAPSE, RENEWAL_CHARGE = "skip", "lapse", "charge"


def renewal_step(sub: Subscription | None, now: datetime) -> str:
    """RENEWAL_SKIP: not due (gone, canceled, renewed meanwhile), or the subscriber is paying
    with a new card right now. RENEWAL_LAPSE: no saved method (paid before renewal existed), or
    the provider stayed unavailable for the whole grace; access lasts as long as the period
    that was paid. RENEWAL_CHARGE: charge the next period."""
    if sub is None or sub.status not in RENEWABLE or sub.renew_at is None or sub.renew_at > now:
        return RENEWAL_SKIP
    if sub.claimed_by == CLAIMED_BY_UPDATE and sub.claim_until is not None and sub.claim_until > now:
        return RENEWAL_SKIP
    assert sub.current_period_end is not None  # an active subscription has a period
    if not sub.can_renew or now >= sub.current_period_end + RENEWAL_GRACE:
        return RENEWAL_LAPSE
    return RENEWAL_CHARGE


def access_until(sub: Subscription) -> datetime | None:
    """When the subscriber's access ends unless a renewal is paid."""
    if sub.current_period_end is None:
        return None
    if sub.status == SUB_PAST_DUE:
        return sub.current_period_end + RENEWAL_GRACE
    return sub.current_period_end
