"""Checks `make deploy` / `make destroy` run before the CDK CLI, so a mistake is one clear line
instead of a CloudFormation rollback twenty minutes later.

    python -m infra.preflight deploy dev
    python -m infra.preflight destroy dev

- destroy refuses prod, always: its tables, user pool and logs are kept on purpose;
- both need AWS credentials and a region (the CDK CLI would otherwise fail with a stack trace);
- deploy needs the CDK bootstrap stack and the inputs made once by hand, before the first deploy:
  the IVS key pair (`python -m infra.ivs_key`) and the APNs / FCM credential secrets.

Exit status: 0 ready, 1 something to fix first, 2 refused.
"""
from __future__ import annotations

import argparse
import sys

from infra.stages import StageSettings, stage

CDK_CLI = "npx aws-cdk@2.1148.1"
BOOTSTRAP_STACK = "CDKToolkit"
EDGE_REGION = "us-east-1"


class NotReady(Exception):
    pass


def refuse_destroying_production(settings: StageSettings) -> None:
    if settings.production:
        print(
            f"refusing to destroy {settings.name}: it holds users' data (tables with deletion protection, "
            "the Cognito user pool) and the stack has termination protection. See docs/operations.md.",
            file=sys.stderr,
        )
        raise SystemExit(2)


def account_and_region(session) -> tuple[str, str]:
    if session.get_credentials() is None:
        raise NotReady(
            "no AWS credentials: sign in first (aws configure sso / AWS_PROFILE=<profile>, or "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY); nothing was deployed"
        )
    if not session.region_name:
        raise NotReady("no AWS region: set AWS_REGION (or the profile's region); nothing was deployed")
    try:
        identity = session.client("sts").get_caller_identity()
    except Exception as exc:  # expired session, wrong profile, no network
        raise NotReady(f"AWS credentials were refused ({type(exc).__name__}: {exc}); nothing was deployed") from exc
    return identity["Account"], session.region_name


def missing_inputs(settings: StageSettings, session, account: str, region: str) -> list[str]:
    """What must exist before the first deploy, each with the command that makes it."""
    problems: list[str] = []
    # The stage's region, and us-east-1 for the edge stack (CloudFront's web ACL, infra/waf.py).
    for bootstrap_region in dict.fromkeys((region, EDGE_REGION)):
        cloudformation = session.client("cloudformation", region_name=bootstrap_region)
        try:
            cloudformation.describe_stacks(StackName=BOOTSTRAP_STACK)
        except cloudformation.exceptions.ClientError:
            problems.append(
                f"the account is not bootstrapped for the CDK: {CDK_CLI} bootstrap aws://{account}/{bootstrap_region}"
            )
    # API Gateway writes access logs with the account's CloudWatch role, one per account and region.
    if not session.client("apigateway", region_name=region).get_account().get("cloudwatchRoleArn"):
        problems.append(
            "API Gateway has no CloudWatch Logs role in this region, so the API's access log cannot be written "
            "(docs/operations.md, 'First deploy', step 2)"
        )

    secrets, ssm = session.client("secretsmanager"), session.client("ssm")

    def secret_exists(name: str) -> bool:
        try:
            secrets.describe_secret(SecretId=name)
            return True
        except secrets.exceptions.ResourceNotFoundException:
            return False

    try:
        ssm.get_parameter(Name=settings.ivs_public_key_parameter)
        has_public = True
    except ssm.exceptions.ParameterNotFound:
        has_public = False
    if not (has_public and secret_exists(settings.ivs_private_key_secret)):
        problems.append(
            f"no IVS key pair v{settings.ivs_key_version}: .venv/bin/python -m infra.ivs_key --stage {settings.name}"
        )
    for secret, what in ((settings.apns_secret, "APNs"), (settings.fcm_secret, "FCM")):
        if not secret_exists(secret):
            problems.append(
                f"no {what} credentials: create the secret {secret} (docs/operations.md, 'Push credentials')"
            )
    if not secret_exists(settings.stripe_secret):
        problems.append(
            f"no Stripe keys: create the secret {settings.stripe_secret} (docs/operations.md, 'Payments (Stripe)')"
        )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.preflight")
    parser.add_argument("action", choices=("deploy", "destroy"))
    parser.add_argument("stage")
    args = parser.parse_args(argv)
    settings = stage(args.stage)
    if args.action == "destroy":
        refuse_destroying_production(settings)

    import boto3

    session = boto3.session.Session()
    try:
        account, region = account_and_region(session)
        problems = missing_inputs(settings, session, account, region) if args.action == "deploy" else []
    except NotReady as exc:
        print(f"make {args.action} STAGE={settings.name}: {exc}", file=sys.stderr)
        return 1
    if problems:
        print(f"make {args.action} STAGE={settings.name}: do these first, then run it again:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print(f"{args.action} {settings.stack_name} in account {account}, region {region}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
