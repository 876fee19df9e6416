"""The benchmarks' world: keys, a private DynamoDB Local, the app's services over real adapters.

Mirrors tests/conftest.py (dummy credentials, no real AWS endpoint, powertools metrics off, keys
in a temporary directory) so a fresh clone needs nothing but `make venv`. Nothing from chalicelib
is imported before `configure_process()` has set the environment: the PynamoDB models read the
region and table prefix when their module is first imported.
"""
from __future__ import annotations

import os
import secrets
import string
import tempfile
from dataclasses import dataclass
from pathlib import Path

REGION = "us-east-1"
ACCOUNT = "123456789012"
_ALNUM = string.ascii_letters + string.digits


def configure_process(table_prefix: str) -> None:
    """Environment for this process, as tests/conftest.py sets it (before chalicelib loads)."""
    os.environ["AWS_DEFAULT_REGION"] = REGION
    os.environ["AWS_ACCESS_KEY_ID"] = "testing"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
    os.environ["AWS_ACCOUNT_ID_ENDPOINT_MODE"] = "disabled"
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(name, None)
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    # The services log every Space created at INFO: thousands of lines would drown the table.
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    os.environ["SPACES_TABLE_PREFIX"] = table_prefix


@dataclass
class Keys:
    directory: Path
    jwks: Path
    jwt_private: Path
    ivs_private: Path


def make_keys(directory: Path) -> Keys:
    from scripts.keys import ensure_local_keys

    paths = ensure_local_keys(directory)
    return Keys(directory, paths["jwks"], paths["jwt_private"], paths["ivs_private"])


def configure_settings(keys: Keys) -> None:
    from chalicelib.config import get_settings

    os.environ.update(
        {
            "SPACES_STAGE": "bench",
            "SPACES_JWT_ISSUER": "spaces-local",
            "SPACES_JWT_AUDIENCE": "spaces-app",
            "SPACES_JWKS_PATH": str(keys.jwks),
            "SPACES_MEDIA_BACKEND": "local",
            "SPACES_IVS_PRIVATE_KEY_PATH": str(keys.ivs_private),
        }
    )
    get_settings.cache_clear()


class DynamoDB:
    """A DynamoDB Local of our own on a free port, with the app's tables created in it."""

    def __init__(self, log_dir: Path):
        from scripts.dynamodb_local import DynamoDBLocal, ensure_dynamodb_local

        self.server = DynamoDBLocal(emulator_dir=ensure_dynamodb_local(), log_path=log_dir / "ddb.log")

    def start(self, table_prefix: str) -> "DynamoDB":
        from chalicelib.adapters.dynamodb import models

        self.server.start()
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = self.server.endpoint_url
        models.use_endpoint(self.server.endpoint_url, table_prefix)
        models.create_tables()
        return self

    @property
    def endpoint_url(self) -> str:
        return self.server.endpoint_url

    def stop(self) -> None:
        self.server.stop()


def random_stage_arn() -> str:
    return f"arn:aws:ivs:{REGION}:{ACCOUNT}:stage/" + "".join(secrets.choice(_ALNUM) for _ in range(12))


class StubbedIvs:
    """The real IVS adapter (`IvsMedia`) over an `ivs-realtime` client wrapped in a Stubber.

    Only the responses queued with `expect_create_stage()` are answered; any other IVS call
    raises, so a join that called IVS could not go unnoticed.
    """

    def __init__(self):
        import boto3
        from botocore.config import Config
        from botocore.stub import Stubber

        from chalicelib.adapters.ivs import IvsMedia

        self.client = boto3.client(
            "ivs-realtime",
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"total_max_attempts": 1}),
        )
        self.stubber = Stubber(self.client)
        self.stubber.activate()
        self.media = IvsMedia(self.client)

    def expect_create_stage(self) -> None:
        self.stubber.add_response(
            "create_stage",
            {
                "stage": {
                    "arn": random_stage_arn(),
                    "endpoints": {
                        "events": "wss://global.events.live-video.net",
                        "whip": "https://1a2b3c4d5e6f.global-bm.whip.live-video.net",
                    },
                }
            },
        )

    def pending(self) -> int:
        return len(self.stubber._queue)

    def close(self) -> None:
        self.stubber.deactivate()


def make_deps(ivs: StubbedIvs):
    """Like the `deps` fixture of tests/conftest.py, with the IVS adapter over the stubbed client."""
    from chalicelib import bootstrap
    from chalicelib.adapters.dynamodb.spaces import space_repositories
    from chalicelib.adapters.dynamodb.subscriptions import DynamoSubscriptionRepository
    from chalicelib.adapters.dynamodb.tickets import DynamoTicketRepository
    from chalicelib.adapters.dynamodb.users import DynamoUserRepository
    from chalicelib.config import get_settings
    from chalicelib.services.context import Deps
    from tests.support.payments import FakePayments

    bootstrap.reset()
    settings = get_settings()
    built = Deps(
        settings=settings,
        users=DynamoUserRepository(),
        **space_repositories(count_shards=settings.participant_count_shards),
        media=ivs.media,
        tokens=bootstrap.token_minter(),
        tickets=DynamoTicketRepository(),
        subscriptions=DynamoSubscriptionRepository(),
        # The payment provider is not AWS: an in-process one, so only the app's calls count.
        payments=FakePayments(),
        # Scheduled Spaces (the ticket benchmarks sell seats of one) make reminder schedules;
        # their cost is the reminders benchmark's, not these.
        scheduler=_MemoryScheduler(),
        # Reactions to domain events run as in the app (services/dispatch.py).
        dispatcher=bootstrap.publish_event,
    )
    bootstrap.override(deps=built)
    return built


class _MemoryScheduler:
    """SchedulerPort kept in memory: the benchmarks that create scheduled Spaces do not measure
    EventBridge Scheduler (moto is not running here)."""

    def __init__(self):
        self.schedules: dict = {}

    def put_one_time(self, name, at, payload) -> None:
        self.schedules[name] = (at, payload)

    def delete(self, name) -> None:
        self.schedules.pop(name, None)


def new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(5)}"


def seed_host(prefix: str = "host", followers: int = 1200) -> str:
    """A user allowed to host (1,200 followers by default; the threshold is 600)."""
    from chalicelib.adapters.dynamodb.users import DynamoUserRepository

    user_id = new_id(prefix)
    DynamoUserRepository().set_follower_count(user_id, followers)
    return user_id


def live_space(deps, ivs: StubbedIvs, title: str, followers: int = 1200) -> str:
    """A live Space of a host with `followers` (a famous host's Space spreads its listener list
    over shards: docs/people.md)."""
    from chalicelib.services import spaces
    from chalicelib.api.bodies.spaces import create_space as space_request

    ivs.expect_create_stage()
    return spaces.create_space(deps, seed_host(followers=followers), space_request({"title": title})).id


def temporary_directory() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="spaces-bench-")
