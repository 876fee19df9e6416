"""The share page's use case: what a link to a Space shows (chalicelib/domain/share.py)."""
from __future__ import annotations

from chalicelib.domain.share import ShareCard, share_card
from chalicelib.services.context import Deps


def card(deps: Deps, space_id: str) -> ShareCard:
    """One read: a BatchGetItem of the Space item and its counter shards (the listener count).
    NotFound when there is no such Space."""
    return share_card(deps.spaces.get(space_id))
