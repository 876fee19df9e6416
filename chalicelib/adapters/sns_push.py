"""PushPort over Amazon SNS mobile push: one platform endpoint per device token, published to
directly (no topic), on an APNs platform application for iOS and an FCM ("GCM" in SNS) one for
Android.

Registering a token follows the procedure AWS recommends ("Creating a platform endpoint" in the
SNS developer guide, and the AWS Mobile blog post "Mobile token management with Amazon SNS"):
CreatePlatformEndpoint with the application ARN and the token, then GetEndpointAttributes, then
SetEndpointAttributes only when the endpoint is disabled or holds another token. That makes
re-registering idempotent (same token, same endpoint) and revives an endpoint SNS disabled after
an uninstall and reinstall.

Why no CustomUserData on the endpoint (the user id): CreatePlatformEndpoint is idempotent only
for "the same device token and attributes". With the user id stored on the endpoint, a token that
moves to another user (a shared phone, a new login) makes SNS answer InvalidParameter ("already
exists with the same Token, but different attributes"), and the existing endpoint's ARN is then
only in the error *message*: AWS's own sample regex-parses it, which this codebase never does (we
decide by error code only). SNS does not use CustomUserData; who owns a device is the devices
table's business, so the endpoint carries only the token and moving a token is a no-op here.

Failures, by error code only, each declared to `aws_call` (adapters/aws_errors.py) as tolerated or
with its meaning:

- Publish: EndpointDisabled (SNS disabled the endpoint after APNs/FCM reported the token
  invalid) and NotFound (the endpoint was deleted) raise `EndpointGone`: the caller forgets the
  device. InvalidParameter is ambiguous (a bad message, or, in some SNS responses, a target
  endpoint that no longer exists), so it is settled with one GetEndpointAttributes on that failure
  path only: NotFound or Enabled=false there means EndpointGone, otherwise DependencyFailed.
- Everything else (Throttled, KMSThrottling, InternalError, PlatformApplicationDisabled, 5xx,
  connection errors, timeouts) raises `DependencyFailed(code="push_unavailable")`, from the
  original exception.
- CreatePlatformEndpoint InvalidParameter means SNS refused the token (malformed, or an endpoint
  for it exists with attributes this adapter never sets): `BadRequest(code="invalid_token_value")`.
- DeleteEndpoint is idempotent in SNS; NotFound is treated as success anyway.
"""
from __future__ import annotations

import json

from chalicelib.adapters.aws_errors import aws_call
from chalicelib.domain.errors import BadRequest, DependencyFailed
from chalicelib.domain.reminders import PushMessage
from chalicelib.ports import EndpointGone

PUSH_UNAVAILABLE = "push_unavailable"
INVALID_TOKEN = "invalid_token_value"
ENDPOINT_DISABLED = "EndpointDisabled"
NOT_FOUND = "NotFound"
INVALID_PARAMETER = "InvalidParameter"
PLATFORMS = ("ios", "android")


def message_structure(message: PushMessage) -> dict[str, str]:
    """The `MessageStructure="json"` body of Publish: one JSON *string* per platform key.

    - `default`: required by SNS with MessageStructure json; used by platforms we do not target.
    - `APNS` / `APNS_SANDBOX`: the APNs payload, `{"aps": {"alert": {"title", "body"},
      "sound": "default"}, <data keys at top level>}` (Apple: custom keys sit beside `aps`).
      Both keys are sent so the same code works with production and sandbox applications.
    - `GCM`: the FCM HTTP v1 payload SNS documents today, `{"fcmV1Message": {"message":
      {"notification": {"title", "body"}, "data": {...}}}}` (SNS developer guide, "Publishing
      with platform-specific payloads" and "Using Google Firebase Cloud Messaging v1 payloads in
      Amazon SNS"; Google shut the legacy FCM API down in 2024 and SNS asks for v1 apps). FCM v1
      requires every `data` value to be a string, so values are converted with `str`.
    """
    data = dict(message.data)
    apns = json.dumps(
        {"aps": {"alert": {"title": message.title, "body": message.body}, "sound": "default"}, **data}
    )
    fcm = json.dumps(
        {
            "fcmV1Message": {
                "message": {
                    "notification": {"title": message.title, "body": message.body},
                    "data": {str(k): str(v) for k, v in data.items()},
                }
            }
        }
    )
    return {"default": message.body, "APNS": apns, "APNS_SANDBOX": apns, "GCM": fcm}


