"""The Space's lifecycle on DynamoDB: create, read, start, end, cancel, edit.

Every rule that two requests could race on is a condition in the write itself:
- state transitions are `state = :expected` conditions;
- one live Space per host is `attribute_not_exists(live_space_id)` on the host's user item;
- at most N scheduled Spaces is a conditional ADD on the host's `scheduled_count`;
- a Space's discovery listings move in the same transaction as its state (listings.py).

When a condition fails, the caller gets a `Refused` carrying which part failed, and the service
turns that into the precise domain error (re-reading only on that failure path).

The rest of the Space aggregate has a repository per consistency boundary: participants and
presence (participants.py), stage membership (stage_members.py), the overflow claim
(overflow_claims.py) and the lists of the Spaces tab (listings.py). `space_repositories` builds
the five on one connection.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from msgspec import Struct
from msgspec.structs import replace
from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.adapters.dynamodb.batch_reads import batch_get_items
from chalicelib.adapters.dynamodb.errors import dependency_failure
from chalicelib.adapters.dynamodb.listings import DynamoListingRepository, delete_listings, put_listings
from chalicelib.adapters.dynamodb.models import (
    BlockedFilterModel,
    CounterModel,
    ParticipantModel,
    SpaceModel,
    UserModel,
)
from chalicelib.adapters.dynamodb.moderation import add_entry
from chalicelib.adapters.dynamodb.overflow_claims import DynamoOverflowClaims
from chalicelib.adapters.dynamodb.participants import DynamoParticipantRepository
from chalicelib.adapters.dynamodb.recording_fields import (
    recording_end_actions,
    recording_item_fields,
    recording_start_actions,
)
from chalicelib.adapters.dynamodb.space_items import SpaceTables, to_participant, to_space
from chalicelib.adapters.dynamodb.stage_members import DynamoStageMembers
from chalicelib.adapters.dynamodb.transactions import ConditionsFailed, transaction
from chalicelib.domain.errors import NotFound
from chalicelib.domain.moderation import ModerationEntry
from chalicelib.domain.spaces import COHOST, HOST, LIVE, SCHEDULED, Space, StageInfo, iso
from chalicelib.ports import Participant, Refused

if TYPE_CHECKING:  # annotations only: the ports these adapters implement
    from chalicelib.port_protocols import (
        ListingRepository,
        OverflowClaimRepository,
        ParticipantRepository,
        SpaceRepository,
        StageMemberRepository,
    )


class SpaceRepositories(Struct, frozen=True):
    """The Space aggregate's repositories, typed with their ports so the type checker holds each
    adapter to its Protocol; `by_name()` gives them by their `Deps` names."""

    spaces: SpaceRepository
    participants: ParticipantRepository
    stage_members: StageMemberRepository
    overflow_claims: OverflowClaimRepository
    listings: ListingRepository

    def by_name(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__struct_fields__}


def space_repositories(connection: Any = None, *, count_shards: int = 10) -> dict[str, Any]:
    """The five repositories sharing one connection: `Deps(..., **space_repositories(count_shards=n))`."""
    if connection is None:
        connection = SpaceModel._get_connection().connection
    return SpaceRepositories(
        spaces=DynamoSpaceRepository(connection, count_shards=count_shards),
        participants=DynamoParticipantRepository(connection, count_shards=count_shards),
        stage_members=DynamoStageMembers(connection, count_shards=count_shards),
        overflow_claims=DynamoOverflowClaims(connection, count_shards=count_shards),
        listings=DynamoListingRepository(connection, count_shards=count_shards),
    ).by_name()


def _copy_blocked_filter(tx: Any, host_id: str, blocked_filter: tuple[bytes | None, int | None]) -> bytes | None:
    """Going live (a start, or a creation live): the Space carries the host's blocked filter as
    read, on condition the filter item is still that version (the "blocks" part), so every block
    made before the commit is in the copy or sees the Space live (docs/joins.md). Returns the
    bits to store (None: the host blocked nobody)."""
    bits, version = blocked_filter
    tx.check(
        "blocks",
        BlockedFilterModel,
        BlockedFilterModel.key_for_host(host_id),
        condition=(
            BlockedFilterModel.pair.does_not_exist() if version is None else BlockedFilterModel.version == version
        ),
    )
    return bits



# The sum of the participant counters' `incognito` field, next to the counters' own sums.
INCOGNITO = "incognito"


class DynamoSpaceRepository(SpaceTables):

    def get(self, space_id: str, *, with_count: bool = True) -> Space:
        """The Space; with its participant and subscriber counts, still in one round trip
        (one BatchGetItem of the Space item and the counter shards)."""
        if not with_count:
            try:
                return to_space(SpaceModel.get(space_id))
            except DoesNotExist as exc:
                raise NotFound(f"Space {space_id} does not exist", code="space_not_found") from exc
            except Exception as exc:
                raise dependency_failure(exc) from exc
        space_item, _, counts = self._batch_get(space_id, counters=("participants", "subscribers"))
        if space_item is None:
            raise NotFound(f"Space {space_id} does not exist", code="space_not_found")
        live = space_item.state == LIVE
        space = to_space(space_item, counts["participants"] if live else 0)
        return replace(
            space, subscriber_count=counts["subscribers"], incognito_count=counts[INCOGNITO] if live else 0
        )

    def get_with_participant(self, space_id: str, user_id: str) -> tuple[Space, Participant | None]:
        """The Space and one user's participant item in a single BatchGetItem round trip."""
        space_item, participant_item, _ = self._batch_get(
            space_id, participant_key=ParticipantModel.key_for(space_id, user_id)
        )
        if space_item is None:
            raise NotFound(f"Space {space_id} does not exist", code="space_not_found")
        return to_space(space_item), (to_participant(participant_item) if participant_item else None)

    def _batch_get(self, space_id: str, *, participant_key: str | None = None, counters: tuple = ()):
        """The Space item, the participant item at `participant_key` and the sum of each of
        `counters`' shards (never below 0), in one BatchGetItem (more only for unprocessed keys)."""
        request = {SpaceModel.Meta.table_name: {"Keys": [{"space_id": {"S": space_id}}]}}
        if participant_key:
            request[ParticipantModel.Meta.table_name] = {"Keys": [{"key": {"S": participant_key}}]}
        counter_keys = {
            CounterModel.key_for(name, space_id, shard): name
            for name in counters
            for shard in range(self._shards)
        }
        if counter_keys:
            request[CounterModel.Meta.table_name] = {"Keys": [{"key": {"S": k}} for k in counter_keys]}
        found = self._batch_get_items(request)
        space_item = participant_item = None
        for raw in found.get(SpaceModel.Meta.table_name, []):
            space_item = SpaceModel.from_raw_data(raw)
        for raw in found.get(ParticipantModel.Meta.table_name, []):
            participant_item = ParticipantModel.from_raw_data(raw)
        counts = dict.fromkeys((*counters, INCOGNITO), 0)
        for raw in found.get(CounterModel.Meta.table_name, []):
            counter = CounterModel.from_raw_data(raw)
            counts[counter_keys[counter.key]] += int(counter.n or 0)
            # The participant counters also hold how many of `n` listen incognito (the count fold).
            counts[INCOGNITO] += int(counter.incognito or 0)
        return space_item, participant_item, {name: max(n, 0) for name, n in counts.items()}

    def _batch_get_items(self, request: dict) -> dict[str, list[dict]]:
        return batch_get_items(self._connection.client, request)

    def landed(self, space: Space) -> bool | None:
        """After a write whose answer was lost: is the Space stored in the state (and on the
        stage) that write gave it? A strongly consistent read; None when even that fails."""
        try:
            item = SpaceModel.get(space.id, consistent_read=True)
        except DoesNotExist:
            return False
        except Exception:
            return None
        stage_arn = space.stage.arn if space.stage else None
        return item.state == space.state and item.stage_arn == stage_arn

    def release_pending(self, limit: int = 50) -> list[tuple[str, str]]:
        """Ended Spaces whose stage still needs deleting: (space_id, stage_arn)."""
        return [(space_id, stage) for space_id, stage, _ in self.release_pending_media(limit) if stage]

    def release_pending_media(self, limit: int = 50) -> list[tuple[str, str | None, str | None]]:
        """Ended Spaces whose stage or room still needs deleting: (space_id, stage_arn, room_arn)."""
        try:
            ids = [m.space_id for m in SpaceModel.media_release.query("1", limit=limit)]
            return [
                (m.space_id, m.stage_arn, m.room_arn)
                for m in SpaceModel.batch_get(ids)
                if m.stage_arn or m.room_arn
            ]
        except Exception as exc:
            raise dependency_failure(exc) from exc


    # ------------------------------------------------------------------ lifecycle

    def create(
        self,
        space: Space,
        *,
        max_scheduled: int,
        blocked_filter: tuple[bytes | None, int | None] = (None, None),
    ) -> None:
        """A new Space. Created live, it copies the host's blocked filter as `start` does."""
        item = SpaceModel(
            space.id,
            state=space.state,
            title=space.title,
            creator_id=space.creator_id,
            sort_time=iso(space.started_at or space.created_at),
            created_at=space.created_at,
            updated_at=space.updated_at,
            topics=list(space.topics),
            scheduled_start=space.scheduled_start,
            started_at=space.started_at,
            access=space.access,
            recording=space.recording,
            cohosts=dict(space.cohosts),
            speakers={},
            invited=dict(space.invited),
            muted={},
            on_stage=1 + len(space.cohosts),
            incognito_off=None if space.allow_incognito else True,
            listener_shards=space.listener_shards if space.listener_shards > 1 else None,
            **recording_item_fields(space),
        )
        if space.ticket:
            item.ticket_price_cents = space.ticket.price_cents
            item.ticket_currency = space.ticket.currency
            item.ticket_capacity = space.ticket.capacity
            item.tickets_taken = item.tickets_held = item.tickets_sold = 0
            item.tickets_refunded = item.tickets_gross_cents = 0
        if space.stage:
            item.stage_arn = space.stage.arn
            item.stage_events_url = space.stage.events_url
            item.stage_whip_url = space.stage.whip_url
        if space.room_arn:
            item.room_arn = space.room_arn
        try:
            with transaction(self._connection) as tx:
                if space.state == LIVE:
                    item.blocked_filter = _copy_blocked_filter(tx, space.creator_id, blocked_filter)
                tx.save("space", item, condition=SpaceModel.space_id.does_not_exist())
                if space.state == LIVE:
                    tx.update(
                        "host",
                        UserModel(space.creator_id),
                        actions=[UserModel.live_space_id.set(space.id)],
                        condition=UserModel.live_space_id.does_not_exist(),
                    )
                else:
                    tx.update(
                        "host",
                        UserModel(space.creator_id),
                        actions=[UserModel.scheduled_count.add(1)],
                        condition=(
                            UserModel.scheduled_count.does_not_exist()
                            | (UserModel.scheduled_count < max_scheduled)
                        ),
                    )
                put_listings(tx, space, space.state)
                for user_id, role in [(space.creator_id, HOST)] + [(u, COHOST) for u in space.cohosts]:
                    tx.save(
                        f"participant:{user_id}",
                        ParticipantModel(
                            ParticipantModel.key_for(space.id, user_id),
                            space_id=space.id,
                            user_id=user_id,
                            role=role,
                            connected=False,
                        )
                    )
        except ConditionsFailed as exc:
            if "host" in exc:
                raise Refused("host_busy" if space.state == LIVE else "too_many_scheduled") from exc
            raise Refused("blocks" if "blocks" in exc else "exists") from exc

    def start(
        self,
        space: Space,
        stage: StageInfo,
        now: datetime,
        *,
        room_arn: str | None = None,
        blocked_filter: tuple[bytes | None, int | None] = (None, None),
    ) -> None:
        """scheduled -> live. `blocked_filter`: the host's blocked-users filter and its version as
        read (users.host_blocks_filter); copied onto the Space, on condition it is still that
        version, so every block made before this commit is either in the copy or sees the Space
        live and marks its participant item (docs/joins.md). Refused("blocks") when it changed."""
        room = [SpaceModel.room_arn.set(room_arn)] if room_arn else []
        try:
            with transaction(self._connection) as tx:
                bits = _copy_blocked_filter(tx, space.creator_id, blocked_filter)
                tx.update(
                    "space",
                    SpaceModel(space.id),
                    actions=[
                        SpaceModel.state.set(LIVE),
                        SpaceModel.started_at.set(now),
                        SpaceModel.sort_time.set(iso(now)),
                        SpaceModel.updated_at.set(now),
                        SpaceModel.stage_arn.set(stage.arn),
                        SpaceModel.stage_events_url.set(stage.events_url),
                        SpaceModel.stage_whip_url.set(stage.whip_url),
                        *room,
                        *recording_start_actions(space),
                        SpaceModel.blocked_filter.set(bits) if bits else SpaceModel.blocked_filter.remove(),
                    ],
                    condition=(SpaceModel.state == SCHEDULED),
                )

                tx.update(
                    "host",
                    UserModel(space.creator_id),
                    actions=[
                        UserModel.live_space_id.set(space.id),
                        UserModel.scheduled_count.add(-1),
                    ],
                    condition=UserModel.live_space_id.does_not_exist(),
                )
                delete_listings(tx, space, SCHEDULED)
                put_listings(tx, replace(space, started_at=now, participant_count=0), LIVE)
        except ConditionsFailed as exc:
            if "space" in exc:
                raise Refused("state") from exc
            raise Refused("host_busy" if "host" in exc else "blocks") from exc

    def end(self, space: Space, now: datetime, entry: ModerationEntry | None = None) -> None:
        """live -> ended, and the host may go live again. The stage is released afterwards.
        `entry` (an operator's end) goes into the moderation ledger in the same transaction."""
        try:
            with transaction(self._connection) as tx:
                tx.update(
                    "space",
                    SpaceModel(space.id),
                    actions=[
                        SpaceModel.state.set("ended"),
                        SpaceModel.ended_at.set(now),
                        SpaceModel.updated_at.set(now),
                        SpaceModel.release_pending.set("1"),
                        *recording_end_actions(space, now),
                    ],
                    condition=(SpaceModel.state == LIVE),
                )
                tx.update(
                    "host",
                    UserModel(space.creator_id),
                    actions=[UserModel.live_space_id.remove()],
                    condition=(UserModel.live_space_id == space.id),
                )
                delete_listings(tx, space, LIVE)
                add_entry(tx, entry)
        except ConditionsFailed as exc:
            raise Refused("state") from exc

    def mark_media_released(self, space_id: str) -> None:
        try:
            SpaceModel(space_id).update(
                actions=[SpaceModel.release_pending.remove()],
                condition=SpaceModel.space_id.exists(),
            )
        except UpdateError as exc:
            raise dependency_failure(exc) from exc

    def cancel(self, space: Space, now: datetime) -> None:
        try:
            with transaction(self._connection) as tx:
                tx.update(
                    "space",
                    SpaceModel(space.id),
                    actions=[SpaceModel.state.set("canceled"), SpaceModel.updated_at.set(now)],
                    condition=(SpaceModel.state == SCHEDULED),
                )
                tx.update("host", UserModel(space.creator_id), actions=[UserModel.scheduled_count.add(-1)])
                delete_listings(tx, space, SCHEDULED)
        except ConditionsFailed as exc:
            raise Refused("state") from exc

    def update_details(self, before: Space, after: Space) -> None:
        """Title, topics, scheduled start; the Space's discovery listings move with them."""
        actions = [SpaceModel.updated_at.set(after.updated_at)]
        if after.title != before.title:
            actions.append(SpaceModel.title.set(after.title))
        if after.topics != before.topics:
            actions.append(SpaceModel.topics.set(list(after.topics)))
        if after.allow_incognito != before.allow_incognito:
            actions.append(
                SpaceModel.incognito_off.remove() if after.allow_incognito else SpaceModel.incognito_off.set(True)
            )
        # The list items carry the pinned post as `before` had it: a pin landing meanwhile would
        # be overwritten by these puts, so the pin must be as read (else Refused, try again).
        pinned_as_read = (
            SpaceModel.pinned_at.does_not_exist() if before.pinned is None
            else SpaceModel.pinned_at == before.pinned.pinned_at
        )
        condition = (SpaceModel.state == before.state) & pinned_as_read
        if after.scheduled_start != before.scheduled_start and after.scheduled_start is not None:
            actions.append(SpaceModel.scheduled_start.set(after.scheduled_start))
            condition = SpaceModel.state == SCHEDULED
        try:
            with transaction(self._connection) as tx:
                tx.update("space", SpaceModel(before.id), actions=actions, condition=condition)
                if before.state in (SCHEDULED, LIVE):
                    delete_listings(tx, before, before.state, keep=after)
                    put_listings(tx, after, before.state)
        except ConditionsFailed as exc:
            raise Refused("state") from exc

