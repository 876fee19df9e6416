"""Who may do what in a Space. Every route's permission check comes from here."""
from __future__ import annotations

from chalicelib.domain.errors import Forbidden
from chalicelib.domain.spaces import COHOST, HOST, LISTENER, Space


def require_creator(space: Space, user_id: str, action: str) -> None:
    """Lifecycle changes (start, end, cancel, edit, co-hosts) belong to the host alone."""
    if user_id != space.creator_id:
        raise Forbidden(f"only the host can {action}", code="host_only")


def require_moderator(space: Space, user_id: str, action: str) -> None:
    if space.role_of(user_id) not in (HOST, COHOST):
        raise Forbidden(f"only the host or a co-host can {action}", code="moderator_only")


def require_can_moderate(space: Space, actor_id: str, target_id: str, action: str) -> None:
    """Moderation of another person: nobody acts on the host, co-hosts only act on non-hosts."""
    require_moderator(space, actor_id, action)
    if target_id == space.creator_id:
        raise Forbidden(f"nobody can {action} the host", code="target_is_host")
    if target_id == actor_id:
        raise Forbidden(f"you cannot {action} yourself", code="target_is_self")
    if space.role_of(actor_id) == COHOST and space.role_of(target_id) == COHOST:
        raise Forbidden(f"a co-host cannot {action} another co-host", code="target_is_cohost")


def require_may_see_listeners(space: Space, user_id: str, connected: bool) -> None:
    """The listener list (docs/people.md), as on X: everyone in the Space sees who listens: the
    host, co-hosts and speakers, and anyone connected as a listener (incognito listeners too:
    they are in the room, just not shown). Not someone outside it: a stranger, a removed or
    blocked user, a listener who left. (Incognito listeners are never in the list; hosts and
    co-hosts see how many there are.)"""
    if space.role_of(user_id) == LISTENER and not connected:
        raise Forbidden("join this Space to see who listens", code="not_listening")
