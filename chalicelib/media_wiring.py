"""The wiring of IVS real-time (stages, participant tokens), IVS Chat (rooms) and the pools of
ready stages and rooms: which adapter each stage of the app gets, behind which token bucket, with
which priority. `bootstrap` puts these into the `Deps`; the jobs' and requests' adapters differ
only in how they take tokens from the account's buckets (docs/capacity.md).

Built once per container into the cache of `chalicelib/container.py`, on first use; every
adapter and AWS SDK is imported by the function that builds it, never by importing this module.
"""
from __future__ import annotations

from chalicelib.config import Settings
from chalicelib.container import NONE, boto3_client, once, secrets_client, settings


def _ivs_private_key(s: Settings) -> bytes:
    if s.ivs_private_key_path:
        with open(s.ivs_private_key_path, "rb") as fh:
            return fh.read()
    if s.ivs_private_key_secret_arn:
        from chalicelib.adapters.aws_errors import aws_call

        # Read on a container's first join: an outage is that join's 503 under the code an
        # untranslated SDK error had before (api/http.py), so clients see no change.
        secret = aws_call(
            "Secrets Manager", "GetSecretValue", secrets_client().get_secret_value,
            code="dependency_unavailable", SecretId=s.ivs_private_key_secret_arn,
        )
        return (secret or {})["SecretString"].encode()
    raise RuntimeError("no IVS private key configured (SPACES_IVS_PRIVATE_KEY_PATH or _SECRET_ARN)")


def _ivs_client():
    return once("ivs_realtime_client", lambda: boto3_client("ivs-realtime"))


def _token_bucket(bucket_id: str, rate: float, burst: float):
    from chalicelib.adapters.dynamodb.limiter import DynamoTokenBucket
    from chalicelib.adapters.dynamodb.models import share_one_connection

    share_one_connection()
    return DynamoTokenBucket(bucket_id, rate=rate, burst=burst)


def ivs_bucket():
    """The account's one token bucket for IVS stage calls (docs/capacity.md)."""
    s = settings()
    return once("ivs_bucket", lambda: _token_bucket("ivs-stage-control", s.ivs_control_rate, s.ivs_control_burst))


def media_adapter(reserve: float, max_wait: float):
    """The MediaPort over IVS whose stage calls take tokens with this priority; locally the one
    in-process adapter (no quota to keep)."""
    s = settings()
    if s.media_backend == "ivs":
        from chalicelib.adapters.ivs import IvsMedia
        from chalicelib.adapters.ivs_limiter import LimitedClient

        return IvsMedia(
            LimitedClient(_ivs_client(), ivs_bucket(), reserve=reserve, max_wait=max_wait),
            tags={"app": "spaces", "stage": s.stage},
            storage_configuration_arn=s.ivs_storage_configuration_arn,
            reconnect_window_seconds=s.recording_reconnect_window_seconds,
            # Overflow channels: the low-latency API, built with the adapter (once per container).
            channels=once("ivs_client", lambda: boto3_client("ivs")),
            overflow_encoder_configuration_arn=s.overflow_encoder_configuration_arn,
        )

    def build_local():
        from chalicelib.adapters.local_media import LocalMedia

        # With the media server, a recorded stage's publishers are recorded into the local S3.
        return LocalMedia(
            region=s.region,
            account_id=s.account_id,
            media_server_url=s.media_server_url,
            control_secret=s.media_control_secret,
        )

    return once("local_media", build_local)


def media_queue():
    def build():
        from chalicelib.adapters.dynamodb.media_queue import DynamoMediaQueue
        from chalicelib.adapters.dynamodb.models import share_one_connection

        share_one_connection()
        return DynamoMediaQueue()

    return once("media_queue", build)


# How long a job's IVS call waits for a token before the job gives up until its next run: short,
# so a job (its budget checked between calls) always ends inside its Lambda timeout.
BACKGROUND_MAX_WAIT_SECONDS = 5


def background_media():
    """For the pool and queue jobs: waits a few seconds at most for a token, never takes the
    last one (requests go first)."""
    return once("background_media", lambda: media_adapter(reserve=1, max_wait=BACKGROUND_MAX_WAIT_SECONDS))


def media():
    """The requests' MediaPort: stage calls take any token, waiting a moment at most; deleting
    stages and disconnecting participants are queued and tried at once only with a spare token."""

    def build():
        from chalicelib.adapters.deferred_media import DeferredMedia

        s = settings()
        return DeferredMedia(
            media_adapter(reserve=0, max_wait=s.ivs_request_max_wait_seconds),
            now=media_adapter(reserve=1, max_wait=0),
            queue=media_queue(),
        )

    return once("media", build)


