"""GET /spaces: the Spaces tab. Every page is one Query on a list built for it (never a Scan)."""
from __future__ import annotations

import base64
import binascii
import json

from chalicelib.domain.errors import BadRequest, RuleViolation
from chalicelib.domain.spaces import LIVE, SCHEDULED, TOPIC_PATTERN, iso
from chalicelib.domain.users import validate_user_id
from chalicelib.services.context import Deps

DEFAULT_LIMIT, MAX_LIMIT = 20, 100


def list_spaces(deps: Deps, user_id: str, params: dict) -> dict:
    state = params.get("state") or LIVE
    if state not in (LIVE, SCHEDULED):
        raise BadRequest("state must be 'live' or 'scheduled'", code="invalid_state")
    for unsupported in ("following", "q"):
        if params.get(unsupported):
            raise RuleViolation(
                f"the '{unsupported}' filter is not available yet", code="filter_not_available"
            )
    topic, host_id = params.get("topic"), params.get("host_id")
    if topic and host_id:
        raise BadRequest("filter by topic or by host_id, not both", code="too_many_filters")
    list_key = state
    if topic:
        topic = topic.strip().lower()
        if not TOPIC_PATTERN.match(topic):
            raise BadRequest("topic must be a lowercase slug", code="invalid_topics")
        list_key = f"{state}#topic#{topic}"
    elif host_id:
        list_key = f"{state}#host#{validate_user_id(host_id)}"

    limit = _limit(params.get("limit"))
    after = _decode_cursor(params.get("cursor"), list_key)
    # Live: most listeners first. Scheduled: soonest first.
    items, last = deps.spaces.discovery_page(list_key, ascending=state == SCHEDULED, limit=limit, after=after)
    return {
        "spaces": [_summary(item) for item in items],
        "next_cursor": _encode_cursor(last) if last and len(items) == limit else None,
    }


def refresh_live_ranks(deps: Deps) -> int:
    return deps.spaces.refresh_live_ranks()


def _summary(item) -> dict:
    live = item.state == LIVE
    return {
        "id": item.space_id,
        "state": item.state,
        "title": item.title,
        "creator_id": item.creator_id,
        "topics": list(item.topics or []),
        "participant_count": int(item.rank) if live else 0,
        "scheduled_start": iso(item.scheduled_start),
        "started_at": iso(item.started_at),
    }


def _limit(raw) -> int:
    if raw in (None, ""):
        return DEFAULT_LIMIT
    try:
        value = int(raw)
    except (TypeError, ValueError) as exc:
        raise BadRequest("limit must be a whole number", code="invalid_limit") from exc
    if not 1 <= value <= MAX_LIMIT:
        raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}", code="invalid_limit")
    return value


def _encode_cursor(last: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(last, sort_keys=True).encode()).decode().rstrip("=")


def _decode_cursor(cursor, list_key: str) -> dict | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        last = json.loads(raw)
        valid = (
            isinstance(last, dict)
            and set(last) == {"list_key", "space_id", "rank"}
            and last["list_key"] == {"S": list_key}
            and set(last["space_id"]) == {"S"}
            and set(last["rank"]) == {"N"}
            and str(last["space_id"]["S"]).isalnum()
            and float(last["rank"]["N"]) == float(last["rank"]["N"])
        )
    except (ValueError, TypeError, KeyError, AttributeError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadRequest("cursor is not one this list returned", code="invalid_cursor") from exc
    if not valid:
        raise BadRequest("cursor is not one this list returned", code="invalid_cursor")
    return last
