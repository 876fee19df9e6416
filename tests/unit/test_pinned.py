"""The pinned post's rules (domain/pinned.py): https links only, bounded, and a post at its
longest still fits in one room event."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from chalicelib.domain.errors import RuleViolation
from chalicelib.domain.pinned import MAX_TEXT_CHARS, MAX_URL_CHARS, PinnedPost, validate_text, validate_url
from chalicelib.domain.room_events import event_attributes


def test_the_longest_post_fits_in_one_room_event():
    widest_char = "\U0001F4CC"  # four bytes in UTF-8
    post = PinnedPost("https://" + "a" * (MAX_URL_CHARS - 8), widest_char * MAX_TEXT_CHARS, "u" * 64,
                      datetime(2026, 12, 7, tzinfo=timezone.utc))

    assert event_attributes(**post.event_attributes())["url"] == post.url  # raises past 1 KB


@pytest.mark.parametrize("url", [
    "https://example.com", "https://example.com:8443/a?b=c#d", "https://xn--bcher-kva.example/%C3%BC",
])
def test_https_links_to_a_host_are_pinned_as_given(url):
    assert validate_url(url) == url


@pytest.mark.parametrize("url", [
    "", "http://example.com", "HTTPS://example.com", "ftp://example.com", "javascript:alert(1)",
    "data:text/html,x", "//example.com", "https://", "https:///path", "https://a@example.com",
    "https://example.com:99999/", "https://exa mple.com", "https://example.com/<script>",
    "https://example.com/\\", "https://bücher.example/", "https://example.com/" + "a" * MAX_URL_CHARS,
])
def test_anything_else_is_refused(url):
    with pytest.raises(RuleViolation) as refused:
        validate_url(url)
    assert refused.value.code == "invalid_pinned_url"


def test_text_is_one_trimmed_line_of_bounded_length():
    assert validate_text("  Show notes  ") == "Show notes"
    assert validate_text("x" * MAX_TEXT_CHARS) == "x" * MAX_TEXT_CHARS
    for bad in ("", "   ", "x" * (MAX_TEXT_CHARS + 1), "two\nlines", "tab\there", "bell\x07"):
        with pytest.raises(RuleViolation):
            validate_text(bad)
