"""The join path's cost, counted with a botocore event hook on every client the app uses.

A famous host's Space gets 100,000 joins a minute, and CreateParticipantToken is capped at 50 TPS
for the whole account: a join must make no IVS call (neither IVS real-time nor IVS Chat: chat
tokens come from their own route), never write the Space item, and cost at most two DynamoDB round
trips (one when this container already knows the Space's stage). A new listener's write is one
PutItem of their own participant item: the counters are moved by the count fold, from the
table's stream, one write per shard per batch.
"""
from __future__ import annotations

import pytest
from botocore.stub import Stubber

from chalicelib.adapters.dynamodb.models import SpaceModel
from chalicelib.adapters.ivs import IvsMedia
from chalicelib.adapters.ivs_chat import IvsChatRooms
from chalicelib.domain.commands.spaces import EditSpace
from chalicelib.domain.commands.stage import JoinSpace
from chalicelib.services import spaces as space_service
from chalicelib.services import stage as stage_service
from chalicelib.api.bodies.spaces import create_space as space_request
from tests.support.aws_calls import AwsCallRecorder, dynamodb_clients
from tests.support.offline_aws import offline_client as _stubbed

ARN = "arn:aws:ivs:us-east-1:123456789012:stage/AbCdEfGh1234"
ROOM = "arn:aws:ivschat:us-east-1:123456789012:room/AbCdEfGh1234"


@pytest.fixture
def chat():
    """A stubbed IVS Chat client, with the one CreateRoom each test's live Space makes."""
    client = _stubbed("ivschat")
    with Stubber(client) as stubber:
        stubber.add_response("create_room", {"arn": ROOM, "id": "AbCdEfGh1234"})
        yield client, stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def ivs_deps(deps, chat):
    """The real IVS and IVS Chat adapters over stubbed clients: any call not queued fails the
    test (each test creates one live Space: one stage, one room)."""
    client, (chat_client, _) = _stubbed("ivs-realtime"), chat
    deps.media = IvsMedia(client)
    deps.room_events = IvsChatRooms(chat_client)
    with Stubber(client) as stubber:
        stubber.add_response(
            "create_stage",
            {
                "stage": {
                    "arn": ARN,
                    "endpoints": {
                        "events": "wss://global.events.live-video.net",
                        "whip": "https://1a2b3c4d5e6f.global-bm.whip.live-video.net",
                    },
                }
            },
        )
        recorder = AwsCallRecorder().attach(client).attach(chat_client)
        for ddb in dynamodb_clients():
            recorder.attach(ddb)
        yield deps, recorder
        recorder.detach()
        stubber.assert_no_pending_responses()


def test_a_cold_join_costs_two_dynamodb_calls_and_no_ivs_call(ivs_deps, host, new_user):
    deps, recorder = ivs_deps
    space = space_service.create_space(deps, host, space_request({"title": "cost"}))
    deps.media_cache.drop(space.id)
    recorder.reset()

    joined = stage_service.join_space(deps, new_user(), space.id)

    assert joined.role == "listener"
    assert recorder.operations("ivs-realtime") == [] and recorder.operations("ivschat") == []
    assert recorder.operations("dynamodb") == ["BatchGetItem", "PutItem"]
    assert recorder.writes_to(SpaceModel.Meta.table_name) == []


def test_a_warm_join_costs_one_dynamodb_call(ivs_deps, host, new_user):
    deps, recorder = ivs_deps
    space = space_service.create_space(deps, host, space_request({"title": "cost"}))
    stage_service.join_space(deps, new_user(), space.id)  # warms this container's cache
    recorder.reset()

    for _ in range(5):
        stage_service.join_space(deps, new_user(), space.id)

    assert recorder.operations("ivs-realtime") == [] and recorder.operations("ivschat") == []
    assert recorder.operations("dynamodb") == ["PutItem"] * 5
    assert recorder.writes_to(SpaceModel.Meta.table_name) == []


def test_an_incognito_join_is_the_same_one_write(ivs_deps, host, new_user):
    """Incognito is an attribute of the participant item the join writes anyway (docs/people.md)."""
    deps, recorder = ivs_deps
    space = space_service.create_space(deps, host, space_request({"title": "cost"}))
    stage_service.join_space(deps, new_user(), space.id)  # warms this container's cache
    recorder.reset()

    joined = stage_service.join_space(deps, new_user(), space.id, JoinSpace(incognito=True))

    assert joined.incognito is True
    assert recorder.operations("dynamodb") == ["PutItem"]
    assert recorder.writes_to(SpaceModel.Meta.table_name) == []


def test_a_famous_hosts_space_still_takes_a_join_in_one_write_under_the_listeners_shard_key(ivs_deps, new_user):
    """A Space whose listener list is sharded (docs/people.md): the shard key is in the same one
    PutItem (warm) and the BatchGetItem + PutItem (cold); no other write."""
    from chalicelib.domain.listener_list import listener_shard

    deps, recorder = ivs_deps
    shards = deps.settings.listener_shards
    famous = new_user("famous", followers=deps.settings.listener_shard_min_followers)
    space = space_service.create_space(deps, famous, space_request({"title": "cost"}))
    assert space.listener_shards == shards > 1
    deps.media_cache.drop(space.id)
    users = [new_user() for _ in range(4)]
    recorder.reset()

    for user in users:  # the first is cold, the rest warm
        stage_service.join_space(deps, user, space.id)

    assert recorder.operations("dynamodb") == ["BatchGetItem"] + ["PutItem"] * 4
    written = [params["Item"]["listed_in"]["S"] for _, op, params in recorder.calls if op == "PutItem"]
    assert written == [f"{space.id}#{listener_shard(user, shards)}" for user in users]
    assert recorder.writes_to(SpaceModel.Meta.table_name) == []


