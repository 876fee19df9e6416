"""The share page, GET /s/{space_id}: what a link to a Space shows a chat app's crawler (no
token), for each kind of Space; everything escaped; unknown ids a 404 page, never a 500."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from html.parser import HTMLParser

import pytest

from chalicelib.domain.errors import DependencyFailed
from chalicelib.domain.spaces import iso, utcnow

pytestmark = pytest.mark.usefixtures("deps")


class Page(HTMLParser):
    """The page as a crawler reads it: its meta tags, its link, its visible text."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, list[str]] = {}
        self.links: dict[str, str] = {}
        self.scripts: list[str] = []
        self.h1 = ""
        self._in: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "meta" and "content" in a:
            self.meta.setdefault(a.get("property") or a.get("name"), []).append(a["content"])
        if tag == "a":
            self.links[a.get("id") or a["href"]] = a["href"]
        self._in.append(tag)

    def handle_endtag(self, tag):
        if self._in and self._in[-1] == tag:
            self._in.pop()

    def handle_data(self, data):
        if self._in and self._in[-1] == "h1":
            self.h1 += data
        if self._in and self._in[-1] == "script":
            self.scripts.append(data)

    def one(self, name: str) -> str:
        [value] = self.meta[name]
        return value


def share(api, space_id: str, user: str | None = None):
    response = api.get(f"/s/{space_id}", user)
    assert response.headers["Content-Type"] == "text/html; charset=utf-8", response.headers
    return response, Page(response.body.decode())


def test_a_live_public_space_previews_title_host_state_start_and_listeners(api, host, new_user):
    space = api.post("/spaces", host, {"title": "Morning coffee", "topics": ["tech"]}).data
    for _ in range(3):
        assert api.post(f"/spaces/{space['id']}/join", new_user("listener")).status_code == 200

    # No token: what a crawler gets
    response, page = share(api, space["id"])

    assert response.status_code == 200
    assert page.one("og:title") == page.one("twitter:title") == "Morning coffee"
    assert page.one("twitter:card") == "summary"
    assert page.one("spaces:host") == host
    assert page.one("spaces:state") == "live"
    assert page.one("spaces:start_time") == space["started_at"]
    assert page.one("spaces:listener_count") == "3"
    assert "3 listening" in page.one("og:description") and f"@{host}" in page.one("og:description")
    assert page.one("twitter:data1") == f"@{host}" and page.one("twitter:data2") == "3"
    # Its link opens the web client (served by the API itself locally) on that Space
    assert page.links["open"] == f"/web/index.html#/spaces/{space['id']}"
    assert response.headers["Cache-Control"] == "public, max-age=60"


def test_a_scheduled_space_shows_when_it_starts_and_no_listener_count(api, host):
    start = iso(utcnow() + timedelta(days=2))
    space = api.post("/spaces", host, {"title": "Launch day", "scheduled_start": start}).data

    _, page = share(api, space["id"])

    assert page.one("spaces:state") == "scheduled"
    assert page.one("spaces:start_time") == start
    assert "spaces:listener_count" not in page.meta
    assert page.one("twitter:label2") == "Starts"
    assert page.one("og:description").startswith("Starts ")


def test_an_ended_space_says_it_ended(api, host):
    space = api.post("/spaces", host, {"title": "Over now"}).data
    api.post(f"/spaces/{space['id']}/end", host)

    _, page = share(api, space["id"])

    assert page.one("spaces:state") == "ended"
    assert "spaces:listener_count" not in page.meta
    assert page.one("og:description").startswith("Ended")


def test_a_ticketed_space_shows_its_title_and_price_only(api, deps):
    from bench.oversell import make_seller

    seller = make_seller(deps)
    body = {"title": "Paid masterclass", "access": "ticketed", "scheduled_start": iso(utcnow() + timedelta(days=1)),
            "ticket": {"price_cents": 1250, "currency": "USD", "capacity": 40}}
    space = api.post("/spaces", seller, body).data

    response, page = share(api, space["id"])

    assert response.status_code == 200
    assert page.one("og:title") == "Paid masterclass"
    assert page.one("spaces:price_cents") == "1250" and page.one("spaces:currency") == "USD"
    assert page.one("og:description") == "Ticketed Space · 12.50 USD a ticket"
    for private in ("spaces:host", "spaces:state", "spaces:start_time", "spaces:listener_count"):
        assert private not in page.meta
    text = response.body.decode()
    assert seller not in text and body["scheduled_start"] not in text


def test_a_subscriber_only_space_shows_its_title_and_the_subscription_price_only(api, host, new_user):
    space = api.post("/spaces", host, {"title": "Inner circle", "access": "subscribers"}).data

    response, page = share(api, space["id"], user=new_user("stranger"))

    assert page.one("og:title") == "Inner circle"
    assert page.one("spaces:price_cents") == "299" and page.one("twitter:data1") == "from 2.99 USD a month"
    for private in ("spaces:host", "spaces:state", "spaces:start_time", "spaces:listener_count"):
        assert private not in page.meta
    assert host not in response.body.decode()


@pytest.mark.parametrize("title", [
    '"><script>alert(1)</script>',
    "It's <b>bold</b> & \"quoted\" ' onmouseover='x",
])
def test_a_title_with_markup_and_quotes_is_shown_as_text_never_as_markup(api, host, title):
    space = api.post("/spaces", host, {"title": title}).data
    assert space["title"] == title

    response, page = share(api, space["id"])

    html = response.body.decode()
    # The title comes back exactly, as text, in every place it is written
    assert page.one("og:title") == page.one("twitter:title") == title
    assert page.h1 == title
    # and no markup of it survives: the only script is the page's own, and no attribute was broken
    assert "<script>alert" not in html and "<b>" not in html and "onmouseover='x" not in html
    assert len(page.scripts) == 1 and "alert" not in page.scripts[0]
    assert set(page.links) == {"open"}
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'sha256-" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]


@pytest.mark.parametrize("space_id", ["01JD2Z6R9V3M8K4T5N7Q1W2E3R", "not-a-space!", "%3Cscript%3Ealert(1)%3C%2Fscript%3E", "A" * 65])
def test_an_unknown_or_malformed_id_is_a_404_page_not_a_500(api, space_id):
    response, page = share(api, space_id)

    assert response.status_code == 404
    assert page.h1 == "This Space does not exist"
    assert "<script>alert" not in response.body.decode()
    assert not any(name.startswith(("og:", "twitter:", "spaces:")) for name in page.meta)
    assert response.headers["Cache-Control"] == "public, max-age=60"


def test_a_database_failure_is_a_503_page_kept_by_no_cache(api, deps):
    from chalicelib import bootstrap

    class FailingSpaces:
        def get(self, space_id, **kw):
            raise DependencyFailed("DynamoDB is unavailable", code="database_unavailable", retry_after=2)

    bootstrap.override(deps=replace(deps, spaces=FailingSpaces()))

    response, page = share(api, "01JD2Z6R9V3M8K4T5N7Q1W2E3R")

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    assert response.headers["Cache-Control"] == "no-store"
    assert page.h1 == "Spaces is busy"


def test_in_aws_the_link_goes_to_the_web_client_on_cloudfront(api, deps, host):
    from chalicelib import bootstrap

    settings = replace(deps.settings, web_client_url="https://d1234abcd.cloudfront.net/")
    bootstrap.override(deps=replace(deps, settings=settings))
    space = api.post("/spaces", host, {"title": "Deployed"}).data

    _, page = share(api, space["id"])

    assert page.links["open"] == f"https://d1234abcd.cloudfront.net/#/spaces/{space['id']}"
