"""The moderation ledger's table (docs/moderation.md), append-only, and removed users' appeals.

Entries are only ever put, each in the transaction of the act it records, on condition the key is
new; the API's role may PutItem and Query it and nothing else (infra/permissions.py).
"""
from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.adapters.dynamodb.table_meta import TableMeta


class ByTargetIndex(GlobalSecondaryIndex):
    """`GET /me/moderation`: every act done to one user, in time order."""

    class Meta:
        index_name = "by_target"
        projection = AllProjection()

    target_id = UnicodeAttribute(hash_key=True)
    entry_id = UnicodeAttribute(range_key=True)


class ModerationEntryModel(Model):
    Meta = TableMeta.build("moderation-log")

    space_id = UnicodeAttribute(hash_key=True)
    entry_id = UnicodeAttribute(range_key=True)  # ULID of the act's time: a Space's log in time order
    act = UnicodeAttribute()
    actor_id = UnicodeAttribute()
    target_id = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    reason = UnicodeAttribute(null=True)

    by_target = ByTargetIndex()


class AppealModel(Model):
    """One appeal per removed user and Space: put on condition the key is new."""

    Meta = TableMeta.build("appeals")

    space_id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute(range_key=True)
    text = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class OpenReportsIndex(GlobalSecondaryIndex):
    """Sparse: only open reports carry `open_queue`, so the operators' CLI Queries what is left to
    do, oldest first, and a resolved report leaves the index."""

    class Meta:
        index_name = "open_reports"
        projection = AllProjection()

    open_queue = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class ReportModel(Model):
    """One report per (Space, target, reporter): put on condition the key is new."""

    Meta = TableMeta.build("reports")

    space_id = UnicodeAttribute(hash_key=True)
    target_reporter = UnicodeAttribute(range_key=True)  # "<target>#<reporter_id>"
    reporter_id = UnicodeAttribute()
    target = UnicodeAttribute()  # "space" or a user id
    reason = UnicodeAttribute()
    text = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    created_key = UnicodeAttribute()  # "<created_at iso>#<space_id>#<target_reporter>"
    status = UnicodeAttribute(default="open")
    open_queue = UnicodeAttribute(null=True)  # "open" while open (the sparse index's key)
    resolution = UnicodeAttribute(null=True)
    resolved_at = UTCDateTimeAttribute(null=True)

    open_reports = OpenReportsIndex()
