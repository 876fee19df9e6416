"""A moto server in this process, for adapters that talk HTTP to SNS, SQS and EventBridge Scheduler.

`ThreadedMotoServer` serves moto's backends over real HTTP on 127.0.0.1, so the adapters run
through botocore exactly as against AWS (serialization, error parsing, pagination), while the
tests can still read what moto recorded from the in-process backends (`sns_messages`): the server
thread and the tests share one `moto.backends` state. A moto server in another process (the
`moto_server` binary of `make run`) does not share it.

Every server in one process shares the same backends, so tests use unique names instead of
resetting: `moto_reset` wipes the state of every server in the process.
"""
from __future__ import annotations

import json
import urllib.request

import pytest

ACCOUNT_ID = "123456789012"  # moto's default account
REGION = "us-east-1"


def start_moto_server():
    """Start a moto server on a free port of 127.0.0.1; returns (server, endpoint_url).

    Port 0 lets the OS pick the port when the socket is bound, so two test processes never race
    for the same one. Stop it with `server.stop()`.
    """
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def boto_client(service: str, endpoint_url: str, **kwargs):
    """A boto3 client for the moto server: dummy credentials, us-east-1, explicit endpoint."""
    import boto3

    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        **kwargs,
    )


def sns_messages(endpoint_arn: str) -> list[str]:
    """The `Message` strings published to an SNS platform endpoint, oldest first.

    With MessageStructure="json" each one is the whole JSON document ({"default", "APNS",
    "GCM" ...}). Reads moto's in-process backend (`platform_endpoints[arn].messages`, an ordered
    dict of message id -> message), so it needs a moto server in this process. An endpoint moto
    does not know raises LookupError instead of looking like "no pushes".
    """
    from moto.sns.models import sns_backends

    _, _, _, region, account, _ = endpoint_arn.split(":", 5)
    endpoints = sns_backends[account][region].platform_endpoints
    if endpoint_arn not in endpoints:
        raise LookupError(f"moto has no SNS platform endpoint {endpoint_arn}")
    return list(endpoints[endpoint_arn].messages.values())


def moto_reset(endpoint_url: str) -> None:
    """Wipe every moto backend (of every moto server in this process)."""
    request = urllib.request.Request(f"{endpoint_url}/moto-api/reset", data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        json.loads(response.read() or b"{}")


@pytest.fixture(scope="module")
def moto_endpoint():
    """One moto server per test module: its endpoint URL."""
    server, endpoint_url = start_moto_server()
    yield endpoint_url
    server.stop()
