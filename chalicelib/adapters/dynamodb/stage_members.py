"""Stage membership on DynamoDB: raised hands, invitations, speakers, co-hosts and mutes.

The Space item holds who is on stage (`cohosts`, `speakers`, `invited`, `muted`, and the
`on_stage` count); every change is a condition on it, with the participant item and the speaker
request in the same transaction where they matter:
- the stage cap is `on_stage < :max`, the co-host cap `size(cohosts) < :max`, both values from
  the domain's `SpaceRules` (the same numbers the services check first);
- approving a raised hand deletes the request item on condition it exists, so of two moderators
  answering at once exactly one wins;
- only a connected, not removed participant is invited or added.
"""
from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.expressions.condition import size

from chalicelib.adapters.dynamodb.errors import dependency_failure, error_code
from chalicelib.adapters.dynamodb.listings import pin_listings
from chalicelib.adapters.dynamodb.models import ParticipantModel, SpaceModel, SpeakerRequestModel
from chalicelib.adapters.dynamodb.moderation import add_entry
from chalicelib.adapters.dynamodb.space_items import SpaceTables, stamp, to_space
from chalicelib.adapters.dynamodb.transactions import ConditionsFailed, transaction
from chalicelib.domain.listener_list import listed_in
from chalicelib.domain.moderation import ModerationEntry
from chalicelib.domain.pinned import PinnedPost
from chalicelib.domain.spaces import COHOST, HOST, LISTENER, LIVE, SPEAKER, Space, SpaceRules
from chalicelib.ports import Refused


