"""Live captions: segments sent by people on stage, stored in order, told to the room, read back
page by page (and, once the Space ends, as its replay's WebVTT: services/replay_landing.py)."""
from __future__ import annotations

from datetime import timedelta

from aws_lambda_powertools import Logger

from chalicelib.config import SERVICE_NAME
from chalicelib.domain.errors import BadRequest, Forbidden
from chalicelib.domain.ids import new_ulid
from chalicelib.domain.commands.recording import PostCaption
from chalicelib.domain.captions import Caption, caption_seq
from chalicelib.domain.spaces import PUBLISHING_ROLES, Space, iso, require_live
from chalicelib.ports import FIRST_PAGE, PageCursor, Refused
from chalicelib.services.context import Deps
from chalicelib.services.recording import announce
from chalicelib.services.replays import require_audience

logger = Logger(child=True, service=SERVICE_NAME)


def may_caption(deps: Deps, user_id: str, space_id: str) -> Space:
    """Who may caption: someone on stage of a live Space (404, 409, 403)."""
    space = deps.spaces.get(space_id, with_count=False)
    require_live(space)
    if space.role_of(user_id) not in PUBLISHING_ROLES:
        raise Forbidden("only the host, co-hosts and speakers can send captions", code="not_on_stage")
    return space


def post_caption(deps: Deps, user_id: str, space_id: str, posted: PostCaption) -> Caption:
    """Only someone on stage of a live Space captions. The write itself checks it (a speaker
    demoted meanwhile is refused), then the room is told (event `caption`). Who may send is
    checked before what was sent: a listener learns nothing about the body's rules."""
    space = may_caption(deps, user_id, space_id)
    text, language, start_ms, end_ms = posted.text, posted.language, posted.start_ms, posted.end_ms
    now = deps.clock.now()
    caption = Caption(
        space_id=space_id,
        seq=caption_seq(start_ms, new_ulid()),
        user_id=user_id,
        text=text,
        language=language,
        start_ms=start_ms,
        end_ms=end_ms,
        created_at=now,
    )
    # Kept as long as the replay they caption (a Space lasts at most a day), then TTL.
    expires_at = now + timedelta(days=deps.settings.replay_retention_days + 2)
    try:
        deps.recordings.add_caption(caption, expires_at=expires_at)
    except Refused as exc:
        current = deps.spaces.get(space_id, with_count=False)
        require_live(current)
        raise Forbidden("you are no longer on stage", code="not_on_stage") from exc
    # The room's `caption` event (docs/room-events.md): the segment, without the Space it is in.
    announce(
        deps, space, "caption", id=caption.caption_id, user_id=user_id, text=text, language=language,
        start_ms=start_ms, end_ms=end_ms, created_at=iso(now),
    )
    deps.telemetry.count("CaptionPosted")
    return caption


def list_captions(deps: Deps, user_id: str, space_id: str, page: PageCursor = FIRST_PAGE) -> tuple[list[Caption], str | None]:
    """Segments in time order, `limit` at a time, and the cursor of the next page (None on the
    last); `after` (or `cursor`) is the previous page's. Anyone allowed into the Space may read,
    in any state."""
    space = deps.spaces.get(space_id, with_count=False)
    require_audience(deps, space, user_id)
    limit = page.limit()
    mark = page.after({"seq": str})
    after = _checked_seq(mark["seq"]) if mark else None
    captions, last = deps.recordings.captions_page(space_id, limit=limit, after=after)
    return captions, page.seal({"seq": last} if last else None)


def _checked_seq(seq: str) -> str:
    """A caption's sort key (`<start ms, 11 digits>#<ULID>`), as a cursor must carry it."""
    start, _, ulid = seq.partition("#")
    if len(start) != 11 or not start.isdigit() or len(ulid) != 26:
        raise BadRequest("cursor is not one this API returned", code="invalid_cursor")
    return seq