class SnsPush:
    """PushPort implemented with SNS platform endpoints."""

    def __init__(self, client, *, platform_apps: dict):
        self._client = client
        self._apps = dict(platform_apps)

    def create_endpoint(self, platform: str, token: str, user_id: str) -> str:
        """The endpoint ARN for `token`, enabled and holding that token.

        `user_id` is not stored on the endpoint (see the module docstring): the same token gives
        the same endpoint whoever registers it.
        """
        application_arn = self._application(platform)
        refused = {
            INVALID_PARAMETER: lambda: BadRequest("the push service refused this device token", code=INVALID_TOKEN)
        }
        create = {"PlatformApplicationArn": application_arn, "Token": token}
        arn = self._call("CreatePlatformEndpoint", self._client.create_platform_endpoint, meaning=refused, **create)[
            "EndpointArn"
        ]

        read = self._call(
            "GetEndpointAttributes", self._client.get_endpoint_attributes, tolerate=(NOT_FOUND,), EndpointArn=arn
        )
        if read is None:
            # Deleted between the two calls (a concurrent unregister): create it afresh.
            return self._call("CreatePlatformEndpoint", self._client.create_platform_endpoint, **create)["EndpointArn"]

        attributes = read["Attributes"]
        if attributes.get("Token") != token or attributes.get("Enabled", "true").lower() != "true":
            self._call(
                "SetEndpointAttributes",
                self._client.set_endpoint_attributes,
                EndpointArn=arn,
                Attributes={"Token": token, "Enabled": "true"},
            )
        return arn

    def delete_endpoint(self, endpoint_arn: str) -> None:
        self._call("DeleteEndpoint", self._client.delete_endpoint, tolerate=(NOT_FOUND,), EndpointArn=endpoint_arn)

    def publish(self, endpoint_arn: str, platform: str, message: PushMessage) -> None:
        self._application(platform)  # an unknown platform is a bug upstream: fail loudly

        def gone() -> EndpointGone:
            return EndpointGone(endpoint_arn)

        def gone_if_so() -> EndpointGone | None:
            return gone() if self._endpoint_is_gone(endpoint_arn) else None

        self._call(
            "Publish",
            self._client.publish,
            meaning={ENDPOINT_DISABLED: gone, NOT_FOUND: gone, INVALID_PARAMETER: gone_if_so},
            TargetArn=endpoint_arn,
            MessageStructure="json",
            Message=json.dumps(message_structure(message)),
        )

    # ------------------------------------------------------------------ internals

    def _application(self, platform: str) -> str:
        if platform not in PLATFORMS or not self._apps.get(platform):
            raise ValueError(f"no SNS platform application for platform {platform!r}")
        return self._apps[platform]

    def _endpoint_is_gone(self, endpoint_arn: str) -> bool:
        """Settles an ambiguous Publish failure by asking about the endpoint itself."""
        try:
            read = self._call(
                "GetEndpointAttributes",
                self._client.get_endpoint_attributes,
                tolerate=(NOT_FOUND,),
                EndpointArn=endpoint_arn,
            )
        except DependencyFailed:
            return False  # cannot tell: let the caller retry the publish
        if read is None:
            return True
        return read["Attributes"].get("Enabled", "true").lower() != "true"

    @staticmethod
    def _call(operation: str, method, **options):
        """`aws_call` for SNS: every failure not named in `tolerate` / `meaning` is push_unavailable."""
        return aws_call("SNS", operation, method, code=PUSH_UNAVAILABLE, **options)
