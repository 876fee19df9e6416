"""One stack per stage: the Chalice app (through `chalice.cdk.Chalice`) and everything it uses.

Resources, by what the app reads in chalicelib/config.py:

| setting                                   | resource                                                    |
|-------------------------------------------|-------------------------------------------------------------|
| SPACES_TABLE_PREFIX                       | one DynamoDB table per PynamoDB model (infra/tables.py)     |
| SPACES_JWT_ISSUER / _AUDIENCE / JWKS_URL  | Cognito user pool and the mobile app client                 |
| SPACES_IVS_PUBLIC_KEY_ARN                 | AWS::IVS::PublicKey from the public half in SSM             |
| SPACES_IVS_PRIVATE_KEY_SECRET_ARN         | the private half in Secrets Manager (made by infra.ivs_key)  |
| SPACES_CURSOR_KEYS_SECRET_ARN             | the list cursors' signing keys in Secrets Manager (made here, a generated string) |
| SPACES_SCHEDULE_GROUP / _SCHEDULER_ROLE_ARN / _SCHEDULE_DLQ_ARN | Scheduler group, its execution role, its DLQ |
| SPACES_FANOUT_QUEUE / SPACES_PUSH_QUEUE   | SQS queues, each with a dead-letter queue                   |
| (none: Lambda reads the stream)           | the participants table's stream -> `fold_participant_counts`, failed batches to the count-fold DLQ |
| SPACES_SNS_APNS_ARN / SPACES_SNS_FCM_ARN  | SNS platform applications (custom resource, infra/push_apps)|
| SPACES_RECORDINGS_BUCKET / _IVS_STORAGE_CONFIGURATION_ARN | the recordings bucket (lifecycle = retention + 1 day) and IVS's storage configuration (participant recordings) |
| SPACES_WEB_CLIENT_URL                     | the web client's CloudFront URL (infra/web.py): the share page `/s/{id}` links there |
| SPACES_CHAT_LOGGING_CONFIGURATION_ARN     | the IVS Chat logging configuration rooms are created with, writing to the log group `/spaces/<stage>/chat-messages` |

The web client (infra/web.py): an S3 bucket behind CloudFront for its files, and a second Cognito
app client (hosted UI, authorization code + PKCE) whose id is the second SPACES_JWT_AUDIENCE.

They reach every Lambda through `stage_config`'s environment_variables; nothing of this is
written into `.chalice/config.json`.
"""
from __future__ import annotations

from pathlib import Path

from aws_cdk import Arn, ArnComponents, ArnFormat, Aws, CfnOutput, CustomResource, Duration, Fn, RemovalPolicy, Stack
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_ivs as ivs
from aws_cdk import aws_ivschat as ivschat
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_ssm as ssm
from aws_cdk import aws_wafv2 as wafv2
from aws_cdk import custom_resources as cr
from constructs import Construct

from infra import permissions
from infra.chalice_app import fresh_app_import, packaged_template, sqs_event_queues
from infra.metrics import NAMESPACE
from infra.monitoring import Monitored, Monitoring
from infra.nag import accept, accept_wildcard_resources
from infra.stages import API_GATEWAY_STAGE, APP_NAME, StageSettings
from infra.tables import create_tables
from infra.waf import api_web_acl
from infra.web import WebClient

ROOT = Path(__file__).resolve().parent.parent
SERVICE_NAME = "spaces-api"  # chalicelib.config.SERVICE_NAME


_RETENTION = {
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
}


def _retention(days: int) -> logs.RetentionDays:
    try:
        return _RETENTION[days]
    except KeyError:
        raise ValueError(f"log_retention_days must be one of {sorted(_RETENTION)}") from None


# Why the Lambda roles hold resource wildcards (tests/infra/test_iam.py checks that no action is one).
_WILDCARD_RESOURCES = (
    "resources the app creates at run time (IVS stages, channels, compositions, chat rooms, schedules, "
    "transcription jobs, push endpoints, recording objects) and a table's indexes and "
    "stream: named under this stage's prefix, account and region; '*' only for X-Ray and List actions, "
    "which take no resource"
)

# API Gateway's own answers (no route, throttled, WAF block, a failed integration) in the app's
# error shape {"code", "message"} (openapi.yaml, Error). $context.error.messageString is the
# message already quoted as a JSON string.
_GATEWAY_RESPONSES = {
    # A method/path with no route: API Gateway's "Missing Authentication Token" 403, which the
    # contract answers as 404 not_found (as `chalice local` and the app do).
    "MISSING_AUTHENTICATION_TOKEN": (404, "not_found", '"no route matches this method and path"'),
    "THROTTLED": (429, "throttled", "$context.error.messageString"),
    "WAF_FILTERED": (403, "forbidden", '"too many requests from this address; retry later"'),
    "DEFAULT_4XX": (None, "bad_request", "$context.error.messageString"),
    "DEFAULT_5XX": (None, "internal_server", "$context.error.messageString"),
}


def gateway_responses() -> dict:
    """The REST API's x-amazon-apigateway-gateway-responses (OpenAPI extension)."""
    responses = {}
    for kind, (status, code, message) in _GATEWAY_RESPONSES.items():
        response = {
            "responseParameters": {"gatewayresponse.header.Content-Type": "'application/json'"},
            "responseTemplates": {"application/json": f'{{"code": "{code}", "message": {message}}}'},
        }
        if status is not None:
            response["statusCode"] = str(status)
        responses[kind] = response
    return responses


