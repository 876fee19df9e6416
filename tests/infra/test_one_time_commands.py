"""The pieces that run against AWS with the operator's credentials or at deploy time, tested
against moto: the push platform application custom resource, the IVS key command, the preflight
checks of `make deploy` / `make destroy`, the consumers' queue names, and replaying the count
fold's failed batches."""
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


class _Fold:
    """Lambda's Invoke of the fold: records each payload; fails while `failing`."""

    def __init__(self, failing: bool = False):
        self.failing = failing
        self.payloads: list[dict] = []

    def invoke(self, *, FunctionName: str, Payload: bytes) -> dict:
        assert FunctionName == "spaces-dev-fold_participant_counts"
        self.payloads.append(json.loads(Payload))
        return {"StatusCode": 200, "FunctionError": "Unhandled"} if self.failing else {"StatusCode": 200}


class TestReplayCountFold:
    """A batch the fold gave up is read from the participants stream again and folded."""

    @pytest.fixture
    def stream(self, aws):
        dynamodb = aws.client("dynamodb")
        dynamodb.create_table(
            TableName="spaces-dev-participants",
            KeySchema=[{"AttributeName": "key", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "key", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        )
        for user in ("ann", "bob", "cy"):
            dynamodb.put_item(
                TableName="spaces-dev-participants",
                Item={"key": {"S": f"sp1#{user}"}, "space_id": {"S": "sp1"}, "user_id": {"S": user},
                      "connected": {"BOOL": True}, "count_shard": {"N": "3"}},
            )
        arn = dynamodb.describe_table(TableName="spaces-dev-participants")["Table"]["LatestStreamArn"]
        streams = aws.client("dynamodbstreams")
        [shard] = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")
        numbers = [r["dynamodb"]["SequenceNumber"] for r in streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]]
        return arn, shard["ShardId"], numbers

    def _dead_letter(self, aws, arn, shard, first, last) -> str:
        sqs = aws.client("sqs")
        url = sqs.create_queue(QueueName="spaces-dev-count-fold-dlq")["QueueUrl"]
        # What Lambda sends to a stream mapping's on-failure destination (its batch, not records).
        body = {
            "requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": 11},
            "version": "1.0",
            "DDBStreamBatchInfo": {"shardId": shard, "startSequenceNumber": first, "endSequenceNumber": last,
                                   "batchSize": 2, "streamArn": arn},
        }
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))
        return url

    def _left_in(self, aws, url) -> int:
        attributes = aws.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def test_the_batch_is_folded_again_with_exactly_its_records_and_leaves_the_queue(self, aws, stream):
        from chalicelib.adapters.dynamodb.counts import changes_from_records
        from infra.replay_count_fold import replay

        arn, shard, numbers = stream
        url = self._dead_letter(aws, arn, shard, numbers[0], numbers[1])  # ann and bob, not cy
        fold = _Fold()

        report = replay(stage_settings("dev"), aws.client("sqs"), aws.client("dynamodbstreams"), fold)

        assert len(report.replayed) == 1 and not report.gone and not report.failed
        [payload] = fold.payloads
        # The event shape the fold reads: the same changes Lambda's delivery would have made.
        assert sorted(c.user_id for c in changes_from_records(payload["Records"])) == ["ann", "bob"]
        assert self._left_in(aws, url) == 0

    def test_a_batch_that_fails_again_stays_in_the_queue(self, aws, stream):
        from infra.replay_count_fold import replay

        arn, shard, numbers = stream
        url = self._dead_letter(aws, arn, shard, numbers[0], numbers[2])

        report = replay(stage_settings("dev"), aws.client("sqs"), aws.client("dynamodbstreams"), _Fold(failing=True))

        assert len(report.failed) == 1 and not report.replayed
        assert self._left_in(aws, url) == 1

    def test_a_batch_the_stream_no_longer_has_is_reported_and_kept(self, aws, stream):
        from infra.replay_count_fold import replay

        from botocore.stub import Stubber

        arn, shard, numbers = stream
        url = self._dead_letter(aws, arn, shard, numbers[0], numbers[1])
        fold = _Fold()
        streams = aws.client("dynamodbstreams")
        # What DynamoDB Streams answers for records past its 24 hours (moto keeps them forever).
        stubber = Stubber(streams)
        stubber.add_client_error("get_shard_iterator", service_error_code="TrimmedDataAccessException")

        with stubber:
            report = replay(stage_settings("dev"), aws.client("sqs"), streams, fold)

        assert len(report.gone) == 1 and fold.payloads == []
        assert self._left_in(aws, url) == 1

    def test_a_dry_run_invokes_nothing_and_deletes_nothing(self, aws, stream):
        from infra.replay_count_fold import replay

        arn, shard, numbers = stream
        url = self._dead_letter(aws, arn, shard, numbers[0], numbers[2])
        fold = _Fold()

        report = replay(stage_settings("dev"), aws.client("sqs"), aws.client("dynamodbstreams"), fold, dry_run=True)

        assert len(report.replayed) == 1 and fold.payloads == []
        assert self._left_in(aws, url) == 1


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
        assert any("CloudWatch Logs role" in p for p in problems)
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
        role = aws.client("iam").create_role(RoleName="apigateway-logs", AssumeRolePolicyDocument="{}")["Role"]
        aws.client("apigateway").update_account(
            patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": role["Arn"]}]
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
