"""A DynamoDB stream reader for places with no Lambda event source: the local worker of
`make run` and the tests read DynamoDB Local's stream of a table and hand each batch of records,
in the shape Lambda would, to the same handler the Lambda runs.

Like Lambda, a batch whose handler raises is not acknowledged: the next `drain` reads it again.
"""
from __future__ import annotations

import threading
from typing import Callable

EXPIRED = ("ExpiredIteratorException", "TrimmedDataAccessException")


class StreamPump:
    def __init__(
        self,
        streams_client,
        stream_arn: str,
        handler: Callable[[list[dict]], object],
        *,
        batch_size: int = 1000,
    ):
        self._client = streams_client
        self._arn = stream_arn
        self._handler = handler
        self._batch = batch_size
        self._iterators: dict[str, str | None] = {}  # shard id -> iterator; None once closed
        self._last: dict[str, str] = {}  # shard id -> last sequence number handled
        self._lock = threading.Lock()

    def _discover(self) -> None:
        start = None
        while True:
            kwargs = {"StreamArn": self._arn}
            if start:
                kwargs["ExclusiveStartShardId"] = start
            description = self._client.describe_stream(**kwargs)["StreamDescription"]
            for shard in description.get("Shards", []):
                shard_id = shard["ShardId"]
                if shard_id not in self._iterators:
                    self._iterators[shard_id] = self._iterator(shard_id)
            start = description.get("LastEvaluatedShardId")
            if not start:
                return

    def _iterator(self, shard_id: str) -> str:
        after = self._last.get(shard_id)
        kwargs = {"StreamArn": self._arn, "ShardId": shard_id}
        if after:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=after)
        else:
            kwargs.update(ShardIteratorType="TRIM_HORIZON")
        return self._client.get_shard_iterator(**kwargs)["ShardIterator"]

    def drain(self) -> int:
        """Hand every record written so far to the handler; returns how many there were."""
        with self._lock:
            self._discover()
            handled = 0
            for shard_id in list(self._iterators):
                while self._iterators.get(shard_id):
                    try:
                        page = self._client.get_records(ShardIterator=self._iterators[shard_id], Limit=self._batch)
                    except Exception as exc:
                        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
                        if code in EXPIRED:
                            self._iterators[shard_id] = self._iterator(shard_id)
                            continue
                        raise
                    records = page.get("Records", [])
                    if records:
                        try:
                            self._handler(records)
                        except Exception:
                            # Not acknowledged: the next drain reads these records again.
                            self._iterators[shard_id] = self._iterator(shard_id)
                            raise
                        self._last[shard_id] = records[-1]["dynamodb"]["SequenceNumber"]
                        handled += len(records)
                    self._iterators[shard_id] = page.get("NextShardIterator")
                    if not records:
                        break
            return handled


def table_stream_arn(dynamodb_client, table_name: str) -> str | None:
    return dynamodb_client.describe_table(TableName=table_name)["Table"].get("LatestStreamArn")


def participants_pump(handler: Callable[[list[dict]], object]) -> StreamPump:
    """A pump over the participants table's stream, on the endpoint the models use."""
    import boto3

    from chalicelib.adapters.dynamodb.models import ParticipantModel

    meta = ParticipantModel.Meta
    endpoint = getattr(meta, "host", None)
    dynamodb = boto3.client("dynamodb", region_name=meta.region, endpoint_url=endpoint)
    streams = boto3.client("dynamodbstreams", region_name=meta.region, endpoint_url=endpoint)
    arn = table_stream_arn(dynamodb, meta.table_name)
    if not arn:
        raise RuntimeError(f"{meta.table_name} has no stream: create it from the models (stream_view_type)")
    return StreamPump(streams, arn, handler)
