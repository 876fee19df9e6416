"""The ports of the other repositories services use: reminders, devices and push claims, tickets
and subscriptions, rate limits, the queue of IVS calls that can wait, the pools of ready stages
and rooms, and recordings (consent, replays, captions). Re-exported by
`chalicelib/port_protocols.py`; `Deps` types its fields with them, and mypy holds the DynamoDB
adapters that bootstrap wires to them. A conditional write that fails raises Refused(part).
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # annotations only
    from chalicelib.domain.captions import Caption
    from chalicelib.domain.spaces import StageInfo
    from chalicelib.domain.analytics import ListeningSession
    from chalicelib.domain.moderation import ModerationEntry
    from chalicelib.domain.subscriptions import Subscription
    from chalicelib.domain.tickets import Ticket
    from chalicelib.domain.media_queue import QueuedCall
    from chalicelib.domain.payments import RenewalHandle
    from chalicelib.ports import PageKey


class ReminderRepository(Protocol):
    """Who asked to be reminded of a scheduled Space, sharded so a big Space's reminders fan out
    in parallel (adapters/dynamodb/reminders.py)."""

    @property
    def shards(self) -> int: ...

    def set_reminder(self, space_id: str, user_id: str, now: datetime) -> bool:
        """True when newly set, False when it was already set. Refused("space") unless scheduled."""

    def clear_reminder(self, space_id: str, user_id: str) -> bool: ...

    def has_reminder(self, space_id: str, user_id: str) -> bool: ...

    def subscriber_page(
        self, space_id: str, shard: int, cursor: str | None, limit: int
    ) -> tuple[list[str], str | None]:
        """One page of a shard's subscribers (a Query, never a Scan) and the cursor after it."""


class StoredDevice(Protocol):
    """A registered device as the repository returns it."""

    @property
    def user_id(self) -> str: ...

    @property
    def endpoint_arn(self) -> str: ...


class DeviceRepository(Protocol):
    """Users' push devices (SNS endpoints), at most a few per user."""

    def get(self, device_id: str) -> StoredDevice | None: ...

    def register(
        self, *, device_id: str, user_id: str, platform: str, endpoint_arn: str, now: datetime, previous_owner: str | None, max_devices: int
    ) -> None:
        """Give the device to `user_id`, taking it from its previous owner in the same write.

        Refused("moved") when the owner changed since it was read; Refused("too_many") when the
        user already has `max_devices` other devices."""

    def remove(self, user_id: str, device_id: str) -> bool:
        """Forget a device of this user. False when it is not theirs (or not there)."""

    def devices_for(self, user_ids: list[str]) -> dict[str, list[tuple[str, str, str]]]:
        """user id -> [(device_id, endpoint_arn, platform)], 100 users per BatchGetItem."""


