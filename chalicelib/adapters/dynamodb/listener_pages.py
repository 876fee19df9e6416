"""The listener list's reads on DynamoDB (docs/people.md): the sparse `listeners` index of the
participants table, one Query per page for an ordinary Space, one per shard (in parallel) for a
famous host's Space whose list is spread over several keys. Part of the participant repository
(adapters/dynamodb/participants.py), which writes the index's key in the join's one write.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chalicelib.adapters.dynamodb.errors import dependency_failure
from chalicelib.adapters.dynamodb.models import ParticipantModel
from chalicelib.adapters.dynamodb.pages import last_values, start_key
from chalicelib.domain.listener_list import DONE, Position, ShardPage, Upto
from chalicelib.domain.spaces import LISTENER
from chalicelib.ports import Listener


class ListenerPages:
    def listeners_page(
        self, space_id: str, *, limit: int, after: dict | None = None
    ) -> tuple[list[Listener], dict | None]:
        """One page of the Space's listener list, most recent join first: ONE Query on the
        sparse `listeners` index (connected, not incognito), people on stage filtered out (a
        dozen at most, so a page is rarely short; it may be, and its cursor still goes on).
        Keys are plain: `{"key": ..., "joined_at": ...}`."""
        page = self._listeners_query(space_id, limit, start_key(after, listed_in=space_id))
        return _listeners_of(page), last_values(page.get("LastEvaluatedKey"), "listed_in")

    def listener_shard_pages(
        self, space_id: str, *, shards: int, limit: int, positions: list[Position]
    ) -> list[ShardPage]:
        """One Query per shard of a sharded listener list that is not read to its end, each from
        the shard's position, at most `limit` entries, all sent at once (threads: the client is
        thread-safe, and the page waits for the slowest Query, not for their sum)."""

        def read(shard: int) -> ShardPage:
            position = positions[shard]
            if position == DONE:
                return ShardPage([], None)
            key = f"{space_id}#{shard}"
            start, upto = None, None
            if isinstance(position, tuple):
                joined_at, user_id = position
                start = {
                    "listed_in": {"S": key},
                    "joined_at": {"S": ParticipantModel.joined_at.serialize(joined_at)},
                    "key": {"S": ParticipantModel.key_for(space_id, user_id)},
                }
            elif isinstance(position, Upto):
                upto = ParticipantModel.joined_at <= position.joined_at
            page = self._listeners_query(key, limit, start, upto)
            last = page.get("LastEvaluatedKey")
            return ShardPage(
                _listeners_of(page),
                None if not last else (
                    ParticipantModel.joined_at.deserialize(last["joined_at"]["S"]),
                    last["key"]["S"].split("#", 1)[1],
                ),
            )

        with ThreadPoolExecutor(max_workers=shards, thread_name_prefix="listener-shards") as pool:
            return list(pool.map(read, range(shards)))

    @staticmethod
    def _listeners_query(listed_in_key: str, limit: int, start: dict | None, upto: Any = None) -> dict:
        """One Query of the listeners index under one key, newest first, people on stage
        filtered out (a dozen at most, so a page is rarely short; it may be, and goes on).
        `upto`: a key condition on joined_at."""
        try:
            return ParticipantModel._get_connection().query(
                listed_in_key,
                range_key_condition=upto,
                index_name=ParticipantModel.listeners.Meta.index_name,
                filter_condition=ParticipantModel.role == LISTENER,
                limit=limit,
                scan_index_forward=False,
                exclusive_start_key=start,
            )
        except Exception as exc:
            raise dependency_failure(exc) from exc


def _listeners_of(page: dict) -> list[Listener]:
    return [
        Listener(raw["user_id"]["S"], ParticipantModel.joined_at.deserialize(raw["joined_at"]["S"]))
        for raw in page.get("Items", [])
    ]
