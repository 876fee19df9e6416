"""ReplayStorePort over the recordings bucket (S3): presigned replay URLs, the recordings IVS
leaves there, the replays' WebVTT files, deletion.

The boto3 S3 client is injected (bootstrap builds it once per container, SigV4). Every S3 call
goes through `aws_call` (adapters/aws_errors.py), which translates failures by error code: a
missing object is None, every other error (and no answer at all) is
`DependencyFailed(code="storage_unavailable")`.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

from chalicelib.adapters.aws_errors import aws_call
from chalicelib.domain.replays import PresignedUrl

STORAGE_UNAVAILABLE = "storage_unavailable"
_MISSING = {"NoSuchKey", "404", "NotFound"}
# A conditional PutObject that found the object there (S3 answers 412; 409 on a concurrent one).
_ALREADY_THERE = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}
# SigV4 presigned URLs live at most 7 days (S3's limit).
MAX_PRESIGN_SECONDS = 7 * 24 * 3600


class S3Replays:
    def __init__(self, client, *, bucket: str):
        self._client = client
        self.bucket = bucket

    def presign_get(self, key: str, expires_in: int) -> PresignedUrl:
        """A SigV4 GET URL. Signing makes no request; the URL's own X-Amz-Date and X-Amz-Expires
        say until when S3 accepts it, and `expires_at` is read from them, not from a clock here."""
        seconds = max(1, min(int(expires_in), MAX_PRESIGN_SECONDS))
        url = self._client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=seconds
        )
        return PresignedUrl(url=url, expires_at=presigned_expiry(url))

    def get_json(self, key: str) -> dict | None:
        text = self.get_text(key)
        if text is None:
            return None
        try:
            document = json.loads(text)
        except ValueError:
            return None
        return document if isinstance(document, dict) else None

    def get_text(self, key: str) -> str | None:
        data = self.get_bytes(key)
        return None if data is None else data.decode("utf-8")

    def put_text(self, key: str, text: str, content_type: str) -> None:
        self.put_bytes(key, text.encode("utf-8"), content_type)

    def get_bytes(self, key: str) -> bytes | None:
        def read() -> bytes:
            # The body is read inside the call: a connection lost while streaming it is an
            # outage like any other.
            body: bytes = self._client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            return body

        return aws_call("S3", "GetObject", read, code=STORAGE_UNAVAILABLE, tolerate=_MISSING)

    def put_bytes(self, key: str, data: bytes, content_type: str, *, if_absent: bool = False) -> bool:
        """Write an object. `if_absent`: a conditional write (If-None-Match: *) that leaves an
        object already there alone; False when it was there."""
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key, "Body": data, "ContentType": content_type}
        if if_absent:
            params["IfNoneMatch"] = "*"
        tolerate = _ALREADY_THERE if if_absent else ()
        put = aws_call("S3", "PutObject", self._client.put_object, code=STORAGE_UNAVAILABLE, tolerate=tolerate, **params)
        return put is not None

    def list_keys(self, prefix: str, limit: int = 100_000) -> list[str]:
        """The keys under `prefix/`, in key order (ListObjectsV2 pages of 1,000)."""
        prefix = prefix.strip("/") + "/"
        keys: list[str] = []
        token = None
        while len(keys) < limit:
            params: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix, "MaxKeys": 1000}
            if token:
                params["ContinuationToken"] = token
            page = aws_call("S3", "ListObjectsV2", self._client.list_objects_v2, code=STORAGE_UNAVAILABLE, **params) or {}
            keys += [item["Key"] for item in page.get("Contents", [])]
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                break
        return keys[:limit]

    def delete_keys(self, keys: list[str]) -> int:
        for start in range(0, len(keys), 1000):
            batch = [{"Key": key} for key in keys[start : start + 1000]]
            result = aws_call(
                "S3", "DeleteObjects", self._client.delete_objects, code=STORAGE_UNAVAILABLE,
                Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True},
            ) or {}
            if result.get("Errors"):
                from chalicelib.domain.errors import DependencyFailed

                raise DependencyFailed(f"S3 DeleteObjects left {len(result['Errors'])} objects", code=STORAGE_UNAVAILABLE)
        return len(keys)

    def delete_prefix(self, prefix: str) -> int:
        """Every object under `prefix/` (ListObjectsV2, then DeleteObjects per 1,000 keys).
        Deleting again finds nothing: idempotent."""
        return self.delete_keys(self.list_keys(prefix))


def presigned_expiry(url: str) -> datetime:
    """When a SigV4 presigned URL stops being accepted: X-Amz-Date + X-Amz-Expires."""
    query = parse_qs(urlsplit(url).query)
    signed_at = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    return signed_at + timedelta(seconds=int(query["X-Amz-Expires"][0]))
