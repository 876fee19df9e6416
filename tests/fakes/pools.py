"""In-memory fakes of the stage and room pools, with the rules of adapters/dynamodb/stage_pool.py:
ready resources oldest first, each claimed by exactly one Space (the claim is remembered, so the
orphan sweep can tell a claimed resource from an orphan), a note of the last refill.
tests/integration/test_pool_contract.py runs the same tests on these and on the DynamoDB pools.

`demand` counts the store's scheduled Spaces starting within the look-ahead (from five minutes
ago, as the adapter's rank window does) and its live Spaces.
"""
from __future__ import annotations

import time
from typing import Callable

from chalicelib.domain.spaces import LIVE, SCHEDULED, StageInfo
from tests.fakes.spaces import SpaceStore


class _FakePool:
    def __init__(self, store: SpaceStore | None = None, *, clock_ms: Callable[[], int] | None = None) -> None:
        self._store = store or SpaceStore()
        self._clock_ms = clock_ms or (lambda: int(time.time() * 1000))
        self.ready: dict[str, StageInfo | str] = {}  # "<created ms>#<arn>" -> the resource
        self.claims: dict[str, str] = {}  # arn -> space id
        self.refill: tuple[int | None, int, int | None] = (None, 0, None)

    def _claim_resource(self, space_id: str) -> StageInfo | str | None:
        for key in sorted(self.ready):
            resource = self.ready.pop(key)
            self.claims[key.split("#", 1)[1]] = space_id
            return resource
        return None

    def _add(self, arn: str, resource: StageInfo | str) -> None:
        self.ready[f"{self._clock_ms():013d}#{arn}"] = resource

    def available_count(self) -> int:
        return len(self.ready)

    def available_arns(self) -> set[str]:
        return {key.split("#", 1)[1] for key in self.ready}

    def claimed_by(self, stage_arn: str) -> str | None:
        return self.claims.get(stage_arn)

    def last_refill(self) -> tuple[int | None, int, int | None]:
        return self.refill

    def note_refill(self, available: int, scheduled: int) -> None:
        self.refill = (available, scheduled, self._clock_ms())

    def demand(self, now_s: float, lookahead_s: float) -> tuple[int, int]:
        spaces = [row.space for row in self._store.spaces.values()]
        scheduled = sum(
            1
            for s in spaces
            if s.state == SCHEDULED
            and s.scheduled_start is not None
            and int(now_s) - 300 <= int(s.scheduled_start.timestamp()) <= int(now_s + lookahead_s)
        )
        return scheduled, sum(1 for s in spaces if s.state == LIVE)


class FakeStagePool(_FakePool):
    def claim(self, space_id: str) -> StageInfo | None:
        stage = self._claim_resource(space_id)
        assert stage is None or isinstance(stage, StageInfo)
        return stage

    def add(self, stage: StageInfo) -> None:
        self._add(stage.arn, stage)


class FakeRoomPool(_FakePool):
    def claim(self, space_id: str) -> str | None:
        room = self._claim_resource(space_id)
        assert room is None or isinstance(room, str)
        return room

    def add(self, room_arn: str) -> None:
        self._add(room_arn, room_arn)
