"""The tables of ticket sales and subscriptions (adapters/dynamodb/tickets.py, subscriptions.py)."""
from __future__ import annotations

from pynamodb.attributes import (
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import (
    AllProjection,
    GlobalSecondaryIndex,
    KeysOnlyProjection,
)
from pynamodb.models import Model

from chalicelib.adapters.dynamodb.table_meta import TableMeta


class TicketsByBuyerIndex(GlobalSecondaryIndex):
    """A buyer's tickets, newest first: GET /me/tickets."""

    class Meta:
        index_name = "by_buyer"
        projection = AllProjection()

    buyer_id = UnicodeAttribute(hash_key=True)
    bought_key = UnicodeAttribute(range_key=True)  # "<created_at ISO>#<space_id>"


class OpenHoldsIndex(GlobalSecondaryIndex):
    """Sparse: only held tickets carry `hold_shard`; the expiry job Queries each shard for holds
    past their time. Sharded so a sale's burst of holds spreads over several index keys."""

    class Meta:
        index_name = "open_holds"
        projection = KeysOnlyProjection()

    hold_shard = UnicodeAttribute(hash_key=True)  # "holds#<shard>"
    hold_expires = NumberAttribute(range_key=True)  # epoch seconds


class TicketModel(Model):
    """One buyer's ticket for one Space (one per buyer: the key is the pair). Queried by Space
    for the host's sales and for refunds."""

    Meta = TableMeta.build("tickets")

    space_id = UnicodeAttribute(hash_key=True)
    buyer_id = UnicodeAttribute(range_key=True)
    ticket_id = UnicodeAttribute()
    status = UnicodeAttribute()
    price_cents = NumberAttribute()
    currency = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    bought_key = UnicodeAttribute()
    provider = UnicodeAttribute(null=True)
    payment_id = UnicodeAttribute(null=True)
    paid_at = UTCDateTimeAttribute(null=True)
    refunded_at = UTCDateTimeAttribute(null=True)
    refund_id = UnicodeAttribute(null=True)
    hold_shard = UnicodeAttribute(null=True)
    hold_expires = NumberAttribute(null=True)
    by_buyer = TicketsByBuyerIndex()
    open_holds = OpenHoldsIndex()


class RenewalsDueIndex(GlobalSecondaryIndex):
    """Sparse: only subscriptions the renewal job will charge (active or past due) carry
    `renew_shard`; the job Queries each shard for those whose `renew_at` has come. Canceling or
    lapsing removes the attribute, so those never show up again. Sharded so renewals of one
    busy day spread over several index keys."""

    class Meta:
        index_name = "renewals_due"
        projection = KeysOnlyProjection()

    renew_shard = UnicodeAttribute(hash_key=True)  # "renew#<shard>"
    renew_at = NumberAttribute(range_key=True)  # epoch seconds


class SubscriptionModel(Model):
    """`subscriber_id` subscribes to `creator_id` (Super Follows). The join of a subscriber-only
    Space checks this item in its transaction."""

    Meta = TableMeta.build("subscriptions")

    creator_id = UnicodeAttribute(hash_key=True)
    subscriber_id = UnicodeAttribute(range_key=True)
    subscription_id = UnicodeAttribute()
    tier = UnicodeAttribute()
    price_cents = NumberAttribute()
    currency = UnicodeAttribute()
    status = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    period_end = NumberAttribute(null=True)  # epoch seconds; access lasts until then
    provider = UnicodeAttribute(null=True)
    payment_id = UnicodeAttribute(null=True)
    # Renewal (chalicelib/domain/subscriptions.py): the paid period's number, declined attempts to pay
    # the next one, when the job next charges, and a job run's claim on the charge.
    period = NumberAttribute(null=True)
    renewal_attempts = NumberAttribute(null=True)
    renew_shard = UnicodeAttribute(null=True)
    renew_at = NumberAttribute(null=True)
    claim_until = NumberAttribute(null=True)
    customer_id = UnicodeAttribute(null=True)
    payment_method_id = UnicodeAttribute(null=True)
    # A past-due subscriber's card updates (services/renewals.py update_card): how many were
    # started, the latest one's payment (voided by the job before it charges the saved card),
    # and who holds `claim_until`: "job" or "update".
    update_attempts = NumberAttribute(null=True)
    update_payment_id = UnicodeAttribute(null=True)
    claimed_by = UnicodeAttribute(null=True)
    renewals_due = RenewalsDueIndex()
