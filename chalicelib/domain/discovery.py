"""The rules of the Spaces tab (GET /spaces, services/discovery.py): which list a request reads.

A Space has an item in each list it belongs to: its state's ("live", "scheduled"), one per topic
("<state>#topic#<t>") and its host's ("<state>#host#<u>"). A request reads one list, or one of
the two read-time views (title search, "hosts I follow"); it may name one filter at most.
"""
from __future__ import annotations

from typing import Any

from msgspec import Struct

from chalicelib.domain.errors import BadRequest
from chalicelib.domain.spaces import LIVE, SCHEDULED, TOPIC_PATTERN, Listing
from chalicelib.domain.users import validate_user_id


class ListedSpace(Struct, frozen=True):
    """An entry of a page of Spaces: the listing and the participant count to show with it (the
    count of the last rank refresh in live lists, 0 in scheduled ones, None in search results:
    open the Space for it)."""
    listing: Listing
    participant_count: int | None


class SpacesPage(Struct, frozen=True):
    """One page of the Spaces tab, and the cursor of the next."""

    spaces: list[ListedSpace]
    next_cursor: str | None


class ListRequest(Struct, frozen=True):
    """What a caller asked the Spaces tab for: state, filters and search words."""

    state: str
    following: bool
    topic: str | None
    host_id: str | None
    query: str | None


def list_request(params: dict[str, Any]) -> ListRequest:
    """The query parameters, checked: the state, `following` as a boolean, one filter at most."""
    state = params.get("state") or LIVE
    if state not in (LIVE, SCHEDULED):
        raise BadRequest("state must be 'live' or 'scheduled'", code="invalid_state")
    following = params.get("following")
    if following not in (None, "", "true", "false"):
        raise BadRequest("following must be true or false", code="invalid_following")
    topic, host_id, query = params.get("topic"), params.get("host_id"), params.get("q")
    if sum(1 for f in (topic, host_id, query, following == "true") if f) > 1:
        raise BadRequest("use one of topic, host_id, q and following at a time", code="too_many_filters")
    return ListRequest(state, following == "true", topic, host_id, query)


def list_key(request: ListRequest) -> str:
    """The list a plain (not search, not following) request reads."""
    if request.topic:
        topic = request.topic.strip().lower()
        if not TOPIC_PATTERN.match(topic):
            raise BadRequest("topic must be a lowercase slug", code="invalid_topics")
        return f"{request.state}#topic#{topic}"
    if request.host_id:
        return f"{request.state}#host#{validate_user_id(request.host_id)}"
    return request.state
