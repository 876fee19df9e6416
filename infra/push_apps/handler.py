"""Custom resource: one SNS platform application (APNs or FCM) whose credentials live in Secrets
Manager. CloudFormation has no AWS::SNS::PlatformApplication.

Why a function of our own rather than AwsCustomResource: the credentials are a .p8 key with
newlines, or a whole Firebase service-account JSON. AwsCustomResource can only pass them as
template values (a `{{resolve:secretsmanager}}` reference pasted inside its JSON-encoded call,
which breaks on those characters, and would show them in the CloudFormation event). This
handler reads the secret itself, at deploy time, so the credentials never appear in the template,
the stack events or the logs.

Properties (from infra/stack.py):
  Name       platform application name, e.g. "spaces-prod-ios"
  Platform   "APNS", "APNS_SANDBOX" or "GCM" (FCM)
  SecretId   the secret: a JSON object whose keys are SNS platform application attributes,
             e.g. {"PlatformCredential": "<.p8 key>", "PlatformPrincipal": "<key id>",
             "ApplePlatformTeamID": "...", "ApplePlatformBundleID": "..."} for APNs (token auth),
             {"PlatformCredential": "<service account JSON>"} for FCM HTTP v1
  Revision   bumped by the operator after changing the secret: an update re-reads it

Run by the CDK Provider framework: return a dict, raise to fail (the message reaches the stack
event). Runs on Lambda's Python runtime, whose boto3 is enough.
"""
from __future__ import annotations

import json

# What SNS accepts on a platform application that a secret may set. Event topics, success
# feedback roles and the like are not credentials and are not taken from the secret.
CREDENTIAL_ATTRIBUTES = (
    "PlatformCredential",
    "PlatformPrincipal",
    "ApplePlatformTeamID",
    "ApplePlatformBundleID",
)
PLATFORMS = ("APNS", "APNS_SANDBOX", "GCM")


def _error_code(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    return (response or {}).get("Error", {}).get("Code") if isinstance(response, dict) else None


def _clients():
    import boto3

    return boto3.client("secretsmanager"), boto3.client("sns")


def credentials(secrets, secret_id: str, platform: str) -> dict[str, str]:
    """The platform application attributes stored in `secret_id`, checked for shape."""
    try:
        raw = secrets.get_secret_value(SecretId=secret_id)["SecretString"]
    except Exception as exc:
        if _error_code(exc) != "ResourceNotFoundException":
            raise
        raise RuntimeError(
            f"secret {secret_id!r} does not exist: store the {platform} credentials first "
            "(docs/operations.md, 'Push credentials')"
        ) from None
    try:
        value = json.loads(raw)
    except ValueError:
        raise RuntimeError(f"secret {secret_id!r} is not a JSON object of platform attributes") from None
    if not isinstance(value, dict):
        raise RuntimeError(f"secret {secret_id!r} is not a JSON object of platform attributes")
    attributes = {k: str(v) for k, v in value.items() if k in CREDENTIAL_ATTRIBUTES and v}
    if "PlatformCredential" not in attributes:
        raise RuntimeError(f"secret {secret_id!r} has no PlatformCredential")
    if platform.startswith("APNS") and "PlatformPrincipal" not in attributes:
        raise RuntimeError(f"secret {secret_id!r} has no PlatformPrincipal (the APNs key id or certificate)")
    return attributes


def _properties(event: dict) -> tuple[str, str, str]:
    props = event["ResourceProperties"]
    name, platform, secret_id = props["Name"], props["Platform"], props["SecretId"]
    if platform not in PLATFORMS:
        raise RuntimeError(f"Platform must be one of {PLATFORMS}, not {platform!r}")
    return name, platform, secret_id


def _is_application_arn(value: str) -> bool:
    return value.startswith("arn:") and ":app/" in value


def on_event(event: dict, context=None, clients=None) -> dict:
    secrets, sns = clients or _clients()
    request = event["RequestType"]

    if request == "Delete":
        arn = event.get("PhysicalResourceId", "")
        if _is_application_arn(arn):  # a failed create leaves a placeholder id: nothing to delete
            try:
                sns.delete_platform_application(PlatformApplicationArn=arn)
            except Exception as exc:
                if _error_code(exc) not in ("NotFound", "NotFoundException"):
                    raise
        return {"PhysicalResourceId": arn}

    name, platform, secret_id = _properties(event)
    attributes = credentials(secrets, secret_id, platform)
    old = event.get("OldResourceProperties") or {}
    arn = event.get("PhysicalResourceId", "")
    same_application = (
        request == "Update"
        and _is_application_arn(arn)
        and old.get("Name") == name
        and old.get("Platform") == platform
    )
    if same_application:
        sns.set_platform_application_attributes(PlatformApplicationArn=arn, Attributes=attributes)
    else:
        # A new name or platform is a new application: CloudFormation deletes the old one
        # (a Delete with the old id) once the stack update succeeds.
        arn = sns.create_platform_application(Name=name, Platform=platform, Attributes=attributes)[
            "PlatformApplicationArn"
        ]
    return {"PhysicalResourceId": arn, "Data": {"Arn": arn}}
