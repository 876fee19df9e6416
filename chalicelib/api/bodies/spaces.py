"""JSON bodies -> commands: POST /spaces, PATCH /spaces/{id} and POST /spaces/{id}/start. How a
parser works: `chalicelib/api/bodies/__init__.py`."""
from __future__ import annotations

from chalicelib.api.bodies import Body, flag, only
from chalicelib.domain.commands.spaces import CreateSpace, EditSpace, StartSpace
from chalicelib.domain.errors import BadRequest
from chalicelib.domain.spaces import parse_iso, validate_access, validate_user_list
from chalicelib.domain.text import require_clean_text
from chalicelib.domain.tickets import parse_ticket_offer


PATCHABLE = ("allow_incognito", "scheduled_start", "title", "topics")


def create_space(body: Body) -> CreateSpace:
    """POST /spaces' body (unknown fields ignored). Kinds and text here, each field on its own;
    lengths, counts, times and what goes with what (a ticket only with access `ticketed`) are
    the domain's rules (domain/spaces.py new_space)."""
    title = _title(body)
    topics = _topics(body)
    access = validate_access(body.get("access"))
    ticket = body.get("ticket")
    recording = body.get("recording", False)
    if not isinstance(recording, bool):
        raise BadRequest("recording must be true or false", code="invalid_recording")
    cohost_ids = validate_user_list(body.get("cohost_ids"), "cohost_ids")
    speaker_ids = validate_user_list(body.get("speaker_ids"), "speaker_ids")
    start = body.get("scheduled_start")
    return CreateSpace(
        allow_incognito=flag(body, "allow_incognito", default=True),
        title=title,
        topics=tuple(topics or ()),
        scheduled_start=None if start is None else parse_iso(start, "scheduled_start"),
        access=access,
        ticket=None if ticket is None else parse_ticket_offer(ticket),
        cohost_ids=cohost_ids,
        speaker_ids=speaker_ids,
        recording=recording,
    )


def _title(body: Body) -> str:
    title = body.get("title")
    if not isinstance(title, str) or not title.strip():
        raise BadRequest("title is required and must be a non-empty string", code="invalid_title")
    return require_clean_text(title.strip(), "title", code="invalid_title")


def _topics(body: Body) -> list[str] | None:
    topics = body.get("topics")
    if topics is not None and (not isinstance(topics, list) or not all(isinstance(t, str) for t in topics)):
        raise BadRequest("topics must be a list of strings", code="invalid_topics")
    return topics


def edit_space(body: Body) -> EditSpace:
    """PATCH's body. Kinds and text here; lengths, counts, times and what the Space's state
    allows are the domain's rules (domain/spaces.py apply_patch)."""
    unknown = set(body) - set(PATCHABLE)
    if unknown:
        raise BadRequest(
            f"cannot change {', '.join(sorted(unknown))}; PATCH accepts {', '.join(PATCHABLE)}",
            code="field_not_patchable",
        )
    if not body:
        raise BadRequest("nothing to change", code="empty_patch")
    title = _title(body) if "title" in body else None
    topics = _topics(body)
    start = body.get("scheduled_start")
    return EditSpace(
        allow_incognito=flag(body, "allow_incognito") if "allow_incognito" in body else None,
        title=title,
        topics=None if "topics" not in body else tuple(topics or ()),
        scheduled_start=parse_iso(start, "scheduled_start") if "scheduled_start" in body else None,
    )


def start_space(body: Body) -> StartSpace:
    only(body, {"recording"}, hint="; start accepts recording")
    recording = body.get("recording")
    if "recording" in body and not isinstance(recording, bool):  # null too
        raise BadRequest("recording must be true or false", code="invalid_recording")
    return StartSpace(recording=recording)
