"""SqsQueue against a moto server (real HTTP through botocore) and, for partial batch failures and
errors moto does not produce on demand, against botocore's Stubber.

What moto does here: SendMessageBatch, ReceiveMessage, DeleteMessage, ChangeMessageVisibility and
GetQueueUrl behave as in SQS for these calls; it never reports `Failed` entries for well-formed
messages, so the retry of failed entries is tested with Stubber.
"""
from __future__ import annotations

import json
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber

from chalicelib.adapters.sqs import SqsQueue
from chalicelib.domain.errors import DependencyFailed
from tests.support.aws_calls import AwsCallRecorder
from tests.support.moto_server import boto_client, moto_endpoint  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def client(moto_endpoint):  # noqa: F811
    return boto_client("sqs", moto_endpoint)


@pytest.fixture
def queue_name(client):
    name = f"spaces-test-{uuid.uuid4().hex[:12]}"
    client.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "30"})
    return name


@pytest.fixture
def queue(client, queue_name):
    return SqsQueue(client, queue_name=queue_name)


@pytest.fixture
def calls(client):
    with AwsCallRecorder().attach(client) as recorder:
        yield recorder


def drain(queue):
    bodies = []
    while batch := queue.receive(max_messages=10):
        for receipt, body in batch:
            bodies.append(body)
            queue.delete(receipt)
    return bodies


# ---------------------------------------------------------------- against moto


class TestSendAndReceive:
    def test_25_bodies_go_in_3_batches_and_all_come_back(self, queue, calls):
        bodies = [{"space_id": "sp1", "shard": i, "user_ids": [f"u{i}"]} for i in range(25)]

        queue.send_batch(bodies)

        assert calls.operations() == ["GetQueueUrl", "SendMessageBatch", "SendMessageBatch", "SendMessageBatch"]
        assert sorted(drain(queue), key=lambda b: b["shard"]) == bodies

    def test_nothing_to_send_makes_no_call(self, queue, calls):
        queue.send_batch([])

        assert calls.operations() == []

    def test_the_queue_url_is_resolved_once_on_first_use(self, client, queue_name, calls):
        queue = SqsQueue(client, queue_name=queue_name)
        assert calls.operations() == []

        queue.send_batch([{"n": 1}])
        queue.send_batch([{"n": 2}])
        drain(queue)

        assert calls.operations().count("GetQueueUrl") == 1
        assert queue.url == client.get_queue_url(QueueName=queue_name)["QueueUrl"]

    def test_a_queue_given_by_url_never_looks_it_up(self, client, queue_name, calls):
        url = client.get_queue_url(QueueName=queue_name)["QueueUrl"]
        calls.reset()
        queue = SqsQueue(client, queue_url=url)

        queue.send_batch([{"n": 1}])

        assert "GetQueueUrl" not in calls.operations()
        assert drain(queue) == [{"n": 1}]

    def test_a_deleted_message_is_not_received_again(self, queue):
        queue.send_batch([{"n": 1}])
        [(receipt, body)] = queue.receive()

        queue.delete(receipt)

        assert body == {"n": 1}
        assert queue.receive() == []

    def test_a_received_message_stays_hidden_until_made_visible_again(self, queue):
        queue.send_batch([{"n": 1}])
        [(receipt, _)] = queue.receive()
        assert queue.receive() == []

        queue.change_visibility(receipt, 0)

        assert [body for _, body in queue.receive()] == [{"n": 1}]

    def test_receive_asks_for_at_most_ten(self, queue, calls):
        queue.send_batch([{"n": i} for i in range(12)])

        first = queue.receive(max_messages=50)

        assert 1 <= len(first) <= 10
        [params] = [p for _, op, p in calls.calls if op == "ReceiveMessage"]
        assert params["MaxNumberOfMessages"] == 10

    def test_a_missing_queue_is_queue_unavailable(self, client):
        with pytest.raises(DependencyFailed) as caught:
            SqsQueue(client, queue_name=f"missing-{uuid.uuid4().hex[:8]}").send_batch([{"n": 1}])

        assert caught.value.code == "queue_unavailable"
        assert isinstance(caught.value.__cause__, ClientError)


def test_a_queue_needs_a_name_or_a_url():
    with pytest.raises(ValueError):
        SqsQueue(object())


# ---------------------------------------------------------------- partial failures (Stubber)

URL = "https://sqs.us-east-1.amazonaws.com/123456789012/spaces-stub"


@pytest.fixture
def stub_client():
    return boto3.client(
        "sqs",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}),
    )


@pytest.fixture
def stubber(stub_client):
    with Stubber(stub_client) as stub:
        yield stub
        stub.assert_no_pending_responses()


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def stubbed(stub_client, sleeps):
    return SqsQueue(stub_client, queue_url=URL, backoff_seconds=0.05, sleep=sleeps.append)


