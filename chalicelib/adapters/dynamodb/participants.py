"""A Space's participants on DynamoDB: joins, leaves, presence, blocks and removals.

One participant item per (Space, user). The rules two requests could race on are conditions on
it: a join is conditional on the item being as read (not removed, not blocked, not connected,
the same role), so a removed or blocked user never gets back in and a wrong guess costs a
retry, never a wrong answer; the ticket, subscription and block checks a join depends on are in
the same transaction. Counts are not written here: the count fold reads this table's stream
(services/counts.py, adapters/dynamodb/counts.py).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from msgspec import Struct
from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.adapters.dynamodb.errors import dependency_failure, error_code
from chalicelib.adapters.dynamodb.models import (
    BlockModel,
    CounterModel,
    ParticipantModel,
    SpaceModel,
    SpeakerRequestModel,
    SubscriptionModel,
    TicketModel,
)
from chalicelib.adapters.dynamodb.listener_pages import ListenerPages
from chalicelib.adapters.dynamodb.moderation import add_entry
from chalicelib.adapters.dynamodb.space_items import SpaceTables, participant_from_raw, to_participant
from chalicelib.adapters.dynamodb.transactions import ConditionsFailed, transaction
from chalicelib.domain.listener_list import listed_in
from chalicelib.domain.moderation import ModerationEntry
from chalicelib.domain.spaces import COHOST, LISTENER, SPEAKER, join_refusal, takes_playback
from chalicelib.domain.tickets import PAID
from chalicelib.ports import JoinOutcome, Participant, Refused


def _check_pass(tx: Any, kind: str, space_id: str, host_id: str, user_id: str, now: datetime) -> None:
    if kind == "ticket":
        tx.check("pass", TicketModel, space_id, range_key=user_id, condition=TicketModel.status == PAID)
    else:
        # Imported here, for subscriber-only Spaces only: a cold start need not load the
        # subscriptions adapter (and its domain) for the joins of every other Space.
        from chalicelib.adapters.dynamodb.subscriptions import subscription_grants_access

        tx.check(
            "pass",
            SubscriptionModel,
            host_id,
            range_key=user_id,
            condition=subscription_grants_access(now),
        )



class _Way(Struct, frozen=True):
    """How a join connects: by the overflow channel (`playback`), unlisted (`incognito`), and
    else under which listener index key (`listed_in`: the Space's, or its shard's)."""

    playback: bool
    incognito: bool
    listed_in: str

    @classmethod
    def of(cls, role: str, *, playback: bool, incognito: bool, listed_in: str) -> _Way:
        """What the caller asked, as the stored role allows: the overflow channel and incognito
        are for listeners only."""
        return cls(takes_playback(playback, role, invited=False), incognito and role == LISTENER, listed_in)


class DynamoParticipantRepository(ListenerPages, SpaceTables):
    def get_participant(self, space_id: str, user_id: str, *, consistent: bool = False) -> Participant | None:
        try:
            return to_participant(
                ParticipantModel.get(ParticipantModel.key_for(space_id, user_id), consistent_read=consistent)
            )
        except DoesNotExist:
            return None
        except Exception as exc:
            raise dependency_failure(exc) from exc


    def shard_for(self, user_id: str) -> int:
        return CounterModel.shard_of(user_id, self._shards)

    def fold_count_records(self, records: list[dict]) -> int:
        """Move the participant counters by what the participants stream shows (Lambda's record
        shape); exact under redelivery and reordering (adapters/dynamodb/counts.py). Imported
        here: only the count fold's Lambda folds, so the API's cold start never loads the fold."""
        from chalicelib.adapters.dynamodb.counts import ParticipantCounts, changes_from_records

        return ParticipantCounts(self._connection.client).fold(changes_from_records(records))

    def join(
        self,
        space_id: str,
        user_id: str,
        *,
        known: Participant | None,
        participant_id: str,
        now: datetime,
        host_id: str | None = None,
        check_block: bool = True,
        needs_pass: str | None = None,
        playback: bool = False,
        incognito: bool = False,
        listener_shards: int = 1,
    ) -> JoinOutcome:
        """Connect a user. Most joins are ONE single-item write of the participant item: a new
        listener's is a conditional PutItem. The counter is not written here: the count fold
        reads this item's stream (services/counts.py).

        `check_block`: the host may have blocked this user (the Space's blocked filter says
        "maybe"): a transaction adds a check that `host_id` has not blocked them. Blocks made
        while the Space is live mark the participant item (`blocked_at`), which every join's
        condition reads, so `check_block=False` is exact (docs/joins.md).

        `needs_pass` adds one more check to the transaction: "ticket" (the user's ticket for this
        Space is paid) or "subscription" (the user subscribes to `host_id` and the paid period
        has not ended). Refused("no_pass") when it fails.

        `playback`: the Space's overflow is on and the caller may take it. A listener who
        connects now is marked as played back from the overflow channel (`Participant.playback`);
        anyone else, and a user already connected, keeps what they had.

        `known` is the participant item as read (cold path), or None as a guess that the user is
        new (warm path, nothing read). A wrong guess costs one more round trip, never a wrong
        answer: the failed condition returns the stored item (ALL_OLD) and we retry on it.

        `incognito`: a listener joins unlisted (no `listed_in`), counted in the incognito count
        too; anyone on stage ignores it. Written in the same one write (docs/people.md).

        `listener_shards`: the Space's (fixed at creation): the listener index key this user's
        entry goes under, in that same write (domain/listener_list.py).
        """
        key = ParticipantModel.key_for(space_id, user_id)
        for _ in range(3):
            refusal = join_refusal(known.removed, known.blocked) if known is not None else None
            if refusal is not None:
                raise Refused(refusal)
            if known is not None and known.connected:
                return self._reconnect(space_id, user_id, known, participant_id, now)
            shard = self.shard_for(user_id)
            role = known.role if known is not None else LISTENER
            # The caller decided with what it read; the stored role (after a retry) decides too.
            way = _Way.of(
                role, playback=playback, incognito=incognito,
                listed_in=listed_in(space_id, user_id, listener_shards),
            )
            try:
                if (check_block and host_id is not None) or needs_pass:
                    self._join_checked(
                        space_id, user_id, key, known, participant_id, now, shard, way,
                        host_id=host_id, check_block=check_block, needs_pass=needs_pass,
                    )
                elif known is None:
                    self._join_new(space_id, user_id, key, participant_id, now, shard, way)
                else:
                    self._join_known(space_id, user_id, key, known, participant_id, now, shard, way)
            except ConditionsFailed as exc:
                if "block" in exc:
                    raise Refused("blocked") from exc
                if "pass" in exc:
                    raise Refused("no_pass") from exc
                # The stored item tells us what the user is: retry on that, not on the guess.
                known = exc.items.get("participant")
                if known is None:
                    known = self.get_participant(space_id, user_id, consistent=True)
                continue
            return JoinOutcome(
                Participant(
                    space_id, user_id, role, True, participant_id, playback=way.playback, incognito=way.incognito
                ),
                newly_connected=True,
            )
        raise dependency_failure(RuntimeError("join kept racing"))

    @staticmethod
    def _join_condition(known: Participant | None):
        if known is None:
            return ParticipantModel.key.does_not_exist()
        return (
            ParticipantModel.removed_at.does_not_exist()
            & ParticipantModel.blocked_at.does_not_exist()
            & (ParticipantModel.connected == False)  # noqa: E712 (PynamoDB condition)
            & (ParticipantModel.role == known.role)
        )

    def _join_actions(self, space_id, user_id, participant_id, now, shard, way: _Way) -> list:
        return [
            ParticipantModel.space_id.set(space_id),
            ParticipantModel.user_id.set(user_id),
            ParticipantModel.role.set(ParticipantModel.role | LISTENER),
            ParticipantModel.connected.set(True),
            ParticipantModel.participant_id.set(participant_id),
            ParticipantModel.count_shard.set(shard),
            ParticipantModel.joined_at.set(now),
            ParticipantModel.left_at.remove(),
            (ParticipantModel.media_kind.set("playback") if way.playback else ParticipantModel.media_kind.remove()),
            (ParticipantModel.incognito.set(True) if way.incognito else ParticipantModel.incognito.remove()),
            (ParticipantModel.listed_in.remove() if way.incognito else ParticipantModel.listed_in.set(way.listed_in)),
            *self._presence(space_id, shard, now),
        ]

    def _join_new(self, space_id, user_id, key, participant_id, now, shard, way: _Way) -> None:
        """A user never seen in this Space: one PutItem, on condition the item does not exist."""
        item = ParticipantModel(
            key,
            space_id=space_id,
            user_id=user_id,
            role=LISTENER,
            connected=True,
            participant_id=participant_id,
            count_shard=shard,
            joined_at=now,
            presence_shard=f"{space_id}#{shard}",
            last_seen=int(now.timestamp()),
            media_kind="playback" if way.playback else None,
            incognito=True if way.incognito else None,
            listed_in=None if way.incognito else way.listed_in,
        )
        try:
            self._connection.client.put_item(
                TableName=ParticipantModel.Meta.table_name,
                Item=item.serialize(),
                ConditionExpression="attribute_not_exists(#k)",
                ExpressionAttributeNames={"#k": "key"},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                stored = getattr(exc, "response", {}).get("Item")
                raise ConditionsFailed(["participant"], {"participant": participant_from_raw(stored)}) from exc
            raise dependency_failure(exc) from exc

    def _join_known(self, space_id, user_id, key, known, participant_id, now, shard, way: _Way) -> None:
        """A user back after leaving: one UpdateItem, on condition nothing changed since the read."""
        try:
            ParticipantModel(key).update(
                actions=self._join_actions(space_id, user_id, participant_id, now, shard, way),
                condition=self._join_condition(known),
            )
        except UpdateError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise ConditionsFailed(["participant"], {}) from exc
            raise dependency_failure(exc) from exc

    def _join_checked(
        self, space_id, user_id, key, known, participant_id, now, shard, way: _Way, *, host_id, check_block, needs_pass
    ) -> None:
        """The participant write and the checks it depends on (block, ticket or subscription), in
        one transaction."""
        try:
            with transaction(self._connection) as tx:
                tx.update(
                    "participant",
                    ParticipantModel(key),
                    actions=self._join_actions(space_id, user_id, participant_id, now, shard, way),
                    condition=self._join_condition(known),
                    return_values="ALL_OLD",
                )
                if check_block and host_id is not None:
                    tx.check(
                        "block",
                        BlockModel,
                        BlockModel.pair_for(host_id, user_id),
                        condition=BlockModel.pair.does_not_exist(),
                    )
                if needs_pass:
                    _check_pass(tx, needs_pass, space_id, host_id, user_id, now)
        except ConditionsFailed as exc:
            raise ConditionsFailed(
                exc.names, {**exc.items, "participant": participant_from_raw(exc.items.get("participant"))}
            ) from exc

    def _reconnect(self, space_id, user_id, known: Participant, participant_id, now) -> JoinOutcome:
        """Already connected (a heartbeat, an app restart): no count, and the participant id the
        user is connected with is kept, so a token refresh names the same IVS participant and a
        moderator's removal disconnects the connection that really exists."""
        participant_id = known.participant_id or participant_id
        try:
            ParticipantModel(ParticipantModel.key_for(space_id, user_id)).update(
                actions=[
                    ParticipantModel.participant_id.set(participant_id),
                    *self._presence(space_id, self.shard_for(user_id), now),
                ],
                condition=(
                    ParticipantModel.removed_at.does_not_exist()
                    & ParticipantModel.blocked_at.does_not_exist()
                    & (ParticipantModel.connected == True)  # noqa: E712
                    & (ParticipantModel.role == known.role)
                ),
            )
        except UpdateError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise Refused("changed") from exc
            raise dependency_failure(exc) from exc
        return JoinOutcome(
            Participant(
                space_id, user_id, known.role, True, participant_id, playback=known.playback, incognito=known.incognito
            ),
            newly_connected=False,
        )

    @staticmethod
    def _presence(space_id: str, shard: int, now: datetime) -> list:
        """A heartbeat: where the presence sweep will look for this participant, and when."""
        return [
            ParticipantModel.presence_shard.set(f"{space_id}#{shard}"),
            ParticipantModel.last_seen.set(int(now.timestamp())),
        ]

    def stale_participants(self, space_id: str, cutoff: datetime, limit: int = 500) -> list[tuple[str, int]]:
        """Connected participants not seen since `cutoff`: [(user_id, last_seen)]. One Query per
        shard of the presence index, never a Scan."""
        found = []
        try:
            for shard in range(self._shards):
                for item in ParticipantModel.presence.query(
                    f"{space_id}#{shard}",
                    ParticipantModel.last_seen < int(cutoff.timestamp()),
                    limit=limit,
                ):
                    found.append((item.key.split("#", 1)[1], int(item.last_seen)))
        except Exception as exc:
            raise dependency_failure(exc) from exc
        return found

    def leave(
        self, space_id: str, user_id: str, now: datetime, *, if_last_seen: int | None = None
    ) -> Participant | None:
        """Disconnect a user. A speaker who leaves steps off the stage; hosts keep their role.

        `if_last_seen`: only if the user has not been seen since (the presence sweep), so a
        heartbeat that lands meanwhile wins over the sweep.
        """
        current = self.get_participant(space_id, user_id)
        if current is None or not current.connected:
            return current
        key = ParticipantModel.key_for(space_id, user_id)
        new_role = LISTENER if current.role == SPEAKER else current.role
        try:
            with transaction(self._connection) as tx:
                tx.update(
                    "participant",
                    ParticipantModel(key),
                    actions=[
                        ParticipantModel.connected.set(False),
                        ParticipantModel.left_at.set(now),
                        ParticipantModel.role.set(new_role),
                        ParticipantModel.presence_shard.remove(),
                        ParticipantModel.listed_in.remove(),
                    ],
                    condition=(ParticipantModel.connected == True)  # noqa: E712
                    & (ParticipantModel.role == current.role)
                    & (
                        ParticipantModel.last_seen == if_last_seen
                        if if_last_seen is not None
                        else ParticipantModel.key.exists()
                    ),
                )
                if current.role == SPEAKER:
                    tx.update(
                        "space",
                        SpaceModel(space_id),
                        actions=[
                            SpaceModel.speakers[user_id].remove(),
                            SpaceModel.muted[user_id].remove(),
                            SpaceModel.on_stage.add(-1),
                            SpaceModel.updated_at.set(now),
                        ],
                        condition=SpaceModel.speakers[user_id].exists(),
                    )
                tx.delete("request", SpeakerRequestModel(space_id, user_id))
        except ConditionsFailed as exc:
            raise Refused("changed") from exc
        return current

    def mark_blocked(
        self, space_id: str, user_id: str, now: datetime, entry: ModerationEntry | None = None
    ) -> bool:
        """The host blocked `user_id` while this Space is live: mark their participant item
        (creating it if they never came), so no join of theirs succeeds from now on. True when
        the mark is new; False when they were marked already (a retried block), and then `entry`,
        which rides in the mark's own transaction, is not written either."""
        try:
            with transaction(self._connection) as tx:
                tx.update(
                    "participant",
                    ParticipantModel(ParticipantModel.key_for(space_id, user_id)),
                    actions=[
                        ParticipantModel.space_id.set(space_id),
                        ParticipantModel.user_id.set(user_id),
                        # What a join's condition compares, for a user who never came.
                        ParticipantModel.role.set(ParticipantModel.role | LISTENER),
                        ParticipantModel.connected.set(ParticipantModel.connected | False),
                        ParticipantModel.blocked_at.set(now),
                    ],
                    condition=ParticipantModel.blocked_at.does_not_exist(),
                )
                add_entry(tx, entry)
        except ConditionsFailed as exc:
            if "participant" in exc:
                return False
            raise Refused("changed") from exc
        return True

    def clear_blocked(self, space_id: str, user_id: str) -> None:
        """Unblocked while the Space is live: their joins are let through again (a removal the
        block caused stands)."""
        try:
            ParticipantModel(ParticipantModel.key_for(space_id, user_id)).update(
                actions=[ParticipantModel.blocked_at.remove()],
                condition=ParticipantModel.key.exists(),
            )
        except UpdateError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise dependency_failure(exc) from exc

    def remove_participant(
        self, space_id: str, user_id: str, by: str, current: Participant | None, now: datetime,
        entry: ModerationEntry | None = None,
    ) -> None:
        """Ban a user from this Space: off the stage, disconnected, and never let back in.
        `entry` goes into the moderation ledger in the same transaction."""
        key = ParticipantModel.key_for(space_id, user_id)
        try:
            with transaction(self._connection) as tx:
                if current is None:
                    tx.save(
                        "participant",
                        ParticipantModel(
                            key,
                            space_id=space_id,
                            user_id=user_id,
                            role=LISTENER,
                            connected=False,
                            removed_at=now,
                            removed_by=by,
                        ),
                        condition=ParticipantModel.key.does_not_exist(),
                    )
                else:
                    tx.update(
                        "participant",
                        ParticipantModel(key),
                        actions=[
                            ParticipantModel.removed_at.set(now),
                            ParticipantModel.removed_by.set(by),
                            ParticipantModel.connected.set(False),
                            ParticipantModel.role.set(LISTENER),
                            ParticipantModel.presence_shard.remove(),
                            ParticipantModel.listed_in.remove(),
                        ],
                        condition=ParticipantModel.removed_at.does_not_exist()
                        & (ParticipantModel.connected == current.connected)
                        & (ParticipantModel.role == current.role),
                    )
                space_actions = [
                    SpaceModel.invited[user_id].remove(),
                    SpaceModel.muted[user_id].remove(),
                    SpaceModel.updated_at.set(now),
                ]
                space_condition = SpaceModel.space_id.exists()
                if current is not None and current.role in (SPEAKER, COHOST):
                    collection = SpaceModel.speakers if current.role == SPEAKER else SpaceModel.cohosts
                    space_actions += [collection[user_id].remove(), SpaceModel.on_stage.add(-1)]
                    space_condition = collection[user_id].exists()
                tx.update("space", SpaceModel(space_id), actions=space_actions, condition=space_condition)
                tx.delete("request", SpeakerRequestModel(space_id, user_id))
                add_entry(tx, entry)
        except ConditionsFailed as exc:
            raise Refused("changed") from exc
