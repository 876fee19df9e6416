"""Operator command: fold again the batches of the participants stream that the count fold gave up.

    .venv/bin/python -m infra.replay_count_fold --stage prod [--region eu-west-1] [--dry-run]

A batch that failed every retry is recorded by Lambda in `spaces-<stage>-count-fold-dlq`: the
message says where the batch was (stream, shard, first and last sequence number), not what it
held. For each message this reads those records from the stream again, invokes
`fold_participant_counts` with them (the event shape Lambda gives it), and deletes the message
once the fold succeeded. Replaying is safe any number of times: the fold is idempotent (a
participant already counted, or changed since, is skipped).

The stream keeps records 24 hours: a message older than that cannot be replayed, and is left in
the queue and reported (docs/operations.md, "The count fold").
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field

# Lambda's synchronous payload limit is 6 MB; a batch is at most 1,000 NEW_IMAGE records of a
# participant item (well under 1 KB each), so one invocation per message.
EMPTY_PAGES_BEFORE_GIVING_UP = 20


@dataclass
class Report:
    replayed: list[str] = field(default_factory=list)  # message ids, folded and deleted
    gone: list[str] = field(default_factory=list)  # the stream no longer has the records
    failed: list[str] = field(default_factory=list)  # the fold failed again: still in the queue


def batch_records(streams, info: dict) -> list[dict] | None:
    """The records of one failed batch, read from its shard again; None if the stream no longer
    has them (older than 24 hours, or the stream was replaced)."""
    first, last = int(info["startSequenceNumber"]), int(info["endSequenceNumber"])
    try:
        iterator = streams.get_shard_iterator(
            StreamArn=info["streamArn"],
            ShardId=info["shardId"],
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=info["startSequenceNumber"],
        )["ShardIterator"]
    except (streams.exceptions.TrimmedDataAccessException, streams.exceptions.ResourceNotFoundException):
        return None
    records: list[dict] = []
    empty = 0
    # An open shard answers empty pages once it is read to its end: stop at the last record of
    # the batch, at the shard's end, or after a run of empty pages.
    while iterator and empty < EMPTY_PAGES_BEFORE_GIVING_UP:
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        empty = 0 if page["Records"] else empty + 1
        for record in page["Records"]:
            number = int(record["dynamodb"]["SequenceNumber"])
            if first <= number <= last:
                records.append(record)
            if number >= last:
                return records
        iterator = page.get("NextShardIterator")
    return records or None


def replay(settings, sqs, streams, lambda_, *, dry_run: bool = False, max_messages: int = 1000) -> Report:
    """Replay up to `max_messages` messages of the stage's count-fold DLQ."""
    queue_url = sqs.get_queue_url(QueueName=settings.count_fold_dlq)["QueueUrl"]
    function_name = settings.function_name("fold_participant_counts")
    report = Report()
    seen: set[str] = set()
    while len(seen) < max_messages:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=300
        ).get("Messages", [])
        fresh = [m for m in messages if m["MessageId"] not in seen]
        if not fresh:
            break
        for message in fresh:
            seen.add(message["MessageId"])
            info = json.loads(message["Body"])["DDBStreamBatchInfo"]
            records = batch_records(streams, info)
            if records is None:
                report.gone.append(message["MessageId"])
                continue
            if dry_run:
                report.replayed.append(message["MessageId"])
                continue
            answer = lambda_.invoke(
                FunctionName=function_name,
                Payload=json.dumps({"Records": records}, default=str).encode(),
            )
            if answer.get("FunctionError"):
                report.failed.append(message["MessageId"])
                continue
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            report.replayed.append(message["MessageId"])
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.replay_count_fold", description=__doc__.splitlines()[0])
    parser.add_argument("--stage", required=True)
    parser.add_argument("--region", help="defaults to the AWS profile's region")
    parser.add_argument("--dry-run", action="store_true", help="read the batches, invoke nothing, delete nothing")
    args = parser.parse_args(argv)

    import boto3

    from infra.stages import stage

    settings = stage(args.stage)
    session = boto3.session.Session(region_name=args.region)
    if session.region_name is None:
        raise SystemExit("no AWS region: pass --region or set AWS_REGION / a profile region")
    report = replay(
        settings, session.client("sqs"), session.client("dynamodbstreams"), session.client("lambda"), dry_run=args.dry_run
    )
    verb = "readable (dry run)" if args.dry_run else "folded again and deleted"
    print(f"{len(report.replayed)} batch(es) {verb}")
    if report.gone:
        print(f"{len(report.gone)} batch(es) no longer in the stream (over 24 hours): left in the queue: {report.gone}")
    if report.failed:
        print(f"{len(report.failed)} batch(es) failed again (read the fold's log): left in the queue: {report.failed}")
    return 1 if report.gone or report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
