"""The Space repository's BatchGetItem asks again for the keys DynamoDB left unprocessed (it may
under load), and keys still unprocessed after five calls are a dependency failure (503), never a
Space read as missing. A scripted client: no DynamoDB."""
from __future__ import annotations

import pytest

from chalicelib.adapters.dynamodb.spaces import DynamoSpaceRepository
from chalicelib.domain.errors import DependencyFailed

SPACE_KEY = {"space_id": {"S": "S1"}}
COUNTER_KEYS = [{"key": {"S": f"participants#S1#{n}"}} for n in range(2)]


class Client:
    def __init__(self, responses: list[dict]) -> None:
        self.responses = responses
        self.requests: list[dict] = []

    def batch_get_item(self, RequestItems: dict) -> dict:  # noqa: N803 (boto3's name)
        self.requests.append(RequestItems)
        return self.responses.pop(0) if self.responses else self.last

    @property
    def last(self) -> dict:
        return {"Responses": {}, "UnprocessedKeys": self.requests[-1]}


class Connection:
    def __init__(self, client: Client) -> None:
        self.client = client


def test_unprocessed_keys_are_asked_for_again_and_every_answer_is_kept():
    client = Client([
        {"Responses": {"spaces": [{"space_id": {"S": "S1"}}]}, "UnprocessedKeys": {"counters": {"Keys": COUNTER_KEYS}}},
        {"Responses": {"counters": [{"key": {"S": "participants#S1#0"}, "n": {"N": "3"}}]}},
    ])
    repo = DynamoSpaceRepository(Connection(client), count_shards=2)

    found = repo._batch_get_items({"spaces": {"Keys": [SPACE_KEY]}, "counters": {"Keys": COUNTER_KEYS}})

    assert found == {
        "spaces": [{"space_id": {"S": "S1"}}],
        "counters": [{"key": {"S": "participants#S1#0"}, "n": {"N": "3"}}],
    }
    assert client.requests[1] == {"counters": {"Keys": COUNTER_KEYS}}


def test_keys_left_unprocessed_after_five_calls_are_a_dependency_failure():
    client = Client([])
    repo = DynamoSpaceRepository(Connection(client), count_shards=2)

    with pytest.raises(DependencyFailed):
        repo._batch_get_items({"spaces": {"Keys": [SPACE_KEY]}})

    assert len(client.requests) == 5
