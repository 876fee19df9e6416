"""The pieces that run against AWS with the operator's credentials or at deploy time, tested
against moto: the push platform application custom resource, the IVS key command, the preflight
checks of `make deploy` / `make destroy`, and the consumers' queue names."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import boto3
import pytest
from moto import mock_aws

from infra.push_apps import handler
from infra.stages import stage as stage_settings
from tests.infra.conftest import ROOT

REGION = "us-east-1"
APNS = {"PlatformCredential": "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n", "PlatformPrincipal": "KEYID12345",
        "ApplePlatformTeamID": "TEAM123456", "ApplePlatformBundleID": "com.example.spaces"}


@pytest.fixture
def aws():
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("AWS_ENDPOINT_URL")}
    with mock_aws():
        yield boto3.session.Session(region_name=REGION)
    os.environ.update(saved)


def _event(request: str, **extra) -> dict:
    props = {"Name": "spaces-dev-ios", "Platform": "APNS_SANDBOX", "SecretId": "spaces-dev/push/apns", "Revision": "1"}
    return {"RequestType": request, "ResourceProperties": {**props, **extra.pop("props", {})}, **extra}


class TestPushApplicationResource:
    def test_create_makes_the_application_from_the_secret(self, aws):
        secrets, sns = aws.client("secretsmanager"), aws.client("sns")
        secrets.create_secret(Name="spaces-dev/push/apns", SecretString=json.dumps({**APNS, "Unrelated": "x"}))

        result = handler.on_event(_event("Create"), clients=(secrets, sns))

        arn = result["PhysicalResourceId"]
        assert arn.endswith(":app/APNS_SANDBOX/spaces-dev-ios") and result["Data"] == {"Arn": arn}
        attributes = sns.get_platform_application_attributes(PlatformApplicationArn=arn)["Attributes"]
        assert "Unrelated" not in attributes

    def test_update_after_rotation_keeps_the_application_and_sets_the_new_credentials(self, aws):
        secrets, sns = aws.client("secretsmanager"), aws.client("sns")
        secrets.create_secret(Name="spaces-dev/push/apns", SecretString=json.dumps(APNS))
        arn = handler.on_event(_event("Create"), clients=(secrets, sns))["PhysicalResourceId"]
        secrets.put_secret_value(SecretId="spaces-dev/push/apns", SecretString=json.dumps({**APNS, "PlatformPrincipal": "NEWKEY9999"}))

        result = handler.on_event(
            _event("Update", PhysicalResourceId=arn, props={"Revision": "2"},
                   OldResourceProperties=_event("Create")["ResourceProperties"]),
            clients=(secrets, sns),
        )

        assert result["PhysicalResourceId"] == arn
        attributes = sns.get_platform_application_attributes(PlatformApplicationArn=arn)["Attributes"]
        assert attributes["PlatformPrincipal"] == "NEWKEY9999"

    def test_delete_removes_the_application_and_tolerates_a_failed_create(self, aws):
        secrets, sns = aws.client("secretsmanager"), aws.client("sns")
        secrets.create_secret(Name="spaces-dev/push/apns", SecretString=json.dumps(APNS))
        arn = handler.on_event(_event("Create"), clients=(secrets, sns))["PhysicalResourceId"]

        handler.on_event(_event("Delete", PhysicalResourceId=arn), clients=(secrets, sns))
        handler.on_event(_event("Delete", PhysicalResourceId="some-failed-create-id"), clients=(secrets, sns))

        assert sns.list_platform_applications()["PlatformApplications"] == []

    def test_a_missing_secret_fails_the_deploy_with_what_to_do(self, aws):
        with pytest.raises(RuntimeError, match="does not exist: store the APNS_SANDBOX credentials first"):
            handler.on_event(_event("Create"), clients=(aws.client("secretsmanager"), aws.client("sns")))

    def test_a_secret_without_credentials_is_refused(self, aws):
        secrets = aws.client("secretsmanager")
        secrets.create_secret(Name="spaces-dev/push/apns", SecretString=json.dumps({"PlatformCredential": "x"}))
        with pytest.raises(RuntimeError, match="no PlatformPrincipal"):
            handler.on_event(_event("Create"), clients=(secrets, aws.client("sns")))


class TestIvsKeyCommand:
    def test_stores_a_matching_pair_and_never_overwrites_it(self, aws):
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        from infra.ivs_key import store_keypair

        secrets, ssm = aws.client("secretsmanager"), aws.client("ssm")
        settings = stage_settings("dev")
        store_keypair(settings, secrets, ssm)

        private = serialization.load_pem_private_key(
            secrets.get_secret_value(SecretId="spaces-dev/ivs-private-key-v1")["SecretString"].encode(), None
        )
        public = serialization.load_pem_public_key(
            ssm.get_parameter(Name="/spaces-dev/ivs-public-key-v1")["Parameter"]["Value"].encode()
        )
        assert isinstance(private.curve, ec.SECP384R1)
        public.verify(private.sign(b"token", ec.ECDSA(hashes.SHA384())), b"token", ec.ECDSA(hashes.SHA384()))

        with pytest.raises(SystemExit, match="already exists"):
            store_keypair(settings, secrets, ssm)


class TestPreflight:
    def test_destroying_prod_is_refused(self):
        from infra.preflight import main

        with pytest.raises(SystemExit) as refused:
            main(["destroy", "prod"])
        assert refused.value.code == 2

    def test_deploy_without_credentials_says_so_and_deploys_nothing(self, tmp_path):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
                   AWS_EC2_METADATA_DISABLED="true", AWS_DEFAULT_REGION=REGION)
        result = subprocess.run([sys.executable, "-m", "infra.preflight", "deploy", "dev"], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 1
        assert "no AWS credentials" in result.stderr and "nothing was deployed" in result.stderr

    def test_deploy_lists_every_missing_input_with_its_command(self, aws):
        from infra.preflight import missing_inputs

        problems = missing_inputs(stage_settings("dev"), aws, "123456789012", REGION)

        assert any("bootstrap aws://123456789012/us-east-1" in p for p in problems)
        assert any("python -m infra.ivs_key --stage dev" in p for p in problems)
        assert any("spaces-dev/push/apns" in p for p in problems)
        assert any("spaces-dev/push/fcm" in p for p in problems)
        assert any("spaces-dev/payments/stripe" in p for p in problems)

    def test_deploy_is_ready_once_the_inputs_exist(self, aws):
        from infra.ivs_key import store_keypair
        from infra.preflight import missing_inputs

        settings = stage_settings("dev")
        store_keypair(settings, aws.client("secretsmanager"), aws.client("ssm"))
        for name in (settings.apns_secret, settings.fcm_secret, settings.stripe_secret):
            aws.client("secretsmanager").create_secret(Name=name, SecretString="{}")
        aws.client("cloudformation").create_stack(
            StackName="CDKToolkit",
            TemplateBody=json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}),
        )

        assert missing_inputs(settings, aws, "123456789012", REGION) == []


class TestQueueNames:
    def test_a_deployed_stage_binds_its_consumers_to_the_queues_infra_creates(self):
        from chalicelib.config import Settings
        from chalicelib.jobs.reminders import consumer_queues

        settings = stage_settings("prod")
        got = consumer_queues(Settings(stage="prod", table_prefix=settings.prefix))
        assert got == (settings.fanout_queue, settings.push_queue)

    def test_explicit_names_and_the_local_stack_keep_theirs(self):
        from chalicelib.config import Settings
        from chalicelib.jobs.reminders import consumer_queues

        assert consumer_queues(Settings()) == ("spaces-local-fanout", "spaces-local-push")
        explicit = Settings(stage="dev", table_prefix="spaces-dev", fanout_queue="a", push_queue="b")
        assert consumer_queues(explicit) == ("a", "b")


def test_a_lambda_without_a_profile_stops_the_synth():
    from infra.permissions import profile_for

    with pytest.raises(SystemExit, match="no profile for"):
        profile_for("SomeNewJob")


def test_the_cost_model_puts_media_first_and_charges_no_ivs_call_per_join():
    from infra.costs import model

    costs = model()
    joins, hours = costs["per 10,000 joins"], costs["per 1,000 listener-hours"]
    assert joins["IVS API"] == 0 and 0 < sum(joins.values()) < 1
    assert hours["IVS participant-hours"] > 100 * (sum(hours.values()) - hours["IVS participant-hours"])
