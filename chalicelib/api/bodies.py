"""JSON bodies -> the use cases' commands (chalicelib/domain/commands.py): every body field's
name, kind and error code, as openapi.yaml documents them. Each parser takes the JSON object
`http.json_body` read and returns its command, or raises the documented 400 (422 for a value of
the right kind against a rule). Routes hand these to `http.command`, which judges the caller
first; routes import this module lazily (on their first body), so a cold start does not pay for
the command classes.
"""
from __future__ import annotations

from typing import Any

from chalicelib.domain.commands import (
    AppealRemoval,
    GiveReason,
    ReportAbuse,
    AcceptInvitation,
    BuyTicket,
    CreateSpace,
    EditProfile,
    EditSpace,
    InviteSpeaker,
    JoinSpace,
    LocalSignIn,
    MakeClip,
    NameCohost,
    PinPost,
    PostCaption,
    RegisterDevice,
    SendReaction,
    SetClipping,
    StartSpace,
    Subscribe,
)
from chalicelib.domain.errors import BadRequest, RuleViolation
from chalicelib.domain.pinned import validate_text, validate_url
from chalicelib.domain.appeals import MAX_APPEAL_CHARS
from chalicelib.domain.moderation import MAX_REASON_CHARS
from chalicelib.domain.reports import MAX_REPORT_CHARS, REPORT_REASONS
from chalicelib.domain.captions import CAPTION_MAX_OFFSET_MS, CAPTION_MAX_TEXT, is_language_tag
from chalicelib.domain.clips import check_clip
from chalicelib.domain.reminders import PLATFORMS, TOKEN_PATTERN
from chalicelib.domain.room_events import REACTIONS
from chalicelib.domain.spaces import parse_iso, validate_access, validate_user_list
from chalicelib.domain.text import require_clean_text
from chalicelib.domain.subscriptions import SUBSCRIPTION_TIERS
from chalicelib.domain.tickets import parse_ticket_offer
from chalicelib.domain.users import (
    MAX_AVATAR_URL_CHARS,
    MAX_DISPLAY_NAME_CHARS,
    is_avatar_url,
    is_display_name,
    validate_user_id,
)

Body = dict[str, Any]


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
        allow_incognito=_flag(body, "allow_incognito", default=True),
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
        allow_incognito=_flag(body, "allow_incognito") if "allow_incognito" in body else None,
        title=title,
        topics=None if "topics" not in body else tuple(topics or ()),
        scheduled_start=parse_iso(start, "scheduled_start") if "scheduled_start" in body else None,
    )


def start_space(body: Body) -> StartSpace:
    _only(body, {"recording"}, hint="; start accepts recording")
    recording = body.get("recording")
    if "recording" in body and not isinstance(recording, bool):  # null too
        raise BadRequest("recording must be true or false", code="invalid_recording")
    return StartSpace(recording=recording)


def recording_consent(body: Body | None) -> bool:
    """`recording_consent` of a join or accept body: absent means no."""
    value = (body or {}).get("recording_consent", False)
    if not isinstance(value, bool):
        raise BadRequest("recording_consent must be true or false", code="invalid_recording_consent")
    return value


def join(body: Body) -> JoinSpace:
    return JoinSpace(recording_consent=recording_consent(body), incognito=_flag(body, "incognito"))


def _flag(body: Body, name: str, *, default: bool = False) -> bool:
    """A true / false field; absent is `default`, anything else (null too) a 400."""
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise BadRequest(f"{name} must be true or false", code=f"invalid_{name}")
    return value


PROFILE_FIELDS = {"display_name", "avatar_url"}


def edit_profile(body: Body) -> EditProfile:
    """PATCH /me: `display_name` (1-50 characters of single-line text) and `avatar_url` (an
    https URL of at most 1,024 characters); "" clears either, so the token's claim shows again."""
    _only(body, PROFILE_FIELDS, hint="; PATCH /me accepts display_name, avatar_url")
    if not body:
        raise BadRequest("nothing to change", code="empty_patch")
    name, avatar = body.get("display_name"), body.get("avatar_url")
    for field, value in (("display_name", name), ("avatar_url", avatar)):
        if field in body and not isinstance(value, str):
            raise BadRequest(f"{field} must be a string", code=f"invalid_{field}")
    if name:
        require_clean_text(name, "display_name", code="invalid_display_name")
        if not is_display_name(name):
            raise RuleViolation(
                f"display_name must be 1-{MAX_DISPLAY_NAME_CHARS} characters, not only spaces",
                code="invalid_display_name",
            )
    if avatar and not is_avatar_url(avatar):
        raise RuleViolation(
            f"avatar_url must be an https URL of at most {MAX_AVATAR_URL_CHARS} characters",
            code="invalid_avatar_url",
        )
    return EditProfile(display_name=name.strip() if name else name, avatar_url=avatar)


def accept_invitation(body: Body) -> AcceptInvitation:
    return AcceptInvitation(recording_consent=recording_consent(body))


def invite_speaker(body: Body) -> InviteSpeaker:
    return InviteSpeaker(user_id=validate_user_id(body.get("user_id")))


def name_cohost(body: Body) -> NameCohost:
    return NameCohost(user_id=validate_user_id(body.get("user_id")))


