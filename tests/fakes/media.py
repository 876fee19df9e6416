"""The media plane and the token minter in memory: what a use case asked of them is kept.

Both are held to the adapters by contract suites: FakeMedia with LocalMedia and IvsMedia by
tests/integration/test_ivs_adapter.py (`MediaPortContract`), FakeTokens with IvsTokenMinter by
tests/integration/test_outside_ports_contract.py. So the fake hands out stage ARNs of the shape
IVS gives, fails on demand as an outage would, and refuses what the minter refuses.
"""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from chalicelib.adapters.ivs_tokens import PARTICIPANT_ID_PATTERN
from chalicelib.domain.errors import DependencyFailed
from chalicelib.domain.spaces import StageInfo
from chalicelib.ports import MediaToken


class FakeMedia:
    def __init__(self) -> None:
        self.stages: dict[str, str] = {}  # stage arn -> space id
        self.disconnected: list[tuple[str, str, str]] = []  # (stage_arn, participant_id, reason)
        self.revoked: list[tuple[str, str]] = []  # (channel_arn, user_id)
        self._numbers = itertools.count(1)
        self._failing: dict[str, int] = {}

    def fail_next(self, method_name: str, times: int = 1) -> None:
        """The next `times` calls of that method raise DependencyFailed, as an IVS outage would."""
        self._failing[method_name] = times

    def _maybe_fail(self, method_name: str) -> None:
        if self._failing.get(method_name, 0) > 0:
            self._failing[method_name] -= 1
            raise DependencyFailed(f"fake media {method_name} failed", code="media_unavailable")

    def create_stage(self, space_id: str, *, record: bool = False) -> StageInfo:
        self._maybe_fail("create_stage")
        n = next(self._numbers)
        arn = f"arn:aws:ivs:us-east-1:123456789012:stage/Fake{n:08d}"
        self.stages[arn] = space_id
        return StageInfo(
            arn=arn, events_url="wss://global.events.live-video.net", whip_url=f"https://{n:012x}.global-bm.whip.live-video.net"
        )

    def delete_stage(self, stage_arn: str) -> None:
        self._maybe_fail("delete_stage")
        self.stages.pop(stage_arn, None)

    def endpoints(self, stage: StageInfo) -> dict[str, str]:
        return {"whip": stage.whip_url, "events": stage.events_url}

    def disconnect_participant(self, stage_arn: str, participant_id: str, reason: str) -> None:
        self._maybe_fail("disconnect_participant")
        self.disconnected.append((stage_arn, participant_id, reason))

    def revoke_playback(self, channel_arn: str, user_id: str) -> None:
        self.revoked.append((channel_arn, user_id))


class FakeTokens:
    """Tokens that say what they grant (no signature): "<stage id>:<participant>:publish|subscribe"."""

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
        _check_now(now)
        if not PARTICIPANT_ID_PATTERN.match(participant_id):
            raise ValueError(f"participant id {participant_id!r} must be 1-64 characters of [a-zA-Z0-9-_]")
        token = f"{stage.stage_id}:{participant_id}:{'publish' if publish else 'subscribe'}"
        return MediaToken(token, participant_id, now + timedelta(hours=1), publish, True)

    def mint_playback(self, channel_arn: str, *, user_id: str, now: datetime) -> tuple[str, datetime]:
        _check_now(now)
        return f"playback:{channel_arn}:{user_id}", now + timedelta(hours=1)


def _check_now(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
