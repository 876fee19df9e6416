"""Where every table's name and settings come from: the stage's prefix (`SPACES_TABLE_PREFIX`),
so tests, the local stack and each AWS stage use their own tables."""
from __future__ import annotations

import os


def table_prefix() -> str:
    return os.environ.get("SPACES_TABLE_PREFIX", "spaces-local")


class TableMeta:
    @staticmethod
    def build(suffix: str, *, stream_view_type: str | None = None):
        attrs = {
            "table_name": f"{table_prefix()}-{suffix}",
            "suffix": suffix,
            "billing_mode": "PAY_PER_REQUEST",
            "region": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        }
        if stream_view_type:
            attrs["stream_view_type"] = stream_view_type
        host = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or os.environ.get("AWS_ENDPOINT_URL")
        if host:
            attrs["host"] = host
        return type("Meta", (), attrs)
