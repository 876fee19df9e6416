"""MediaPort over Amazon IVS real-time (the `ivs-realtime` API): one stage per live Space.

The boto3 client is injected (bootstrap builds it once per container); nothing here builds a
client or imports boto3. Failures are translated by error code only:

- ResourceNotFoundException on DeleteStage / DisconnectParticipant means the thing is already
  gone, which is what the caller wanted: success.
- every other ClientError (throttling, 5xx, ServiceQuotaExceeded, AccessDenied ...) and every
  connection / timeout error becomes `DependencyFailed(code="media_unavailable")`, raised from
  the original so the cause stays in the traceback.
"""
from __future__ import annotations

import re
import time
from typing import Any

from chalicelib.adapters.aws_errors import aws_call
from chalicelib.domain.errors import DependencyFailed, RuleViolation
from chalicelib.domain.spaces import OverflowInfo, StageInfo

MEDIA_UNAVAILABLE = "media_unavailable"
NOT_FOUND = "ResourceNotFoundException"

# CreateStage `name`: pattern [a-zA-Z0-9-_]*, at most 128 characters (ivs-realtime API model).
_NAME_FORBIDDEN = re.compile(r"[^A-Za-z0-9_-]")
_NAME_PREFIX = "space-"
_NAME_MAX = 128
# Overflow channels: BASIC passes the composition's single rendition through (no transcoding to
# pay for: the encoder configuration already fixes the quality); LOW latency keeps overflow
# listeners a few seconds behind the stage rather than tens.
OVERFLOW_CHANNEL_TYPE = "BASIC"
OVERFLOW_LATENCY_MODE = "LOW"


def stage_name_for(space_id: str) -> str:
    """A stage name valid for CreateStage that a person can map back to the Space."""
    return (_NAME_PREFIX + _NAME_FORBIDDEN.sub("-", space_id))[:_NAME_MAX]


# Participant recordings' HLS segments (2-10 s in the model): long ones mean fewer objects to list
# and fetch when mixing; the mix does not care about segment boundaries.
HLS_SEGMENT_SECONDS = 10

# A composition in these states runs (or is about to); STOPPING, STOPPED, FAILED or gone do not.
RUNNING_STATES = ("STARTING", "ACTIVE")


