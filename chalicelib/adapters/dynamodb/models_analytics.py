"""Host analytics' table (docs/analytics.md): one partition per (Space, shard).

- `s#<user_id>#<start_ms>`: one listening session (from a join to its leave), written by the
  analytics fold from the participants stream with SETs of values the session determines, so a
  record folded twice writes the same thing;
- `c`: the shard's event totals (reactions, replay plays, replay listeners, clips,
  subscriptions), each moved in the transaction that puts the event's marker;
- markers (`e#<kinds>#<event_id>`; a user's id for unique replay listeners) live in the
  partition `<space>#<shard>#m`, so reading the analytics never reads them.

Everything expires by TTL with the Space's replay (domain/analytics.py `expires_at`).
"""
from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.adapters.dynamodb.table_meta import TableMeta


class AnalyticsModel(Model):
    Meta = TableMeta.build("analytics")

    key = UnicodeAttribute(hash_key=True)  # "<space_id>#<shard>" (sessions, totals) or "...#m" (markers)
    item = UnicodeAttribute(range_key=True)
    user_id = UnicodeAttribute(null=True)
    start = NumberAttribute(null=True)  # epoch ms
    end = NumberAttribute(null=True)  # epoch ms; absent while the session is open
    spoke = BooleanAttribute(null=True)
    expires = TTLAttribute(null=True)

    @staticmethod
    def key_for(space_id: str, shard: int) -> str:
        return f"{space_id}#{shard}"