def entries(ids, bodies):
    return [{"Id": i, "MessageBody": bodies[int(i)]} for i in ids]


def ok(ids):
    return {"Successful": [{"Id": i, "MessageId": f"m-{i}", "MD5OfMessageBody": "0" * 32} for i in ids], "Failed": []}


def failed(ok_ids, failed_ids, sender_fault=False, code="InternalError"):
    response = ok(ok_ids)
    response["Failed"] = [{"Id": i, "SenderFault": sender_fault, "Code": code} for i in failed_ids]
    return response


BODIES = [f'{{"n":{i}}}' for i in range(10)]
ALL = [str(i) for i in range(10)]


class TestPartialFailures:
    def test_failed_entries_alone_are_sent_again_and_then_succeed(self, stubber, stubbed, sleeps):
        stubber.add_response("send_message_batch", failed([i for i in ALL if i not in ("3", "7")], ["3", "7"]),
                             {"QueueUrl": URL, "Entries": entries(ALL, BODIES)})
        stubber.add_response("send_message_batch", failed(["3"], ["7"]),
                             {"QueueUrl": URL, "Entries": entries(["3", "7"], BODIES)})
        stubber.add_response("send_message_batch", ok(["7"]),
                             {"QueueUrl": URL, "Entries": entries(["7"], BODIES)})

        stubbed.send_batch([{"n": i} for i in range(10)])

        assert sleeps == [0.05, 0.1]

    def test_entries_still_failing_after_three_retries_are_queue_unavailable(self, stubber, stubbed, sleeps):
        stubber.add_response("send_message_batch", failed(ALL[1:], ["0"]),
                             {"QueueUrl": URL, "Entries": entries(ALL, BODIES)})
        for _ in range(3):
            stubber.add_response("send_message_batch", failed([], ["0"], code="ServiceUnavailable"),
                                 {"QueueUrl": URL, "Entries": entries(["0"], BODIES)})

        with pytest.raises(DependencyFailed) as caught:
            stubbed.send_batch([{"n": i} for i in range(10)])

        assert caught.value.code == "queue_unavailable"
        assert "1 of 10" in caught.value.message and "ServiceUnavailable" in caught.value.message
        assert sleeps == [0.05, 0.1, 0.2]

    def test_an_entry_failed_by_the_senders_fault_is_not_resent(self, stubber, stubbed, sleeps):
        stubber.add_response("send_message_batch", failed(ALL[1:], ["0"], sender_fault=True, code="InvalidMessageContents"),
                             {"QueueUrl": URL, "Entries": entries(ALL, BODIES)})

        with pytest.raises(DependencyFailed) as caught:
            stubbed.send_batch([{"n": i} for i in range(10)])

        assert "InvalidMessageContents" in caught.value.message
        assert sleeps == []

    def test_a_failure_in_one_chunk_still_sends_the_others(self, stubber, stubbed):
        bodies = [f'{{"n":{i}}}' for i in range(12)]
        stubber.add_response("send_message_batch", failed(ALL[1:], ["0"], sender_fault=True),
                             {"QueueUrl": URL, "Entries": entries(ALL, bodies)})
        stubber.add_response("send_message_batch", ok(["0", "1"]),
                             {"QueueUrl": URL, "Entries": [{"Id": "0", "MessageBody": bodies[10]},
                                                           {"Id": "1", "MessageBody": bodies[11]}]})

        with pytest.raises(DependencyFailed):
            stubbed.send_batch([{"n": i} for i in range(12)])

    @pytest.mark.parametrize(
        "code,status",
        [("RequestThrottled", 400), ("AWS.SimpleQueueService.NonExistentQueue", 400),
         ("QueueDoesNotExist", 400), ("InternalError", 500)],
    )
    def test_a_failed_call_is_queue_unavailable(self, stubber, stubbed, code, status):
        stubber.add_client_error("send_message_batch", code, http_status_code=status,
                                 expected_params={"QueueUrl": URL, "Entries": entries(["0"], BODIES)})

        with pytest.raises(DependencyFailed) as caught:
            stubbed.send_batch([{"n": 0}])

        assert caught.value.code == "queue_unavailable"
        assert caught.value.__cause__.response["Error"]["Code"] == code

    @pytest.mark.parametrize("network_error", [EndpointConnectionError, ReadTimeoutError])
    def test_connection_or_timeout_error_is_queue_unavailable(self, stub_client, stubbed, network_error):
        def refuse(request, **_):
            raise network_error(endpoint_url=request.url)

        stub_client.meta.events.register("before-send.sqs", refuse)

        for call in (lambda: stubbed.send_batch([{"n": 0}]), stubbed.receive, lambda: stubbed.delete("r")):
            with pytest.raises(DependencyFailed) as caught:
                call()
            assert caught.value.code == "queue_unavailable"
            assert isinstance(caught.value.__cause__, network_error)
