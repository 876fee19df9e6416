"""Spaces, participants and the stage on DynamoDB.

Every rule that two requests could race on is a condition in the write itself:
- state transitions are `state = :expected` conditions;
- one live Space per host is `attribute_not_exists(live_space_id)` on the host's user item;
- at most N scheduled Spaces is a conditional ADD on the host's `scheduled_count`;
- the stage cap is `on_stage < :max`, the co-host cap `size(cohosts) < :max`;
- approving a raised hand deletes the request item on condition it exists, so of two moderators
  answering at once exactly one wins;
- a removed user's participant item keeps `removed_at`, and joins are conditional on its absence.

When a condition fails, the caller gets a `Refused` carrying which part failed, and the service
turns that into the precise domain error (re-reading only on that failure path).
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.expressions.condition import size

from chalicelib.adapters.dynamodb.counts import ParticipantCounts, changes_from_records
from chalicelib.adapters.dynamodb.errors import dependency_failure, error_code
from chalicelib.adapters.dynamodb.pages import last_values, start_key
from chalicelib.adapters.dynamodb.recording import (
    recording_end_actions,
    recording_info_of,
    recording_item_fields,
    recording_start_actions,
)
from chalicelib.adapters.dynamodb.transactions import ConditionsFailed, transaction
from chalicelib.adapters.dynamodb.tickets import subscription_grants_access
from chalicelib.adapters.dynamodb.models import (
    BlockedFilterModel,
    BlockModel,
    CounterModel,
    DiscoveryModel,
    TitleSearchModel,
    ParticipantModel,
    SpaceModel,
    SpeakerRequestModel,
    SubscriptionModel,
    TicketModel,
    UserModel,
)
from chalicelib.domain.errors import NotFound
from chalicelib.domain.spaces import (
    COHOST,
    HOST,
    LIVE,
    LISTENER,
    SCHEDULED,
    SPEAKER,
    OverflowInfo,
    Space,
    StageInfo,
    iso,
    search_words,
)
from chalicelib.domain.tickets import PAID, Sales, TicketOffer
from chalicelib.ports import JoinOutcome, Participant, Refused

def _stamp(now: datetime, tiebreak: str = "") -> str:
    return f"{now.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}{tiebreak}"


def _to_space(m: SpaceModel, participant_count: int = 0) -> Space:
    stage = None
    if m.stage_arn:
        stage = StageInfo(arn=m.stage_arn, events_url=m.stage_events_url or "", whip_url=m.stage_whip_url or "")
    return Space(
        id=m.space_id,
        state=m.state,
        title=m.title,
        creator_id=m.creator_id,
        created_at=m.created_at,
        updated_at=m.updated_at,
        topics=tuple(m.topics or ()),
        scheduled_start=m.scheduled_start,
        started_at=m.started_at,
        ended_at=m.ended_at,
        access=m.access,
        recording=bool(m.recording),
        cohosts=dict(m.cohosts.as_dict() if m.cohosts else {}),
        speakers=dict(m.speakers.as_dict() if m.speakers else {}),
        invited=dict(m.invited.as_dict() if m.invited else {}),
        muted=dict(m.muted.as_dict() if m.muted else {}),
        stage=stage,
        room_arn=m.room_arn,
        overflow=_overflow(m),
        participant_count=participant_count,
        ticket=_ticket_offer(m),
        sales=_sales(m),
        consents=dict(m.consents.as_dict() if m.consents else {}),
        recording_info=recording_info_of(m),
        blocked_filter=bytes(m.blocked_filter) if m.blocked_filter else None,
    )


def _overflow(m: SpaceModel) -> OverflowInfo | None:
    if m.overflow_state != "on" or not m.overflow_playback_url:
        return None
    return OverflowInfo(
        m.overflow_channel_arn or "",
        m.overflow_playback_url,
        m.overflow_composition_arn or "",
        int(m.overflow_restarts or 0),
    )


def _ticket_offer(m: SpaceModel) -> TicketOffer | None:
    if m.ticket_capacity is None:
        return None
    return TicketOffer(int(m.ticket_price_cents), m.ticket_currency, int(m.ticket_capacity))


def _sales(m: SpaceModel) -> Sales | None:
    if m.ticket_capacity is None:
        return None
    return Sales(
        capacity=int(m.ticket_capacity),
        held=int(m.tickets_held or 0),
        sold=int(m.tickets_sold or 0),
        refunded=int(m.tickets_refunded or 0),
        gross_cents=int(m.tickets_gross_cents or 0),
    )


def _to_participant(m: ParticipantModel) -> Participant:
    return Participant(
        space_id=m.space_id,
        user_id=m.user_id,
        role=m.role or LISTENER,
        connected=bool(m.connected),
        participant_id=m.participant_id,
        removed=m.removed_at is not None,
        playback=m.media_kind == "playback",
        blocked=m.blocked_at is not None,
    )


def _participant_from_raw(raw: dict | None) -> Participant | None:
    if not raw:
        return None
    return _to_participant(ParticipantModel.from_raw_data(raw))


def discovery_lists(space: Space, state: str) -> list[str]:
    """The discovery lists a Space in `state` appears in."""
    return [state] + [f"{state}#topic#{t}" for t in space.topics] + [f"{state}#host#{space.creator_id}"]


def _rank(space: Space, state: str) -> int:
    if state == SCHEDULED:
        return int(space.scheduled_start.timestamp()) if space.scheduled_start else 0
    return int(space.participant_count)


def _discovery_items(space: Space, state: str) -> list[DiscoveryModel]:
    return [
        DiscoveryModel(
            list_key,
            space.id,
            rank=_rank(space, state),
            title=space.title,
            creator_id=space.creator_id,
            topics=list(space.topics),
            state=state,
            scheduled_start=space.scheduled_start,
            started_at=space.started_at,
            access=space.access,
            # Re-put listings (a live PATCH) keep the overflow flag the rank job reads.
            overflow=True if list_key == LIVE and space.overflow is not None else None,
        )
        for list_key in discovery_lists(space, state)
    ]


def _search_keys(space: Space, state: str) -> list[tuple[str, str]]:
    return [(f"{state}#{word[:2]}", f"{word}#{space.id}") for word in search_words(space.title)]


def _put_listings(tx, space: Space, state: str) -> None:
    """The Space's discovery list items and title-search items, for `state`."""
    for item in _discovery_items(space, state):
        tx.save(f"list:{item.list_key}", item)
    for bucket, term in _search_keys(space, state):
        tx.save(
            f"search:{bucket}:{term}",
            TitleSearchModel(
                bucket,
                term,
                space_id=space.id,
                title=space.title,
                creator_id=space.creator_id,
                topics=list(space.topics),
                state=state,
                scheduled_start=space.scheduled_start,
                started_at=space.started_at,
                access=space.access,
            ),
        )


