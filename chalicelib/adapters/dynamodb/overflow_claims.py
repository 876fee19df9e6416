"""A live Space's overflow audience on DynamoDB: who may start it, and what it is once started.

Starting is claimed on the Space item (`overflow_state` "starting", with a lease), so of any
number of job runs exactly one creates the channel; the started overflow and the live listing's
flag (what the rank job reads) are written in one transaction (docs/overflow.md).
"""
from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import UpdateError

from chalicelib.adapters.dynamodb.errors import dependency_failure, error_code
from chalicelib.adapters.dynamodb.models import DiscoveryModel, SpaceModel
from chalicelib.adapters.dynamodb.space_items import SpaceTables, overflow_of
from chalicelib.adapters.dynamodb.transactions import ConditionsFailed, transaction
from chalicelib.domain.spaces import LIVE, OverflowInfo
from chalicelib.ports import Refused


class DynamoOverflowClaims(SpaceTables):
    def release_pending_overflows(self, limit: int = 50) -> dict[str, OverflowInfo]:
        """Ended Spaces still flagged release_pending whose overflow channel may still exist."""
        try:
            ids = [m.space_id for m in SpaceModel.media_release.query("1", limit=limit)]
            return {m.space_id: o for m in SpaceModel.batch_get(ids) if (o := overflow_of(m)) is not None}
        except Exception as exc:
            raise dependency_failure(exc) from exc

    # ------------------------------------------------------------------ overflow audience

    def claim_overflow(self, space_id: str, now: datetime, *, lease_seconds: int) -> bool:
        """Take the right to start a live Space's overflow: a conditional write, so of any
        number of job runs exactly one wins. A claim older than `lease_seconds` (its run died
        half-way) may be taken again. False when the Space is not live or already claimed."""
        stamp = int(now.timestamp())
        try:
            SpaceModel(space_id).update(
                actions=[SpaceModel.overflow_state.set("starting"), SpaceModel.overflow_claimed_at.set(stamp)],
                condition=(SpaceModel.state == LIVE)
                & (
                    SpaceModel.overflow_state.does_not_exist()
                    | (
                        (SpaceModel.overflow_state == "starting")
                        & (SpaceModel.overflow_claimed_at < stamp - lease_seconds)
                    )
                ),
            )
            return True
        except UpdateError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise dependency_failure(exc) from exc

    def set_overflow(self, space_id: str, info: OverflowInfo) -> None:
        """Record the started overflow, and flag the Space's "live" list entry for the rank job,
        in one transaction. Refused("state") when the Space ended meanwhile."""
        try:
            with transaction(self._connection) as tx:
                tx.update(
                    "space",
                    SpaceModel(space_id),
                    actions=[
                        SpaceModel.overflow_state.set("on"),
                        SpaceModel.overflow_channel_arn.set(info.channel_arn),
                        SpaceModel.overflow_playback_url.set(info.playback_url),
                        SpaceModel.overflow_composition_arn.set(info.composition_arn),
                    ],
                    condition=(SpaceModel.state == LIVE) & (SpaceModel.overflow_state == "starting"),
                )
                tx.update(
                    "listing",
                    DiscoveryModel("live", space_id),
                    actions=[DiscoveryModel.overflow.set(True)],
                    condition=DiscoveryModel.space_id.exists(),
                )
        except ConditionsFailed as exc:
            raise Refused("state") from exc

    def replace_overflow_composition(self, space_id: str, old_arn: str, new_arn: str, restarts: int) -> None:
        """Record a composition started again into the same channel. Refused("state") when the
        Space ended, or another run replaced `old_arn` first."""
        try:
            SpaceModel(space_id).update(
                actions=[
                    SpaceModel.overflow_composition_arn.set(new_arn),
                    SpaceModel.overflow_restarts.set(restarts),
                ],
                condition=(SpaceModel.state == LIVE)
                & (SpaceModel.overflow_state == "on")
                & (SpaceModel.overflow_composition_arn == old_arn),
            )
        except UpdateError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise Refused("state") from exc
            raise dependency_failure(exc) from exc

    def release_overflow_claim(self, space_id: str) -> None:
        """Give a failed start back, so the next job run retries it."""
        try:
            SpaceModel(space_id).update(
                actions=[SpaceModel.overflow_state.remove(), SpaceModel.overflow_claimed_at.remove()],
                condition=(SpaceModel.overflow_state == "starting"),
            )
        except UpdateError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise dependency_failure(exc) from exc

