"""The wiring of an AWS stage, as `bootstrap.deps()` builds it (not a copy of it).

The in-process suites replace the wiring with test adapters (tests/conftest.py `deps`), so the
branches an AWS stage takes would otherwise run only in AWS: the IVS media adapter on its own
`ivs-realtime` client, the IVS participant-token key read from Secrets Manager with the public
key's ARN as `kid`, and Stripe's API key and webhook signing secret read from Secrets Manager.
Here Secrets Manager is the session's moto server and the IVS client is under botocore's Stubber.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import jwt
import pytest
from botocore.stub import ANY, Stubber

from tests.integration.test_payments_adapters import payment_intent, signed, stripe_event

PUBLIC_KEY_ARN = "arn:aws:ivs:us-east-1:123456789012:public-key/AbCdEf123456"
STAGE_ARN = "arn:aws:ivs:us-east-1:123456789012:stage/AbCdEf123456"


@pytest.fixture
def aws_stage(configure_bootstrap, keys, moto_url, settings_env):
    """bootstrap configured as the prod stage, its secrets in moto's Secrets Manager, its tables
    (the IVS limiter's bucket among them) on the session's DynamoDB Local."""
    from tests.support.moto_server import boto_client

    secrets = boto_client("secretsmanager", moto_url)
    suffix = uuid.uuid4().hex[:8]

    def secret(name, value):
        return secrets.create_secret(Name=f"{name}-{suffix}", SecretString=value)["ARN"]

    bootstrap = configure_bootstrap(
        SPACES_STAGE="prod",
        SPACES_MEDIA_BACKEND="ivs",
        SPACES_IVS_PRIVATE_KEY_PATH="",
        SPACES_IVS_PRIVATE_KEY_SECRET_ARN=secret("ivs-key", keys["paths"]["ivs_private"].read_text()),
        SPACES_IVS_PUBLIC_KEY_ARN=PUBLIC_KEY_ARN,
        SPACES_PAYMENTS_PROVIDER="stripe",
        # infra stores Stripe's key and signing secret as one JSON secret (docs/operations.md).
        SPACES_STRIPE_API_KEY_SECRET_ARN=secret("stripe", '{"api_key": "sk_live_x", "webhook_secret": "whsec_sm"}'),
        SPACES_PAYMENTS_WEBHOOK_SECRET_ARN=secret("stripe-hook", '{"api_key": "sk_live_x", "webhook_secret": "whsec_sm"}'),
    )
    bootstrap.override(secretsmanager_client=secrets)
    return bootstrap


def test_an_aws_stage_creates_stages_on_ivs_with_the_stage_tags(aws_stage):
    from chalicelib.adapters.ivs import IvsMedia

    deps = aws_stage.deps()
    with Stubber(deps.media._client) as ivs:  # the first use builds the adapter
        ivs.add_response(
            "create_stage",
            {"stage": {"arn": STAGE_ARN, "endpoints": {"events": "wss://events.example", "whip": "https://whip.example"}}},
            expected_params={
                "name": ANY,
                "tags": {"app": "spaces", "stage": "prod", "space_id": "01SPACE", "created_at": ANY},
            },
        )
        stage = deps.media.create_stage("01SPACE")
        ivs.assert_no_pending_responses()

    # Requests reach IVS through the adapter behind the deferred-call queue (docs/capacity.md).
    assert isinstance(aws_stage.media()._inner, IvsMedia)
    assert (stage.arn, stage.events_url, stage.whip_url) == (STAGE_ARN, "wss://events.example", "https://whip.example")


def test_an_aws_stage_signs_participant_tokens_with_the_key_from_secrets_manager(aws_stage, keys):
    from chalicelib.domain.spaces import StageInfo

    deps = aws_stage.deps()
    stage = StageInfo(arn=STAGE_ARN, events_url="wss://events.example", whip_url="https://whip.example")

    minted = deps.tokens.mint(stage, participant_id="p-1", user_id="alice", publish=True, now=datetime.now(timezone.utc))

    assert jwt.get_unverified_header(minted.token)["kid"] == PUBLIC_KEY_ARN
    claims = jwt.decode(minted.token, keys["ivs_public_pem"], algorithms=["ES384"])
    assert claims["resource"] == STAGE_ARN and claims["capabilities"]["allow_publish"] is True


def test_an_aws_stage_takes_stripe_with_the_signing_secret_from_secrets_manager(aws_stage):
    from chalicelib.adapters.payments.stripe_provider import StripePayments

    deps = aws_stage.deps()
    payload = stripe_event("payment_intent.succeeded", payment_intent())

    event = deps.payments.parse_webhook(payload.encode(), signed(payload, secret="whsec_sm"))

    assert isinstance(aws_stage.payments(), StripePayments)
    assert event.kind == "payment_succeeded"
    assert aws_stage.payments()._client._requestor.api_key == "sk_live_x"


def test_an_aws_stage_pools_chat_rooms_and_limits_their_calls_with_a_bucket_of_their_own(aws_stage):
    from chalicelib.adapters.deferred_media import DeferredRooms
    from chalicelib.adapters.dynamodb.stage_pool import DynamoRoomPool
    from chalicelib import media_wiring
    from chalicelib.adapters.ivs_limiter import ROOM_CONTROL, LimitedClient

    deps = aws_stage.deps()
    assert isinstance(deps.room_pool, DynamoRoomPool)
    rooms = aws_stage.room_events()
    assert isinstance(rooms, DeferredRooms)  # DeleteRoom queued like DeleteStage
    for client in (rooms._inner._client, aws_stage.background_room_events()._client):
        assert isinstance(client, LimitedClient) and client._operations == ROOM_CONTROL
        assert client._bucket is media_wiring.chat_bucket() and client._bucket is not media_wiring.ivs_bucket()


def test_the_local_stage_keeps_its_event_log_and_pools_no_rooms(configure_bootstrap):
    from chalicelib.adapters.dynamodb.room_events import DynamoRoomEvents

    bootstrap = configure_bootstrap(SPACES_MEDIA_BACKEND="local", SPACES_CHAT_ENDPOINT_URL="")
    assert bootstrap.room_pool() is None and bootstrap.background_room_events() is None
    assert isinstance(bootstrap.room_events(), DynamoRoomEvents)
