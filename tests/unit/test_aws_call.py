"""The one AWS call wrapper every adapter's SDK calls go through (chalicelib/adapters/aws_errors.py)."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from chalicelib.adapters.aws_errors import aws_call
from chalicelib.domain.errors import DependencyFailed


def failing(exc):
    def call(**params):
        raise exc

    return call


def client_error(code):
    return ClientError({"Error": {"Code": code, "Message": "whatever the text says"}}, "DeleteStage")


def test_the_answer_of_a_call_that_worked_comes_back_and_the_params_reach_it():
    assert aws_call("IVS", "GetStage", lambda **p: p, code="media_unavailable", arn="a") == {"arn": "a"}


def test_an_error_code_the_caller_expects_answers_none():
    call = failing(client_error("ResourceNotFoundException"))
    assert aws_call("IVS", "DeleteStage", call, code="media_unavailable", tolerate=("ResourceNotFoundException",)) is None


def test_any_other_aws_error_is_dependency_failed_with_the_adapters_code_naming_service_and_operation():
    with pytest.raises(DependencyFailed) as raised:
        aws_call("IVS", "DeleteStage", failing(client_error("ThrottlingException")), code="media_unavailable",
                 tolerate=("ResourceNotFoundException",))
    assert raised.value.code == "media_unavailable"
    assert raised.value.message == "IVS DeleteStage failed (ThrottlingException)"
    assert isinstance(raised.value.__cause__, ClientError)


def test_no_answer_at_all_is_dependency_failed_too():
    with pytest.raises(DependencyFailed) as raised:
        aws_call("SQS", "SendMessageBatch", failing(EndpointConnectionError(endpoint_url="https://sqs")), code="queue_unavailable")
    assert raised.value.code == "queue_unavailable"


def test_a_bug_is_not_disguised_as_an_outage():
    with pytest.raises(KeyError):
        aws_call("SQS", "SendMessageBatch", failing(KeyError("Id")), code="queue_unavailable")


def test_only_the_sns_adapter_still_translates_aws_errors_by_hand():
    """Every other adapter (and bootstrap's secrets lookup) calls through `aws_call`: a module that
    imports `raise_unavailable` or `client_error_code` catches SDK errors itself. SNS keeps its
    own, where an error code is an answer (a token SNS refuses, an endpoint that is gone)."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    by_hand = set()
    for path in sorted((root / "chalicelib").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "chalicelib.adapters.aws_errors":
                if {a.name for a in node.names} & {"raise_unavailable", "client_error_code"}:
                    by_hand.add(path.relative_to(root).as_posix())
    assert by_hand == {"chalicelib/adapters/sns_push.py"}
