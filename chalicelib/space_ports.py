"""The Space aggregate's ports: one repository per consistency boundary, each a Protocol that
services type against (`Deps.spaces`, `participants`, `stage_members`, `overflow_claims`,
`listings`). Re-exported by `chalicelib/port_protocols.py` with the other ports.

Implemented by adapters/dynamodb/spaces.py, participants.py, stage_members.py,
overflow_claims.py and listings.py, and in memory by tests/fakes/spaces.py; one contract suite
(tests/integration/test_space_repositories_contract.py) runs against both. A write whose
condition fails raises Refused(part): the part names which rule refused it, and services turn
it into the precise domain error. Every other failure of the database raises DependencyFailed.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.ports import JoinOutcome, Listener, PageKey, Participant

if TYPE_CHECKING:  # annotations only
    from chalicelib.domain.listener_list import Position, ShardPage
    from chalicelib.domain.appeals import Appeal
    from chalicelib.domain.moderation import ModerationEntry
    from chalicelib.domain.reports import Report
    from chalicelib.domain.pinned import PinnedPost
    from chalicelib.domain.spaces import Listing, OverflowInfo, Space, SpaceRules, StageInfo


class SpaceRepository(Protocol):
    """The Space's lifecycle: create, read, transitions, edits."""

    def get(self, space_id: str, *, with_count: bool = True) -> Space:
        """The Space, with its participant (live only) and subscriber counts unless
        `with_count=False`. NotFound `space_not_found`."""

    def get_with_participant(self, space_id: str, user_id: str) -> tuple[Space, Participant | None]:
        """The Space (without counts) and one user's participant, in one round trip."""

    def landed(self, space: Space) -> bool | None:
        """After a write whose answer was lost: is the Space stored in the state and on the
        stage that write gave it? None when even a consistent read fails."""

    def create(
        self,
        space: Space,
        *,
        max_scheduled: int,
        blocked_filter: tuple[bytes | None, int | None] = (None, None),
    ) -> None:
        """Store a new Space with its host and co-host participants and its listings.
        Refused: "exists", "host_busy" (live: the host is live elsewhere), "too_many_scheduled"
        (the host has `max_scheduled`), "blocks" (the host's blocked filter changed)."""

    def start(
        self,
        space: Space,
        stage: StageInfo,
        now: datetime,
        *,
        room_arn: str | None = None,
        blocked_filter: tuple[bytes | None, int | None] = (None, None),
    ) -> None:
        """scheduled -> live on `stage`. Refused "state", "host_busy" or "blocks"."""

    def end(self, space: Space, now: datetime, entry: ModerationEntry | None = None) -> None:
        """live -> ended; its media is then pending release. Refused "state". `entry` (the
        host's or an operator's end) goes into the moderation ledger in the same write."""

    def cancel(self, space: Space, now: datetime) -> None:
        """scheduled -> canceled. Refused "state"."""

    def update_details(self, before: Space, after: Space) -> None:
        """Title, topics, scheduled start (and the listings with them). Refused "state"."""

    def release_pending(self, limit: int = 50) -> list[tuple[str, str]]:
        """Ended Spaces whose stage still needs deleting: (space_id, stage_arn)."""

    def release_pending_media(self, limit: int = 50) -> list[tuple[str, str | None, str | None]]:
        """Ended Spaces whose stage or room still needs deleting: (space_id, stage_arn, room_arn)."""

    def mark_media_released(self, space_id: str) -> None: ...