def stage_pool():
    """The pool of ready stages (None where the setting turns it off)."""

    def build():
        if not settings().stage_pool_enabled:
            return NONE
        from chalicelib.adapters.dynamodb.models import share_one_connection
        from chalicelib.adapters.dynamodb.stage_pool import DynamoStagePool

        share_one_connection()
        pool = DynamoStagePool()
        if settings().media_backend != "ivs":
            return _AdoptingPool(pool, media_adapter(0, 0))
        return pool

    pool = once("stage_pool", build)
    return None if pool is NONE else pool


class _AdoptingPool:
    """Locally the pool's stages are made by the worker's in-process media adapter: the API's
    adapter learns a stage when a start claims it, so recording and sweeps know it."""

    def __init__(self, pool, local_media):
        self._pool = pool
        self._media = local_media

    def __getattr__(self, name):
        return getattr(self._pool, name)

    def claim(self, space_id: str):
        stage = self._pool.claim(space_id)
        if stage is not None:
            self._media.stages.setdefault(stage.arn, space_id)
            self._media.created_at.setdefault(stage.arn, int(self._media.clock()))
        return stage


def chat_bucket():
    """The account's token bucket for IVS Chat's CreateRoom/DeleteRoom (5 TPS each, not
    adjustable): the same sizing as the stage bucket (docs/capacity.md)."""
    s = settings()
    return once("chat_bucket", lambda: _token_bucket("ivs-chat-rooms", s.chat_control_rate, s.chat_control_burst))


def _chat_rooms(reserve: float, max_wait: float):
    """IVS Chat rooms whose room calls take tokens with this priority (as `media_adapter`);
    rooms keep their logging configuration and review handler wherever they are created."""

    def build():
        from chalicelib.adapters.ivs_chat import IvsChatRooms
        from chalicelib.adapters.ivs_limiter import ROOM_CONTROL, LimitedClient

        s = settings()
        client = once("ivschat_client", lambda: boto3_client("ivschat"))
        return IvsChatRooms(
            LimitedClient(client, chat_bucket(), reserve=reserve, max_wait=max_wait, operations=ROOM_CONTROL),
            tags={"app": "spaces", "stage": s.stage},
            max_message_rate=s.room_max_message_rate,
            max_message_length=s.room_max_message_length,
            review_handler_arn=s.chat_review_handler_arn,
            logging_configuration_arn=s.chat_logging_configuration_arn,
        )

    return once(f"chat_rooms_{reserve}_{max_wait}", build)


def background_room_events():
    """For the room pool job: IVS Chat rooms whose room calls never take the last token. None
    where room events are the local event log (no IVS Chat: nothing to pool)."""
    if not settings().room_events_over_ivs_chat:
        return None
    return _chat_rooms(reserve=1, max_wait=BACKGROUND_MAX_WAIT_SECONDS)


def room_pool():
    """The pool of ready IVS Chat rooms (None with the local event log or the pool turned off)."""

    def build():
        s = settings()
        if not (s.stage_pool_enabled and s.room_events_over_ivs_chat):
            return NONE
        from chalicelib.adapters.dynamodb.models import share_one_connection
        from chalicelib.adapters.dynamodb.stage_pool import DynamoRoomPool

        share_one_connection()
        return DynamoRoomPool()

    pool = once("room_pool", build)
    return None if pool is NONE else pool


def room_events():
    """IVS Chat rooms when the media backend is IVS (or the local stage names an IVS Chat
    endpoint: the same adapter, its client reaching the emulator through the standard
    AWS_ENDPOINT_URL_IVSCHAT); the DynamoDB event log otherwise."""

    def build():
        s = settings()
        if s.room_events_over_ivs_chat:
            from chalicelib.adapters.deferred_media import DeferredRooms

            # Deleting a room can wait: queued like a stage delete, tried at once with a spare token.
            return DeferredRooms(
                _chat_rooms(reserve=0, max_wait=s.ivs_request_max_wait_seconds),
                now=_chat_rooms(reserve=1, max_wait=0),
                queue=media_queue(),
            )
        from chalicelib.adapters.dynamodb.models import share_one_connection
        from chalicelib.adapters.dynamodb.room_events import DynamoRoomEvents

        share_one_connection()
        return DynamoRoomEvents(region=s.region, account_id=s.account_id, ttl_seconds=s.room_event_ttl_seconds)

    return once("room_events", build)


def token_minter():
    def build():
        from chalicelib.adapters.ivs_tokens import IvsTokenMinter

        s = settings()
        return IvsTokenMinter(_ivs_private_key(s), s.ivs_public_key_arn, s.media_token_ttl_seconds)

    return once("token_minter", build)
