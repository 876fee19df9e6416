"""Publish the web client to a deployed stage: upload web/static/ to the stack's web bucket, write
config.json from the stack's outputs, and invalidate CloudFront. `make deploy` runs it after the
stack is deployed; `make destroy` runs it with --empty first, so the bucket can be deleted.

    python -m infra.publish_web --stage dev
    python -m infra.publish_web --stage dev --empty

Needs the IVS SDK bundles that `make web` puts in web/static/ (the page loads the Web Broadcast
SDK only in stages whose media is IVS, and the Chat Messaging SDK only where room events go over
IVS Chat: every AWS stage does both). Not run here: no AWS account was
available (docs/web-client.md).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from chalicelib.adapters.web_assets import CONTENT_TYPES, STATIC_DIR
from infra.stages import StageSettings, stage

SDK_BUNDLES = ("amazon-ivs-web-broadcast.js", "amazon-ivs-chat-messaging.js")


def web_config(settings: StageSettings, outputs: dict[str, str]) -> dict:
    """config.json for a deployed stage: the shape chalicelib/api/web.py serves locally."""
    return {
        "stage": settings.name,
        "api_base_url": outputs["ApiUrl"].rstrip("/"),
        "auth": {
            "mode": "cognito",
            "domain": outputs["HostedUiDomain"].rstrip("/"),
            "client_id": outputs["WebClientId"],
            "redirect_uri": outputs["WebUrl"],
        },
        "media": {"backend": "ivs", "carries_audio": True},
        "updates": {"transport": "poll", "interval_ms": 2000},
    }


def files_to_publish(directory: Path = STATIC_DIR) -> list[tuple[Path, str]]:
    """(file, content type) of every file the page is made of; the SDK bundles must be there."""
    files = [(p, CONTENT_TYPES[p.suffix]) for p in sorted(directory.iterdir()) if p.is_file() and p.suffix in CONTENT_TYPES]
    for bundle in SDK_BUNDLES:
        if not any(p.name == bundle for p, _ in files):
            raise SystemExit(f"{directory / bundle} is missing: run `make web` first")
    return files


def stack_outputs(session, settings: StageSettings) -> dict[str, str]:
    stack = session.client("cloudformation").describe_stacks(StackName=settings.stack_name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def publish(session, settings: StageSettings) -> str:
    outputs = stack_outputs(session, settings)
    s3 = session.client("s3")
    bucket = outputs["WebBucketName"]
    for path, content_type in files_to_publish():
        # index.html and config.json change with every deploy; the rest is revalidated too (small).
        s3.upload_file(str(path), bucket, path.name, ExtraArgs={"ContentType": content_type, "CacheControl": "no-cache"})
    s3.put_object(
        Bucket=bucket, Key="config.json", ContentType="application/json", CacheControl="no-cache",
        Body=json.dumps(web_config(settings, outputs), indent=2).encode(),
    )
    session.client("cloudfront").create_invalidation(
        DistributionId=outputs["WebDistributionId"],
        InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": str(time.time())},
    )
    return outputs["WebUrl"]


def empty(session, settings: StageSettings) -> None:
    outputs = stack_outputs(session, settings)
    bucket = session.resource("s3").Bucket(outputs["WebBucketName"])
    bucket.objects.all().delete()


def main(argv: list[str] | None = None) -> int:
    import boto3

    parser = argparse.ArgumentParser(prog="python -m infra.publish_web", description=__doc__.split("\n")[0])
    parser.add_argument("--stage", required=True)
    parser.add_argument("--empty", action="store_true", help="delete every file (before destroying the stack)")
    args = parser.parse_args(argv)
    settings = stage(args.stage)
    session = boto3.session.Session()
    if args.empty:
        empty(session, settings)
        print(f"emptied the web bucket of {settings.stack_name}")
    else:
        print(f"web client published: {publish(session, settings)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