def reaction(body: Body) -> SendReaction:
    emoji = body.get("emoji")
    if not isinstance(emoji, str) or emoji not in REACTIONS:
        raise BadRequest(f"emoji must be one of {' '.join(REACTIONS)}", code="invalid_reaction")
    return SendReaction(emoji=emoji)


def device(body: Body) -> RegisterDevice:
    platform, token = body.get("platform"), body.get("token")
    if not isinstance(platform, str) or platform not in PLATFORMS:
        raise BadRequest("platform must be 'ios' or 'android'", code="invalid_platform")
    if not isinstance(token, str) or not TOKEN_PATTERN.match(token):
        raise BadRequest("token must be the APNs or FCM device token string", code="invalid_token_value")
    return RegisterDevice(platform=platform, token=token)


CAPTION_FIELDS = {"text", "language", "start_ms", "end_ms"}


def caption(body: Body) -> PostCaption:
    """A caption segment; its text collapsed to one line (WebVTT cue text must not carry a blank
    line) before its length is checked."""
    unknown = set(body) - CAPTION_FIELDS
    if unknown:
        raise BadRequest(f"unknown caption fields: {', '.join(sorted(unknown))}", code="invalid_caption")
    text, language = body.get("text"), body.get("language")
    if not isinstance(text, str) or not text.strip():
        raise BadRequest("text is required: 1 to 500 characters", code="invalid_caption")
    text = " ".join(text.split())
    if len(text) > CAPTION_MAX_TEXT:
        raise RuleViolation(f"a caption is at most {CAPTION_MAX_TEXT} characters", code="caption_too_long")
    if not isinstance(language, str) or not is_language_tag(language):
        raise BadRequest('language must be a BCP 47 tag such as "en" or "en-US"', code="invalid_language")
    start_ms, end_ms = _offset_ms(body, "start_ms"), _offset_ms(body, "end_ms")
    if end_ms < start_ms:
        raise RuleViolation("end_ms must not be before start_ms", code="caption_ends_before_start")
    if end_ms > CAPTION_MAX_OFFSET_MS:
        raise RuleViolation("captions are offsets within a Space's 24 hours", code="caption_out_of_range")
    return PostCaption(text=text, language=language, start_ms=start_ms, end_ms=end_ms)


def _offset_ms(body: Body, name: str) -> int:
    value = body.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise BadRequest(f"{name} must be a non-negative integer (milliseconds)", code="invalid_caption")
    return value


def buy_ticket(body: Body) -> BuyTicket:
    _only(body, {"payment_method"})
    return BuyTicket(payment_method=_payment_method(body))


def subscribe(body: Body) -> Subscribe:
    _only(body, {"tier", "payment_method"})
    tier = body.get("tier")
    if "tier" in body and (not isinstance(tier, str) or tier not in SUBSCRIPTION_TIERS):  # null too
        raise BadRequest(f"tier must be one of {', '.join(SUBSCRIPTION_TIERS)}", code="invalid_tier")
    return Subscribe(tier=tier, payment_method=_payment_method(body))


def local_sign_in(body: Body) -> LocalSignIn:
    return LocalSignIn(user_id=validate_user_id(body.get("user_id")))


def _only(body: Body, fields: set[str], hint: str = "") -> None:
    unknown = set(body) - fields
    if unknown:
        raise BadRequest(f"unknown fields: {', '.join(sorted(unknown))}{hint}", code="invalid_body")


def _payment_method(body: Body) -> str | None:
    """An optional saved or test payment method to confirm with at once (`pm_...`)."""
    method = body.get("payment_method")
    if method is None:
        return None
    if not isinstance(method, str) or not method.startswith("pm_") or not 4 <= len(method) <= 255:
        raise BadRequest("payment_method must be a payment method id like pm_card_visa", code="invalid_payment_method")
    return method


def clip(body: Body) -> MakeClip:
    """`POST /spaces/{id}/clips`: two non-negative whole milliseconds; the window's rules are the
    domain's (domain/clips.py check_clip: 422)."""
    unknown = set(body) - {"start_ms", "duration_ms"}
    if unknown:
        raise BadRequest(f"unknown clip fields: {', '.join(sorted(unknown))}", code="invalid_clip")
    values = []
    for name in ("start_ms", "duration_ms"):
        value = body.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise BadRequest(f"{name} must be a non-negative integer (milliseconds)", code="invalid_clip")
        values.append(value)
    check_clip(*values)
    return MakeClip(start_ms=values[0], duration_ms=values[1])


def clipping(body: Body) -> SetClipping:
    """`PUT /spaces/{id}/clipping {"enabled": true|false}`."""
    if set(body) - {"enabled"} or not isinstance(body.get("enabled"), bool):
        raise BadRequest('send {"enabled": true|false}', code="invalid_body")
    return SetClipping(enabled=body["enabled"])


def pin(body: Body) -> PinPost:
    """`PUT /spaces/{id}/pinned {"url", "text"}`: two strings (400 otherwise); https, lengths and
    clean text are the domain's rules (domain/pinned.py: 422)."""
    _only(body, {"url", "text"}, hint="; a pinned post has url and text")
    url, text = body.get("url"), body.get("text")
    if not isinstance(url, str) or not isinstance(text, str):
        raise BadRequest('send {"url": "https://...", "text": "..."}', code="invalid_body")
    return PinPost(url=validate_url(url), text=validate_text(text))


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