# The API stage's access log, one JSON object per request ($context variables of API Gateway).
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "method": "$context.httpMethod",
    "path": "$context.path",
    "resourcePath": "$context.resourcePath",
    "status": "$context.status",
    "latencyMs": "$context.responseLatency",
    "integrationLatencyMs": "$context.integrationLatency",
    "responseLength": "$context.responseLength",
    "userAgent": "$context.identity.userAgent",
    "requestTime": "$context.requestTimeEpoch",
    "wafStatus": "$context.waf.status",
    "xrayTraceId": "$context.xrayTraceId",
}


class SpacesStack(Stack):
    """Everything one stage of Spaces needs. The construct id is the Chalice stage name, which
    `chalice.cdk.Chalice` reads from its scope; the CloudFormation stack is `spaces-<stage>`."""

    def __init__(self, scope: Construct, settings: StageSettings, **kwargs):
        super().__init__(
            scope,
            settings.name,
            stack_name=settings.stack_name,
            description=f"Spaces ({settings.name}): live audio rooms (infra/, issue 7)",
            termination_protection=settings.production,
            **kwargs,
        )
        self.settings = settings
        self.keep = RemovalPolicy.RETAIN if settings.production else RemovalPolicy.DESTROY

        self.tables = create_tables(self, settings)
        self._queues()
        self._schedules()
        self._identity()
        self._media_keys()
        self._cursor_keys()
        self._recordings()
        self._chat_log()
        self._push_applications()
        self._app()
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            settings=settings,
            watched=Monitored(
                function_names=self.function_names,
                dead_letter_queues={
                    "fanout": self.fanout_dlq,
                    "push": self.push_dlq,
                    "tickets": self.tickets_dlq,
                    "schedules": self.schedules_dlq,
                    "count-fold": self.count_fold_dlq,
                },
                tables=self.tables,
                schedule_group=self.schedule_group,
                stream_consumers=self.stream_consumers,
                max_iterator_age_s=settings.count_fold_max_lag_s,
            ),
        )
        self._outputs()

    # ------------------------------------------------------------------ queues and schedules

    def _dead_letter_queue(self, id: str, name: str) -> sqs.Queue:
        dlq = sqs.Queue(
            self,
            id,
            queue_name=name,
            retention_period=Duration.days(self.settings.dlq_retention_days),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        # Dead letters stop here: an operator reads them (alarm on any message, docs/operations.md).
        accept(dlq, "Serverless-SQSRedrivePolicy", "a dead-letter queue: the end of the line, read by an operator")
        accept(dlq, "AwsSolutions-SQS3", "a dead-letter queue itself (of a queue, of Scheduler, or of a stream mapping)")
        return dlq

    def _queue_with_dlq(self, id: str, name: str) -> tuple[sqs.Queue, sqs.Queue]:
        s = self.settings
        dlq = self._dead_letter_queue(f"{id}DeadLetters", f"{name}-dlq")
        queue = sqs.Queue(
            self,
            id,
            queue_name=name,
            # AWS's rule for a Lambda event source: at least six times the function's timeout,
            # so a message is not redelivered while its first delivery still runs.
            visibility_timeout=Duration.seconds(6 * s.worker_timeout_s),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=s.max_receive_count, queue=dlq),
        )
        return queue, dlq

    def _queues(self) -> None:
        s = self.settings
        self.fanout_queue, self.fanout_dlq = self._queue_with_dlq("FanoutQueue", s.fanout_queue)
        self.push_queue, self.push_dlq = self._queue_with_dlq("PushQueue", s.push_queue)
        self.tickets_queue, self.tickets_dlq = self._queue_with_dlq("TicketsQueue", s.tickets_queue)
        self.queues = {"fanout": self.fanout_queue, "push": self.push_queue, "tickets": self.tickets_queue}
        self.schedules_dlq = self._dead_letter_queue("SchedulesDeadLetters", s.schedules_dlq)
        # The count fold's on-failure destination: Lambda writes where a batch of the
        # participants stream failed every retry (shard, sequence numbers), not the records.
        self.count_fold_dlq = self._dead_letter_queue("CountFoldDeadLetters", s.count_fold_dlq)
        # Table suffix -> where its stream consumer's failed batches go.
        self.stream_failure_queues = {"participants": self.count_fold_dlq}

    def _schedules(self) -> None:
        s = self.settings
        self.schedule_group = scheduler.ScheduleGroup(
            self, "ScheduleGroup", schedule_group_name=s.schedule_group, removal_policy=self.keep
        )
        # Scheduler assumes this role to deliver a due reminder. Only for schedules of this
        # account's group (confused-deputy guard), and only into the fan-out queue, plus the
        # schedules' dead-letter queue, which Scheduler writes to with the same role.
        self.scheduler_role = iam.Role(
            self,
            "SchedulerRole",
            description=f"EventBridge Scheduler delivering {s.prefix} reminders to the fan-out queue",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnEquals": {"aws:SourceArn": self.schedule_group.schedule_group_arn},
                },
            ),
        )
        self.scheduler_role.add_to_policy(
            iam.PolicyStatement(
                actions=["sqs:SendMessage"],
                resources=[self.fanout_queue.queue_arn, self.schedules_dlq.queue_arn],
            )
        )

    # ------------------------------------------------------------------ identity and media keys

    def _identity(self) -> None:
        s = self.settings
        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            user_pool_name=s.prefix,
            self_sign_up_enabled=True,
            sign_in_aliases=cognito.SignInAliases(email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            standard_attributes=cognito.StandardAttributes(email=cognito.StandardAttribute(required=True, mutable=True)),
            password_policy=cognito.PasswordPolicy(min_length=10),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(sms=False, otp=True),
            deletion_protection=s.production,
            removal_policy=self.keep,
        )
        accept(self.user_pool, "AwsSolutions-COG1",
               "length over composition rules (NIST SP 800-63B 5.1.1.2): 10 characters, no forced character classes")
        accept(self.user_pool, "AwsSolutions-COG2", "TOTP MFA is offered to every user; requiring it would stop sign-up on a consumer app")
        accept(self.user_pool, "AwsSolutions-COG8",
               "the Essentials tier: the plus tier's threat protection is priced per active user, a decision for launch")
        # The mobile apps: a public client (no secret), SRP sign-in. The app verifies ID tokens:
        # their `aud` is this client's id (SPACES_JWT_AUDIENCE) and `sub` is the user id.
        self.app_client = self.user_pool.add_client(
            "MobileClient",
            user_pool_client_name=f"{s.prefix}-mobile",
            generate_secret=False,
            auth_flows=cognito.AuthFlow(user_srp=True),
            prevent_user_existence_errors=True,
            enable_token_revocation=True,
            id_token_validity=Duration.hours(1),
            access_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.days(30),
        )
        self.web = WebClient(self, "Web", user_pool=self.user_pool, settings=s, keep=self.keep)

    def _media_keys(self) -> None:
        s = self.settings
        # Both halves are made once, before the first deploy, by `python -m infra.ivs_key --stage
        # <stage>`: the private half never passes through CloudFormation. The public half is read
        # from SSM at deploy time (a CloudFormation parameter that resolves the SSM value).
        public_pem = ssm.StringParameter.value_for_string_parameter(self, s.ivs_public_key_parameter)
        self.ivs_public_key = ivs.CfnPublicKey(
            self,
            "IvsPublicKey",
            name=f"{s.prefix}-participant-tokens-v{s.ivs_key_version}",
            public_key_material=public_pem,
        )
        # The same public key verifies the playback tokens of the private overflow channels
        # (docs/overflow.md): one key pair, registered twice (stage tokens and playback tokens
        # have different claims, so neither passes for the other), rotated together.
        self.ivs_playback_key = ivs.CfnPlaybackKeyPair(
            self,
            "IvsPlaybackKeyPair",
            name=f"{s.prefix}-playback-tokens-v{s.ivs_key_version}",
            public_key_material=public_pem,
        )
        self.ivs_private_key_secret_arn = self._arn("secretsmanager", "secret", s.ivs_private_key_secret, colon=True)

    def _recordings(self) -> None:
        """The recordings bucket and what IVS needs to write into it (docs/recording.md).

        The bucket policy is left to IVS: creating the storage configuration makes IVS add the
        statement that lets it write (CreateStorageConfiguration), and a policy managed here
        would overwrite that statement on a later deploy. So no `enforce_ssl` (a CDK bucket
        policy) and no auto-delete custom resource (another one): objects are private (public
        access blocked, bucket owner enforced), SSE-S3 encrypted (what IVS requires), and reach
        people only through presigned HTTPS URLs. The bucket outlives the stack (retained): its
        lifecycle rule empties it within retention + 1 day.
        """
        s = self.settings
        self.recordings_bucket = s3.Bucket(
            self,
            "Recordings",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            # Versioned: an overwrite or a delete (a bug, a leaked key) leaves the previous version
            # for noncurrent_recordings_days, so a replay can be restored; then it goes too, so
            # the retention promise of docs/recording.md holds within that many days.
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="replay-retention",
                    enabled=True,
                    expiration=Duration.days(s.recordings_lifecycle_days),
                    noncurrent_version_expiration=Duration.days(s.noncurrent_recordings_days),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                ),
                # A delete marker left with no version behind it is removed too.
                s3.LifecycleRule(id="delete-markers", enabled=True, expired_object_delete_marker=True),
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        accept(self.recordings_bucket, "AwsSolutions-S10",
               "IVS owns this bucket's policy (it adds its write statement): a policy from the stack would replace it")
        accept(self.recordings_bucket, "AwsSolutions-S1",
               "objects reach people only through presigned URLs the API issues, and the API's access log records who asked")
        self.recording_storage = ivs.CfnStorageConfiguration(
            self,
            "RecordingStorage",
            name=f"{s.prefix}-recordings",
            s3=ivs.CfnStorageConfiguration.S3StorageConfigurationProperty(
                bucket_name=self.recordings_bucket.bucket_name
            ),
        )
        # The overflow channels' encoder configuration (docs/overflow.md): an audio room's
        # picture only needs to be small. Recording uses no composition, so no encoder.
        width, height, framerate, bitrate = s.recording_video
        self.recording_encoder = ivs.CfnEncoderConfiguration(
            self,
            "RecordingEncoder",
            name=f"{s.prefix}-recordings",
            video=ivs.CfnEncoderConfiguration.VideoProperty(
                width=width, height=height, framerate=framerate, bitrate=bitrate
            ),
        )

    def _chat_log(self) -> None:
        """The chat log (docs/room-events.md, "The chat log"): one IVS Chat logging configuration
        per stage, which the app attaches to every room it creates, writing to a log group of its
        own (not a function's: its retention and its readers are those of a moderation record).

        No resource policy here: CloudWatch Logs delivers IVS Chat's logs as "vended logs", and
        when the logging configuration is created (CloudFormation, with the deployer's
        permissions: logs:CreateLogDelivery, PutResourcePolicy, DescribeResourcePolicies,
        DescribeLogGroups, the create permissions of AWS::IVSChat::LoggingConfiguration) AWS adds
        the policy that lets delivery.logs.amazonaws.com write to the group, unless one already
        does (CloudWatch Logs user guide, "Logs sent to CloudWatch Logs"). A policy managed here
        would be a second one next to AWS's."""
        s = self.settings
        self.chat_log_group = logs.LogGroup(
            self,
            "ChatMessagesLogs",
            log_group_name=s.chat_log_group,
            retention=_retention(s.chat_log_retention_days),
            removal_policy=self.keep,
        )
        self.chat_logging = ivschat.CfnLoggingConfiguration(
            self,
            "ChatLogging",
            name=s.chat_logging_configuration,
            destination_configuration=ivschat.CfnLoggingConfiguration.DestinationConfigurationProperty(
                cloud_watch_logs=ivschat.CfnLoggingConfiguration.CloudWatchLogsDestinationConfigurationProperty(
                    # A Ref: the group exists before the configuration, and goes after it.
                    log_group_name=self.chat_log_group.log_group_name
                )
            ),
        )

    def _secret_policy_arn(self, name: str) -> str:
        # An imported secret's ARN ends in a random "-XXXXXX" that is unknown here.
        return self._arn("secretsmanager", "secret", f"{name}-??????", colon=True)

    # ------------------------------------------------------------------ push

    def _push_applications(self) -> None:
        s = self.settings
        apps = {
            "ios": (s.ios_app_name, s.apns_platform, s.apns_secret),
            "android": (s.android_app_name, "GCM", s.fcm_secret),
        }
        handler_name = f"{s.prefix}-push-apps"
        provider_name = f"{s.prefix}-push-apps-provider"
        handler_logs = logs.LogGroup(
            self, "PushAppsLogs", log_group_name=f"/aws/lambda/{handler_name}",
            retention=_retention(s.log_retention_days), removal_policy=RemovalPolicy.DESTROY,
        )
        provider_logs = logs.LogGroup(
            self, "PushAppsProviderLogs", log_group_name=f"/aws/lambda/{provider_name}",
            retention=_retention(s.log_retention_days), removal_policy=RemovalPolicy.DESTROY,
        )
        handler_role = iam.Role(self, "PushAppsRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        handler_role.add_to_policy(iam.PolicyStatement(actions=list(permissions.LOGS), resources=[handler_logs.log_group_arn]))
        handler_role.add_to_policy(
            iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue"],
                resources=[self._secret_policy_arn(secret) for _, _, secret in apps.values()],
            )
        )
        handler_role.add_to_policy(
            iam.PolicyStatement(
                actions=["sns:CreatePlatformApplication", "sns:SetPlatformApplicationAttributes", "sns:DeletePlatformApplication"],
                resources=[self._platform_app_arn(platform, name) for name, platform, _ in apps.values()],
            )
        )
        handler = lambda_.Function(
            self,
            "PushAppsHandler",
            function_name=handler_name,
            description="Custom resource: SNS platform applications from Secrets Manager credentials",
            runtime=lambda_.Runtime.PYTHON_3_14,
            memory_size=128,
            handler="handler.on_event",
            code=lambda_.Code.from_asset(str(Path(__file__).parent / "push_apps"), exclude=["__pycache__", "*.pyc"]),
            timeout=Duration.seconds(60),
            role=handler_role,
            log_group=handler_logs,
        )
        provider_role = iam.Role(self, "PushAppsProviderRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        provider_role.add_to_policy(iam.PolicyStatement(actions=list(permissions.LOGS), resources=[provider_logs.log_group_arn]))
        provider = cr.Provider(
            self,
            "PushAppsProvider",
            on_event_handler=handler,
            provider_function_name=provider_name,
            framework_on_event_role=provider_role,
            log_group=provider_logs,
        )
        for function in (handler, provider):
            accept(function, "Serverless-LambdaDLQ",
                   "a custom resource run by CloudFormation on deploy: a failure fails the deploy, nothing is lost")
            accept(function, "Serverless-LambdaTracing", "a custom resource run on deploy, not on a request path")
        accept(provider, "Serverless-LambdaDefaultMemorySize", "CDK's own provider framework function")
        accept(provider, "AwsSolutions-L1", "CDK's own provider framework function picks its runtime")
        accept_wildcard_resources(provider_role, [f"{handler.function_arn}:*"],
                                  "the provider invokes the handler function and its versions, granted by CDK")
        self.push_app_arns: dict[str, str] = {}
        self.push_app_endpoint_arns: list[str] = []
        for platform_key, (name, platform, secret) in apps.items():
            resource = CustomResource(
                self,
                f"PushApp-{platform_key}",
                service_token=provider.service_token,
                resource_type="Custom::SnsPlatformApplication",
                properties={
                    "Name": name,
                    "Platform": platform,
                    "SecretId": secret,
                    "Revision": str(s.push_credentials_revision),
                },
            )
            self.push_app_arns[platform_key] = resource.get_att_string("Arn")
            self.push_app_endpoint_arns.append(
                self._arn("sns", "endpoint", f"{platform}/{name}/*")
            )

    def _platform_app_arn(self, platform: str, name: str) -> str:
        return self._arn("sns", "app", f"{platform}/{name}")

    def _arn(self, service: str, resource: str, name: str, *, colon: bool = False) -> str:
        """arn:<partition>:<service>:<region>:<account>:<resource>/<name> (or <resource>:<name>)."""
        return Arn.format(
            ArnComponents(
                service=service,
                resource=resource,
                resource_name=name,
                arn_format=ArnFormat.COLON_RESOURCE_NAME if colon else ArnFormat.SLASH_RESOURCE_NAME,
            ),
            self,
        )

    def _cursor_keys(self) -> None:
        s = self.settings
        # The keys list cursors are signed with (chalicelib/adapters/cursors.py). Made by the
        # stack, so a new stage needs no manual step: a plain string is one key. Letters and
        # digits only: nothing a shell or JSON quoting trips on, and a value never starts with
        # "{", which the app would read as the rotation form `{"keys": [newest, ...]}`.
        # Destroyed with the stack in every stage: losing it only fails the cursors in flight.
        self.cursor_keys_secret = secretsmanager.Secret(
            self,
            "CursorKeys",
            secret_name=s.cursor_keys_secret,
            description=f"{s.prefix}: HMAC keys of the list routes' page cursors (docs/operations.md)",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True, include_space=False
            ),
            removal_policy=RemovalPolicy.DESTROY,
        )
        accept(
            self.cursor_keys_secret,
            "AwsSolutions-SMG4",
            "rotated by hand (docs/operations.md, 'Rotating the cursor keys'): a rotation must keep the old "
            "key listed until the cursors signed with it have expired, which a rotation Lambda's single swap cannot",
        )

    # ------------------------------------------------------------------ the app

    def _environment(self) -> dict[str, str]:
        s = self.settings
        issuer = self.user_pool.user_pool_provider_url
        env = {
            "SPACES_STAGE": s.name,
            "SPACES_TABLE_PREFIX": s.prefix,
            "SPACES_ACCOUNT_ID": Aws.ACCOUNT_ID,
            "SPACES_JWT_ISSUER": issuer,
            # ID tokens of the mobile apps' client and of the web client's (infra/web.py).
            "SPACES_JWT_AUDIENCE": f"{self.app_client.user_pool_client_id},{self.web.app_client.user_pool_client_id}",
            "SPACES_JWKS_URL": f"{issuer}/.well-known/jwks.json",
            "SPACES_MEDIA_BACKEND": "ivs",
            # The share page (GET /s/{id}) opens the web client on the Space it describes.
            "SPACES_WEB_CLIENT_URL": self.web.url,
            "SPACES_IVS_PUBLIC_KEY_ARN": self.ivs_public_key.attr_arn,
            "SPACES_IVS_PRIVATE_KEY_SECRET_ARN": self.ivs_private_key_secret_arn,
            "SPACES_CURSOR_KEYS_SECRET_ARN": self.cursor_keys_secret.secret_arn,
            "SPACES_OVERFLOW_ENCODER_CONFIGURATION_ARN": self.recording_encoder.attr_arn,
            "SPACES_SCHEDULE_GROUP": s.schedule_group,
            "SPACES_SCHEDULER_ROLE_ARN": self.scheduler_role.role_arn,
            "SPACES_SCHEDULE_DLQ_ARN": self.schedules_dlq.queue_arn,
            # Plain names, not tokens: the SQS consumers are bound to them when `chalice package`
            # imports the app (chalicelib/jobs/reminders.py).
            "SPACES_FANOUT_QUEUE": s.fanout_queue,
            "SPACES_PUSH_QUEUE": s.push_queue,
            "SPACES_TICKETS_QUEUE": s.tickets_queue,
            "SPACES_PAYMENTS_PROVIDER": "stripe",
            # One secret holds both (docs/operations.md, "Payments (Stripe)").
            "SPACES_STRIPE_API_KEY_SECRET_ARN": self._arn("secretsmanager", "secret", s.stripe_secret, colon=True),
            "SPACES_PAYMENTS_WEBHOOK_SECRET_ARN": self._arn("secretsmanager", "secret", s.stripe_secret, colon=True),
            "SPACES_SNS_APNS_ARN": self.push_app_arns["ios"],
            "SPACES_SNS_FCM_ARN": self.push_app_arns["android"],
            "SPACES_RECORDINGS_BUCKET": self.recordings_bucket.bucket_name,
            "SPACES_IVS_STORAGE_CONFIGURATION_ARN": self.recording_storage.attr_arn,
            # Rooms name the message review handler (a name, not a token: no cycle with the
            # function, which gets this environment too).
            "SPACES_CHAT_REVIEW_HANDLER_ARN": self._arn(
                "lambda", "function", s.function_name("chat_message_review"), colon=True
            ),
            # Every room the app creates is logged there (a token: no cycle, the configuration
            # depends on nothing of the app).
            "SPACES_CHAT_LOGGING_CONFIGURATION_ARN": self.chat_logging.attr_arn,
            "SPACES_REPLAY_RETENTION_DAYS": str(s.replay_retention_days),
            "SPACES_TRACING_ENABLED": "true",
            "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": NAMESPACE,
        }
        env.update(s.app_overrides)
        return env

    def _role_for(self, profile: permissions.LambdaProfile, log_group: logs.LogGroup) -> iam.Role:
        role = iam.Role(
            self,
            f"{profile.logical_id}Role",
            description=f"{self.settings.function_name(profile.chalice_name)}: least privilege (infra/permissions.py)",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        )

        def allow(actions, resources, **kw):
            role.add_to_policy(iam.PolicyStatement(actions=list(actions), resources=list(resources), **kw))
            accept_wildcard_resources(role, resources, _WILDCARD_RESOURCES)

        allow(permissions.LOGS, [log_group.log_group_arn])
        allow(permissions.XRAY, ["*"])  # X-Ray has no resource-level permissions
        suffixes = list(self.tables)
        reads = permissions.tables_of(profile.reads, suffixes)
        writes = permissions.tables_of(profile.writes, suffixes)
        if reads:
            allow(permissions.DYNAMODB_READ, [a for t in reads for a in self.tables[t].resource_arns])
        if writes:
            allow(permissions.DYNAMODB_WRITE, [self.tables[t].arn for t in writes])
        appends = permissions.tables_of(profile.appends, suffixes)
        if appends:
            allow(permissions.DYNAMODB_APPEND, [self.tables[t].arn for t in appends])
            allow(permissions.DYNAMODB_QUERY, [a for t in appends for a in self.tables[t].resource_arns])
        updates = permissions.tables_of(profile.updates, suffixes)
        if updates:
            allow(permissions.DYNAMODB_UPDATE, [self.tables[t].arn for t in updates])
        if profile.consumes_stream:
            table = self.tables[profile.consumes_stream]
            allow(permissions.DYNAMODB_STREAM_READ, table.stream_resource_arns)
            allow(permissions.DYNAMODB_LIST_STREAMS, ["*"])  # a List action: no resource-level permissions
            # Lambda sends a failed batch's description to the on-failure queue with this role.
            allow(["sqs:SendMessage"], [self.stream_failure_queues[profile.consumes_stream].queue_arn])
        if profile.ivs_stage_actions:
            allow(profile.ivs_stage_actions, [self._arn("ivs", "stage", "*")])
        if profile.ivs_channel_actions:
            allow(profile.ivs_channel_actions, [self._arn("ivs", "channel", "*")])
        if profile.ivs_composition_actions:
            allow(
                profile.ivs_composition_actions,
                [self._arn("ivs", kind, "*") for kind in ("composition", "stage", "channel", "encoder-configuration")],
            )
        if profile.lists_ivs_stages:
            allow(permissions.IVS_LIST_STAGES, ["*"])  # a List action: no resource-level permissions
        if profile.ivs_chat_room_actions:
            allow(profile.ivs_chat_room_actions, [self._arn("ivschat", "room", "*")])
        if profile.lists_chat_rooms:
            allow(permissions.IVS_CHAT_LIST_ROOMS, ["*"])  # a List action: no resource-level permissions
        if profile.reads_ivs_private_key:
            allow(["secretsmanager:GetSecretValue"], [self._secret_policy_arn(self.settings.ivs_private_key_secret)])
        if profile.creates_push_endpoints:
            allow(["sns:CreatePlatformEndpoint"], list(self.push_app_arns.values()))
        if profile.push_endpoint_actions:
            allow(profile.push_endpoint_actions, self.push_app_endpoint_arns)
        if profile.manages_schedules:
            allow(
                ["scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule"],
                [self._arn("scheduler", "schedule", f"{self.settings.schedule_group}/*")],
            )
            allow(
                ["iam:PassRole"],
                [self.scheduler_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
            )
        if profile.reads_payment_secret:
            allow(["secretsmanager:GetSecretValue"], [self._secret_policy_arn(self.settings.stripe_secret)])
        if profile.reads_cursor_keys:
            allow(["secretsmanager:GetSecretValue"], [self.cursor_keys_secret.secret_arn])
        if profile.ivs_recording_actions:
            # CreateStage of a stage that records: on the stage, and on the storage configuration
            # it names (whether IAM checks the latter for CreateStage is not verified here).
            allow(profile.ivs_recording_actions, [self._arn("ivs", "stage", "*"), self.recording_storage.attr_arn])
        if profile.recordings_object_actions:
            allow(profile.recordings_object_actions, [self.recordings_bucket.arn_for_objects("*")])
        if profile.lists_recordings:
            allow(["s3:ListBucket"], [self.recordings_bucket.bucket_arn])
        if profile.transcription_actions:
            # Job names are "<table prefix>-<space id>" (services/replay_landing.py).
            allow(profile.transcription_actions, [self._arn("transcribe", "transcription-job", f"{self.settings.prefix}-*")])
        if profile.sends_to:
            allow(permissions.SQS_SEND, [self.queues[q].queue_arn for q in profile.sends_to])
        if profile.consumes:
            allow(permissions.SQS_CONSUME, [self.queues[profile.consumes].queue_arn])
        return role

    def _app(self) -> None:
        from chalice.cdk import Chalice

        s = self.settings
        # Chalice must know a role for the functions it packages; each function's Role is then
        # replaced by its own (below). The API's role is the placeholder.
        api_profile = permissions.profile_for("APIHandler")
        api_logs = self._log_group(api_profile)
        api_role = self._role_for(api_profile, api_logs)
        stage_config = {
            "api_gateway_stage": API_GATEWAY_STAGE,
            "manage_iam_role": False,
            "iam_role_arn": api_role.role_arn,
            "autogen_policy": False,
            "xray": True,
            "lambda_memory_size": s.worker_memory_mb,
            "lambda_timeout": s.worker_timeout_s,
            "environment_variables": self._environment(),
            "tags": {"app": APP_NAME, "stage": s.name},
        }
        # PyAV and numpy for the landing job's mixing go in through vendor/ (infra/vendor.py).
        from infra.vendor import ensure_vendored

        ensure_vendored()
        with fresh_app_import():
            self.chalice = Chalice(self, "ChaliceApp", source_dir=str(ROOT), stage_config=stage_config)
        template = packaged_template(self.chalice)

        function_ids = [
            logical_id
            for logical_id, resource in template["Resources"].items()
            if resource["Type"] == "AWS::Serverless::Function"
        ]
        self.function_names: dict[str, str] = {}
        roles: dict[str, iam.Role] = {}
        for logical_id in function_ids:
            profile = permissions.profile_for(logical_id)
            if profile is api_profile:
                log_group, role = api_logs, api_role
            else:
                log_group = self._log_group(profile)
                role = self._role_for(profile, log_group)
            name = s.function_name(profile.chalice_name)
            fn = self.chalice.get_resource(logical_id)
            fn.add_property_override("FunctionName", name)
            fn.add_property_override("Role", role.role_arn)
            if profile.memory_mb:
                fn.add_property_override("MemorySize", profile.memory_mb)
            if profile.timeout_s:
                fn.add_property_override("Timeout", profile.timeout_s)
            if profile.ephemeral_storage_mb:
                fn.add_property_override("EphemeralStorage", {"Size": profile.ephemeral_storage_mb})
            if profile.kind == "api":
                fn.add_property_override("MemorySize", s.api_memory_mb)
                fn.add_property_override("Timeout", s.api_timeout_s)
                if s.api_reserved_concurrency is not None:
                    fn.add_property_override("ReservedConcurrentExecutions", s.api_reserved_concurrency)
            if profile.consumes or profile.consumes_stream:
                try:
                    reserved = s.consumer_reserved_concurrency[profile.chalice_name]
                except KeyError:
                    raise SystemExit(
                        f"{profile.chalice_name} consumes a queue or stream but has no reserved concurrency "
                        "(StageSettings.consumer_reserved_concurrency, docs/operations.md)"
                    ) from None
                fn.add_property_override("ReservedConcurrentExecutions", reserved)
            fn.add_resource_dependency(log_group.node.default_child)
            self.function_names[logical_id] = name
            roles[logical_id] = role

        # The consumers were bound to queue names when `chalice package` imported the app: make
        # sure those are the queues this stack creates, or stop here rather than deploy a
        # consumer listening to nothing.
        queue_names = {"fanout": s.fanout_queue, "push": s.push_queue, "tickets": s.tickets_queue}
        for logical_id, queue_name in sqs_event_queues(template).items():
            want = queue_names.get(permissions.profile_for(logical_id).consumes or "")
            if queue_name != want:
                raise SystemExit(
                    f"{logical_id} is bound to SQS queue {queue_name!r}, but this stack creates {want!r}. "
                    "chalicelib/jobs/reminders.py must take the queue names from the stage's settings."
                )

        # The consumers answer with a partial batch response (chalicelib/jobs/batch.py): only the
        # messages that failed return to their queue. Chalice has no option for it.
        for logical_id, resource in template["Resources"].items():
            for event_id, event in (resource.get("Properties", {}).get("Events") or {}).items():
                if event.get("Type") == "SQS":
                    self.chalice.get_resource(logical_id).add_property_override(
                        f"Events.{event_id}.Properties.FunctionResponseTypes", ["ReportBatchItemFailures"]
                    )

        # IVS Chat may invoke the message review handler, for this account's rooms only.
        review = next(lid for lid in function_ids if permissions.profile_for(lid).chalice_name == "chat_message_review")
        invoke = lambda_.CfnPermission(
            self,
            "ChatMessageReviewInvokedByIvsChat",
            action="lambda:InvokeFunction",
            function_name=self.function_names[review],
            principal="ivschat.amazonaws.com",
            source_account=Aws.ACCOUNT_ID,
            source_arn=self._arn("ivschat", "room", "*"),
        )
        invoke.add_dependency(self.chalice.get_resource(review))

        self.stream_consumers: dict[str, str] = {}
        for logical_id in function_ids:
            profile = permissions.profile_for(logical_id)
            if profile.consumes_stream:
                self._bind_stream(logical_id, profile.consumes_stream, roles[logical_id])

        # One API name per stage, so API Gateway's metrics (dimension ApiName) never mix stages.
        api = self.chalice.get_resource("RestAPI")
        api.add_property_override("Name", s.prefix)
        api.add_property_override("DefinitionBody.info.title", s.prefix)
        self._harden_api(api)

    def _harden_api(self, api) -> None:
        """The API stage's access log, X-Ray tracing, gateway responses and WAF.

        Set on the SAM API (AWS::Serverless::Api) that `chalice package` writes: the stage and
        its deployment are made from it by the SAM transform. The gateway responses go into the
        definition body, so a change to them changes the definition and SAM redeploys the stage.
        """
        s = self.settings
        self.api_access_logs = logs.LogGroup(
            self,
            "ApiAccessLogs",
            log_group_name=s.api_access_log_group,
            retention=_retention(s.log_retention_days),
            removal_policy=self.keep,
        )
        api.add_property_override("TracingEnabled", True)
        api.add_property_override(
            "AccessLogSetting",
            {"DestinationArn": self.api_access_logs.log_group_arn, "Format": Fn.to_json_string(ACCESS_LOG_FORMAT)},
        )
        api.add_property_override("DefinitionBody.x-amazon-apigateway-gateway-responses", gateway_responses())
        self.api_web_acl = api_web_acl(self, s)
        association = wafv2.CfnWebACLAssociation(
            self,
            "ApiWebAclAssociation",
            resource_arn=f"arn:{Aws.PARTITION}:apigateway:{Aws.REGION}::/restapis/{api.ref}/stages/{API_GATEWAY_STAGE}",
            web_acl_arn=self.api_web_acl.attr_arn,
        )
        # The stage exists once SAM has made it: RestAPI<stage>Stage, SAM's name for it.
        association.add_override("DependsOn", [f"RestAPI{API_GATEWAY_STAGE}Stage"])

    def _bind_stream(self, logical_id: str, table_suffix: str, role: iam.Role) -> None:
        """The table's stream as the function's event source (Chalice has no stream event source
        for a table it does not know: the function is a plain `@lambda_function`).

        TRIM_HORIZON: the first deploy creates the stream before the mapping, and a join written
        in between is folded too. A failing batch is halved until the failing record is alone
        (bisect), each part retried; after the retries Lambda records the batch in the DLQ and
        the shard moves on, so one poison record cannot hold every later count back for the
        stream's 24 hours. Retrying and replaying are safe: the fold is idempotent."""
        s = self.settings  # count_fold_*: the participants stream is the only one consumed
        mapping = lambda_.CfnEventSourceMapping(
            self,
            f"{logical_id}StreamSource",
            function_name=self.function_names[logical_id],
            event_source_arn=self.tables[table_suffix].stream_arn,
            starting_position="TRIM_HORIZON",
            batch_size=s.count_fold_batch_size,
            maximum_batching_window_in_seconds=s.count_fold_batching_window_s,
            bisect_batch_on_function_error=True,
            maximum_retry_attempts=s.count_fold_retry_attempts,
            parallelization_factor=s.count_fold_parallelization,
            destination_config=lambda_.CfnEventSourceMapping.DestinationConfigProperty(
                on_failure=lambda_.CfnEventSourceMapping.OnFailureProperty(
                    destination=self.stream_failure_queues[table_suffix].queue_arn
                )
            ),
        )
        # Lambda checks the role can read the stream when the mapping is created: after the
        # function and after the role's policy (a dependency on the role covers its policy).
        mapping.add_resource_dependency(self.chalice.get_resource(logical_id))
        mapping.node.add_dependency(role)
        self.stream_consumers[logical_id] = self.function_names[logical_id]

    def _log_group(self, profile: permissions.LambdaProfile) -> logs.LogGroup:
        s = self.settings
        return logs.LogGroup(
            self,
            f"{profile.logical_id}Logs",
            log_group_name=f"/aws/lambda/{s.function_name(profile.chalice_name)}",
            retention=_retention(s.log_retention_days),
            removal_policy=self.keep,
        )

    def _outputs(self) -> None:
        CfnOutput(self, "UserPoolId", value=self.user_pool.user_pool_id)
        CfnOutput(self, "UserPoolClientId", value=self.app_client.user_pool_client_id)
        CfnOutput(self, "JwtIssuer", value=self.user_pool.user_pool_provider_url)
        CfnOutput(self, "IvsPublicKeyArn", value=self.ivs_public_key.attr_arn)
        CfnOutput(self, "AlarmTopicArn", value=self.monitoring.topic.topic_arn)
        CfnOutput(self, "DashboardName", value=self.settings.prefix)
        api = self.chalice.get_resource("RestAPI")
        CfnOutput(self, "ApiUrl", value=f"https://{api.ref}.execute-api.{Aws.REGION}.{Aws.URL_SUFFIX}/{API_GATEWAY_STAGE}")
        self.web.outputs(self)
        CfnOutput(self, "RecordingsBucket", value=self.recordings_bucket.bucket_name)
        CfnOutput(self, "ChatLogGroup", value=self.chat_log_group.log_group_name)
        CfnOutput(self, "CursorKeysSecretArn", value=self.cursor_keys_secret.secret_arn)