class IvsMedia:
    """MediaPort implemented with the IVS real-time stage API.

    Recording is IVS individual participant recording, audio only: a recorded Space's stage is
    created with `autoParticipantRecordingConfiguration`, and IVS writes each publisher's audio
    into the recordings bucket (the storage configuration, made once per deployment by infra/).
    No composition is used for recording; compositions are for overflow only.
    """

    def __init__(
        self,
        client,
        *,
        tags: dict | None = None,
        clock=time.time,
        storage_configuration_arn: str = "",
        reconnect_window_seconds: int = 0,
        channels=None,
        overflow_encoder_configuration_arn: str = "",
        channel_type: str = OVERFLOW_CHANNEL_TYPE,
    ):
        self._client = client
        self._tags = dict(tags or {})
        self._clock = clock
        self._storage_configuration_arn = storage_configuration_arn
        self._reconnect_window_seconds = reconnect_window_seconds
        # Overflow audiences (docs/overflow.md): the low-latency `ivs` client and the encoder
        # configuration the stack creates once per deployment for them.
        self._channels = channels
        self._overflow_encoder_configuration_arn = overflow_encoder_configuration_arn
        self._channel_type = channel_type

    def create_stage(self, space_id: str, *, record: bool = False) -> StageInfo:
        # created_at lets the orphan sweep leave alone a stage whose Space is being written now.
        tags = {**self._tags, "space_id": space_id, "created_at": str(int(self._clock()))}
        params: dict[str, Any] = {"name": stage_name_for(space_id), "tags": tags}
        if record:
            params["autoParticipantRecordingConfiguration"] = self._recording_configuration()
        response = self._call("CreateStage", self._client.create_stage, **params)
        stage = response["stage"]
        endpoints = stage.get("endpoints") or {}
        events_url, whip_url = endpoints.get("events"), endpoints.get("whip")
        if not events_url or not whip_url:
            # A stage nobody can join is useless; do not leave it counting against the quota.
            try:
                self.delete_stage(stage["arn"])
            except DependencyFailed:
                pass
            raise DependencyFailed(
                "IVS CreateStage returned a stage without events/whip endpoints",
                code=MEDIA_UNAVAILABLE,
            )
        return StageInfo(arn=stage["arn"], events_url=events_url, whip_url=whip_url)

    def list_stages(self) -> list[tuple[str, str, int]]:
        """This app's stages (tagged like the ones it creates): (arn, space_id, created_at)."""
        return self._tagged("ListStages", self._client.list_stages, "stages")

    def _tagged(self, operation: str, method, key: str) -> list[tuple[str, str, int]]:
        """Every page of a List call, keeping what carries this app's tags and a Space id."""
        found, token = [], None
        while True:
            params: dict[str, Any] = {"maxResults": 100, **({"nextToken": token} if token else {})}
            page = self._call(operation, method, **params)
            for resource in page.get(key, []):
                tags = resource.get("tags") or {}
                if "space_id" in tags and all(tags.get(k) == v for k, v in self._tags.items()):
                    found.append((resource["arn"], tags["space_id"], int(tags.get("created_at", "0") or 0)))
            token = page.get("nextToken")
            if not token:
                return found

    def delete_stage(self, stage_arn: str) -> None:
        self._call("DeleteStage", self._client.delete_stage, gone_is_ok=True, arn=stage_arn)

    def disconnect_participant(self, stage_arn: str, participant_id: str, reason: str) -> None:
        self._call(
            "DisconnectParticipant",
            self._client.disconnect_participant,
            gone_is_ok=True,
            stageArn=stage_arn,
            participantId=participant_id,
            reason=reason,
        )

    def endpoints(self, stage: StageInfo) -> dict[str, str]:
        # IVS clients publish by WHIP (or the SDK) and subscribe through the SDK's own signaling
        # on the events endpoint: there is no WHEP.
        return {"whip": stage.whip_url, "events": stage.events_url}

    # ------------------------------------------------------------------ recording

    def _recording_configuration(self) -> dict[str, Any]:
        """Every publisher's audio, nothing else, as HLS into the recordings bucket (each
        connection its own recording unless a reconnect window is set: config.py)."""
        if not self._storage_configuration_arn:
            raise RuleViolation("recording is not configured in this deployment", code="recording_not_available")
        return {
            "storageConfigurationArn": self._storage_configuration_arn,
            "mediaTypes": ["AUDIO_ONLY"],
            "recordingReconnectWindowSeconds": self._reconnect_window_seconds,
            "hlsConfiguration": {"targetSegmentDurationSeconds": HLS_SEGMENT_SECONDS},
        }

    # ------------------------------------------------------------------ overflow

    def start_overflow(self, space_id: str, stage_arn: str) -> OverflowInfo:
        if self._channels is None or not self._overflow_encoder_configuration_arn:
            raise DependencyFailed(
                "overflow is not configured (no ivs client or encoder configuration ARN)", code=MEDIA_UNAVAILABLE
            )
        tags = self._overflow_tags(space_id)
        channel = self._call(
            "CreateChannel",
            self._channels.create_channel,
            name=stage_name_for(space_id),
            latencyMode=OVERFLOW_LATENCY_MODE,
            type=self._channel_type,
            # Private: playback needs a token the app signs per listener (ivs_tokens.py), so a
            # ticketed Space's URL is worth nothing shared, and a removed listener is revoked.
            authorized=True,
            tags=tags,
        )["channel"]
        try:
            # The Space id: a retried request (lost answer, a second job run) never starts a
            # second composition of the same Space.
            composition_arn = self._compose_into_channel(stage_arn, channel["arn"], space_id, tags)
        except DependencyFailed:
            try:
                self._delete_channel(channel["arn"])
            except DependencyFailed:
                pass  # tagged with the Space: the orphan sweep finds it
            raise
        return OverflowInfo(
            channel_arn=channel["arn"], playback_url=channel["playbackUrl"], composition_arn=composition_arn
        )

    def list_overflow_channels(self) -> list[tuple[str, str, int]]:
        """Channels tagged like the ones start_overflow creates: (arn, space_id, created_at)."""
        if self._channels is None:
            return []
        return self._tagged("ListChannels", self._channels.list_channels, "channels")

    def overflow_running(self, info: OverflowInfo) -> bool:
        composition = self._composition(info.composition_arn)
        return composition is not None and composition.get("state") in RUNNING_STATES

    def _composition(self, composition_arn: str) -> dict | None:
        """GetComposition; None when IVS no longer knows it (it deletes stopped ones)."""
        found = self._call("GetComposition", self._client.get_composition, gone_is_ok=True, arn=composition_arn)
        return found["composition"] if found else None

    def _start_composition(self, stage_arn: str, idempotency_token: str, destination: dict, tags: dict) -> dict:
        return self._call(
            "StartComposition",
            self._client.start_composition,
            stageArn=stage_arn,
            idempotencyToken=idempotency_token,
            destinations=[destination],
            tags=tags,
        )["composition"]

    def restart_overflow(self, space_id: str, stage_arn: str, info: OverflowInfo) -> str:
        return self._compose_into_channel(
            stage_arn, info.channel_arn, f"{space_id}-restart-{info.restarts + 1}", self._overflow_tags(space_id)
        )

    def _overflow_tags(self, space_id: str) -> dict:
        return {**self._tags, "space_id": space_id, "created_at": str(int(self._clock()))}

    def _compose_into_channel(self, stage_arn: str, channel_arn: str, idempotency_token: str, tags: dict) -> str:
        return self._start_composition(
            stage_arn,
            idempotency_token,
            {
                "name": "overflow",
                "channel": {
                    "channelArn": channel_arn,
                    "encoderConfigurationArn": self._overflow_encoder_configuration_arn,
                },
            },
            tags,
        )["arn"]

    def stop_overflow(self, info: OverflowInfo) -> None:
        if info.composition_arn:
            self._call("StopComposition", self._client.stop_composition, gone_is_ok=True, arn=info.composition_arn)
        if info.channel_arn:
            self._delete_channel(info.channel_arn)

    def revoke_playback(self, channel_arn: str, user_id: str) -> None:
        from chalicelib.adapters.ivs_tokens import playback_viewer_id

        if self._channels is None:
            raise DependencyFailed("no ivs client to revoke playback with", code=MEDIA_UNAVAILABLE)
        self._call(
            "StartViewerSessionRevocation",
            self._channels.start_viewer_session_revocation,
            gone_is_ok=True,
            channelArn=channel_arn,
            viewerId=playback_viewer_id(user_id),
        )

    def _delete_channel(self, channel_arn: str) -> None:
        if self._channels is None:
            raise DependencyFailed("no ivs client to delete a channel with", code=MEDIA_UNAVAILABLE)
        # A channel still receiving the stopped composition answers ConflictException: that is a
        # DependencyFailed, and the release job tries again later.
        self._call("DeleteChannel", self._channels.delete_channel, gone_is_ok=True, arn=channel_arn)

    @staticmethod
    def _call(operation: str, method, *, gone_is_ok: bool = False, **params: Any):
        gone = (NOT_FOUND,) if gone_is_ok else ()
        return aws_call("IVS", operation, method, code=MEDIA_UNAVAILABLE, tolerate=gone, **params)

