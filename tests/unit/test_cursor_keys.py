"""Where the cursor keys come from: a local file, or the stage's secret in Secrets Manager (read
with the client bootstrap builds, here under botocore's Stubber)."""
import json

import boto3
import pytest
from botocore.stub import Stubber

from chalicelib import bootstrap
from chalicelib.config import get_settings

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:cursor-keys"


@pytest.fixture
def stage(monkeypatch):
    """Builds bootstrap.cursors() for a stage's environment and Secrets Manager answer."""
    client = boto3.client("secretsmanager", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)

    def build(path="", arn="", secret=None):
        monkeypatch.setenv("SPACES_CURSOR_KEYS_PATH", path)
        monkeypatch.setenv("SPACES_CURSOR_KEYS_SECRET_ARN", arn)
        get_settings.cache_clear()
        if secret is not None:
            stubber.add_response("get_secret_value", {"SecretString": secret}, {"SecretId": arn})
            stubber.activate()
        bootstrap.reset()
        bootstrap.override(secretsmanager_client=client)
        return bootstrap.cursors()

    yield build
    bootstrap.reset()
    monkeypatch.undo()
    get_settings.cache_clear()
    stubber.assert_no_pending_responses()


def test_a_plain_secret_is_one_key(stage):
    codec = stage(arn=ARN, secret="k" * 40)

    assert codec.open("list", codec.seal("list", {"seq": 1})) == {"seq": 1}


def test_a_rotating_secret_signs_with_the_first_key_and_accepts_the_others(stage):
    from chalicelib.adapters.cursors import CursorCodec

    old_cursor = CursorCodec([b"o" * 32]).seal("list", {"seq": 2})
    codec = stage(arn=ARN, secret=json.dumps({"keys": ["n" * 32, "o" * 32]}))

    assert codec.open("list", old_cursor) == {"seq": 2}
    assert codec.seal("list", {"seq": 2}) == CursorCodec([b"n" * 32]).seal("list", {"seq": 2})


def test_the_local_file_made_by_scripts_keys_is_read(stage, tmp_path):
    from scripts.keys import ensure_local_keys

    paths = ensure_local_keys(tmp_path)
    codec = stage(path=str(paths["cursor_keys"]))

    assert codec.open("list", codec.seal("list", {"seq": 3})) == {"seq": 3}


def test_no_key_configured_fails_loudly(stage):
    with pytest.raises(RuntimeError, match="cursor signing keys"):
        stage()
