"""The share page: `GET /s/{space_id}`, a small HTML page for a link to a Space.

Chat apps fetch a pasted link and build its preview from the page's Open Graph and Twitter card
tags; their crawlers carry no token, so the route is public (chalicelib/api/middleware.py) and
shows only what a stranger may know (chalicelib/domain/share.py). A person's browser runs the
page's one script and goes on to the web client on that Space; the same link is in the page for
anyone without scripts.

The title is the host's text: every value written into the page goes through `html.escape`
(quotes included, for attributes), and the page's Content-Security-Policy lets no script run but
its own (by hash), so even a value that escaped the escaping could not execute.
"""
from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timezone
from html import escape
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger
from chalice import Blueprint, Response

from chalicelib import bootstrap
from chalicelib.config import SERVICE_NAME
from chalicelib.domain.errors import DependencyFailed, DomainError, Throttled
from chalicelib.domain.spaces import CANCELED, ENDED, LIVE, PUBLIC, SCHEDULED, TICKETED, iso, validate_space_id
from chalicelib.lazy import service

if TYPE_CHECKING:  # annotations only: the share card's module comes with its service, on first use
    from chalicelib.domain.share import Price, ShareCard

share = service("share")
logger = Logger(child=True, service=SERVICE_NAME)

bp = Blueprint(__name__)

# The local stage serves the web client itself, on the API's origin.
LOCAL_WEB_CLIENT = "/web/index.html"
REDIRECT_SCRIPT = 'location.replace(document.getElementById("open").href);'
_SCRIPT_HASH = base64.b64encode(hashlib.sha256(REDIRECT_SCRIPT.encode()).digest()).decode()
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        f"default-src 'none'; script-src 'sha256-{_SCRIPT_HASH}'; style-src 'unsafe-inline'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
# A preview may lag the Space by a minute (the listener count moves all the time); crawlers and
# CDNs may keep a copy that long, and an unknown id's 404 too (a new Space's id is never guessed
# before it exists). A failure is never kept.
CACHE_SECONDS = 60
STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;line-height:1.5}"
    "a{font-weight:600}"
)


@bp.route("/s/{space_id}", methods=["GET"])
def share_page(space_id):
    deps = bootstrap.deps()
    try:
        card = share.card(deps, validate_space_id(space_id))
    except DomainError as exc:
        return _error_page(exc, deps.settings.web_client_url)
    return _page(200, _card_html(card, web_client_link(deps.settings.web_client_url, card.space_id)))


def web_client_link(web_client_url: str, space_id: str | None = None) -> str:
    """The web client's URL for a Space (its route is the fragment `#/spaces/<id>`), or its home."""
    base = web_client_url or LOCAL_WEB_CLIENT
    return f"{base}#/spaces/{space_id}" if space_id else base


def describe(card: ShareCard) -> str:
    """The preview's one line of text."""
    if card.access != PUBLIC:
        kind = "Ticketed Space" if card.access == TICKETED else "For subscribers"
        return f"{kind} · {price_text(card.price)}" if card.price else kind
    parts = [_state_text(card)]
    if card.host_id:
        parts.append(f"hosted by @{card.host_id}")
    if card.listener_count is not None:
        parts.append(f"{card.listener_count} listening")
    return " · ".join(parts)


def price_text(price: Price) -> str:
    from chalicelib.domain.share import PER_TICKET  # loaded already: the card came from it

    amount = f"{price.cents // 100}.{price.cents % 100:02d} {price.currency}"
    return f"{amount} a ticket" if price.per == PER_TICKET else f"from {amount} a month"


def _state_text(card: ShareCard) -> str:
    when = _human_time(card.start_time) if card.start_time else None
    if card.state == LIVE:
        return f"Live now, since {when}" if when else "Live now"
    if card.state == SCHEDULED:
        return f"Starts {when}" if when else "Scheduled"
    if card.state == ENDED:
        return "Ended"
    if card.state == CANCELED:
        return "Canceled"
    return card.state or ""


