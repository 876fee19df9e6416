"""The Space: its states, who is on stage, and the rules for creating and changing it.

State machine (enforced in the database by conditional writes, described here):

    scheduled --start--> live --end--> ended
    scheduled --cancel--> canceled

Stage: the creator is always the first host; up to `max_cohosts` co-hosts; speakers fill the rest
of the stage. Everyone on stage publishes audio, and IVS allows 12 publishers per stage, so
`max_on_stage` (12) bounds creator + co-hosts + speakers.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, overload

from msgspec import Struct, field
from msgspec.structs import replace

from chalicelib.domain.errors import BadRequest, Conflict, RuleViolation
from chalicelib.domain.pinned import PinnedPost
from chalicelib.domain.recording import RecordingInfo
from chalicelib.domain.text import require_clean_text
from chalicelib.domain.tickets import Sales, TicketOffer, TicketRules, check_ticket_offer

if TYPE_CHECKING:  # an annotation only: the commands load with the first request that has a body
    from chalicelib.domain.commands.spaces import CreateSpace, EditSpace

SCHEDULED, LIVE, ENDED, CANCELED = "scheduled", "live", "ended", "canceled"
STATES = (SCHEDULED, LIVE, ENDED, CANCELED)

HOST, COHOST, SPEAKER, LISTENER = "host", "cohost", "speaker", "listener"
PUBLISHING_ROLES = (HOST, COHOST, SPEAKER)
MODERATOR_ROLES = (HOST, COHOST)

PUBLIC, TICKETED, SUBSCRIBERS = "public", "ticketed", "subscribers"
ACCESS_MODES = (PUBLIC, TICKETED, SUBSCRIBERS)

TOPIC_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@overload
def iso(ts: datetime) -> str: ...
@overload
def iso(ts: datetime | None) -> str | None: ...
def iso(ts: datetime | None) -> str | None:
    if ts is None:
        return None
    return ts.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: object, field_name: str) -> datetime:
    if not isinstance(value, str):
        raise BadRequest(f"{field_name} must be an ISO 8601 UTC string", code="invalid_time")
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise BadRequest(
            f"{field_name} must be an ISO 8601 UTC string like 2026-11-24T18:00:00Z",
            code="invalid_time",
        ) from exc
    if parsed.tzinfo is None:
        raise BadRequest(f"{field_name} must carry a time zone (use Z for UTC)", code="invalid_time")
    return parsed.astimezone(timezone.utc)


class StageInfo(Struct, frozen=True):
    """The IVS real-time stage that carries a live Space's audio."""

    arn: str
    events_url: str
    whip_url: str

    @property
    def stage_id(self) -> str:
        return self.arn.rsplit("/", 1)[-1]


class OverflowInfo(Struct, frozen=True):
    """A Space's overflow audience: its stage composed (server-side) into an IVS low-latency
    channel, which listeners beyond the stage's subscriber capacity play back."""

    channel_arn: str
    playback_url: str
    composition_arn: str
    restarts: int = 0  # compositions started again after IVS stopped one on its own


class SpaceRules(Struct, frozen=True):
    """A Space's limits (settings): co-hosts, stage size, schedule and title bounds."""

    max_cohosts: int
    max_on_stage: int
    max_scheduled_per_host: int
    max_schedule_ahead_days: int
    max_topics: int
    max_title_length: int