class DynamoStageMembers(SpaceTables):
    def pending_requests(self, space_id: str, limit: int = 100) -> list[tuple[str, datetime]]:
        try:
            return [
                (r.user_id, r.raised_at)
                for r in SpeakerRequestModel.query(space_id, limit=limit)
            ]
        except Exception as exc:
            raise dependency_failure(exc) from exc

    # ------------------------------------------------------------------ hands

    def raise_hand(self, space_id: str, user_id: str, now: datetime, *, listener_shards: int = 1) -> bool:
        """True when the hand went up, False when it was already up."""
        try:
            with transaction(self._connection) as tx:
                tx.save(
                    "request",
                    SpeakerRequestModel(space_id, user_id, raised_at=now),
                    condition=SpeakerRequestModel.user_id.does_not_exist(),
                )
                # An update, not a check: raising a hand ends incognito listening (docs/people.md),
                # in this same write, so the hand is never raised by someone hidden.
                tx.update(
                    "participant",
                    ParticipantModel(ParticipantModel.key_for(space_id, user_id)),
                    actions=[
                        ParticipantModel.incognito.remove(),
                        ParticipantModel.listed_in.set(listed_in(space_id, user_id, listener_shards)),
                    ],
                    condition=(ParticipantModel.connected == True)  # noqa: E712
                    & ParticipantModel.removed_at.does_not_exist()
                    & (ParticipantModel.role == LISTENER),
                )
                tx.check(
                    "space",
                    SpaceModel,
                    space_id,
                    condition=(SpaceModel.state == LIVE) & SpaceModel.invited[user_id].does_not_exist(),
                )
        except ConditionsFailed as exc:
            if "participant" in exc:
                raise Refused("participant") from exc
            if "space" in exc:
                raise Refused("space") from exc
            return False  # only the request existed: the hand was already up
        return True

    def lower_hand(self, space_id: str, user_id: str) -> bool:
        try:
            SpeakerRequestModel(space_id, user_id).delete(
                condition=SpeakerRequestModel.user_id.exists()
            )
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise dependency_failure(exc) from exc
        return True

    # ------------------------------------------------------------------ stage

    def _invite_space_update(self, space_id: str, user_id: str, now: datetime):
        return dict(
            actions=[
                SpaceModel.invited[user_id].set(stamp(now)),
                SpaceModel.updated_at.set(now),
            ],
            condition=(
                (SpaceModel.state == LIVE)
                & SpaceModel.invited[user_id].does_not_exist()
                & SpaceModel.speakers[user_id].does_not_exist()
                & SpaceModel.cohosts[user_id].does_not_exist()
                & (SpaceModel.creator_id != user_id)
            ),
        )

    def _present_check(self, space_id: str, user_id: str):
        return dict(
            name="participant",
            model_cls=ParticipantModel,
            hash_key=ParticipantModel.key_for(space_id, user_id),
            condition=(ParticipantModel.connected == True)  # noqa: E712
            & ParticipantModel.removed_at.does_not_exist(),
        )

    def invite(self, space_id: str, user_id: str, now: datetime, entry: ModerationEntry | None = None) -> None:
        """`entry`, the invitation's ledger entry, is in the same transaction: an invitation the
        condition refuses (already invited, on stage) logs nothing."""
        try:
            with transaction(self._connection) as tx:
                tx.update("space", SpaceModel(space_id), **self._invite_space_update(space_id, user_id, now))
                tx.check(**self._present_check(space_id, user_id))
                tx.delete("request", SpeakerRequestModel(space_id, user_id))
                add_entry(tx, entry)
        except ConditionsFailed as exc:
            raise Refused("participant" if "participant" in exc else "space") from exc

    def approve_request(
        self, space_id: str, user_id: str, now: datetime, entry: ModerationEntry | None = None
    ) -> None:
        """Answer a raised hand. Deleting the request is the race's referee: one moderator wins,
        and only the winner's `entry` (in the same transaction) reaches the ledger."""
        try:
            with transaction(self._connection) as tx:
                tx.delete(
                    "request",
                    SpeakerRequestModel(space_id, user_id),
                    condition=SpeakerRequestModel.user_id.exists(),
                )
                tx.update("space", SpaceModel(space_id), **self._invite_space_update(space_id, user_id, now))
                tx.check(**self._present_check(space_id, user_id))
                add_entry(tx, entry)
        except ConditionsFailed as exc:
            for part in ("request", "space", "participant"):
                if part in exc:
                    raise Refused(part) from exc
            raise

    def accept_invitation(
        self,
        space_id: str,
        user_id: str,
        participant_id: str,
        now: datetime,
        *,
        rules: SpaceRules,
        consent_at: datetime | None = None,
        participant_was: str | None = None,
        listener_shards: int = 1,
    ) -> None:
        """`consent_at`: the user consents to being recorded now. Without it, a recorded Space
        refuses them unless they consented before (the `space` part fails). `participant_was`:
        the participant id the caller read; the write is refused (`participant`) if it changed."""
        consent_actions, consent_condition = [], (
            (SpaceModel.recording == False)  # noqa: E712 (PynamoDB condition)
            | SpaceModel.recording.does_not_exist()
            | SpaceModel.consents[user_id].exists()
        )
        if consent_at is not None:
            consent_actions, consent_condition = [SpaceModel.consents[user_id].set(stamp(consent_at))], None
        condition = (
            (SpaceModel.state == LIVE)
            & SpaceModel.invited[user_id].exists()
            & (SpaceModel.on_stage < rules.max_on_stage)
        )
        if consent_condition is not None:
            condition = condition & consent_condition
        participant_condition = (
            (ParticipantModel.connected == True)  # noqa: E712
            & ParticipantModel.removed_at.does_not_exist()
            & (ParticipantModel.role == LISTENER)
        )
        if participant_was is not None:
            participant_condition = participant_condition & (ParticipantModel.participant_id == participant_was)
        try:
            with transaction(self._connection) as tx:
                tx.update(
                    "space",
                    SpaceModel(space_id),
                    actions=[
                        SpaceModel.invited[user_id].remove(),
                        SpaceModel.speakers[user_id].set(stamp(now)),
                        SpaceModel.on_stage.add(1),
                        SpaceModel.updated_at.set(now),
                        *consent_actions,
                    ],
                    condition=condition,
                )
                tx.update(
                    "participant",
                    ParticipantModel(ParticipantModel.key_for(space_id, user_id)),
                    actions=[
                        ParticipantModel.role.set(SPEAKER),
                        ParticipantModel.participant_id.set(participant_id),
                        # On stage now, with a stage token, even if they listened on overflow.
                        ParticipantModel.media_kind.remove(),
                        # Shown from now on (docs/people.md); listed again if they step down.
                        ParticipantModel.incognito.remove(),
                        ParticipantModel.listed_in.set(listed_in(space_id, user_id, listener_shards)),
                    ],
                    condition=participant_condition,
                )
                tx.delete("request", SpeakerRequestModel(space_id, user_id))
        except ConditionsFailed as exc:
            raise Refused("space" if "space" in exc else "participant") from exc

    def decline_invitation(self, space_id: str, user_id: str, now: datetime) -> bool:
        try:
            SpaceModel(space_id).update(
                actions=[SpaceModel.invited[user_id].remove(), SpaceModel.updated_at.set(now)],
                condition=SpaceModel.invited[user_id].exists(),
            )
        except UpdateError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise dependency_failure(exc) from exc
        return True

    def step_down(
        self, space_id: str, user_id: str, from_role: str, now: datetime, entry: ModerationEntry | None = None
    ) -> None:
        """A speaker or co-host goes back to listening (demote, or co-host removed); `entry`, a
        moderator's act, goes into the moderation ledger in the same transaction."""
        collection = SpaceModel.speakers if from_role == SPEAKER else SpaceModel.cohosts
        try:
            with transaction(self._connection) as tx:
                tx.update(
                    "space",
                    SpaceModel(space_id),
                    actions=[
                        collection[user_id].remove(),
                        SpaceModel.muted[user_id].remove(),
                        SpaceModel.on_stage.add(-1),
                        SpaceModel.updated_at.set(now),
                    ],
                    condition=(SpaceModel.state == LIVE) & collection[user_id].exists(),
                )
                tx.update(
                    "participant",
                    ParticipantModel(ParticipantModel.key_for(space_id, user_id)),
                    actions=[ParticipantModel.role.set(LISTENER)],
                    condition=ParticipantModel.key.exists(),
                )
                add_entry(tx, entry)
        except ConditionsFailed as exc:
            raise Refused("space") from exc

    def add_cohost(
        self, space_id: str, user_id: str, *, was_speaker: bool, now: datetime, rules: SpaceRules,
        entry: ModerationEntry | None = None,
    ) -> None:
        """`entry` (the host naming a co-host) goes into the ledger in the same transaction."""
        actions = [SpaceModel.cohosts[user_id].set(stamp(now)), SpaceModel.updated_at.set(now)]
        condition = (
            (SpaceModel.state == LIVE)
            & SpaceModel.cohosts[user_id].does_not_exist()
            & (SpaceModel.creator_id != user_id)
            & (SpaceModel.cohosts.does_not_exist() | (size(SpaceModel.cohosts) < rules.max_cohosts))
        )
        if was_speaker:
            actions.append(SpaceModel.speakers[user_id].remove())
            condition = condition & SpaceModel.speakers[user_id].exists()
        else:
            actions += [SpaceModel.on_stage.add(1), SpaceModel.invited[user_id].remove()]
            condition = (
                condition
                & SpaceModel.speakers[user_id].does_not_exist()
                & (SpaceModel.on_stage < rules.max_on_stage)
            )
        try:
            with transaction(self._connection) as tx:
                tx.update("space", SpaceModel(space_id), actions=actions, condition=condition)
                tx.update(
                    "participant",
                    ParticipantModel(ParticipantModel.key_for(space_id, user_id)),
                    actions=[ParticipantModel.role.set(COHOST)],
                    condition=(ParticipantModel.connected == True)  # noqa: E712
                    & ParticipantModel.removed_at.does_not_exist(),
                )
                tx.delete("request", SpeakerRequestModel(space_id, user_id))
                add_entry(tx, entry)
        except ConditionsFailed as exc:
            raise Refused("space" if "space" in exc else "participant") from exc

    # ------------------------------------------------------------------ the pinned post

    def pin(self, space: Space, post: PinnedPost, entry: ModerationEntry) -> None:
        """Pin `post` (replacing any pinned one) with its ledger entry and on the Space's list
        items, in one transaction, on condition the Space is live and the pinner still a host of
        it (a co-host removed a moment ago pins nothing): Refused "space" otherwise, "listings"
        when the lists moved since `space` was read (a PATCH of title or topics)."""
        pinner = post.pinned_by
        try:
            with transaction(self._connection) as tx:
                tx.update(
                    "space",
                    SpaceModel(space.id),
                    actions=[
                        SpaceModel.pinned_url.set(post.url),
                        SpaceModel.pinned_text.set(post.text),
                        SpaceModel.pinned_by.set(pinner),
                        SpaceModel.pinned_at.set(post.pinned_at),
                        SpaceModel.updated_at.set(post.pinned_at),
                    ],
                    condition=_live_and_hosted_by(pinner),
                )
                pin_listings(tx, space, post.url, post.text)
                add_entry(tx, entry)
        except ConditionsFailed as exc:
            raise Refused("space" if "space" in exc else "listings") from exc

    def unpin(self, space: Space, by: str, now: datetime, entry: ModerationEntry) -> bool:
        """-> unpinned (the list items too). False when nothing was pinned (and `entry`, in the
        same transaction, is not logged). Refused as `pin`."""
        space_id = space.id
        condition = _live_and_hosted_by(by)
        try:
            with transaction(self._connection) as tx:
                tx.update(
                    "space",
                    SpaceModel(space_id),
                    actions=[
                        SpaceModel.pinned_url.remove(),
                        SpaceModel.pinned_text.remove(),
                        SpaceModel.pinned_by.remove(),
                        SpaceModel.pinned_at.remove(),
                        SpaceModel.updated_at.set(now),
                    ],
                    condition=condition & SpaceModel.pinned_url.exists(),
                )
                pin_listings(tx, space, None, None)
                add_entry(tx, entry)
        except ConditionsFailed as exc:
            if "space" not in exc:
                raise Refused("listings") from exc
            try:  # only on this failure path: nothing pinned, or not allowed?
                current = to_space(SpaceModel.get(space_id, consistent_read=True))
            except DoesNotExist:
                raise Refused("space") from exc
            except Exception as read_exc:
                raise dependency_failure(read_exc) from exc
            if current.state == LIVE and current.role_of(by) in (HOST, COHOST) and current.pinned is None:
                return False
            raise Refused("space") from exc
        return True

    def set_muted(
        self, space_id: str, user_id: str, muted: bool, now: datetime, entry: ModerationEntry | None = None
    ) -> bool:
        """True when the mute state changed, False when it already was as asked (muting twice
        writes nothing, so it announces nothing). Refused("space") when the Space is not live or,
        to mute, the user is not on stage. With `entry` (a moderator's mute) the update becomes a
        transaction that also puts the ledger entry, so a mute that changed nothing logs nothing."""
        on_stage = (
            SpaceModel.speakers[user_id].exists()
            | SpaceModel.cohosts[user_id].exists()
            | (SpaceModel.creator_id == user_id)
        )
        if muted:
            actions = [SpaceModel.muted[user_id].set(stamp(now))]
            condition = (SpaceModel.state == LIVE) & on_stage & SpaceModel.muted[user_id].does_not_exist()
        else:
            actions = [SpaceModel.muted[user_id].remove()]
            condition = (SpaceModel.state == LIVE) & SpaceModel.muted[user_id].exists()
        actions.append(SpaceModel.updated_at.set(now))
        try:
            if entry is None:
                SpaceModel(space_id).update(actions=actions, condition=condition)
            else:
                with transaction(self._connection) as tx:
                    tx.update("space", SpaceModel(space_id), actions=actions, condition=condition)
                    add_entry(tx, entry)
        except (UpdateError, ConditionsFailed) as exc:
            if isinstance(exc, UpdateError) and error_code(exc) != "ConditionalCheckFailedException":
                raise dependency_failure(exc) from exc
            # Only on this failure path: was it already so, or is the Space / the user elsewhere?
            try:
                current = to_space(SpaceModel.get(space_id, consistent_read=True))
            except DoesNotExist:
                raise Refused("space") from exc
            except Exception as read_exc:
                raise dependency_failure(read_exc) from exc
            if current.state == LIVE:
                if not muted:
                    return False  # was not muted
                if user_id in current.muted and current.role_of(user_id) != LISTENER:
                    return False  # already muted
            raise Refused("space") from exc
        return True


def _live_and_hosted_by(user_id: str):
    """The pin's and the unpin's condition: the Space is live and `user_id` its host or a co-host."""
    return (SpaceModel.state == LIVE) & ((SpaceModel.creator_id == user_id) | SpaceModel.cohosts[user_id].exists())