def _human_time(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%-d %b %Y, %H:%M UTC")


def _meta_tags(card: ShareCard, description: str) -> list[tuple[str, str, str]]:
    """(attribute, name, content): Open Graph (`property`), Twitter card and the page's own
    `spaces:*` tags (`name`). Twitter's label/data pairs are what Slack and others show as
    fields under the preview."""
    tags = [
        ("property", "og:type", "website"),
        ("property", "og:site_name", "Spaces"),
        ("property", "og:title", card.title),
        ("property", "og:description", description),
        ("name", "description", description),
        ("name", "twitter:card", "summary"),
        ("name", "twitter:title", card.title),
        ("name", "twitter:description", description),
    ]
    if card.price is not None:
        tags += [
            ("name", "twitter:label1", "Price"),
            ("name", "twitter:data1", price_text(card.price)),
            ("name", "spaces:price_cents", str(card.price.cents)),
            ("name", "spaces:currency", card.price.currency),
        ]
    if card.host_id:
        tags += [("name", "twitter:label1", "Host"), ("name", "twitter:data1", f"@{card.host_id}"),
                 ("name", "spaces:host", card.host_id)]
    if card.state:
        tags.append(("name", "spaces:state", card.state))
    if card.start_time:
        tags.append(("name", "spaces:start_time", iso(card.start_time)))
    if card.listener_count is not None:
        tags += [("name", "twitter:label2", "Listening"), ("name", "twitter:data2", str(card.listener_count)),
                 ("name", "spaces:listener_count", str(card.listener_count))]
    elif card.state == SCHEDULED and card.start_time:
        tags += [("name", "twitter:label2", "Starts"),
                 ("name", "twitter:data2", _human_time(card.start_time))]
    return tags


def _card_html(card: ShareCard, link: str) -> str:
    description = describe(card)
    metas = "\n".join(
        f'<meta {attr}="{escape(name)}" content="{escape(content)}">' for attr, name, content in _meta_tags(card, description)
    )
    return _document(
        title=f"{card.title} · Spaces",
        head=metas,
        body=(
            f"<h1>{escape(card.title)}</h1>\n<p>{escape(description)}</p>\n"
            f'<p><a id="open" href="{escape(link)}">Open in Spaces</a></p>\n<script>{REDIRECT_SCRIPT}</script>'
        ),
    )


def _document(*, title: str, head: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n{head}\n<style>{STYLE}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def _error_page(exc: DomainError, web_client_url: str) -> Response:
    """The error as a page (a person or a crawler reads it, not a client): the domain error's own
    status; 503 and 429 with Retry-After, as the JSON routes give them (chalicelib/api/http.py)."""
    if exc.status >= 500:
        logger.warning("share page failed", code=exc.code, error=exc.message)
    heading = {404: "This Space does not exist", 503: "Spaces is busy", 429: "Spaces is busy"}.get(
        exc.status, "This Space cannot be shown"
    )
    text = "Try again in a moment." if exc.status in (429, 503) else "The link may be mistyped."
    body = (
        f"<h1>{escape(heading)}</h1>\n<p>{escape(text)}</p>\n"
        f'<p><a href="{escape(web_client_link(web_client_url))}">Open Spaces</a></p>'
    )
    headers = {}
    if isinstance(exc, (DependencyFailed, Throttled)):
        headers["Retry-After"] = str(exc.retry_after)
    return _page(exc.status, _document(title=f"{heading} · Spaces", head="", body=body), headers)


def _page(status: int, html: str, extra: dict[str, str] | None = None) -> Response:
    cache = f"public, max-age={CACHE_SECONDS}" if status in (200, 404) else "no-store"
    headers: dict[str, str | list[str]] = {
        "Content-Type": "text/html; charset=utf-8", "Cache-Control": cache, **SECURITY_HEADERS, **(extra or {})
    }
    return Response(body=html, status_code=status, headers=headers)
