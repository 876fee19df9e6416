"""Whether a user holds the pass a ticketed or subscriber-only Space asks of its audience: what a
join's transaction checks, and what the replay's audience is judged by (docs/tickets.md)."""
from __future__ import annotations

from chalicelib.domain.spaces import SUBSCRIBERS, TICKETED, Space
from chalicelib.domain.tickets import PAID
from chalicelib.services.context import Deps


def holds_pass(deps: Deps, space: Space, user_id: str) -> bool:
    """Whether the user has the pass a ticketed or subscriber-only Space asks of a listener: a
    paid ticket, or a subscription granting access now (what a join's transaction checks)."""
    if space.access == TICKETED:
        ticket = deps.tickets.get(space.id, user_id)
        return ticket is not None and ticket.status == PAID
    if space.access == SUBSCRIBERS:
        sub = deps.subscriptions.get(space.creator_id, user_id)
        return sub is not None and sub.grants_access(deps.clock.now())
    return True
