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


def test_an_error_code_with_a_meaning_raises_the_callers_exception_from_the_sdks():
    gone = failing(client_error("EndpointDisabled"))
    with pytest.raises(LookupError) as raised:
        aws_call("SNS", "Publish", gone, code="push_unavailable", meaning={"EndpointDisabled": lambda: LookupError("gone")})
    assert isinstance(raised.value.__cause__, ClientError)


def test_a_meaning_that_answers_none_leaves_the_failure_an_outage():
    asked = []

    def not_this_time():
        asked.append(True)
        return None

    with pytest.raises(DependencyFailed) as raised:
        aws_call("SNS", "Publish", failing(client_error("InvalidParameter")), code="push_unavailable",
                 meaning={"InvalidParameter": not_this_time})
    assert asked == [True] and raised.value.message == "SNS Publish failed (InvalidParameter)"


def test_a_meaning_for_another_code_is_not_consulted():
    with pytest.raises(DependencyFailed):
        aws_call("SNS", "Publish", failing(client_error("Throttled")), code="push_unavailable",
                 meaning={"NotFound": lambda: LookupError("gone")})


def test_no_module_translates_aws_errors_by_hand():
    """Every adapter (and the wiring's secrets lookups) calls through `aws_call`: a module that
    imports `raise_unavailable`, `client_error_code` or botocore's exceptions catches SDK errors
    itself."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    by_hand = set()
    # The wrapper itself, and the HTTP layer's last resort for a failure no adapter translated.
    allowed = {"chalicelib/adapters/aws_errors.py", "chalicelib/api/http.py"}
    for path in sorted((root / "chalicelib").rglob("*.py")):
        name = path.relative_to(root).as_posix()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "chalicelib.adapters.aws_errors":
                if {a.name for a in node.names} & {"raise_unavailable", "client_error_code"}:
                    by_hand.add(name)
            if isinstance(node, ast.ImportFrom) and node.module == "botocore.exceptions" and name not in allowed:
                by_hand.add(name)
    assert by_hand == set()


def test_the_ivs_key_lookup_goes_through_aws_call(monkeypatch):
    """The participant-token key read from Secrets Manager on a container's first join: a
    Secrets Manager outage is a 503 with the code an untranslated SDK error had (no client-visible
    change), raised from the SDK's error; the secret's string is the key."""
    from dataclasses import replace

    from chalicelib import media_wiring
    from chalicelib.config import Settings
    from tests.support.offline_aws import offline_client, stubbed

    client = offline_client("secretsmanager")
    monkeypatch.setattr(media_wiring, "secrets_client", lambda: client)
    settings = replace(Settings(), ivs_private_key_path="", ivs_private_key_secret_arn="arn:aws:secretsmanager:us-east-1:1:secret:k")
    with stubbed(client) as stub:
        stub.add_client_error("get_secret_value", "InternalServiceError", http_status_code=500,
                              expected_params={"SecretId": settings.ivs_private_key_secret_arn})
        stub.add_response("get_secret_value", {"SecretString": "-----BEGIN PRIVATE KEY-----"},
                          {"SecretId": settings.ivs_private_key_secret_arn})
        with pytest.raises(DependencyFailed) as raised:
            media_wiring._ivs_private_key(settings)
        assert raised.value.code == "dependency_unavailable" and raised.value.status == 503
        assert isinstance(raised.value.__cause__, ClientError)
        assert raised.value.message == "Secrets Manager GetSecretValue failed (InternalServiceError)"
        assert media_wiring._ivs_private_key(settings) == b"-----BEGIN PRIVATE KEY-----"
