"""The Spaces tab's tables: discovery lists (one item per list and Space, a page is one Query)
and title search (one item per title word and Space). Both are written in the same transactions
as the Space's state changes (adapters/dynamodb/space_items.py); re-exported by models.py.
"""
from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, ListAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, LocalSecondaryIndex
from pynamodb.models import Model

from chalicelib.adapters.dynamodb.table_meta import TableMeta


class DiscoveryRankIndex(LocalSecondaryIndex):
    """One list, in rank order: the Query behind each page of GET /spaces."""

    class Meta:
        index_name = "by_rank"
        projection = AllProjection()

    list_key = UnicodeAttribute(hash_key=True)
    rank = NumberAttribute(range_key=True)


class DiscoveryModel(Model):
    """Discovery lists, one item per (list, Space), written in the same transaction as the
    Space's state change, so a Space leaves the live lists the moment it ends.

    Lists: "live", "scheduled", "<state>#topic#<topic>", "<state>#host#<user>". `rank` is the
    participant count (refreshed by a job) for live lists, the scheduled start (epoch seconds)
    for scheduled ones. Each item carries the summary a list shows, so a page is one Query.
    """

    Meta = TableMeta.build("discovery")

    list_key = UnicodeAttribute(hash_key=True)
    space_id = UnicodeAttribute(range_key=True)
    rank = NumberAttribute()
    title = UnicodeAttribute()
    creator_id = UnicodeAttribute()
    topics: ListAttribute[str] = ListAttribute(of=UnicodeAttribute, default=list)  # type: ignore[arg-type]
    state = UnicodeAttribute()
    scheduled_start = UTCDateTimeAttribute(null=True)
    started_at = UTCDateTimeAttribute(null=True)
    access = UnicodeAttribute(default="public")  # a list shows ticketed / subscriber Spaces locked
    # "live" list only: the Space's overflow audience is on, so the rank job (which Queries this
    # list every minute anyway) knows whose composition to keep alive without reading Spaces.
    overflow = BooleanAttribute(null=True)
    # The live Space's pinned post as a list shows it (set and removed with the pin itself).
    pinned_url = UnicodeAttribute(null=True)
    pinned_text = UnicodeAttribute(null=True)
    by_rank = DiscoveryRankIndex()


class TitleSearchModel(Model):
    """Title search: one item per (word of the title, Space), bucketed by state and the word's
    first two letters, sorted by `word#space_id`: a word-prefix search is one Query with
    begins_with. Written in the same transactions as the discovery lists."""

    Meta = TableMeta.build("title-search")

    bucket = UnicodeAttribute(hash_key=True)  # "<state>#<first two letters>"
    term = UnicodeAttribute(range_key=True)  # "<word>#<space_id>"
    space_id = UnicodeAttribute()
    title = UnicodeAttribute()
    creator_id = UnicodeAttribute()
    topics: ListAttribute[str] = ListAttribute(of=UnicodeAttribute, default=list)  # type: ignore[arg-type]
    state = UnicodeAttribute()
    scheduled_start = UTCDateTimeAttribute(null=True)
    started_at = UTCDateTimeAttribute(null=True)
    access = UnicodeAttribute(default="public")  # a list shows ticketed / subscriber Spaces locked
    pinned_url = UnicodeAttribute(null=True)  # as on DiscoveryModel
    pinned_text = UnicodeAttribute(null=True)