class ParticipantRepository(Protocol):
    """Who is in a Space: joins, leaves, presence, blocks and removals."""

    def get_participant(self, space_id: str, user_id: str, *, consistent: bool = False) -> Participant | None: ...

    def shard_for(self, user_id: str) -> int:
        """The counter and presence shard of a user."""

    def fold_count_records(self, records: list[dict[str, Any]]) -> int:
        """Move the participant counters by the participant changes a stream batch shows."""

    def join(
        self,
        space_id: str,
        user_id: str,
        *,
        known: Participant | None,
        participant_id: str,
        now: datetime,
        host_id: str | None = None,
        check_block: bool = True,
        needs_pass: str | None = None,
        playback: bool = False,
        incognito: bool = False,
        listener_shards: int = 1,
    ) -> JoinOutcome:
        """Connect a user (`known`: the participant as read, or None as a guess that they are
        new). `listener_shards`: the Space's; where their listener list entry goes. Refused: "removed", "blocked" (by `host_id`), "no_pass" (`needs_pass` "ticket"
        or "subscription" missing), "changed" (the item kept changing under a reconnect).
        `playback`: a listener who connects now takes the overflow channel. `incognito`: a
        listener who connects now is in no list of people (still counted)."""

    def listeners_page(
        self, space_id: str, *, limit: int, after: PageKey | None = None
    ) -> tuple[list[Listener], PageKey | None]:
        """One page of the listener list (connected, not incognito, not on stage), most recent
        join first: ONE Query; (listeners, the last key or None). A Space with one listener shard."""

    def listener_shard_pages(
        self, space_id: str, *, shards: int, limit: int, positions: list[Position]
    ) -> list[ShardPage]:
        """A Space with `shards` > 1 listener shards: for each shard not DONE, ONE Query of at most
        `limit` entries from its position (run at once); what each returned and where it stopped.
        domain/listener_list.py merges them."""

    def leave(
        self, space_id: str, user_id: str, now: datetime, *, if_last_seen: int | None = None
    ) -> Participant | None:
        """Disconnect a user (a speaker steps off the stage); returns the participant as it was.
        `if_last_seen`: only if not seen since. Refused "changed"."""

    def stale_participants(self, space_id: str, cutoff: datetime, limit: int = 500) -> list[tuple[str, int]]:
        """Connected participants not seen since `cutoff`: [(user_id, last_seen epoch)]."""

    def mark_blocked(
        self, space_id: str, user_id: str, now: datetime, entry: ModerationEntry | None = None
    ) -> bool:
        """The host blocked `user_id` during the Space: no join of theirs succeeds from now on.
        True when newly marked; False when already marked, and then `entry` (in the same write)
        is not logged."""

    def clear_blocked(self, space_id: str, user_id: str) -> None: ...

    def remove_participant(
        self, space_id: str, user_id: str, by: str, current: Participant | None, now: datetime,
        entry: ModerationEntry | None = None,
    ) -> None:
        """Ban a user: off the stage, disconnected, never let back in. Refused "changed" when
        the participant is no longer `current`. `entry` is appended to the moderation ledger in
        the same write: both or neither."""


class StageMemberRepository(Protocol):
    """Who is on a live Space's stage: hands, invitations, speakers, co-hosts, mutes.
    Refused parts: "space" (the Space is not live, or the user's stage place is not as the
    call needs), "participant" (not connected, removed, or not a listener), "request"."""

    def pending_requests(self, space_id: str, limit: int = 100) -> list[tuple[str, datetime]]:
        """Raised hands: (user_id, raised_at), in user id order."""

    def raise_hand(self, space_id: str, user_id: str, now: datetime, *, listener_shards: int = 1) -> bool:
        """True when the hand went up, False when it was already up. An incognito listener is
        listed from now on, under their key for the Space's `listener_shards`."""

    def lower_hand(self, space_id: str, user_id: str) -> bool: ...

    def invite(self, space_id: str, user_id: str, now: datetime, entry: ModerationEntry | None = None) -> None:
        """Invite a listener to the stage; `entry` is appended to the moderation ledger in the
        same write (a refused invitation logs nothing)."""

    def approve_request(
        self, space_id: str, user_id: str, now: datetime, entry: ModerationEntry | None = None
    ) -> None:
        """Answer a raised hand with an invitation; of two answers exactly one wins (the other
        is Refused "request"), and only the winner's `entry` reaches the ledger."""

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
        """Invited -> speaker, within `rules.max_on_stage`; a recorded Space needs the user's
        recording consent (given now as `consent_at`, or before). `participant_was`: the
        participant id the caller read; Refused "participant" if it changed meanwhile."""

    def decline_invitation(self, space_id: str, user_id: str, now: datetime) -> bool: ...

    def step_down(
        self, space_id: str, user_id: str, from_role: str, now: datetime, entry: ModerationEntry | None = None
    ) -> None:
        """A speaker or co-host goes back to listening; `entry` (a moderator's act) is
        appended to the moderation ledger in the same write."""

    def add_cohost(
        self, space_id: str, user_id: str, *, was_speaker: bool, now: datetime, rules: SpaceRules,
        entry: ModerationEntry | None = None,
    ) -> None:
        """Make a user a co-host, within `rules.max_cohosts` and (from the audience)
        `rules.max_on_stage`; `entry` goes into the moderation ledger in the same write."""

    def pin(self, space: Space, post: PinnedPost, entry: ModerationEntry) -> None:
        """Pin `post` (replacing the pinned one) on the Space and its list items, with `entry`
        in the ledger, in one write. Refused "space" unless the Space is live and
        `post.pinned_by` its host or a co-host; "listings" when its lists moved since `space`
        was read (read again and retry)."""

    def unpin(self, space: Space, by: str, now: datetime, entry: ModerationEntry) -> bool:
        """Take the pinned post down with `entry`, in one write: True; False when nothing was
        pinned (nothing written). Refused as `pin`."""

    def set_muted(
        self, space_id: str, user_id: str, muted: bool, now: datetime, entry: ModerationEntry | None = None
    ) -> bool:
        """True when the mute state changed, False when it already was as asked; `entry` is
        appended to the moderation ledger only when the state changed, in the same write."""