class Space(Struct, frozen=True):
    """A Space as the use cases see it: its state, people on stage, access and media."""

    id: str
    state: str
    title: str
    creator_id: str
    created_at: datetime
    updated_at: datetime
    topics: tuple[str, ...] = ()
    scheduled_start: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    access: str = PUBLIC
    recording: bool = False
    # user id -> when they joined the stage / were invited. Order of arrival is kept by time.
    cohosts: dict[str, Any] = field(default_factory=dict)
    speakers: dict[str, Any] = field(default_factory=dict)
    invited: dict[str, Any] = field(default_factory=dict)
    muted: dict[str, Any] = field(default_factory=dict)
    stage: StageInfo | None = None
    # The room server events go to (an IVS Chat room ARN); created and deleted with the stage.
    room_arn: str | None = None
    # Set once the overflow job composed the stage into a channel (docs/overflow.md).
    overflow: OverflowInfo | None = None
    participant_count: int = 0
    subscriber_count: int = 0
    # Of participant_count, how many listen incognito (hosts and co-hosts see the number only).
    incognito_count: int = 0
    # The host's switch: may listeners join incognito (default yes, as on X).
    allow_incognito: bool = True
    # How many index keys its listener list is spread over, fixed at creation from the host's
    # follower count (domain/listener_list.py, docs/people.md): 1 for all but famous hosts.
    listener_shards: int = 1
    # Ticketed Spaces: the offer set at creation, and the seats and money so far.
    ticket: TicketOffer | None = None
    sales: Sales | None = None
    # Recording (domain/recording.py): who agreed to be recorded (user id -> when), and the
    # recording and replay once it started.
    consents: dict[str, Any] = field(default_factory=dict)
    recording_info: RecordingInfo | None = None
    # The host's blocked-users filter as of going live (domain/blocked_filter.HOST_BLOCKS).
    blocked_filter: bytes | None = None
    # The link a host or co-host pinned while live (domain/pinned.py); None when nothing is.
    pinned: PinnedPost | None = None

    def __repr__(self) -> str:
        """Every field but the blocked filter's bytes (up to 128 KB), shown by their size."""
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__struct_fields__ if name != "blocked_filter")
        size = len(self.blocked_filter) if self.blocked_filter is not None else None
        return f"Space({shown}, blocked_filter=<{size} bytes>)"

    @property
    def host_ids(self) -> list[str]:
        return [self.creator_id] + _by_time(self.cohosts)

    @property
    def speaker_ids(self) -> list[str]:
        """Everyone on stage now: hosts first, then speakers in the order they came up."""
        return self.host_ids + _by_time(self.speakers)

    @property
    def invited_user_ids(self) -> list[str]:
        return _by_time(self.invited)

    @property
    def on_stage_count(self) -> int:
        return 1 + len(self.cohosts) + len(self.speakers)

    def role_of(self, user_id: str) -> str:
        if user_id == self.creator_id:
            return HOST
        if user_id in self.cohosts:
            return COHOST
        if user_id in self.speakers:
            return SPEAKER
        return LISTENER

    def is_moderator(self, user_id: str) -> bool:
        return self.role_of(user_id) in MODERATOR_ROLES

    def needs_pass(self, user_id: str) -> bool:
        """Whether joining takes a paid ticket or a subscription: not for the hosts, the
        speakers, nor anyone invited to speak."""
        if self.access == PUBLIC:
            return False
        return self.role_of(user_id) == LISTENER and user_id not in self.invited



class Listing(Struct, frozen=True):
    """One entry of a discovery list or of a title search: what the Spaces tab shows of a Space
    without reading the Space. `rank` orders a list: a live Space's participant count as of the
    last rank refresh, a scheduled one's start in epoch seconds; 0 for a search result."""

    space_id: str
    state: str
    title: str
    creator_id: str
    topics: tuple[str, ...] = ()
    scheduled_start: datetime | None = None
    started_at: datetime | None = None
    access: str = PUBLIC
    rank: int = 0
    overflow: bool = False  # the live list's entry of a Space whose overflow is on
    pinned_url: str | None = None  # the live Space's pinned post (domain/pinned.py), if any
    pinned_text: str | None = None


def require_cohost_room(space: Space, rules: SpaceRules) -> None:
    """The co-host cap for adding one more. The repository's add_cohost condition enforces the
    same `rules.max_cohosts` (`size(cohosts) < max`), so a race past this check is refused there."""
    if len(space.cohosts) >= rules.max_cohosts:
        raise RuleViolation(f"a Space has at most {rules.max_cohosts} co-hosts", code="too_many_cohosts")


def join_refusal(removed: bool, blocked: bool) -> str | None:
    """Why a user's own place in a Space refuses their join, named as the participants
    repository's Refused part: a removed user never comes back; one the host blocked while the
    Space was live neither, until unblocked. The join's write enforces the same (its condition:
    no `removed_at`, no `blocked_at` on the participant item). None: their place lets them in."""
    if removed:
        return "removed"
    if blocked:
        return "blocked"
    return None


