"""The media plane and the token minter in memory: what a use case asked of them is kept."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.spaces import StageInfo
from chalicelib.ports import MediaToken


class FakeMedia:
    def __init__(self) -> None:
        self.stages: dict[str, str] = {}  # stage arn -> space id
        self.disconnected: list[tuple[str, str, str]] = []  # (stage_arn, participant_id, reason)
        self.revoked: list[tuple[str, str]] = []  # (channel_arn, user_id)

    def create_stage(self, space_id: str) -> StageInfo:
        arn = f"arn:aws:ivs:us-east-1:123456789012:stage/{space_id}"
        self.stages[arn] = space_id
        return StageInfo(arn=arn, events_url=f"wss://events/{space_id}", whip_url=f"https://whip/{space_id}")

    def delete_stage(self, stage_arn: str) -> None:
        self.stages.pop(stage_arn, None)

    def endpoints(self, stage: StageInfo) -> dict[str, str]:
        return {"whip": stage.whip_url, "events": stage.events_url}

    def disconnect_participant(self, stage_arn: str, participant_id: str, reason: str) -> None:
        self.disconnected.append((stage_arn, participant_id, reason))

    def revoke_playback(self, channel_arn: str, user_id: str) -> None:
        self.revoked.append((channel_arn, user_id))


class FakeTokens:
    """Tokens that say what they grant (no signature)."""

    def mint(
        self,
        stage: StageInfo,
        *,
        participant_id: str,
        user_id: str,
        publish: bool,
        now: datetime,
        attributes: dict[str, Any] | None = None,
    ) -> MediaToken:
        token = f"{stage.stage_id}:{participant_id}:{'publish' if publish else 'subscribe'}"
        return MediaToken(token, participant_id, now + timedelta(hours=1), publish, True)

    def mint_playback(self, channel_arn: str, *, user_id: str, now: datetime) -> tuple[str, datetime]:
        return f"playback:{user_id}", now + timedelta(hours=1)