class OverflowClaimRepository(Protocol):
    """A live Space's overflow audience: the claim to start it, and what it is once started."""

    def claim_overflow(self, space_id: str, now: datetime, *, lease_seconds: int) -> bool:
        """Of any number of callers exactly one gets True (a claim older than `lease_seconds`
        may be taken again). False when the Space is not live or is claimed."""

    def set_overflow(self, space_id: str, info: OverflowInfo) -> None:
        """Record the started overflow (and flag the live listing). Refused "state"."""

    def replace_overflow_composition(self, space_id: str, old_arn: str, new_arn: str, restarts: int) -> None:
        """Refused "state" when the Space ended or another run replaced `old_arn` first."""

    def release_overflow_claim(self, space_id: str) -> None:
        """Give a failed start back, so the next run retries it."""

    def release_pending_overflows(self, limit: int = 50) -> dict[str, OverflowInfo]:
        """Ended Spaces pending media release whose overflow channel may still exist."""


class ListingRepository(Protocol):
    """The Spaces tab: discovery lists in rank order, and title search."""

    def discovery_page(
        self, list_key: str, *, ascending: bool, limit: int, after: PageKey | None
    ) -> tuple[list[Listing], PageKey | None]:
        """One page of a list (`live`, `scheduled`, `<state>#topic#<t>`, `<state>#host#<id>`)."""

    def discovery_window(self, list_key: str, *, max_items: int, rank_below: int | None = None) -> list[Listing]:
        """A whole list (or its ranks below `rank_below`), in rank order, up to `max_items`."""

    def search_page(
        self, state: str, word: str, *, limit: int, after: PageKey | None
    ) -> tuple[list[Listing], PageKey | None]:
        """Spaces of `state` with a title word starting with `word`."""

    def live_space_ids(self) -> list[str]: ...

    def refresh_live_ranks(
        self, counts_out: dict[str, int] | None = None, overflowing_out: set[str] | None = None
    ) -> int:
        """Copy each live Space's participant count into its listings' rank; returns how many
        listings changed. `counts_out` receives every live Space's count, `overflowing_out` the
        live Spaces whose overflow is on."""


class ModerationLogRepository(Protocol):
    """The moderation ledger (docs/moderation.md). Append-only: entries are written only by the
    acts above (their `entry` argument), so this port reads and nothing else."""

    def for_space(
        self, space_id: str, *, limit: int, after: dict[str, Any] | None = None
    ) -> tuple[list[ModerationEntry], dict[str, Any] | None]:
        """One page of a Space's log, oldest first, and the key to continue from (None: last page)."""

    def for_target(
        self, target_id: str, *, limit: int, after: dict[str, Any] | None = None
    ) -> tuple[list[ModerationEntry], dict[str, Any] | None]:
        """One page of every act done to `target_id`, oldest first."""


class AppealRepository(Protocol):
    """Removed users' appeals (one per user and Space) and lifting a removal."""

    def appeal(self, appeal: Appeal) -> None:
        """Keep the appeal. Refused "appealed" when the user already appealed in this Space,
        "participant" when they are not removed (both enforced by the write)."""

    def for_space(
        self, space_id: str, *, limit: int, after: dict[str, Any] | None = None
    ) -> tuple[list[Appeal], dict[str, Any] | None]:
        """One page of a Space's appeals, by user id."""

    def lift_removal(self, space_id: str, user_id: str, entry: ModerationEntry) -> None:
        """The user may join again; `entry` goes into the ledger in the same write. Refused
        "participant" when the user is not removed."""


class ReportRepository(Protocol):
    """Reports of a Space or a person in it (docs/moderation.md)."""

    def report(self, report: Report) -> None:
        """Keep the report; Refused "reported" when this reporter already reported this target here."""

    def open_reports(self, limit: int = 100) -> list[Report]:
        """The oldest open reports, for operators."""

    def for_space(self, space_id: str) -> list[Report]: ...

    def resolve(self, space_id: str, target: str, reporter_id: str, resolution: str, now: datetime) -> None:
        """Close an open report; Refused "report" when it is not open."""

    def bar_host(self, user_id: str, entry: ModerationEntry) -> None:
        """An operator bars `user_id` from hosting; `entry` goes into the ledger in the same
        write. Refused "user" when they already are barred."""
