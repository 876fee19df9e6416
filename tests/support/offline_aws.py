"""boto3 clients that never reach AWS, for adapters tested under `botocore.stub.Stubber` or a
stand-in answering on botocore's `before-call` (services moto does not have)."""
from __future__ import annotations

from contextlib import contextmanager


def offline_client(service: str):
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        # One attempt: the adapter decides what a failure means, not botocore's retry sleeps.
        config=Config(retries={"total_max_attempts": 1}),
    )


@contextmanager
def stubbed(client):
    """Stubber on `client`; every queued answer must have been used by the end."""
    from botocore.stub import Stubber

    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


# What a stand-in registered on `before-call.<service>` returns instead of the HTTP exchange.


def answer(model, parsed: dict):
    """A 200 answer, checked against the operation's output shape."""
    from botocore.awsrequest import AWSResponse
    from botocore.validate import ParamValidator

    if model.output_shape is None:  # an operation that answers nothing (ivschat DeleteRoom ...)
        if parsed:
            raise AssertionError(f"{model.name} answers no fields, given {sorted(parsed)}")
        return AWSResponse(None, 200, {}, None), {}
    report = ParamValidator().validate(parsed, model.output_shape)
    if report.has_errors():
        raise AssertionError(report.generate_report())
    return AWSResponse(None, 200, {}, None), parsed


def error_answer(code: str, status: int):
    """An error answer with this AWS error code."""
    from botocore.awsrequest import AWSResponse

    return AWSResponse(None, status, {}, None), {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {}}