def takes_playback(overflow_on: bool, role: str, invited: bool) -> bool:
    """Who listens on the overflow channel instead of the stage (docs/overflow.md): with the
    overflow on, a listener not invited to speak. Hosts, speakers and invitees keep the stage.
    The participants repository applies it again to the role it finds stored."""
    return overflow_on and role == LISTENER and not invited


def _by_time(entries: dict[str, Any]) -> list[str]:
    return [uid for uid, _ in sorted(entries.items(), key=lambda kv: (str(kv[1]), kv[0]))]


def validate_title(title: object, rules: SpaceRules) -> str:
    if not isinstance(title, str) or not title.strip():
        raise BadRequest("title is required and must be a non-empty string", code="invalid_title")
    title = require_clean_text(title.strip(), "title", code="invalid_title")
    if len(title) > rules.max_title_length:
        raise RuleViolation(
            f"title is at most {rules.max_title_length} characters", code="title_too_long"
        )
    return title


def validate_topics(topics: object, rules: SpaceRules) -> tuple[str, ...]:
    if topics is None:
        return ()
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        raise BadRequest("topics must be a list of strings", code="invalid_topics")
    cleaned = tuple(dict.fromkeys(t.strip().lower() for t in topics))
    if len(cleaned) > rules.max_topics:
        raise RuleViolation(f"a Space has at most {rules.max_topics} topics", code="too_many_topics")
    for topic in cleaned:
        if not TOPIC_PATTERN.match(topic):
            raise BadRequest(
                f"topic {topic!r} must be a lowercase slug (letters, digits, '-')",
                code="invalid_topics",
            )
    return cleaned


def check_start_time(start: datetime, now: datetime, rules: SpaceRules) -> datetime:
    """A scheduled start in the future, within the rules' horizon."""
    if start <= now:
        raise RuleViolation("scheduled_start must be in the future", code="scheduled_start_in_past")
    if start > now + timedelta(days=rules.max_schedule_ahead_days):
        raise RuleViolation(
            f"a Space can be scheduled at most {rules.max_schedule_ahead_days} days ahead",
            code="scheduled_start_too_far",
        )
    return start


def validate_access(access: object) -> str:
    if access is None:
        return PUBLIC
    if access not in ACCESS_MODES:
        raise BadRequest(f"access must be one of {', '.join(ACCESS_MODES)}", code="invalid_access")
    return access


def validate_user_list(value: object, field_name: str) -> tuple[str, ...]:
    from chalicelib.domain.users import validate_user_id

    if value is None:
        return ()
    if not isinstance(value, list):
        raise BadRequest(f"{field_name} must be a list of user ids", code="invalid_user_id")
    return tuple(dict.fromkeys(validate_user_id(v) for v in value))


def new_space(
    *,
    space_id: str,
    creator_id: str,
    request: CreateSpace,
    now: datetime,
    rules: SpaceRules,
    ticket_rules: TicketRules,
) -> Space:
    """Hold a create request to the rules and build the Space it describes (not yet stored). The
    request's kinds and text were checked where it was read (api/bodies/spaces.py create_space); here
    are the lengths, counts, times and what goes with what."""
    title = validate_title(request.title, rules)
    topics = validate_topics(list(request.topics), rules)
    access = request.access
    ticket = _ticket_offer(access, request.ticket, ticket_rules)
    recording = request.recording
    cohost_ids, speaker_ids = request.cohost_ids, request.speaker_ids
    if creator_id in cohost_ids or creator_id in speaker_ids:
        raise RuleViolation("the creator is already the host", code="creator_is_host")
    if len(cohost_ids) > rules.max_cohosts:
        raise RuleViolation(f"at most {rules.max_cohosts} co-hosts", code="too_many_cohosts")
    if set(cohost_ids) & set(speaker_ids):
        raise RuleViolation("a user is either a co-host or a speaker", code="duplicate_user")
    if 1 + len(cohost_ids) + len(speaker_ids) > rules.max_on_stage:
        raise RuleViolation(
            f"at most {rules.max_on_stage} people on stage, host included", code="stage_full"
        )

    scheduled_start = None
    state = LIVE
    if request.scheduled_start is not None:
        scheduled_start = check_start_time(request.scheduled_start, now, rules)
        state = SCHEDULED

    stamp = iso(now)
    # Co-hosts named at creation are co-hosts from the start; named speakers are invited and come
    # on stage when they accept (an invitation must be accepted, never forced).
    return Space(
        id=space_id,
        state=state,
        title=title,
        creator_id=creator_id,
        created_at=now,
        updated_at=now,
        topics=topics,
        scheduled_start=scheduled_start,
        started_at=now if state == LIVE else None,
        access=access,
        recording=recording,
        allow_incognito=request.allow_incognito,
        ticket=ticket,
        sales=Sales(capacity=ticket.capacity) if ticket else None,
        cohosts={uid: f"{stamp}#{i}" for i, uid in enumerate(cohost_ids)},
        invited={uid: f"{stamp}#{i}" for i, uid in enumerate(speaker_ids)},
        # The host consents to being recorded by turning recording on; nobody else does yet.
        consents={creator_id: stamp} if recording else {},
    )


