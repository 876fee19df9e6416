"""The stage and room pools, one contract for the DynamoDB pools (adapters/dynamodb/stage_pool.py)
and the in-memory fakes (tests/fakes/pools.py): every test runs on both. The DynamoDB side runs
on DynamoDB Local, each test in pool partitions of its own (the claims are per ARN, and the ARNs
are the test's own)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from chalicelib.domain.spaces import StageInfo
from tests.fakes import ManualClock


@dataclass
class Pools:
    stages: Any
    rooms: Any


def _id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@pytest.fixture(params=["dynamodb", "memory"])
def pools(request):
    clock = ManualClock(1_800_000_000_000, tick=1)  # every add a later creation time, as the adapter's key orders them
    if request.param == "memory":
        from tests.fakes.pools import FakeRoomPool, FakeStagePool

        return Pools(FakeStagePool(clock_ms=clock), FakeRoomPool(clock_ms=clock))
    request.getfixturevalue("dynamodb_local")
    from chalicelib.adapters.dynamodb.stage_pool import DynamoRoomPool, DynamoStagePool

    return Pools(DynamoStagePool(pool=_id("stages"), clock_ms=clock), DynamoRoomPool(pool=_id("rooms"), clock_ms=clock))


def _stage() -> StageInfo:
    arn = f"arn:aws:ivs:us-east-1:1:stage/{_id('st')}"
    return StageInfo(arn=arn, events_url=f"wss://events/{arn}", whip_url=f"https://whip/{arn}")


def test_an_empty_pool_gives_nothing(pools):
    assert pools.stages.claim(_id("S")) is None and pools.rooms.claim(_id("S")) is None
    assert pools.stages.available_count() == 0 and pools.stages.available_arns() == set()


def test_each_ready_stage_goes_to_exactly_one_space_and_the_claim_is_remembered(pools):
    stages = [_stage(), _stage()]
    for stage in stages:
        pools.stages.add(stage)

    spaces = [_id("S") for _ in range(3)]
    got = [pools.stages.claim(space) for space in spaces]

    assert sorted(s.arn for s in got[:2]) == sorted(s.arn for s in stages) and got[2] is None
    assert {stage.arn: pools.stages.claimed_by(stage.arn) for stage in got[:2]} == {
        got[0].arn: spaces[0], got[1].arn: spaces[1],
    }
    assert got[0] in stages and pools.stages.available_count() == 0


def test_ready_stages_are_listed_until_claimed(pools):
    kept, taken = _stage(), _stage()
    pools.stages.add(kept)

    before = pools.stages.available_arns()
    pools.stages.add(taken)
    claimed = pools.stages.claim(_id("S"))
    after = pools.stages.available_arns()

    assert before == {kept.arn} and after == {kept.arn, taken.arn} - {claimed.arn}
    assert pools.stages.claimed_by(_stage().arn) is None


def test_rooms_are_pooled_apart_from_stages(pools):
    room = f"arn:aws:ivschat:us-east-1:1:room/{_id('r')}"
    pools.rooms.add(room)
    pools.stages.add(_stage())

    space = _id("S")
    assert pools.rooms.claim(space) == room and pools.rooms.claimed_by(room) == space
    assert pools.rooms.available_count() == 0 and pools.stages.available_count() == 1


def test_the_last_refill_is_what_was_noted(pools):
    before = pools.stages.last_refill()

    pools.stages.note_refill(4, 2)
    available, scheduled, at = pools.stages.last_refill()

    assert before == (None, 0, None) and (available, scheduled) == (4, 2) and at is not None
    assert pools.rooms.last_refill() == (None, 0, None)
