"""The stage pool in DynamoDB: ready stages, claimed by a conditional write.

Ready stages are items of one partition ("available"), sorted by creation time, read with a
strongly consistent Query. A start claims one with a transaction that deletes its "available"
item (condition: it still exists) and writes a "claimed#<arn>" record naming the Space
(condition: none exists). Of any number of concurrent starts, exactly one wins each stage; the
losers try another ready stage, and when none is left the caller falls back to CreateStage. A
start picks at random among the oldest few, so 30 concurrent starts do not all race for the same
item.

The claimed record is what the orphan sweep reads to tell a claimed stage (tagged with a pool id,
not a Space id) from an orphan; it expires two days after the claim, long after the stage is gone.

IVS Chat rooms are pooled the same way (`DynamoRoomPool`: the partition "rooms" of the same
table, the room's ARN where a stage's would be): CreateRoom is 5 TPS per account too.
"""
from __future__ import annotations

import random
import time
from datetime import datetime, timezone

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.dynamodb.errors import dependency_failure
from chalicelib.adapters.dynamodb.models import DiscoveryModel, StagePoolModel
from chalicelib.domain.spaces import StageInfo

AVAILABLE = "available"
ROOMS = "rooms"
META = "meta"
CLAIM_TTL_SECONDS = 2 * 86400
CANDIDATES = 10
ROUNDS = 3
# Lost races a claim accepts before it re-reads the pool.
_LOST = ("ConditionalCheckFailed", "TransactionConflict")


def _claimed_key(arn: str) -> str:
    return f"claimed#{arn}"


class _DynamoPool:
    """Ready resources (stages or rooms) claimed by a conditional write; `stage_arn` holds the
    resource's ARN whichever it is."""

    DEFAULT_POOL = AVAILABLE

    def __init__(self, *, pool: str | None = None, clock_ms=None, rng: random.Random | None = None):
        # `pool`: the partition of ready resources (tests give each its own); claims are per ARN.
        self._pool = pool or self.DEFAULT_POOL
        self._meta = META if self._pool == AVAILABLE else f"{META}#{self._pool}"
        self._clock_ms = clock_ms or (lambda: int(time.time() * 1000))
        self._rng = rng or random.Random()

    # ------------------------------------------------------------------ the request path

    def _claim_item(self, space_id: str) -> StagePoolModel | None:
        tried: set[str] = set()
        for _ in range(ROUNDS):
            candidates = [item for item in self._ready(CANDIDATES) if item.sk not in tried]
            if not candidates:
                return None
            self._rng.shuffle(candidates)
            for item in candidates:
                tried.add(item.sk)
                if self._take(item, space_id):
                    return item
        return None

    def _take(self, item: StagePoolModel, space_id: str) -> bool:
        now = self._clock_ms()
        claimed = StagePoolModel(
            _claimed_key(item.stage_arn),
            "-",
            stage_arn=item.stage_arn,
            space_id=space_id,
            created_ms=now,
            expires=datetime.fromtimestamp(now / 1000 + CLAIM_TTL_SECONDS, timezone.utc),
        )
        try:
            with TransactWrite(connection=StagePoolModel._get_connection().connection) as tx:
                tx.delete(StagePoolModel(self._pool, item.sk), condition=StagePoolModel.sk.exists())
                tx.save(claimed, condition=StagePoolModel.pool.does_not_exist())
            return True
        except TransactWriteError as exc:
            codes = [r.code for r in (exc.cancellation_reasons or []) if r is not None]
            if codes and all(code in _LOST or code in (None, "None") for code in codes):
                return False
            raise dependency_failure(exc) from exc

    def _ready(self, limit: int) -> list[StagePoolModel]:
        try:
            return list(StagePoolModel.query(self._pool, consistent_read=True, limit=limit))
        except Exception as exc:  # noqa: BLE001
            raise dependency_failure(exc) from exc

    # ------------------------------------------------------------------ the pool job

    def _add(self, arn: str, **attributes) -> None:
        now = self._clock_ms()
        try:
            StagePoolModel(self._pool, f"{now:013d}#{arn}", stage_arn=arn, created_ms=now, **attributes).save()
        except Exception as exc:  # noqa: BLE001
            raise dependency_failure(exc) from exc

    def available_count(self) -> int:
        try:
            return StagePoolModel.count(self._pool, consistent_read=True)
        except Exception as exc:  # noqa: BLE001
            raise dependency_failure(exc) from exc

    def available_arns(self) -> set[str]:
        try:
            return {item.stage_arn for item in StagePoolModel.query(self._pool, consistent_read=True)}
        except Exception as exc:  # noqa: BLE001
            raise dependency_failure(exc) from exc

    def claimed_by(self, stage_arn: str) -> str | None:
        """The Space that claimed this pooled resource, if one did (within two days)."""
        try:
            return StagePoolModel.get(_claimed_key(stage_arn), "-", consistent_read=True).space_id
        except DoesNotExist:
            return None
        except Exception as exc:  # noqa: BLE001
            raise dependency_failure(exc) from exc

    def last_refill(self) -> tuple[int | None, int, int | None]:
        """(stages ready when the last refill ended, scheduled Spaces it counted ahead, when in
        epoch ms), or Nones."""
        try:
            item = StagePoolModel.get(self._meta, "refill", consistent_read=True)
        except DoesNotExist:
            return None, 0, None
        except Exception as exc:  # noqa: BLE001
            raise dependency_failure(exc) from exc
        return int(item.available), int(item.scheduled or 0), int(item.created_ms)

    def note_refill(self, available: int, scheduled: int) -> None:
        try:
            StagePoolModel(
                self._meta, "refill", available=available, scheduled=scheduled, created_ms=self._clock_ms()
            ).save()
        except Exception as exc:  # noqa: BLE001
            raise dependency_failure(exc) from exc

    def demand(self, now_s: float, lookahead_s: float) -> tuple[int, int]:
        """(scheduled Spaces starting within `lookahead_s`, live Spaces): two COUNT Queries of the
        discovery lists, once a minute from the job (never on a request)."""
        try:
            scheduled = DiscoveryModel.by_rank.count(
                "scheduled", DiscoveryModel.rank.between(int(now_s) - 300, int(now_s + lookahead_s))
            )
            live = DiscoveryModel.count("live")
        except Exception as exc:  # noqa: BLE001
            raise dependency_failure(exc) from exc
        return scheduled, live


class DynamoStagePool(_DynamoPool):
    def claim(self, space_id: str) -> StageInfo | None:
        """A ready stage, now this Space's alone; None when the pool is empty."""
        item = self._claim_item(space_id)
        if item is None:
            return None
        return StageInfo(arn=item.stage_arn, events_url=item.events_url, whip_url=item.whip_url)

    def add(self, stage: StageInfo) -> None:
        self._add(stage.arn, events_url=stage.events_url, whip_url=stage.whip_url)


class DynamoRoomPool(_DynamoPool):
    """Ready IVS Chat rooms: a start claims one instead of calling CreateRoom."""

    DEFAULT_POOL = ROOMS

    def claim(self, space_id: str) -> str | None:
        """A ready room's ARN, now this Space's alone; None when the pool is empty."""
        item = self._claim_item(space_id)
        return None if item is None else item.stage_arn

    def add(self, room_arn: str) -> None:
        self._add(room_arn)
