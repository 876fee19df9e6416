"""JSON bodies -> commands: a moderation act's reason, an appeal and a report. How a parser works:
`chalicelib/api/bodies/__init__.py`."""
from __future__ import annotations

from chalicelib.api.bodies import Body
from chalicelib.domain.commands.moderation import AppealRemoval, GiveReason, ReportAbuse
from chalicelib.domain.errors import BadRequest
from chalicelib.domain.appeals import MAX_APPEAL_CHARS
from chalicelib.domain.moderation import MAX_REASON_CHARS
from chalicelib.domain.reports import MAX_REPORT_CHARS, REPORT_REASONS
from chalicelib.domain.text import require_clean_text


def reason(body: Body) -> GiveReason:
    """The optional `reason` of a moderation act: one line of clean text, 1 to 280 characters."""
    if not body or body.get("reason") is None:
        return GiveReason()
    given = body["reason"]
    if not isinstance(given, str) or not given.strip() or len(given) > MAX_REASON_CHARS:
        raise BadRequest(f"reason must be text of 1 to {MAX_REASON_CHARS} characters", code="invalid_reason")
    return GiveReason(require_clean_text(given.strip(), "reason", code="invalid_reason"))


def appeal(body: Body) -> AppealRemoval:
    """An appeal's `text`: 1 to 500 characters of clean text (newlines allowed), nothing else."""
    unknown = set(body) - {"text"}
    if unknown:
        raise BadRequest(f"unknown fields: {', '.join(sorted(unknown))}", code="invalid_body")
    text = body.get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_APPEAL_CHARS:
        raise BadRequest(f"text must be text of 1 to {MAX_APPEAL_CHARS} characters", code="invalid_appeal")
    return AppealRemoval(require_clean_text(text.strip(), "text", code="invalid_appeal", multiline=True))


def report(body: Body) -> ReportAbuse:
    """A report: `reason` from the fixed list, optional `text` (1-500 characters, newlines
    allowed) and optional `user_id` (absent: the Space itself is reported)."""
    unknown = set(body) - {"reason", "text", "user_id"}
    if unknown:
        raise BadRequest(f"unknown fields: {', '.join(sorted(unknown))}", code="invalid_body")
    why = body.get("reason")
    if why not in REPORT_REASONS:
        raise BadRequest(f"reason must be one of {', '.join(REPORT_REASONS)}", code="invalid_reason")
    text = body.get("text")
    if text is not None:
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_REPORT_CHARS:
            raise BadRequest(f"text must be text of 1 to {MAX_REPORT_CHARS} characters", code="invalid_report")
        text = require_clean_text(text.strip(), "text", code="invalid_report", multiline=True)
    user_id = body.get("user_id")
    if user_id is not None and not isinstance(user_id, str):
        raise BadRequest("user_id must be a user id", code="invalid_user_id")
    return ReportAbuse(reason=why, text=text, user_id=user_id)
