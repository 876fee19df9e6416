"""Who may do what in a Space. Every route's permission check comes from here."""
from __future__ import annotations

from chalicelib.domain.errors import Forbidden
from chalicelib.domain.spaces import COHOST, HOST, Space


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