def test_a_warm_rejoin_of_a_known_user_still_costs_at_most_two_calls(ivs_deps, host, new_user):
    deps, recorder = ivs_deps
    space = space_service.create_space(deps, host, space_request({"title": "cost"}))
    listener = new_user()
    stage_service.join_space(deps, listener, space.id)
    recorder.reset()

    again = stage_service.join_space(deps, listener, space.id)

    assert again.role == "listener"
    assert len(recorder.operations("dynamodb")) <= 2
    assert recorder.operations("ivs-realtime") == [] and recorder.operations("ivschat") == []
    assert recorder.writes_to(SpaceModel.Meta.table_name) == []


def test_the_recorder_sees_writes_to_the_space_item(ivs_deps, chat, host, new_user):
    """The checks above would pass vacuously if the recorder could not see table names."""
    deps, recorder = ivs_deps
    space = space_service.create_space(deps, host, space_request({"title": "cost"}))
    recorder.reset()
    chat[1].add_response("send_event", {"id": "EvtAbCdEf1234"})  # the room hears the new title

    space_service.patch_space(deps, host, space.id, EditSpace(title="renamed"))

    assert recorder.writes_to(SpaceModel.Meta.table_name) == ["TransactWriteItems:Update"]
    assert recorder.operations("ivschat") == ["SendEvent"], "and it sees IVS Chat calls"


def test_a_join_burst_writes_no_shared_key_and_the_fold_writes_each_count_shard_once(
    ivs_deps, host, new_user, settle_counts
):
    """A join writes its own participant item and nothing else, so a famous host's burst has no
    hot key at all on the request path; the count fold then moves each counter shard once per
    batch, however many joins the batch holds."""
    from collections import Counter

    from chalicelib.adapters.dynamodb.models import ALL_MODELS, CounterModel

    deps, recorder = ivs_deps
    space = space_service.create_space(deps, host, space_request({"title": "burst"}))
    settle_counts()
    recorder.reset()

    for _ in range(40):
        stage_service.join_space(deps, new_user(), space.id)

    hash_key = {m.Meta.table_name: m._hash_keyname for m in ALL_MODELS}

    def touched_keys() -> Counter:
        touched = Counter()  # partition keys: what DynamoDB's per-key limits apply to
        for _, op, params in recorder.calls:
            bodies = [b for action in params.get("TransactItems", []) for b in action.values()]
            if op in ("PutItem", "UpdateItem", "DeleteItem"):
                bodies.append(params)
            for body in bodies:
                table = body["TableName"]
                key = body.get("Key") or body["Item"]
                touched[(table, str(key[hash_key[table]]))] += 1
        return touched

    joins = touched_keys()
    assert len(joins) == 40 and set(joins.values()) == {1}, joins
    recorder.reset()

    settle_counts()

    counters = {k: n for k, n in touched_keys().items() if k[0] == CounterModel.Meta.table_name}
    assert counters and set(counters.values()) == {1}, counters
    assert len(counters) <= deps.settings.participant_count_shards
    assert deps.spaces.get(space.id).participant_count == 40


def test_a_join_while_overflow_is_on_still_costs_one_dynamodb_call_and_no_ivs_call(ivs_deps, host, new_user):
    """Overflow is decided by the rank job; the join only reads the playback URL its cache (or
    its one cold read) carries."""
    from chalicelib.domain.spaces import OverflowInfo, utcnow

    deps, recorder = ivs_deps
    space = space_service.create_space(deps, host, space_request({"title": "famous"}))
    # Given the overflow the job would have started (recorded directly: no IVS call to stub)
    info = OverflowInfo(
        "arn:aws:ivs:us-east-1:123456789012:channel/abcdEFGH1234",
        "https://a1b2c3d4e5f6.us-east-1.playback.live-video.net/api/video/v1/x.m3u8",
        "arn:aws:ivs:us-east-1:123456789012:composition/CoMpOsItIoN1",
    )
    assert deps.overflow_claims.claim_overflow(space.id, utcnow(), lease_seconds=300)
    deps.overflow_claims.set_overflow(space.id, info)
    deps.media_cache.drop(space.id)
    recorder.reset()

    cold = stage_service.join_space(deps, new_user(), space.id)
    assert recorder.operations("dynamodb") == ["BatchGetItem", "PutItem"]
    recorder.reset()
    warm = [stage_service.join_space(deps, new_user(), space.id) for _ in range(5)]

    assert [j.media.kind for j in [cold, *warm]] == ["playback"] * 6
    assert {j.media.playback_url for j in warm} == {info.playback_url}
    assert all(j.media.token for j in warm)  # signed per listener (the URL with it: test_overflow)
    assert recorder.operations("ivs-realtime") == [] and recorder.operations("ivschat") == []
    assert recorder.operations("dynamodb") == ["PutItem"] * 5
    assert recorder.writes_to(SpaceModel.Meta.table_name) == []
