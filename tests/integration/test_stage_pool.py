"""The stage pool on DynamoDB Local: a start claims a ready stage with a conditional write and
makes no IVS call; concurrent starts never share a stage; an empty pool falls back to
CreateStage under the limiter, and to 503 media_busy with Retry-After when that is exhausted."""
from __future__ import annotations

import uuid

import pytest

from chalicelib.adapters.dynamodb.limiter import DynamoTokenBucket
from chalicelib.adapters.dynamodb.stage_pool import DynamoStagePool
from chalicelib.adapters.ivs import IvsMedia
from chalicelib.adapters.ivs_limiter import MEDIA_BUSY, LimitedClient
from chalicelib import media_wiring
from chalicelib.api.http import error_response
from chalicelib.domain.errors import DependencyFailed
from chalicelib.services import spaces as space_service
from chalicelib.services import stage_pool as pool_service
from chalicelib.api.bodies.spaces import create_space as space_request
from tests.support.aws_calls import AwsCallRecorder
from tests.support.pool_races import scheduled_space, start_all_at_once
from tests.support.throttling_ivs import FakeTime, ThrottlingIvs


def own_pool() -> DynamoStagePool:
    return DynamoStagePool(pool=f"test-{uuid.uuid4().hex[:10]}")


def fill(pool, media, n):
    stages = [media.create_stage(f"{pool_service.POOL_ID_PREFIX}{i}") for i in range(n)]
    for stage in stages:
        pool.add(stage)
    return {s.arn for s in stages}


@pytest.mark.slow
def test_32_concurrent_starts_against_a_pool_of_10_never_share_a_stage(deps, new_user):
    deps.stage_pool = pool = own_pool()
    pooled = fill(pool, deps.media, 10)
    created_before = len(deps.media.created)
    spaces = [scheduled_space(deps, new_user("host", followers=1200)) for _ in range(32)]
    results = start_all_at_once(deps, spaces)
    assert all(not isinstance(r, Exception) for r in results), results
    arns = [r.stage.arn for r in results]
    assert len(set(arns)) == 32  # no stage serves two Spaces
    assert set(arns) & pooled == pooled  # every pooled stage went to exactly one start
    # The 11th start onwards found the pool empty and created its own stage.
    assert len(deps.media.created) - created_before == 22
    assert pool.available_count() == 0
    for r in results:
        if r.stage.arn in pooled:
            assert pool.claimed_by(r.stage.arn) == r.id


@pytest.fixture
def ivs_deps(deps):
    """The app's Deps with IvsMedia over the throttling IVS stand-in, behind the limiter."""
    time = FakeTime()
    ivs = ThrottlingIvs(time)
    bucket = DynamoTokenBucket(f"pool-{uuid.uuid4().hex[:8]}", rate=4, burst=2, clock_ms=time.ms)
    deps.media = IvsMedia(LimitedClient(ivs.client, bucket, max_wait=2, sleep=time.sleep), clock=time)
    deps.background_media = IvsMedia(LimitedClient(ivs.client, bucket, reserve=1, max_wait=50, sleep=time.sleep), clock=time)
    deps.stage_pool = own_pool()
    yield deps, ivs, bucket
    ivs.close()


def test_a_start_with_a_warm_pool_makes_no_ivs_call(ivs_deps, host):
    deps, ivs, _ = ivs_deps
    fill(deps.stage_pool, deps.background_media, 1)
    space = scheduled_space(deps, host)
    with AwsCallRecorder().attach(ivs.client) as recorder:
        started = space_service.start_space(deps, host, space.id)
    assert started.state == "live"
    assert recorder.operations("ivs-realtime") == []
    assert "StagePoolHit" in deps.telemetry.events


def test_an_empty_pool_falls_back_to_one_create_stage(ivs_deps, host):
    deps, ivs, _ = ivs_deps
    space = scheduled_space(deps, host)
    with AwsCallRecorder().attach(ivs.client) as recorder:
        started = space_service.start_space(deps, host, space.id)
    assert recorder.operations("ivs-realtime") == ["CreateStage"]
    assert started.stage.arn in ivs.stages
    assert "StagePoolEmpty" in deps.telemetry.events


def test_an_empty_pool_and_an_exhausted_limiter_answer_503_with_retry_after(ivs_deps, host):
    deps, ivs, bucket = ivs_deps
    while bucket.take() == 0:  # others took every token of this second
        pass
    deps.media._client._max_wait = 0  # a request that cannot wait at all
    space = scheduled_space(deps, host)
    with pytest.raises(DependencyFailed) as caught:
        space_service.start_space(deps, host, space.id)
    assert caught.value.code == MEDIA_BUSY
    response = error_response(caught.value)
    assert response.status_code == 503 and int(response.headers["Retry-After"]) >= 1
    assert deps.spaces.get(space.id).state == "scheduled"  # nothing changed
    assert ivs.throttled == [] and ivs.count("CreateStage") == 0


def test_the_refill_job_creates_what_demand_asks_within_the_quota(ivs_deps, new_user):
    deps, ivs, _ = ivs_deps
    from dataclasses import replace

    deps.settings = replace(deps.settings, stage_pool_min_size=3, stage_quota=1000, stage_quota_headroom=5)
    added = pool_service.refill_stage_pool(deps)
    scheduled, live = deps.stage_pool.demand(deps.clock.now().timestamp(), 15 * 60)
    assert added == max(3, scheduled + -(-scheduled // 10)) and deps.stage_pool.available_count() == added  # + 10 %
    assert ivs.throttled == [] and ivs.max_per_second() <= 5
    assert pool_service.refill_stage_pool(deps) == 0  # full: nothing more


def test_the_orphan_sweep_keeps_ready_and_claimed_pool_stages(deps, host):
    deps.stage_pool = pool = own_pool()
    ready = fill(pool, deps.media, 2)
    space = scheduled_space(deps, host)
    live = space_service.start_space(deps, host, space.id)
    assert live.stage.arn in ready
    for arn in deps.media.created_at:
        deps.media.created_at[arn] -= 3600  # all past the grace period
    space_service.reconcile_stages(deps)
    assert (ready - {live.stage.arn}) <= set(deps.media.stages)  # still ready
    assert live.stage.arn in deps.media.stages  # claimed by a live Space


def test_the_local_stage_runs_a_pool_of_local_stages(settings_env, configure_bootstrap, host):
    """`make run`'s wiring: the in-process media adapter behind the pool and the queue. A live
    Space takes a pooled local stage; ending it deletes the stage through the queue at once."""
    from chalicelib.adapters.local_media import LocalMedia

    # The worker's tables hold other tests' live Spaces, which count against the stage quota:
    # a quota they cannot reach, so the pool's size here follows its minimum alone.
    bootstrap = configure_bootstrap(SPACES_STAGE="local", SPACES_MEDIA_BACKEND="local", SPACES_STAGE_QUOTA="1000000")
    deps = bootstrap.deps()
    assert deps.stage_pool is not None
    pool_service.refill_stage_pool(deps, budget_seconds=30)
    ready = deps.stage_pool.available_arns()
    assert len(ready) >= 2
    space = space_service.create_space(deps, host, space_request({"title": "local pool"}))
    assert space.stage.arn in ready
    local = media_wiring.media_adapter(0, 0)
    assert isinstance(local, LocalMedia) and local.stages[space.stage.arn]
    space_service.end_space(deps, host, space.id)
    assert space.stage.arn in local.deleted
    assert deps.media_queue.depth() == 0
