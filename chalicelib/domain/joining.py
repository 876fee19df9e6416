"""The rules of joining a live Space that a join decides before its one write (services/stage.py
join_space): who gets the overflow channel instead of the stage, and who must hold a ticket or
a subscription. The write itself enforces the rest (removed, blocked, the pass) in its
conditions; this module only says what to ask it for.
"""
from __future__ import annotations

from typing import Any

from msgspec import Struct

from chalicelib.domain.spaces import (
    HOST, LISTENER, SUBSCRIBERS, TICKETED, OverflowInfo, Space, StageInfo, takes_playback,
)

# The pass a paid Space's listener must hold, by the Space's access.
PASS_KINDS = {TICKETED: "ticket", SUBSCRIBERS: "subscription"}


class LiveJoinInfo(Struct, frozen=True):
    """What a join needs of a live Space, kept per container so a warm join reads nothing. None
    of it changes while the Space is live except `invited` (as of the read: accepting an
    invitation hands out a stage token anyway)."""

    stage: StageInfo
    creator_id: str
    access: str
    recorded: bool
    overflow: OverflowInfo | None
    invited: frozenset[str]
    blocked_filter: Any
    # Whether a listener may join incognito (a PATCH reaches a warm container within the cache's 10 s).
    allow_incognito: bool = True
    # Where a listener's entry in the listener list goes (domain/listener_list.py); never changes.
    listener_shards: int = 1

    @classmethod
    def of(cls, space: Space, stage: StageInfo) -> LiveJoinInfo:
        return cls(
            stage=stage,
            creator_id=space.creator_id,
            access=space.access,
            recorded=space.recording,
            overflow=space.overflow,
            invited=frozenset(space.invited),
            blocked_filter=space.blocked_filter,
            allow_incognito=space.allow_incognito,
            listener_shards=space.listener_shards,
        )

    def may_get_playback(self, user_id: str, space: Space | None) -> bool:
        """With the overflow on, a listener who connects now gets the channel, not the stage.
        Hosts, speakers (the Space read says so) and people invited to speak keep the stage.
        Warm (`space` None), only the host and the invited are known to keep it."""
        overflow_on = self.overflow is not None
        if space is not None:
            return takes_playback(overflow_on, space.role_of(user_id), user_id in space.invited)
        role_guess = HOST if user_id == self.creator_id else LISTENER
        return takes_playback(overflow_on, role_guess, user_id in self.invited)

    def pass_needed(self, user_id: str, space: Space | None) -> str | None:
        """"ticket", "subscription" or None: what the join's write checks the user holds. Warm,
        the Space is not read, so everyone is asked for one first; hosts, speakers and
        invitees are let in on a second try once the Space is read (rare: they are few, and
        mostly joined cold)."""
        if space is not None and not space.needs_pass(user_id):
            return None
        return PASS_KINDS.get(self.access)
