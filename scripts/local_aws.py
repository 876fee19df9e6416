"""Creates, in the moto server of `make run`, what infra/ creates in AWS for reminders and pushes:
the fan-out and push queues with their dead-letter queues, the Scheduler group, and the SNS
platform applications for APNs and FCM; for the sandbox payment provider, its webhook outbox
queue (local only: in AWS, Stripe sends webhooks itself); and the recordings bucket (replays).
Idempotent."""
from __future__ import annotations

import json

import boto3

from chalicelib.config import get_settings


def provision(settings=None, *, sqs=None, scheduler=None, sns=None, s3=None, with_bucket: bool = False) -> None:
    """`with_bucket`: also create the recordings bucket (with `s3`, or a default client: only
    where AWS_ENDPOINT_URL points at moto, as under `make run`)."""
    s = settings or get_settings()
    sqs = sqs or boto3.client("sqs", region_name=s.region)
    dlq_names = {
        q: f"{q}-dlq" for q in (s.fanout_queue, s.push_queue, s.tickets_queue, s.payments_outbox_queue)
    }
    # A webhook the app answered with 5xx is tried again soon locally (Stripe backs off for hours).
    visibility = {s.payments_outbox_queue: "5"}
    schedules_dlq = s.schedule_dlq_arn.rsplit(":", 1)[-1]
    for name in [*dlq_names.values(), schedules_dlq]:
        sqs.create_queue(QueueName=name)
    for name, dlq in dlq_names.items():
        dlq_arn = sqs.get_queue_attributes(
            QueueUrl=sqs.get_queue_url(QueueName=dlq)["QueueUrl"], AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        sqs.create_queue(
            QueueName=name,
            Attributes={
                "VisibilityTimeout": visibility.get(name, "30"),
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"}),
            },
        )

    scheduler = scheduler or boto3.client("scheduler", region_name=s.region)
    existing = {g["Name"] for g in scheduler.list_schedule_groups().get("ScheduleGroups", [])}
    if s.schedule_group not in existing:
        scheduler.create_schedule_group(Name=s.schedule_group)

    sns = sns or boto3.client("sns", region_name=s.region)
    for arn in (s.sns_apns_arn, s.sns_fcm_arn):
        _, platform, name = arn.rsplit(":", 1)[-1].split("/")
        sns.create_platform_application(
            Name=name, Platform=platform, Attributes={"PlatformCredential": "local-sandbox-credential"}
        )

    if with_bucket or s3 is not None:
        s3 = s3 or boto3.client("s3", region_name=s.region)
        existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        if s.recordings_bucket not in existing:
            s3.create_bucket(Bucket=s.recordings_bucket)


if __name__ == "__main__":
    provision(with_bucket=True)
    print("provisioned queues, schedule group, push platform applications and the recordings bucket in moto")