def _ticket_offer(access: str, offer: TicketOffer | None, rules: TicketRules) -> TicketOffer | None:
    """A ticketed Space sells on the terms given, held to the rules; no other Space has terms."""
    if access != TICKETED:
        if offer is not None:
            raise BadRequest("ticket is only allowed with access 'ticketed'", code="invalid_ticket")
        return None
    if offer is None:
        raise BadRequest("a ticketed Space needs ticket {price_cents, currency, capacity}", code="invalid_ticket")
    return check_ticket_offer(offer, rules)


def apply_patch(space: Space, edit: EditSpace, now: datetime, rules: SpaceRules) -> Space:
    """The edit, held to the rules and to the Space's current state."""
    if space.state in (ENDED, CANCELED):
        raise Conflict(f"Space {space.id} is {space.state}", code=f"space_{space.state}")
    changes: dict[str, Any] = {}
    if edit.title is not None:
        changes["title"] = validate_title(edit.title, rules)
    if edit.topics is not None:
        changes["topics"] = validate_topics(list(edit.topics), rules)
    if edit.scheduled_start is not None:
        if space.access == TICKETED:
            raise RuleViolation(
                "a ticketed Space cannot be rescheduled: its buyers paid for this time; cancel it "
                "(every ticket is refunded) and create a new one",
                code="ticketed_reschedule_not_allowed",
            )
        if space.state != SCHEDULED:
            raise Conflict(
                f"Space {space.id} is {space.state}; only a scheduled Space can be rescheduled",
                code="space_not_scheduled",
            )
        changes["scheduled_start"] = check_start_time(edit.scheduled_start, now, rules)
    if edit.allow_incognito is not None:
        changes["allow_incognito"] = edit.allow_incognito
    return replace(space, updated_at=now, **changes)


# What each transition needs, for messages when the database refuses one.
TRANSITIONS = {
    "start": ((SCHEDULED,), LIVE),
    "end": ((LIVE,), ENDED),
    "cancel": ((SCHEDULED,), CANCELED),
}


def transition_refused(space: Space, action: str) -> Conflict:
    allowed_from, _ = TRANSITIONS[action]
    return Conflict(
        f"cannot {action} Space {space.id}: it is {space.state} (needs {' or '.join(allowed_from)})",
        code=f"space_{space.state}" if space.state != LIVE else "space_live",
    )


def require_live(space: Space) -> None:
    if space.state != LIVE:
        code = "space_not_live" if space.state == SCHEDULED else f"space_{space.state}"
        raise Conflict(f"Space {space.id} is {space.state}, not live", code=code)


MAX_SEARCH_WORDS = 12
_WORD = re.compile(r"[0-9a-z]+")


def search_words(text: str) -> list[str]:
    """The words of a title as search matches them: accents and case folded, 2+ characters,
    each once, at most MAX_SEARCH_WORDS (the rest of a long title is not searchable)."""
    import unicodedata

    folded = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return list(dict.fromkeys(w for w in _WORD.findall(plain) if len(w) >= 2))[:MAX_SEARCH_WORDS]


SPACE_ID_PATTERN = re.compile(r"^[0-9A-Za-z]{1,64}$")


def validate_space_id(space_id: str) -> str:
    from chalicelib.domain.errors import NotFound

    if not SPACE_ID_PATTERN.match(space_id or ""):
        raise NotFound(f"Space {space_id[:64]!r} does not exist", code="space_not_found")
    return space_id
