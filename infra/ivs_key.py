"""One-time command: make the IVS participant-token key pair of a stage and store it in AWS.

    .venv/bin/python -m infra.ivs_key --stage dev [--region eu-west-1]

The app signs participant tokens in-process (ES384) with the private half; IVS verifies them with
the public half registered as an AWS::IVS::PublicKey by the stack. The pair is made here, on the
operator's machine, with `scripts.keys.generate_ivs_keypair()`:

- the private key (PKCS8 PEM) goes into Secrets Manager as `spaces-<stage>/ivs-private-key-v<N>`,
  whose value the app reads (SPACES_IVS_PRIVATE_KEY_SECRET_ARN);
- the public key (PEM) goes into the SSM parameter `/spaces-<stage>/ivs-public-key-v<N>`, which
  the stack turns into the AWS::IVS::PublicKey at deploy time.

Why not in the stack: CloudFormation cannot generate an ECDSA key, and a custom resource doing it
would need `cryptography` in a Lambda and would pass the private key through a deploy-time
function. The key never leaves this process except into Secrets Manager, and is never printed.

N is `ivs_key_version` in infra/stages.py. Existing names are never overwritten: rotating means a
new version (docs/operations.md, "Rotating the IVS key").
"""
from __future__ import annotations

import argparse
import sys


def store_keypair(settings, secrets, ssm, keypair=None) -> dict:
    """Create the secret and the parameter for `settings` (a StageSettings). Returns their names
    and the secret's ARN. Raises SystemExit if either already exists."""
    from scripts.keys import generate_ivs_keypair

    secret_name, parameter_name = settings.ivs_private_key_secret, settings.ivs_public_key_parameter
    if _secret_exists(secrets, secret_name) or _parameter_exists(ssm, parameter_name):
        raise SystemExit(
            f"{secret_name} or {parameter_name} already exists: the stage has a v{settings.ivs_key_version} key. "
            "To rotate, raise ivs_key_version in infra/stages.py and run this again."
        )
    private_pem, public_pem = (keypair or generate_ivs_keypair)()
    tags = [{"Key": "app", "Value": "spaces"}, {"Key": "stage", "Value": settings.name}]
    created = secrets.create_secret(
        Name=secret_name,
        Description=f"Spaces {settings.name}: ES384 private key signing IVS participant tokens (v{settings.ivs_key_version})",
        SecretString=private_pem.decode(),
        Tags=tags,
    )
    try:
        ssm.put_parameter(
            Name=parameter_name,
            Description=f"Spaces {settings.name}: public half of {secret_name}",
            Value=public_pem.decode(),
            Type="String",
            Overwrite=False,
            Tags=tags,
        )
    except Exception:
        # Half a pair is worse than none: without its public half the private key is useless.
        secrets.delete_secret(SecretId=created["ARN"], ForceDeleteWithoutRecovery=True)
        raise
    return {"secret": secret_name, "secret_arn": created["ARN"], "parameter": parameter_name}


def _secret_exists(secrets, name: str) -> bool:
    try:
        secrets.describe_secret(SecretId=name)
        return True
    except secrets.exceptions.ResourceNotFoundException:
        return False


def _parameter_exists(ssm, name: str) -> bool:
    try:
        ssm.get_parameter(Name=name)
        return True
    except ssm.exceptions.ParameterNotFound:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.ivs_key", description=__doc__.splitlines()[0])
    parser.add_argument("--stage", required=True)
    parser.add_argument("--region", help="defaults to the AWS profile's region")
    args = parser.parse_args(argv)

    import boto3

    from infra.stages import stage

    settings = stage(args.stage)
    session = boto3.session.Session(region_name=args.region)
    if session.region_name is None:
        raise SystemExit("no AWS region: pass --region or set AWS_REGION / a profile region")
    result = store_keypair(settings, session.client("secretsmanager"), session.client("ssm"))
    print(f"private key -> Secrets Manager {result['secret']} ({result['secret_arn']})")
    print(f"public key  -> SSM parameter {result['parameter']}")
    print(f"next: make deploy STAGE={settings.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
