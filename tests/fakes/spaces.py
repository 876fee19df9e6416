"""In-memory fakes of the Space aggregate's five repositories (chalicelib/port_protocols.py).

They share one `SpaceStore`, as the DynamoDB adapters share tables, and keep the adapters'
rules: each write checks every condition the adapter's write (or transaction) carries before it
changes anything, and refuses with the same `Refused(part)`. The contract suite
(tests/integration/test_space_repositories_contract.py) runs the same tests on these and on the
DynamoDB adapters, so the two cannot drift apart.

What they do not model: DynamoDB's sharded counters (a live Space's participant count here is its
connected participants, the value the count fold settles on) and the eventual consistency of
indexes. The recording fields are the Space's `consents` and `recording_info` (with what a row
holds before its recording started: `SpaceStore.recording_of`); tests/fakes/recording.py moves
them on.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from msgspec.structs import replace
from datetime import datetime
from typing import Any

from chalicelib.domain.errors import NotFound
from chalicelib.domain.listener_list import DONE, Position, ShardPage, Upto, listed_in
from chalicelib.domain.recording import PROCESSING, RecordingInfo
from chalicelib.domain.appeals import Appeal
from chalicelib.domain.moderation import ModerationEntry
from chalicelib.domain.reports import OPEN, RESOLVED, Report
from chalicelib.domain.pinned import PinnedPost
from chalicelib.domain.spaces import (
    CANCELED,
    COHOST,
    ENDED,
    HOST,
    LISTENER,
    LIVE,
    SCHEDULED,
    SPEAKER,
    Listing,
    OverflowInfo,
    Space,
    SpaceRules,
    StageInfo,
    join_refusal,
    search_words,
    takes_playback,
)
from chalicelib.domain.tickets import Sales
from chalicelib.ports import JoinOutcome, Listener, PageKey, Participant, Refused


def _stamp(now: datetime) -> str:
    """How a stage map records when someone arrived (the adapters' format)."""
    return now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class _SpaceRow:
    space: Space
    on_stage: int
    live_rank: int = 0
    overflow_state: str | None = None  # None | "starting" | "on"
    overflow_claimed_at: int = 0
    overflow: OverflowInfo | None = None
    release_pending: bool = False
    # What the Space item keeps of a recording that has not started (a withdrawal, the clipping
    # switch): the adapter shows no `recording_info` until the recording started or a replay
    # exists, yet keeps these attributes for when it does. SpaceStore.recording_of reads both.
    held_recording: RecordingInfo | None = None


@dataclass
class _ParticipantRow:
    role: str = LISTENER
    connected: bool = False
    participant_id: str | None = None
    removed: bool = False
    blocked: bool = False
    playback: bool = False
    last_seen: int | None = None  # set while connected: what the presence sweep reads
    incognito: bool = False
    joined_at: datetime | None = None
    # The listener index key the last join, raised hand or acceptance wrote (as the adapter's).
    listed_in: str | None = None


@dataclass
class _Host:
    live_space_id: str | None = None
    scheduled: int = 0


@dataclass
class SpaceStore:
    """The tables: Space rows, participant rows, raised hands, hosts, users and what a join
    checks (blocks by host, paid tickets, subscriptions). Tests may seed `passes` and `subscribers`."""

    count_shards: int = 10
    spaces: dict[str, _SpaceRow] = field(default_factory=dict)
    participants: dict[tuple[str, str], _ParticipantRow] = field(default_factory=dict)
    requests: dict[tuple[str, str], datetime] = field(default_factory=dict)
    hosts: dict[str, _Host] = field(default_factory=dict)
    # Users (tests/fakes/users.py keeps them): counts, follows, blocks and the blocked filters.
    users: dict[str, list[int]] = field(default_factory=dict)  # user id -> [followers, following]
    follows: set[tuple[str, str]] = field(default_factory=set)  # (follower, followee)
    host_filters: dict[str, tuple[bytes, int]] = field(default_factory=dict)  # host -> (bits, version)
    blocked_filter_shards: dict[int, tuple[bytes, int]] = field(default_factory=dict)
    blocks: set[tuple[str, str]] = field(default_factory=set)  # (host_id, user_id)
    passes: set[tuple[str, str]] = field(default_factory=set)  # paid tickets: (space_id, user_id)
    subscribers: set[tuple[str, str]] = field(default_factory=set)  # paid-up: (host_id, user_id)
    ledger: list[ModerationEntry] = field(default_factory=list)  # the moderation log, appended to
    appeals: dict[tuple[str, str], Appeal] = field(default_factory=dict)  # (space_id, user_id)
    reports: dict[tuple[str, str, str], Report] = field(default_factory=dict)  # (space, target, reporter)
    barred_hosts: set[str] = field(default_factory=set)  # users an operator barred from hosting
    recording_pending: set[str] = field(default_factory=set)  # the landing job's index (tests/fakes/recording.py)
    # The other ports' fakes `fake_deps` (tests/fakes/__init__.py) built on this store, by `Deps`
    # name: Deps built again on the same store (a later clock) share them, as they share tables.
    outside: dict[str, Any] = field(default_factory=dict)

    def append(self, entry: ModerationEntry | None) -> None:
        """Keep a moderation ledger entry, as the act's transaction puts it (never replaced)."""
        if entry is not None:
            assert all(e.entry_id != entry.entry_id or e.space_id != entry.space_id for e in self.ledger)
            self.ledger.append(entry)

    def host(self, user_id: str) -> _Host:
        return self.hosts.setdefault(user_id, _Host())

    def row(self, space_id: str) -> _SpaceRow | None:
        return self.spaces.get(space_id)

    def participant(self, space_id: str, user_id: str) -> _ParticipantRow | None:
        return self.participants.get((space_id, user_id))

    def connected_count(self, space_id: str) -> int:
        return sum(1 for (s, _), p in self.participants.items() if s == space_id and p.connected)

    def incognito_count(self, space_id: str) -> int:
        return sum(1 for (s, _), p in self.participants.items() if s == space_id and p.connected and p.incognito)

    def recording_of(self, space_id: str) -> RecordingInfo:
        """Every recording attribute the Space item holds, shown (`recording_info`) or held."""
        row = self.spaces[space_id]
        return row.space.recording_info or row.held_recording or RecordingInfo()

    def keep_recording(self, space_id: str, info: RecordingInfo) -> None:
        """Store the recording attributes; the Space shows them only once the recording started
        or a replay exists, as the adapter's `recording_info_of` does."""
        row = self.spaces[space_id]
        shown = info.started_at is not None or info.replay_state is not None
        row.held_recording = None if shown else info
        row.space = replace(row.space, recording_info=info if shown else None)

    def edit(self, space_id: str, **changes: Any) -> None:
        row = self.spaces[space_id]
        row.space = replace(row.space, **changes)

    def repositories(self) -> dict[str, Any]:
        """The five repositories by their `Deps` names: `Deps(..., **store.repositories())`."""
        return {
            "spaces": FakeSpaceRepository(self),
            "participants": FakeParticipantRepository(self),
            "stage_members": FakeStageMembers(self),
            "overflow_claims": FakeOverflowClaims(self),
            "listings": FakeListingRepository(self),
            "moderation_log": FakeModerationLog(self),
            "appeals": FakeAppeals(self),
            "reports": FakeReports(self),
        }


class FakeModerationLog:
    """The moderation ledger's reads over `SpaceStore.ledger`, paged like the DynamoDB Query:
    by entry id, with the last entry's key to continue from."""

    def __init__(self, store: SpaceStore) -> None:
        self._store = store

    def for_space(self, space_id: str, *, limit: int, after: dict | None = None):
        entries = [e for e in self._store.ledger if e.space_id == space_id]
        return self._page(entries, limit, after, lambda e: {"entry_id": e.entry_id})

    def for_target(self, target_id: str, *, limit: int, after: dict | None = None):
        entries = [e for e in self._store.ledger if e.target_id == target_id]
        return self._page(entries, limit, after, lambda e: {"entry_id": e.entry_id, "space_id": e.space_id})

    @staticmethod
    def _page(entries: list[ModerationEntry], limit: int, after: dict | None, key: Any):
        entries = sorted(entries, key=lambda e: (e.entry_id, e.space_id))
        if after is not None and "space_id" in after:  # by target: (entry_id, space_id), as the index
            entries = [e for e in entries if (e.entry_id, e.space_id) > (after["entry_id"], after["space_id"])]
        elif after is not None:
            entries = [e for e in entries if e.entry_id > after["entry_id"]]
        page = entries[:limit]
        return page, (key(page[-1]) if len(page) == limit else None)


class FakeAppeals:
    def __init__(self, store: SpaceStore) -> None:
        self._store = store

    def appeal(self, appeal: Appeal) -> None:
        key = (appeal.space_id, appeal.user_id)
        p = self._store.participant(*key)
        if p is None or not p.removed:
            raise Refused("participant")
        if key in self._store.appeals:
            raise Refused("appealed")
        self._store.appeals[key] = appeal

    def for_space(self, space_id: str, *, limit: int, after: dict | None = None):
        appeals = sorted((a for a in self._store.appeals.values() if a.space_id == space_id), key=lambda a: a.user_id)
        if after is not None:
            appeals = [a for a in appeals if a.user_id > after["user_id"]]
        page = appeals[:limit]
        return page, ({"user_id": page[-1].user_id} if len(page) == limit else None)

    def lift_removal(self, space_id: str, user_id: str, entry: ModerationEntry) -> None:
        p = self._store.participant(space_id, user_id)
        if p is None or not p.removed:
            raise Refused("participant")
        p.removed = False
        self._store.append(entry)


class FakeReports:
    def __init__(self, store: SpaceStore) -> None:
        self._store = store

    def report(self, report: Report) -> None:
        key = (report.space_id, report.target, report.reporter_id)
        if key in self._store.reports:
            raise Refused("reported")
        self._store.reports[key] = report

    def open_reports(self, limit: int = 100) -> list[Report]:
        found = [r for r in self._store.reports.values() if r.status == OPEN]
        return sorted(found, key=lambda r: r.created_at)[:limit]

    def for_space(self, space_id: str) -> list[Report]:
        return sorted((r for r in self._store.reports.values() if r.space_id == space_id), key=lambda r: (r.target, r.reporter_id))

    def resolve(self, space_id: str, target: str, reporter_id: str, resolution: str, now: datetime) -> None:
        found = self._store.reports.get((space_id, target, reporter_id))
        if found is None or found.status != OPEN:
            raise Refused("report")
        self._store.reports[(space_id, target, reporter_id)] = replace(found, status=RESOLVED, resolution=resolution)

    def bar_host(self, user_id: str, entry: ModerationEntry) -> None:
        if user_id in self._store.barred_hosts:
            raise Refused("user")
        self._store.barred_hosts.add(user_id)
        self._store.append(entry)


def _participant(space_id: str, user_id: str, p: _ParticipantRow) -> Participant:
    return Participant(
        space_id, user_id, p.role, p.connected, p.participant_id, removed=p.removed, playback=p.playback,
        blocked=p.blocked, incognito=p.incognito,
    )


class _Repo:
    def __init__(self, store: SpaceStore) -> None:
        self._store = store


class FakeSpaceRepository(_Repo):
    def get(self, space_id: str, *, with_count: bool = True) -> Space:
        row = self._store.row(space_id)
        if row is None:
            raise NotFound(f"Space {space_id} does not exist", code="space_not_found")
        space = replace(row.space, overflow=row.overflow if row.overflow_state == "on" else None)
        if with_count and space.state == LIVE:
            space = replace(
                space,
                participant_count=self._store.connected_count(space_id),
                incognito_count=self._store.incognito_count(space_id),
            )
        return space

    def get_with_participant(self, space_id: str, user_id: str) -> tuple[Space, Participant | None]:
        space = self.get(space_id, with_count=False)
        p = self._store.participant(space_id, user_id)
        return space, (_participant(space_id, user_id, p) if p else None)

    def landed(self, space: Space) -> bool | None:
        row = self._store.row(space.id)
        if row is None:
            return False
        return row.space.state == space.state and row.space.stage == space.stage

    def _filter_unchanged(self, host_id: str, blocked_filter: tuple[bytes | None, int | None]) -> bool:
        stored = self._store.host_filters.get(host_id)
        return (stored[1] if stored else None) == blocked_filter[1]

    def create(
        self,
        space: Space,
        *,
        max_scheduled: int,
        blocked_filter: tuple[bytes | None, int | None] = (None, None),
    ) -> None:
        host = self._store.host(space.creator_id)
        if space.state == LIVE and host.live_space_id is not None:
            raise Refused("host_busy")
        if space.state != LIVE and host.scheduled >= max_scheduled:
            raise Refused("too_many_scheduled")
        if space.state == LIVE and not self._filter_unchanged(space.creator_id, blocked_filter):
            raise Refused("blocks")
        if space.id in self._store.spaces:
            raise Refused("exists")
        sales = None
        if space.ticket is not None:
            sales = Sales(capacity=space.ticket.capacity, held=0, sold=0, refunded=0, gross_cents=0)
        stored = replace(
            space, speakers={}, muted={}, participant_count=0, subscriber_count=0, overflow=None, sales=sales,
            blocked_filter=blocked_filter[0] if space.state == LIVE else None,
        )
        self._store.spaces[space.id] = _SpaceRow(stored, on_stage=1 + len(space.cohosts), live_rank=space.participant_count)
        if space.state == LIVE:
            host.live_space_id = space.id
        else:
            host.scheduled += 1
        for user_id, role in [(space.creator_id, HOST)] + [(u, COHOST) for u in space.cohosts]:
            self._store.participants[(space.id, user_id)] = _ParticipantRow(role=role)

    def start(
        self,
        space: Space,
        stage: StageInfo,
        now: datetime,
        *,
        room_arn: str | None = None,
        blocked_filter: tuple[bytes | None, int | None] = (None, None),
    ) -> None:
        row = self._store.row(space.id)
        if row is None or row.space.state != SCHEDULED:
            raise Refused("state")
        host = self._store.host(space.creator_id)
        if host.live_space_id is not None:
            raise Refused("host_busy")
        if not self._filter_unchanged(space.creator_id, blocked_filter):
            raise Refused("blocks")
        changes: dict[str, Any] = dict(
            state=LIVE, started_at=now, updated_at=now, stage=stage, recording=space.recording,
            blocked_filter=blocked_filter[0] or None,
        )
        if room_arn:
            changes["room_arn"] = room_arn
        if space.recording:
            changes["consents"] = dict(space.consents)
        self._store.edit(space.id, **changes)
        if space.recording and space.recording_info is not None:  # adapters' recording_start_actions
            kept = self._store.recording_of(space.id)
            self._store.keep_recording(
                space.id,
                replace(kept, started_at=space.recording_info.started_at, prefix=space.recording_info.prefix or kept.prefix),
            )
        row.live_rank = 0
        host.live_space_id = space.id
        host.scheduled -= 1

    def end(self, space: Space, now: datetime, entry: ModerationEntry | None = None) -> None:
        row = self._store.row(space.id)
        host = self._store.host(space.creator_id)
        if row is None or row.space.state != LIVE or host.live_space_id != space.id:
            raise Refused("state")
        self._store.edit(space.id, state=ENDED, ended_at=now, updated_at=now)
        if space.recording and space.recording_info is not None:  # adapters' recording_end_actions
            self._store.keep_recording(
                space.id,
                replace(self._store.recording_of(space.id), stopped_at=now, replay_state=PROCESSING, mix_version=1),
            )
            self._store.recording_pending.add(space.id)
        row.release_pending = True
        host.live_space_id = None
        self._store.append(entry)

    def cancel(self, space: Space, now: datetime) -> None:
        row = self._store.row(space.id)
        if row is None or row.space.state != SCHEDULED:
            raise Refused("state")
        self._store.edit(space.id, state=CANCELED, updated_at=now)
        self._store.host(space.creator_id).scheduled -= 1

    def update_details(self, before: Space, after: Space) -> None:
        row = self._store.row(before.id)
        moves = after.scheduled_start != before.scheduled_start and after.scheduled_start is not None
        expected = SCHEDULED if moves else before.state
        if row is None or row.space.state != expected:
            raise Refused("state")
        changes: dict[str, Any] = {
            "updated_at": after.updated_at, "title": after.title, "topics": after.topics,
            "allow_incognito": after.allow_incognito,
        }
        if moves:
            changes["scheduled_start"] = after.scheduled_start
        self._store.edit(before.id, **changes)
        if before.state == LIVE:
            row.live_rank = after.participant_count

    def release_pending(self, limit: int = 50) -> list[tuple[str, str]]:
        return [(space_id, stage) for space_id, stage, _ in self.release_pending_media(limit) if stage]

    def release_pending_media(self, limit: int = 50) -> list[tuple[str, str | None, str | None]]:
        pending = [row.space for row in self._store.spaces.values() if row.release_pending][:limit]
        return [
            (s.id, s.stage.arn if s.stage else None, s.room_arn) for s in pending if s.stage or s.room_arn
        ]

    def mark_media_released(self, space_id: str) -> None:
        row = self._store.row(space_id)
        if row is not None:
            row.release_pending = False


class FakeParticipantRepository(_Repo):
    def get_participant(self, space_id: str, user_id: str, *, consistent: bool = False) -> Participant | None:
        p = self._store.participant(space_id, user_id)
        return _participant(space_id, user_id, p) if p else None

    def shard_for(self, user_id: str) -> int:
        return zlib.crc32(user_id.encode()) % self._store.count_shards

    def fold_count_records(self, records: list[dict[str, Any]]) -> int:
        return 0  # counts are read from the participants themselves

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
        p = self._store.participant(space_id, user_id)
        refusal = join_refusal(p.removed, p.blocked) if p is not None else None
        if refusal is not None:
            raise Refused(refusal)
        if p is not None and p.connected:
            # A reconnect keeps the participant id the user is connected with.
            p.participant_id = p.participant_id or participant_id
            p.last_seen = int(now.timestamp())
            return JoinOutcome(_participant(space_id, user_id, p), newly_connected=False)
        if check_block and host_id is not None and (host_id, user_id) in self._store.blocks:
            raise Refused("blocked")
        if needs_pass == "ticket" and (space_id, user_id) not in self._store.passes:
            raise Refused("no_pass")
        if needs_pass == "subscription" and (host_id, user_id) not in self._store.subscribers:
            raise Refused("no_pass")
        p = p or self._store.participants.setdefault((space_id, user_id), _ParticipantRow())
        p.connected, p.participant_id, p.last_seen = True, participant_id, int(now.timestamp())
        p.playback = takes_playback(playback, p.role, invited=False)
        p.incognito, p.joined_at = incognito and p.role == LISTENER, now
        p.listed_in = None if p.incognito else listed_in(space_id, user_id, listener_shards)
        return JoinOutcome(_participant(space_id, user_id, p), newly_connected=True)

    def leave(
        self, space_id: str, user_id: str, now: datetime, *, if_last_seen: int | None = None
    ) -> Participant | None:
        p = self._store.participant(space_id, user_id)
        if p is None or not p.connected:
            return _participant(space_id, user_id, p) if p else None
        before = _participant(space_id, user_id, p)
        row = self._store.row(space_id)
        if if_last_seen is not None and p.last_seen != if_last_seen:
            raise Refused("changed")
        if p.role == SPEAKER and (row is None or user_id not in row.space.speakers):
            raise Refused("changed")
        if p.role == SPEAKER and row is not None:
            _leave_stage(row, user_id, row.space.speakers, now)
            p.role = LISTENER
        p.connected, p.last_seen = False, None
        self._store.requests.pop((space_id, user_id), None)
        return before

    def _listed(self, space_id: str, key: str) -> list[tuple[datetime, str]]:
        """The listener list's entries under one index key, newest first (ties by user id,
        descending)."""
        return sorted(
            (
                (p.joined_at, user_id)
                for (s, user_id), p in self._store.participants.items()
                if s == space_id and p.connected and not p.incognito and p.role == LISTENER and p.joined_at
                and p.listed_in == key
            ),
            reverse=True,
        )

    def listener_shard_pages(
        self, space_id: str, *, shards: int, limit: int, positions: list[Position]
    ) -> list[ShardPage]:
        pages = []
        for shard, position in enumerate(positions):
            listed = self._listed(space_id, f"{space_id}#{shard}")
            if position == DONE:
                pages.append(ShardPage([], None))
                continue
            if isinstance(position, Upto):
                listed = [entry for entry in listed if entry[0] <= position.joined_at]
            elif position is not None:
                listed = [entry for entry in listed if entry < position]
            taken = listed[:limit]
            last = taken[-1] if len(listed) > limit else None
            pages.append(ShardPage([Listener(user_id, at) for at, user_id in taken], last and (last[0], last[1])))
        return pages

    def listeners_page(
        self, space_id: str, *, limit: int, after: dict | None = None
    ) -> tuple[list[Listener], dict | None]:
        listed = self._listed(space_id, space_id)
        if after is not None:
            edge = (datetime.fromisoformat(after["joined_at"]), after["key"].split("#", 1)[1])
            listed = [entry for entry in listed if entry < edge]
        page = listed[:limit]
        last = page[-1] if len(listed) > limit else None
        key = None if last is None else {"key": f"{space_id}#{last[1]}", "joined_at": last[0].isoformat()}
        return [Listener(user_id, at) for at, user_id in page], key

    def stale_participants(self, space_id: str, cutoff: datetime, limit: int = 500) -> list[tuple[str, int]]:
        edge = int(cutoff.timestamp())
        return [
            (u, p.last_seen)
            for (s, u), p in self._store.participants.items()
            if s == space_id and p.connected and p.last_seen is not None and p.last_seen < edge
        ]

    def mark_blocked(
        self, space_id: str, user_id: str, now: datetime, entry: ModerationEntry | None = None
    ) -> bool:
        p = self._store.participants.setdefault((space_id, user_id), _ParticipantRow())
        if p.blocked:
            return False
        p.blocked = True
        self._store.append(entry)
        return True

    def clear_blocked(self, space_id: str, user_id: str) -> None:
        p = self._store.participant(space_id, user_id)
        if p is not None:
            p.blocked = False

    def remove_participant(
        self, space_id: str, user_id: str, by: str, current: Participant | None, now: datetime,
        entry: ModerationEntry | None = None,
    ) -> None:
        p = self._store.participant(space_id, user_id)
        row = self._store.row(space_id)
        if current is None:
            unchanged = p is None
        else:
            unchanged = p is not None and not p.removed and p.connected == current.connected and p.role == current.role
        on_stage = current is not None and current.role in (SPEAKER, COHOST)
        if on_stage and current is not None and row is not None:
            unchanged = unchanged and user_id in (row.space.speakers if current.role == SPEAKER else row.space.cohosts)
        if not unchanged or row is None:
            raise Refused("changed")
        if on_stage and current is not None:
            _leave_stage(row, user_id, row.space.speakers if current.role == SPEAKER else row.space.cohosts, now)
        invited = {k: v for k, v in row.space.invited.items() if k != user_id}
        muted = {k: v for k, v in row.space.muted.items() if k != user_id}
        self._store.edit(space_id, invited=invited, muted=muted, updated_at=now)
        p = p or self._store.participants.setdefault((space_id, user_id), _ParticipantRow())
        p.removed, p.connected, p.role, p.last_seen = True, False, LISTENER, None
        self._store.requests.pop((space_id, user_id), None)
        self._store.append(entry)


def _leave_stage(row: _SpaceRow, user_id: str, collection: dict[str, Any], now: datetime) -> None:
    """Off the stage: out of `collection` (the row's speakers or co-hosts) and unmuted."""
    name = "speakers" if collection is row.space.speakers else "cohosts"
    remaining = {k: v for k, v in collection.items() if k != user_id}
    muted = {k: v for k, v in row.space.muted.items() if k != user_id}
    row.space = replace(row.space, **{name: remaining}, muted=muted, updated_at=now)
    row.on_stage -= 1


class FakeStageMembers(_Repo):
    def pending_requests(self, space_id: str, limit: int = 100) -> list[tuple[str, datetime]]:
        return sorted((u, at) for (s, u), at in self._store.requests.items() if s == space_id)[:limit]

    def _present(self, space_id: str, user_id: str) -> bool:
        p = self._store.participant(space_id, user_id)
        return p is not None and p.connected and not p.removed

    def raise_hand(self, space_id: str, user_id: str, now: datetime, *, listener_shards: int = 1) -> bool:
        p = self._store.participant(space_id, user_id)
        if not self._present(space_id, user_id) or p is None or p.role != LISTENER:
            raise Refused("participant")
        row = self._store.row(space_id)
        if row is None or row.space.state != LIVE or user_id in row.space.invited:
            raise Refused("space")
        p.incognito = False  # a raised hand is shown, in the same write
        p.listed_in = listed_in(space_id, user_id, listener_shards)
        if (space_id, user_id) in self._store.requests:
            return False
        self._store.requests[(space_id, user_id)] = now
        return True

    def lower_hand(self, space_id: str, user_id: str) -> bool:
        return self._store.requests.pop((space_id, user_id), None) is not None

    def _may_invite(self, space_id: str, user_id: str) -> bool:
        row = self._store.row(space_id)
        return row is not None and row.space.state == LIVE and user_id not in row.space.invited and (
            row.space.role_of(user_id) == LISTENER
        )

    def _invite(self, space_id: str, user_id: str, now: datetime) -> None:
        row = self._store.spaces[space_id]
        self._store.edit(space_id, invited={**row.space.invited, user_id: _stamp(now)}, updated_at=now)
        self._store.requests.pop((space_id, user_id), None)

    def invite(self, space_id: str, user_id: str, now: datetime, entry: ModerationEntry | None = None) -> None:
        if not self._present(space_id, user_id):
            raise Refused("participant")
        if not self._may_invite(space_id, user_id):
            raise Refused("space")
        self._invite(space_id, user_id, now)
        self._store.append(entry)

    def approve_request(
        self, space_id: str, user_id: str, now: datetime, entry: ModerationEntry | None = None
    ) -> None:
        if (space_id, user_id) not in self._store.requests:
            raise Refused("request")
        if not self._may_invite(space_id, user_id):
            raise Refused("space")
        if not self._present(space_id, user_id):
            raise Refused("participant")
        self._invite(space_id, user_id, now)
        self._store.append(entry)

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
        row = self._store.row(space_id)
        consented = consent_at is not None or (row is not None and (not row.space.recording or user_id in row.space.consents))
        if row is None or row.space.state != LIVE or user_id not in row.space.invited or row.on_stage >= rules.max_on_stage or not consented:
            raise Refused("space")
        p = self._store.participant(space_id, user_id)
        if p is None or not p.connected or p.removed or p.role != LISTENER:
            raise Refused("participant")
        if participant_was is not None and p.participant_id != participant_was:
            raise Refused("participant")
        consents = {**row.space.consents, user_id: _stamp(consent_at)} if consent_at else row.space.consents
        invited = {k: v for k, v in row.space.invited.items() if k != user_id}
        self._store.edit(
            space_id, invited=invited, speakers={**row.space.speakers, user_id: _stamp(now)}, consents=consents,
            updated_at=now,
        )
        row.on_stage += 1
        p.role, p.participant_id, p.playback, p.incognito = SPEAKER, participant_id, False, False
        p.listed_in = listed_in(space_id, user_id, listener_shards)
        self._store.requests.pop((space_id, user_id), None)

    def decline_invitation(self, space_id: str, user_id: str, now: datetime) -> bool:
        row = self._store.row(space_id)
        if row is None or user_id not in row.space.invited:
            return False
        self._store.edit(space_id, invited={k: v for k, v in row.space.invited.items() if k != user_id}, updated_at=now)
        return True

    def step_down(
        self, space_id: str, user_id: str, from_role: str, now: datetime, entry: ModerationEntry | None = None
    ) -> None:
        row = self._store.row(space_id)
        p = self._store.participant(space_id, user_id)
        collection = None if row is None else (row.space.speakers if from_role == SPEAKER else row.space.cohosts)
        if row is None or collection is None or row.space.state != LIVE or user_id not in collection or p is None:
            raise Refused("space")
        _leave_stage(row, user_id, collection, now)
        p.role = LISTENER
        self._store.append(entry)

    def add_cohost(
        self, space_id: str, user_id: str, *, was_speaker: bool, now: datetime, rules: SpaceRules,
        entry: ModerationEntry | None = None,
    ) -> None:
        row = self._store.row(space_id)
        ok = (
            row is not None
            and row.space.state == LIVE
            and user_id not in row.space.cohosts
            and user_id != row.space.creator_id
            and len(row.space.cohosts) < rules.max_cohosts
        )
        if row is not None and ok:
            ok = user_id in row.space.speakers if was_speaker else (
                user_id not in row.space.speakers and row.on_stage < rules.max_on_stage
            )
        if row is None or not ok:
            raise Refused("space")
        if not self._present(space_id, user_id):
            raise Refused("participant")
        speakers = {k: v for k, v in row.space.speakers.items() if k != user_id}
        invited = row.space.invited if was_speaker else {k: v for k, v in row.space.invited.items() if k != user_id}
        self._store.edit(
            space_id, cohosts={**row.space.cohosts, user_id: _stamp(now)}, speakers=speakers, invited=invited,
            updated_at=now,
        )
        if not was_speaker:
            row.on_stage += 1
        self._store.participants[(space_id, user_id)].role = COHOST
        self._store.requests.pop((space_id, user_id), None)
        self._store.append(entry)

    def _pinnable(self, space_id: str, by: str) -> _SpaceRow:
        row = self._store.row(space_id)
        if row is None or row.space.state != LIVE or row.space.role_of(by) not in (HOST, COHOST):
            raise Refused("space")
        return row

    def pin(self, space: Space, post: PinnedPost, entry: ModerationEntry) -> None:
        self._pinnable(space.id, post.pinned_by)
        self._store.edit(space.id, pinned=post, updated_at=post.pinned_at)
        self._store.append(entry)

    def unpin(self, space: Space, by: str, now: datetime, entry: ModerationEntry) -> bool:
        if self._pinnable(space.id, by).space.pinned is None:
            return False
        self._store.edit(space.id, pinned=None, updated_at=now)
        self._store.append(entry)
        return True

    def set_muted(
        self, space_id: str, user_id: str, muted: bool, now: datetime, entry: ModerationEntry | None = None
    ) -> bool:
        row = self._store.row(space_id)
        if row is None or row.space.state != LIVE:
            raise Refused("space")
        if not muted:
            if user_id not in row.space.muted:
                return False
            self._store.edit(space_id, muted={k: v for k, v in row.space.muted.items() if k != user_id}, updated_at=now)
            return True
        if row.space.role_of(user_id) == LISTENER:
            raise Refused("space")
        if user_id in row.space.muted:
            return False
        self._store.edit(space_id, muted={**row.space.muted, user_id: _stamp(now)}, updated_at=now)
        self._store.append(entry)
        return True


class FakeOverflowClaims(_Repo):
    def claim_overflow(self, space_id: str, now: datetime, *, lease_seconds: int) -> bool:
        row = self._store.row(space_id)
        stamp = int(now.timestamp())
        if row is None or row.space.state != LIVE:
            return False
        free = row.overflow_state is None or (
            row.overflow_state == "starting" and row.overflow_claimed_at < stamp - lease_seconds
        )
        if not free:
            return False
        row.overflow_state, row.overflow_claimed_at = "starting", stamp
        return True

    def set_overflow(self, space_id: str, info: OverflowInfo) -> None:
        row = self._store.row(space_id)
        if row is None or row.space.state != LIVE or row.overflow_state != "starting":
            raise Refused("state")
        restarts = row.overflow.restarts if row.overflow else 0
        row.overflow_state = "on"
        row.overflow = OverflowInfo(info.channel_arn, info.playback_url, info.composition_arn, restarts)

    def replace_overflow_composition(self, space_id: str, old_arn: str, new_arn: str, restarts: int) -> None:
        row = self._store.row(space_id)
        if (
            row is None or row.space.state != LIVE or row.overflow_state != "on" or row.overflow is None
            or row.overflow.composition_arn != old_arn
        ):
            raise Refused("state")
        row.overflow = replace(row.overflow, composition_arn=new_arn, restarts=restarts)

    def release_overflow_claim(self, space_id: str) -> None:
        row = self._store.row(space_id)
        if row is not None and row.overflow_state == "starting":
            row.overflow_state, row.overflow_claimed_at = None, 0

    def release_pending_overflows(self, limit: int = 50) -> dict[str, OverflowInfo]:
        rows = [r for r in self._store.spaces.values() if r.release_pending][:limit]
        return {r.space.id: r.overflow for r in rows if r.overflow_state == "on" and r.overflow is not None}


def _list_keys(space: Space) -> list[str]:
    return [space.state] + [f"{space.state}#topic#{t}" for t in space.topics] + [f"{space.state}#host#{space.creator_id}"]


class FakeListingRepository(_Repo):
    def _listing(self, row: _SpaceRow, rank: int | None = None) -> Listing:
        s = row.space
        if rank is None:
            rank = row.live_rank if s.state == LIVE else int(s.scheduled_start.timestamp()) if s.scheduled_start else 0
        return Listing(
            s.id, s.state, s.title, s.creator_id, tuple(s.topics), s.scheduled_start, s.started_at, s.access,
            rank=rank, overflow=s.state == LIVE and row.overflow_state == "on",
            pinned_url=s.pinned.url if s.pinned else None, pinned_text=s.pinned.text if s.pinned else None,
        )

    def _list(self, list_key: str) -> list[Listing]:
        return sorted(
            (self._listing(r) for r in self._store.spaces.values() if list_key in _list_keys(r.space)
             and r.space.state in (LIVE, SCHEDULED)),
            key=lambda item: (item.rank, item.space_id),
        )

    def discovery_page(
        self, list_key: str, *, ascending: bool, limit: int, after: PageKey | None
    ) -> tuple[list[Listing], PageKey | None]:
        items = self._list(list_key)
        if not ascending:
            items.reverse()
        if after is not None:
            mark = (int(after["rank"]), str(after["space_id"]))
            items = [i for i in items if ((i.rank, i.space_id) > mark) == ascending and (i.rank, i.space_id) != mark]
        page = items[:limit]
        last = {"space_id": page[-1].space_id, "rank": page[-1].rank} if len(page) == limit else None
        return page, last

    def discovery_window(self, list_key: str, *, max_items: int, rank_below: int | None = None) -> list[Listing]:
        items = [i for i in self._list(list_key) if rank_below is None or i.rank < rank_below]
        return items[:max_items]

    def search_page(
        self, state: str, word: str, *, limit: int, after: PageKey | None
    ) -> tuple[list[Listing], PageKey | None]:
        bucket = word[:2]
        found = sorted(
            (f"{w}#{r.space.id}", r)
            for r in self._store.spaces.values()
            if r.space.state == state
            for w in search_words(r.space.title)
            if w[:2] == bucket and w.startswith(word)
        )
        if after is not None:
            found = [(term, r) for term, r in found if term > str(after["term"])]
        page = found[:limit]
        last = {"term": page[-1][0]} if len(page) == limit else None
        return [self._listing(r, rank=0) for _, r in page], last

    def live_space_ids(self) -> list[str]:
        return [r.space.id for r in self._store.spaces.values() if r.space.state == LIVE]

    def refresh_live_ranks(
        self, counts_out: dict[str, int] | None = None, overflowing_out: set[str] | None = None
    ) -> int:
        changed = 0
        for row in self._store.spaces.values():
            if row.space.state != LIVE:
                continue
            count = self._store.connected_count(row.space.id)
            if overflowing_out is not None and row.overflow_state == "on":
                overflowing_out.add(row.space.id)
            if counts_out is not None:
                counts_out[row.space.id] = count
            if row.live_rank != count:
                row.live_rank = count
                changed += len(_list_keys(row.space))
        return changed