def _delete_listings(tx, space: Space, state: str, keep: "Space | None" = None) -> None:
    """Delete the Space's items for `state`, except those `keep` (its new version) re-puts."""
    kept_lists = set(discovery_lists(keep, state)) if keep else set()
    kept_search = set(_search_keys(keep, state)) if keep else set()
    for list_key in discovery_lists(space, state):
        if list_key not in kept_lists:
            tx.delete(f"unlist:{list_key}", DiscoveryModel(list_key, space.id))
    for bucket, term in _search_keys(space, state):
        if (bucket, term) not in kept_search:
            tx.delete(f"unsearch:{bucket}:{term}", TitleSearchModel(bucket, term))


def _copy_blocked_filter(tx, host_id: str, blocked_filter: tuple[bytes | None, int | None]) -> bytes | None:
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


def _check_pass(tx, kind: str, space_id: str, host_id: str, user_id: str, now: datetime) -> None:
    if kind == "ticket":
        tx.check("pass", TicketModel, space_id, range_key=user_id, condition=TicketModel.status == PAID)
    else:
        tx.check(
            "pass",
            SubscriptionModel,
            host_id,
            range_key=user_id,
            condition=subscription_grants_access(now),
        )


class DynamoSpaceRepository:
    def __init__(self, connection=None, *, count_shards: int = 10):
        self._connection = connection or SpaceModel._get_connection().connection
        self._shards = count_shards

    # ------------------------------------------------------------------ reading

    def get(self, space_id: str, *, with_count: bool = True) -> Space:
        """The Space; with its participant and subscriber counts, still in one round trip
        (one BatchGetItem of the Space item and the counter shards)."""
        if not with_count:
            try:
                return _to_space(SpaceModel.get(space_id))
            except DoesNotExist as exc:
                raise NotFound(f"Space {space_id} does not exist", code="space_not_found") from exc
            except Exception as exc:
                raise dependency_failure(exc) from exc
        space_item, _, counts = self._batch_get(space_id, counters=("participants", "subscribers"))
        if space_item is None:
            raise NotFound(f"Space {space_id} does not exist", code="space_not_found")
        space = _to_space(space_item, counts["participants"] if space_item.state == LIVE else 0)
        return replace(space, subscriber_count=counts["subscribers"])

    def get_with_participant(self, space_id: str, user_id: str) -> tuple[Space, Participant | None]:
        """The Space and one user's participant item in a single BatchGetItem round trip."""
        space_item, participant_item, _ = self._batch_get(
            space_id, participant_key=ParticipantModel.key_for(space_id, user_id)
        )
        if space_item is None:
            raise NotFound(f"Space {space_id} does not exist", code="space_not_found")
        return _to_space(space_item), (_to_participant(participant_item) if participant_item else None)

    def _batch_get(self, space_id: str, *, participant_key: str | None = None, counters: tuple = ()):
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
        space_item = participant_item = None
        counts = dict.fromkeys(counters, 0)
        try:
            for _ in range(5):
                response = self._connection.client.batch_get_item(RequestItems=request)
                responses = response.get("Responses", {})
                for raw in responses.get(SpaceModel.Meta.table_name, []):
                    space_item = SpaceModel.from_raw_data(raw)
                for raw in responses.get(ParticipantModel.Meta.table_name, []):
                    participant_item = ParticipantModel.from_raw_data(raw)
                for raw in responses.get(CounterModel.Meta.table_name, []):
                    counter = CounterModel.from_raw_data(raw)
                    counts[counter_keys[counter.key]] += int(counter.n or 0)
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
        except Exception as exc:
            raise dependency_failure(exc) from exc
        if request:
            raise dependency_failure(RuntimeError("BatchGetItem left keys unprocessed"))
        return space_item, participant_item, {name: max(n, 0) for name, n in counts.items()}

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

    def get_participant(self, space_id: str, user_id: str, *, consistent: bool = False) -> Participant | None:
        try:
            return _to_participant(
                ParticipantModel.get(ParticipantModel.key_for(space_id, user_id), consistent_read=consistent)
            )
        except DoesNotExist:
            return None
        except Exception as exc:
            raise dependency_failure(exc) from exc

    def pending_requests(self, space_id: str, limit: int = 100) -> list[tuple[str, datetime]]:
        try:
            return [
                (r.user_id, r.raised_at)
                for r in SpeakerRequestModel.query(space_id, limit=limit)
            ]
        except Exception as exc:
            raise dependency_failure(exc) from exc

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

    def release_pending_overflows(self, limit: int = 50) -> dict[str, OverflowInfo]:
        """Ended Spaces still flagged release_pending whose overflow channel may still exist."""
        try:
            ids = [m.space_id for m in SpaceModel.media_release.query("1", limit=limit)]
            return {m.space_id: o for m in SpaceModel.batch_get(ids) if (o := _overflow(m)) is not None}
        except Exception as exc:
            raise dependency_failure(exc) from exc

    # ------------------------------------------------------------------ overflow audience

    def claim_overflow(self, space_id: str, now: datetime, *, lease_seconds: int) -> bool:
        """Take the right to start a live Space's overflow: a conditional write, so of any
        number of job runs exactly one wins. A claim older than `lease_seconds` (its run died
        half-way) may be taken again. False when the Space is not live or already claimed."""
        stamp = int(now.timestamp())
        try:
            SpaceModel(space_id).update(
                actions=[SpaceModel.overflow_state.set("starting"), SpaceModel.overflow_claimed_at.set(stamp)],
                condition=(SpaceModel.state == LIVE)
                & (
                    SpaceModel.overflow_state.does_not_exist()
                    | (
                        (SpaceModel.overflow_state == "starting")
                        & (SpaceModel.overflow_claimed_at < stamp - lease_seconds)
                    )
                ),
            )
            return True
        except UpdateError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise dependency_failure(exc) from exc

    def set_overflow(self, space_id: str, info: OverflowInfo) -> None:
        """Record the started overflow, and flag the Space's "live" list entry for the rank job,
        in one transaction. Refused("state") when the Space ended meanwhile."""
        try:
            with transaction(self._connection) as tx:
                tx.update(
                    "space",
                    SpaceModel(space_id),
                    actions=[
                        SpaceModel.overflow_state.set("on"),
                        SpaceModel.overflow_channel_arn.set(info.channel_arn),
                        SpaceModel.overflow_playback_url.set(info.playback_url),
                        SpaceModel.overflow_composition_arn.set(info.composition_arn),
                    ],
                    condition=(SpaceModel.state == LIVE) & (SpaceModel.overflow_state == "starting"),
                )
                tx.update(
                    "listing",
                    DiscoveryModel("live", space_id),
                    actions=[DiscoveryModel.overflow.set(True)],
                    condition=DiscoveryModel.space_id.exists(),
                )
        except ConditionsFailed as exc:
            raise Refused("state") from exc

    def replace_overflow_composition(self, space_id: str, old_arn: str, new_arn: str, restarts: int) -> None:
        """Record a composition started again into the same channel. Refused("state") when the
        Space ended, or another run replaced `old_arn` first."""
        try:
            SpaceModel(space_id).update(
                actions=[
                    SpaceModel.overflow_composition_arn.set(new_arn),
                    SpaceModel.overflow_restarts.set(restarts),
                ],
                condition=(SpaceModel.state == LIVE)
                & (SpaceModel.overflow_state == "on")
                & (SpaceModel.overflow_composition_arn == old_arn),
            )
        except UpdateError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise Refused("state") from exc
            raise dependency_failure(exc) from exc

    def release_overflow_claim(self, space_id: str) -> None:
        """Give a failed start back, so the next job run retries it."""
        try:
            SpaceModel(space_id).update(
                actions=[SpaceModel.overflow_state.remove(), SpaceModel.overflow_claimed_at.remove()],
                condition=(SpaceModel.overflow_state == "starting"),
            )
        except UpdateError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
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
                _put_listings(tx, space, space.state)
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
                _delete_listings(tx, space, SCHEDULED)
                _put_listings(tx, replace(space, started_at=now, participant_count=0), LIVE)
        except ConditionsFailed as exc:
            if "space" in exc:
                raise Refused("state") from exc
            raise Refused("host_busy" if "host" in exc else "blocks") from exc

    def end(self, space: Space, now: datetime) -> None:
        """live -> ended, and the host may go live again. The stage is released afterwards."""
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
                _delete_listings(tx, space, LIVE)
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
                _delete_listings(tx, space, SCHEDULED)
        except ConditionsFailed as exc:
            raise Refused("state") from exc

    def update_details(self, before: Space, after: Space) -> None:
        """Title, topics, scheduled start; the Space's discovery listings move with them."""
        actions = [SpaceModel.updated_at.set(after.updated_at)]
        if after.title != before.title:
            actions.append(SpaceModel.title.set(after.title))
        if after.topics != before.topics:
            actions.append(SpaceModel.topics.set(list(after.topics)))
        condition = SpaceModel.state == before.state
        if after.scheduled_start != before.scheduled_start and after.scheduled_start is not None:
            actions.append(SpaceModel.scheduled_start.set(after.scheduled_start))
            condition = SpaceModel.state == SCHEDULED
        try:
            with transaction(self._connection) as tx:
                tx.update("space", SpaceModel(before.id), actions=actions, condition=condition)
                if before.state in (SCHEDULED, LIVE):
                    _delete_listings(tx, before, before.state, keep=after)
                    _put_listings(tx, after, before.state)
        except ConditionsFailed as exc:
            raise Refused("state") from exc

    # ------------------------------------------------------------------ discovery

    def discovery_page(self, list_key: str, *, ascending: bool, limit: int, after: dict | None):
        """One page of a discovery list in rank order: (items, last key or None). One Query.
        Keys are plain: `{"space_id": ..., "rank": n}` (the list is the request's)."""
        try:
            result = DiscoveryModel.by_rank.query(
                list_key, scan_index_forward=ascending, limit=limit, page_size=limit,
                last_evaluated_key=start_key(after, list_key=list_key),
            )
            items = list(result)
        except Exception as exc:
            raise dependency_failure(exc) from exc
        return items, last_values(result.last_evaluated_key, "list_key")

    def discovery_window(self, list_key: str, *, max_items: int, rank_below: int | None = None) -> list:
        """A whole discovery list (or its part with rank < `rank_below`), in rank order, up to
        `max_items`: what "hosts I follow" intersects with. Query pages of the rank index."""
        try:
            condition = DiscoveryModel.rank < rank_below if rank_below is not None else None
            return list(DiscoveryModel.by_rank.query(list_key, condition, limit=max_items, page_size=1000))
        except Exception as exc:
            raise dependency_failure(exc) from exc

    def search_page(self, state: str, word: str, *, limit: int, after: dict | None):
        """Spaces of `state` with a title word starting with `word` (2+ folded characters):
        (items, last key or None). One Query. Keys are plain: `{"term": ...}`."""
        bucket = f"{state}#{word[:2]}"
        try:
            result = TitleSearchModel.query(
                bucket,
                TitleSearchModel.term.startswith(word),
                limit=limit,
                page_size=limit,
                last_evaluated_key=start_key(after, bucket=bucket),
            )
            items = list(result)
        except Exception as exc:
            raise dependency_failure(exc) from exc
        return items, last_values(result.last_evaluated_key, "bucket")

    def live_space_ids(self) -> list[str]:
        """Every live Space, from the "live" discovery list (a Query, never a Scan)."""
        try:
            return [item.space_id for item in DiscoveryModel.query("live", attributes_to_get=["space_id"])]
        except Exception as exc:
            raise dependency_failure(exc) from exc

    def refresh_live_ranks(self, counts_out: dict | None = None, overflowing_out: set | None = None) -> int:
        """Copy each live Space's participant count into its listings' rank. Returns how many
        listings changed. Queries the "live" list (never a Scan), 10 Spaces' counters per
        BatchGetItem. `counts_out`, when given, receives every live Space's count (the overflow
        job decides on them without reading the counters again); `overflowing_out` the live
        Spaces whose overflow is on."""
        changed = 0
        try:
            live = list(DiscoveryModel.query("live"))
        except Exception as exc:
            raise dependency_failure(exc) from exc
        for start in range(0, len(live), 10):
            chunk = live[start : start + 10]
            keys = {
                CounterModel.key_for("participants", item.space_id, shard): item.space_id
                for item in chunk
                for shard in range(self._shards)
            }
            counts: dict[str, int] = dict.fromkeys((i.space_id for i in chunk), 0)
            try:
                for counter in CounterModel.batch_get(list(keys)):
                    counts[keys[counter.key]] += int(counter.n or 0)
            except Exception as exc:
                raise dependency_failure(exc) from exc
            for item in chunk:
                count = max(counts[item.space_id], 0)
                if overflowing_out is not None and item.overflow:
                    overflowing_out.add(item.space_id)
                if counts_out is not None:
                    counts_out[item.space_id] = count
                if int(item.rank) == count:
                    continue
                for list_key in ["live"] + [f"live#topic#{t}" for t in item.topics] + [f"live#host#{item.creator_id}"]:
                    try:
                        DiscoveryModel(list_key, item.space_id).update(
                            actions=[DiscoveryModel.rank.set(count)],
                            condition=DiscoveryModel.space_id.exists(),
                        )
                        changed += 1
                    except UpdateError as exc:
                        if error_code(exc) != "ConditionalCheckFailedException":  # ended meanwhile
                            raise dependency_failure(exc) from exc
        return changed

    # ------------------------------------------------------------------ presence

    def shard_for(self, user_id: str) -> int:
        return CounterModel.shard_of(user_id, self._shards)

    def fold_count_records(self, records: list[dict]) -> int:
        """Move the participant counters by what the participants stream shows (Lambda's record
        shape); exact under redelivery and reordering (adapters/dynamodb/counts.py)."""
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
        """
        key = ParticipantModel.key_for(space_id, user_id)
        for _ in range(3):
            if known is not None and known.removed:
                raise Refused("removed")
            if known is not None and known.blocked:
                raise Refused("blocked")
            if known is not None and known.connected:
                return self._reconnect(space_id, user_id, known, participant_id, now)
            shard = self.shard_for(user_id)
            role = known.role if known is not None else LISTENER
            as_playback = playback and role == LISTENER
            try:
                if (check_block and host_id is not None) or needs_pass:
                    self._join_checked(
                        space_id, user_id, key, known, participant_id, now, shard, as_playback,
                        host_id=host_id, check_block=check_block, needs_pass=needs_pass,
                    )
                elif known is None:
                    self._join_new(space_id, user_id, key, participant_id, now, shard, as_playback)
                else:
                    self._join_known(space_id, user_id, key, known, participant_id, now, shard, as_playback)
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
                Participant(space_id, user_id, role, True, participant_id, playback=as_playback),
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

    def _join_actions(self, space_id, user_id, participant_id, now, shard, as_playback) -> list:
        return [
            ParticipantModel.space_id.set(space_id),
            ParticipantModel.user_id.set(user_id),
            ParticipantModel.role.set(ParticipantModel.role | LISTENER),
            ParticipantModel.connected.set(True),
            ParticipantModel.participant_id.set(participant_id),
            ParticipantModel.count_shard.set(shard),
            ParticipantModel.joined_at.set(now),
            ParticipantModel.left_at.remove(),
            (ParticipantModel.media_kind.set("playback") if as_playback else ParticipantModel.media_kind.remove()),
            *self._presence(space_id, shard, now),
        ]

    def _join_new(self, space_id, user_id, key, participant_id, now, shard, as_playback) -> None:
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
            media_kind="playback" if as_playback else None,
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
                raise ConditionsFailed(["participant"], {"participant": _participant_from_raw(stored)}) from exc
            raise dependency_failure(exc) from exc

    def _join_known(self, space_id, user_id, key, known, participant_id, now, shard, as_playback) -> None:
        """A user back after leaving: one UpdateItem, on condition nothing changed since the read."""
        try:
            ParticipantModel(key).update(
                actions=self._join_actions(space_id, user_id, participant_id, now, shard, as_playback),
                condition=self._join_condition(known),
            )
        except UpdateError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise ConditionsFailed(["participant"], {}) from exc
            raise dependency_failure(exc) from exc

    def _join_checked(
        self, space_id, user_id, key, known, participant_id, now, shard, as_playback, *, host_id, check_block, needs_pass
    ) -> None:
        """The participant write and the checks it depends on (block, ticket or subscription), in
        one transaction."""
        try:
            with transaction(self._connection) as tx:
                tx.update(
                    "participant",
                    ParticipantModel(key),
                    actions=self._join_actions(space_id, user_id, participant_id, now, shard, as_playback),
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
                exc.names, {**exc.items, "participant": _participant_from_raw(exc.items.get("participant"))}
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
            Participant(space_id, user_id, known.role, True, participant_id, playback=known.playback),
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

    # ------------------------------------------------------------------ hands

    def raise_hand(self, space_id: str, user_id: str, now: datetime) -> bool:
        """True when the hand went up, False when it was already up."""
        try:
            with transaction(self._connection) as tx:
                tx.save(
                    "request",
                    SpeakerRequestModel(space_id, user_id, raised_at=now),
                    condition=SpeakerRequestModel.user_id.does_not_exist(),
                )
                tx.check(
                    "participant",
                    ParticipantModel,
                    ParticipantModel.key_for(space_id, user_id),
                    condition=(ParticipantModel.connected == True)  # noqa: E712
                    & ParticipantModel.removed_at.does_not_exist()
                    & (ParticipantModel.role == LISTENER),
                )
                tx.check(
                    "space",
                    SpaceModel,
                    space_id,
                    condition=(SpaceModel.state == LIVE) & SpaceModel.invited[user_id].does_not_exist(),
                )
        except ConditionsFailed as exc:
            if "participant" in exc:
                raise Refused("participant") from exc
            if "space" in exc:
                raise Refused("space") from exc
            return False  # only the request existed: the hand was already up
        return True

    def lower_hand(self, space_id: str, user_id: str) -> bool:
        try:
            SpeakerRequestModel(space_id, user_id).delete(
                condition=SpeakerRequestModel.user_id.exists()
            )
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise dependency_failure(exc) from exc
        return True

    # ------------------------------------------------------------------ stage

    def _invite_space_update(self, space_id: str, user_id: str, now: datetime):
        return dict(
            actions=[
                SpaceModel.invited[user_id].set(_stamp(now)),
                SpaceModel.updated_at.set(now),
            ],
            condition=(
                (SpaceModel.state == LIVE)
                & SpaceModel.invited[user_id].does_not_exist()
                & SpaceModel.speakers[user_id].does_not_exist()
                & SpaceModel.cohosts[user_id].does_not_exist()
                & (SpaceModel.creator_id != user_id)
            ),
        )

    def _present_check(self, space_id: str, user_id: str):
        return dict(
            name="participant",
            model_cls=ParticipantModel,
            hash_key=ParticipantModel.key_for(space_id, user_id),
            condition=(ParticipantModel.connected == True)  # noqa: E712
            & ParticipantModel.removed_at.does_not_exist(),
        )

    def invite(self, space_id: str, user_id: str, now: datetime) -> None:
        try:
            with transaction(self._connection) as tx:
                tx.update("space", SpaceModel(space_id), **self._invite_space_update(space_id, user_id, now))
                tx.check(**self._present_check(space_id, user_id))
                tx.delete("request", SpeakerRequestModel(space_id, user_id))
        except ConditionsFailed as exc:
            raise Refused("participant" if "participant" in exc else "space") from exc

    def approve_request(self, space_id: str, user_id: str, now: datetime) -> None:
        """Answer a raised hand. Deleting the request is the race's referee: one moderator wins."""
        try:
            with transaction(self._connection) as tx:
                tx.delete(
                    "request",
                    SpeakerRequestModel(space_id, user_id),
                    condition=SpeakerRequestModel.user_id.exists(),
                )
                tx.update("space", SpaceModel(space_id), **self._invite_space_update(space_id, user_id, now))
                tx.check(**self._present_check(space_id, user_id))
        except ConditionsFailed as exc:
            for part in ("request", "space", "participant"):
                if part in exc:
                    raise Refused(part) from exc
            raise

    def accept_invitation(
        self,
        space_id: str,
        user_id: str,
        participant_id: str,
        now: datetime,
        *,
        max_on_stage: int,
        consent_at: datetime | None = None,
        participant_was: str | None = None,
    ) -> None:
        """`consent_at`: the user consents to being recorded now. Without it, a recorded Space
        refuses them unless they consented before (the `space` part fails). `participant_was`:
        the participant id the caller read; the write is refused (`participant`) if it changed."""
        consent_actions, consent_condition = [], (
            (SpaceModel.recording == False)  # noqa: E712 (PynamoDB condition)
            | SpaceModel.recording.does_not_exist()
            | SpaceModel.consents[user_id].exists()
        )
        if consent_at is not None:
            consent_actions, consent_condition = [SpaceModel.consents[user_id].set(_stamp(consent_at))], None
        condition = (
            (SpaceModel.state == LIVE)
            & SpaceModel.invited[user_id].exists()
            & (SpaceModel.on_stage < max_on_stage)
        )
        if consent_condition is not None:
            condition = condition & consent_condition
        participant_condition = (
            (ParticipantModel.connected == True)  # noqa: E712
            & ParticipantModel.removed_at.does_not_exist()
            & (ParticipantModel.role == LISTENER)
        )
        if participant_was is not None:
            participant_condition = participant_condition & (ParticipantModel.participant_id == participant_was)
        try:
            with transaction(self._connection) as tx:
                tx.update(
                    "space",
                    SpaceModel(space_id),
                    actions=[
                        SpaceModel.invited[user_id].remove(),
                        SpaceModel.speakers[user_id].set(_stamp(now)),
                        SpaceModel.on_stage.add(1),
                        SpaceModel.updated_at.set(now),
                        *consent_actions,
                    ],
                    condition=condition,
                )
                tx.update(
                    "participant",
                    ParticipantModel(ParticipantModel.key_for(space_id, user_id)),
                    actions=[
                        ParticipantModel.role.set(SPEAKER),
                        ParticipantModel.participant_id.set(participant_id),
                        # On stage now, with a stage token, even if they listened on overflow.
                        ParticipantModel.media_kind.remove(),
                    ],
                    condition=participant_condition,
                )
                tx.delete("request", SpeakerRequestModel(space_id, user_id))
        except ConditionsFailed as exc:
            raise Refused("space" if "space" in exc else "participant") from exc

    def decline_invitation(self, space_id: str, user_id: str, now: datetime) -> bool:
        try:
            SpaceModel(space_id).update(
                actions=[SpaceModel.invited[user_id].remove(), SpaceModel.updated_at.set(now)],
                condition=SpaceModel.invited[user_id].exists(),
            )
        except UpdateError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise dependency_failure(exc) from exc
        return True

    def step_down(self, space_id: str, user_id: str, from_role: str, now: datetime) -> None:
        """A speaker or co-host goes back to listening (demote, or co-host removed)."""
        collection = SpaceModel.speakers if from_role == SPEAKER else SpaceModel.cohosts
        try:
            with transaction(self._connection) as tx:
                tx.update(
                    "space",
                    SpaceModel(space_id),
                    actions=[
                        collection[user_id].remove(),
                        SpaceModel.muted[user_id].remove(),
                        SpaceModel.on_stage.add(-1),
                        SpaceModel.updated_at.set(now),
                    ],
                    condition=(SpaceModel.state == LIVE) & collection[user_id].exists(),
                )
                tx.update(
                    "participant",
                    ParticipantModel(ParticipantModel.key_for(space_id, user_id)),
                    actions=[ParticipantModel.role.set(LISTENER)],
                    condition=ParticipantModel.key.exists(),
                )
        except ConditionsFailed as exc:
            raise Refused("space") from exc

    def add_cohost(
        self, space_id: str, user_id: str, *, was_speaker: bool, now: datetime, max_cohosts: int, max_on_stage: int
    ) -> None:
        actions = [SpaceModel.cohosts[user_id].set(_stamp(now)), SpaceModel.updated_at.set(now)]
        condition = (
            (SpaceModel.state == LIVE)
            & SpaceModel.cohosts[user_id].does_not_exist()
            & (SpaceModel.creator_id != user_id)
            & (SpaceModel.cohosts.does_not_exist() | (size(SpaceModel.cohosts) < max_cohosts))
        )
        if was_speaker:
            actions.append(SpaceModel.speakers[user_id].remove())
            condition = condition & SpaceModel.speakers[user_id].exists()
        else:
            actions += [SpaceModel.on_stage.add(1), SpaceModel.invited[user_id].remove()]
            condition = (
                condition
                & SpaceModel.speakers[user_id].does_not_exist()
                & (SpaceModel.on_stage < max_on_stage)
            )
        try:
            with transaction(self._connection) as tx:
                tx.update("space", SpaceModel(space_id), actions=actions, condition=condition)
                tx.update(
                    "participant",
                    ParticipantModel(ParticipantModel.key_for(space_id, user_id)),
                    actions=[ParticipantModel.role.set(COHOST)],
                    condition=(ParticipantModel.connected == True)  # noqa: E712
                    & ParticipantModel.removed_at.does_not_exist(),
                )
                tx.delete("request", SpeakerRequestModel(space_id, user_id))
        except ConditionsFailed as exc:
            raise Refused("space" if "space" in exc else "participant") from exc

    def set_muted(self, space_id: str, user_id: str, muted: bool, now: datetime) -> bool:
        """True when the mute state changed, False when it already was as asked (muting twice
        writes nothing, so it announces nothing). Refused("space") when the Space is not live or,
        to mute, the user is not on stage."""
        on_stage = (
            SpaceModel.speakers[user_id].exists()
            | SpaceModel.cohosts[user_id].exists()
            | (SpaceModel.creator_id == user_id)
        )
        if muted:
            actions = [SpaceModel.muted[user_id].set(_stamp(now))]
            condition = (SpaceModel.state == LIVE) & on_stage & SpaceModel.muted[user_id].does_not_exist()
        else:
            actions = [SpaceModel.muted[user_id].remove()]
            condition = (SpaceModel.state == LIVE) & SpaceModel.muted[user_id].exists()
        try:
            SpaceModel(space_id).update(actions=actions + [SpaceModel.updated_at.set(now)], condition=condition)
        except UpdateError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise dependency_failure(exc) from exc
            # Only on this failure path: was it already so, or is the Space / the user elsewhere?
            try:
                current = _to_space(SpaceModel.get(space_id, consistent_read=True))
            except DoesNotExist:
                raise Refused("space") from exc
            except Exception as read_exc:
                raise dependency_failure(read_exc) from exc
            if current.state == LIVE:
                if not muted:
                    return False  # was not muted
                if user_id in current.muted and current.role_of(user_id) != LISTENER:
                    return False  # already muted
            raise Refused("space") from exc
        return True

    def mark_blocked(self, space_id: str, user_id: str, now: datetime) -> None:
        """The host blocked `user_id` while this Space is live: mark their participant item
        (creating it if they never came), so no join of theirs succeeds from now on."""
        try:
            ParticipantModel(ParticipantModel.key_for(space_id, user_id)).update(
                actions=[
                    ParticipantModel.space_id.set(space_id),
                    ParticipantModel.user_id.set(user_id),
                    # What a join's condition compares, for a user who never came.
                    ParticipantModel.role.set(ParticipantModel.role | LISTENER),
                    ParticipantModel.connected.set(ParticipantModel.connected | False),
                    ParticipantModel.blocked_at.set(now),
                ]
            )
        except Exception as exc:
            raise dependency_failure(exc) from exc

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
        self, space_id: str, user_id: str, by: str, current: Participant | None, now: datetime
    ) -> None:
        """Ban a user from this Space: off the stage, disconnected, and never let back in."""
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
        except ConditionsFailed as exc:
            raise Refused("changed") from exc