class PushClaims(Protocol):
    """The effectively-once ledger of pushes, per (Space, moment, device)."""

    def claim(self, space_id: str, moment: str, targets: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Claim (user_id, device_id) targets before sending; returns the ones this caller owns.

        A target already sent, or being sent by someone else within the lease, is not returned."""

    def settle(
        self, space_id: str, moment: str, sent: list[tuple[str, str]], failed: list[tuple[str, str]]
    ) -> None:
        """Mark sent claims `sent`; delete failed ones so a retry can claim them again."""

    def status(self, space_id: str, moment: str, device_id: str) -> str | None: ...


class TicketRepository(Protocol):
    """Tickets of ticketed Spaces: holds, payments, refunds; every move a conditional write."""

    def get(self, space_id: str, buyer_id: str) -> Ticket | None: ...

    def for_space(
        self, space_id: str, *, limit: int, after: PageKey | None = None
    ) -> tuple[list[Ticket], PageKey | None]:
        """One page of a Space's tickets by buyer id: (tickets, last key or None). One Query.
        Keys are plain: `{"buyer_id": ...}`."""

    def for_buyer(
        self, buyer_id: str, *, limit: int, after: PageKey | None = None
    ) -> tuple[list[Ticket], PageKey | None]:
        """One page of a buyer's tickets, newest first: (tickets, last key or None).
        Keys are plain: `{"bought_key": ..., "space_id": ...}`."""

    def expired_holds(self, now: datetime, limit: int = 100) -> list[tuple[str, str]]:
        """Holds past their time: [(space_id, buyer_id)]. One Query per shard of the sparse
        open-holds index, never a Scan."""

    def hold(self, ticket: Ticket) -> None:
        """Take a seat and record the buyer's hold, in one transaction. Refused("space") when
        the Space is sold out or no longer on sale, Refused("ticket") when the buyer already
        has a ticket that is not failed or expired (its current state in `.ticket`)."""

    def set_payment(self, ticket: Ticket, provider: str, payment_id: str) -> None: ...

    def confirm(self, ticket: Ticket, payment_id: str, now: datetime) -> None:
        """held -> paid: the seat held becomes a sold one. Refused("ticket") unless held."""

    def retake(self, ticket: Ticket, payment_id: str, now: datetime) -> None:
        """A payment succeeded after its hold was let go (expired, failed, released): take a
        seat again if the Space still sells one. Refused("space") when it does not,
        Refused("ticket") when the ticket moved meanwhile."""

    def release(self, ticket: Ticket, to_status: str, now: datetime) -> None:
        """held -> failed / expired / released: the seat returns. Refused("ticket") unless held."""

    def begin_refund(self, ticket: Ticket) -> None:
        """paid -> refunding, claimed before the provider is asked, so of two workers refunding
        one Space, the second finds the claim (and a retry after a crash finds it too)."""

    def finish_refund(self, ticket: Ticket, refund_id: str, now: datetime) -> None:
        """refunding -> refunded, the sold seat returned; or, for a payment that came in after
        its ticket was let go (expired / failed / released, holding no seat), that ticket ->
        refunded with only the refund counted."""


class SubscriptionRepository(Protocol):
    """Subscriptions to hosts: start, activation, renewals, card updates, lapses."""

    def get(self, creator_id: str, subscriber_id: str) -> Subscription | None: ...

    def start(self, sub: Subscription, now: datetime) -> None:
        """Record a pending subscription, unless the subscriber already has access (then
        Refused("subscription")). A pending one not yet paid is replaced."""

    def set_payment(self, sub: Subscription, provider: str, payment_id: str) -> None: ...

    def activate(
        self, sub: Subscription, payment_id: str, period_end: datetime, handle: RenewalHandle | None = None
    ) -> None:
        """pending -> active (period 1) until `period_end`, due for renewal RENEWAL_WINDOW
        before it. Refused unless this subscription is pending."""

    def due_renewals(self, now: datetime, limit: int = 100) -> list[tuple[str, str]]:
        """Subscriptions whose next charge is due: [(creator_id, subscriber_id)]. One Query per
        shard of the sparse renewals-due index, never a Scan. The index lags the table: callers
        read the item again and every change is conditional."""

    def claim_renewal(self, sub: Subscription, now: datetime, until: datetime) -> None:
        """Take the charge of period `sub.period + 1`, attempt `sub.renewal_attempts + 1`, for
        one job run until `until`. Refused when another run holds it, or the subscription moved
        on (renewed, declined again, canceled, lapsed, replaced)."""

    def begin_card_update(self, sub: Subscription, now: datetime, until: datetime) -> None:
        """The past-due subscriber's card update number `sub.update_attempts + 1` takes the
        overdue period's charge until `until`, so the job does not charge the saved card
        meanwhile. It may replace the subscriber's previous card update only once that one's
        payment was recorded (and voided by the caller). Refused when the job is charging,
        another card update is starting, or the subscription is no longer past due at
        `sub.period`."""

    def set_card_update_payment(self, sub: Subscription, attempt: int, payment_id: str) -> None:
        """Record card update `attempt`'s payment, so whoever comes next can void it."""

    def end_card_update(self, sub: Subscription, attempt: int) -> None:
        """Card update `attempt` failed: give the overdue charge back to the job (its payment
        id stays, so the job voids it before charging). Refused when that hold is gone."""

    def renewed(
        self, sub: Subscription, period: int, payment_id: str, period_end: datetime, handle: RenewalHandle | None = None
    ) -> None:
        """Period `period - 1` -> `period`, paid until `period_end`: active again, due for the next
        renewal; with `handle` (a card update's payment), the method saved for renewals is now
        that one. Refused unless the subscription is still renewable at period `period - 1` (so
        a redelivered payment extends once)."""

    def declined(self, sub: Subscription, attempt: int, retry_at: datetime | None) -> None:
        """Attempt `attempt` to pay period `sub.period + 1` was declined: past_due until
        `retry_at`, or lapsed when there is no retry. Refused when it was already recorded."""

    def lapse(self, sub: Subscription) -> None:
        """Renewable at `sub.period` -> lapsed, not charged again (no saved method, or the grace
        ran out while the provider was unavailable)."""

    def fail(self, sub: Subscription) -> None:
        """A pending subscription whose payment failed is forgotten."""

    def cancel(self, creator_id: str, subscriber_id: str) -> None:
        """active or past_due -> canceled: out of the renewals index, never charged again; access
        lasts until the paid period ends."""


class RateLimits(Protocol):
    """At most one action (a reaction, a chat message) per user per Space every interval."""

    def acquire(self, space_id: str, user_id: str, now: datetime) -> int:
        """0 when this reaction may go out (and is recorded), else the milliseconds to wait."""


class MediaQueuePort(Protocol):
    """IVS calls that can wait (stage deletes, disconnects), drained within the control plane's
    rate by a job (docs/capacity.md)."""

    def put(self, operation: str, args: list[Any], *, lease_seconds: float = 0) -> QueuedCall:
        """Enqueue a call; with `lease_seconds` the caller keeps it to try at once itself."""

    def peek(self, limit: int = 25) -> list[QueuedCall]:
        """The oldest calls nobody holds a lease on now."""

    def lease(self, call: QueuedCall, seconds: float) -> bool:
        """Hold `call` for `seconds`; False if someone else holds it or it is done."""

    def done(self, call: QueuedCall) -> None: ...

    def failed(self, call: QueuedCall, retry_in_seconds: float) -> None:
        """Count a failed attempt; the call is retried after `retry_in_seconds`."""

    def release(self, call: QueuedCall) -> None:
        """Give a lease back unused (the drain ran out of time)."""

    def depth(self) -> int: ...


class ResourcePool(Protocol):
    """What the stage and room pools share: the ready resources a start claims instead of calling
    the control plane (docs/capacity.md), and the refill job's bookkeeping
    (adapters/dynamodb/stage_pool.py)."""

    def available_count(self) -> int: ...

    def available_arns(self) -> set[str]:
        """The ARNs of the ready (unclaimed) resources."""

    def claimed_by(self, stage_arn: str) -> str | None:
        """The Space that claimed this pooled resource, if one did: the orphan sweep tells a
        claimed resource from an orphan with it."""

    def last_refill(self) -> tuple[int | None, int, int | None]:
        """(resources ready when the last refill ended, scheduled Spaces it counted ahead, when
        in epoch ms), or (None, 0, None)."""

    def note_refill(self, available: int, scheduled: int) -> None: ...

    def demand(self, now_s: float, lookahead_s: float) -> tuple[int, int]:
        """(scheduled Spaces starting within `lookahead_s`, live Spaces)."""


class StagePool(ResourcePool, Protocol):
    """Ready IVS stages. Each is claimed by exactly one Space."""

    def claim(self, space_id: str) -> StageInfo | None:
        """A ready stage, now this Space's alone; None when the pool is empty."""

    def add(self, stage: StageInfo) -> None: ...


class RoomPool(ResourcePool, Protocol):
    """Ready IVS Chat rooms (by ARN). Each is claimed by exactly one Space."""

    def claim(self, space_id: str) -> str | None:
        """A ready room's ARN, now this Space's alone; None when the pool is empty."""

    def add(self, room_arn: str) -> None: ...


class RecordingRepository(Protocol):
    """Recording consent, the replay's states and the caption segments
    (adapters/dynamodb/recording.py; docs/recording.md). Every transition is one conditional
    write: a method answering bool says whether this call made the transition; the others raise
    Refused("space") when their condition fails."""

    def add_caption(self, caption: Caption, *, expires_at: datetime) -> None:
        """Store a segment, on condition its author is on stage of the live Space."""

    def captions_page(self, space_id: str, *, limit: int, after: str | None) -> tuple[list[Caption], str | None]:
        """Up to `limit` segments after the `after` sort key, in order, and the key to go on
        from (None on the last page)."""

    def has_captions(self, space_id: str) -> bool: ...

    def all_captions(self, space_id: str, max_items: int = 50_000) -> list[Caption]: ...

    def record_consent(self, space_id: str, user_id: str, now: datetime) -> None:
        """A co-host of a live, recorded Space consents to being recorded."""

    def withdraw_consent(self, space_id: str, user_id: str, now: datetime, *, ended: bool) -> None:
        """Withdraw a consent, once; after the end the replay is asked for again without them."""

    def set_clipping(self, space_id: str, enabled: bool, entry: ModerationEntry | None = None) -> bool:
        """-> changed (False when clipping already was `enabled`); `entry`, the host's act, is
        appended to the moderation ledger in the same write, only when it changed."""

    def pending(self, limit: int = 50) -> list[str]:
        """Recorded Spaces whose replay is to be mixed or whose transcription runs (a Query)."""

    def claim_mix(
        self, space_id: str, *, version: int, now: datetime, stale_before: datetime, max_attempts: int
    ) -> bool:
        """processing -> mixing for `version` (or a stale claim taken over), for one run only."""

    def land(
        self,
        space_id: str,
        *,
        version: int,
        media_key: str,
        duration_ms: int,
        transcript_state: str,
        transcription_job: str | None = None,
        transcript_key: str | None = None,
    ) -> bool:
        """mixing -> available, while `version` is still the one being mixed."""

    def finish_transcript(self, space_id: str, *, state: str, transcript_key: str | None) -> bool: ...

    def fail(self, space_id: str, *, version: int) -> bool:
        """processing | mixing -> failed."""

    def mark_pending(self, space_id: str) -> None:
        """Put an ended Space with a replay back on the landing job's index (a clip to cut)."""

    def drop_pending(self, space_id: str) -> None: ...

    def delete_replay(self, space_id: str, entry: ModerationEntry | None = None) -> bool:
        """-> deleted. False when it already was (and then `entry` is not logged); `entry` goes
        into the moderation ledger in the same write."""

    def is_blocked(self, host_id: str, user_id: str) -> bool: ...
class AnalyticsRepository(Protocol):
    """What host analytics keep about a Space (docs/analytics.md): its listening sessions, folded
    from the participants stream, and its counted events. Every write is idempotent: a stream
    batch folded twice, or an event counted twice, changes nothing the second time."""

    def fold_participant_records(self, records: list[dict[str, Any]], retention_days: int) -> int:
        """Fold a batch of the participants stream (Lambda's record shape) into sessions; returns
        how many sessions were written."""

    def sessions(self, space_id: str) -> list[ListeningSession]:
        """Every listening session of the Space (a Query per shard, never a Scan)."""

    def count_event(
        self, space_id: str, event_id: str, user_id: str, expires_at: datetime, amounts: dict[str, int]
    ) -> bool:
        """Add each of `amounts` (kind -> how much) to the Space's totals, all together and once
        per (kinds, `event_id`); False if it was counted before."""

    def totals(self, space_id: str) -> dict[str, int]:
        """The Space's event totals by kind (chalicelib/domain/analytics.py COUNTED)."""
