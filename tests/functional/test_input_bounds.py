"""Bounds on every input (chalicelib/domain/text.py): a client that sends too much, too deep or
text that is not clean Unicode gets a 400 and changes nothing, never a 500."""
from __future__ import annotations

import pytest

from chalicelib.adapters.dynamodb.models import SpaceModel


def _refused(response, code):
    return (response.status_code, (response.data or {}).get("code")) == (400, code)


def test_a_search_of_1100_characters_is_400_not_a_database_error(api, new_user):
    response = api.get("/spaces?q=" + "a" * 1100, new_user("viewer"))

    assert _refused(response, "invalid_query"), response.data


def test_a_search_just_over_the_documented_limit_is_400_and_at_it_is_served(api, new_user):
    viewer = new_user("viewer")
    assert _refused(api.get("/spaces?q=" + "a" * 101, viewer), "invalid_query")
    assert api.get("/spaces?q=" + "a" * 100, viewer).status_code == 200


@pytest.mark.parametrize("value", ["a%00b", "a%07b", "%0A", "x" * 2049], ids=["nul", "bell", "newline", "too-long"])
def test_a_query_string_value_with_control_characters_or_too_long_is_400(api, new_user, value):
    response = api.get(f"/spaces?topic={value}", new_user("viewer"))

    assert _refused(response, "invalid_query_parameter"), response.data


@pytest.mark.parametrize("levels, code", [(100_000, "body_too_large"), (5_000, "body_too_deep"), (17, "body_too_deep")])
def test_a_deeply_nested_body_is_400_not_a_recursion_error(api, host, levels, code):
    body = '{"title": ' + "[" * levels + "]" * levels + "}"

    response = api.post("/spaces", host, body)

    assert _refused(response, code), response.data
    assert SpaceModel.by_creator.count(host) == 0


def test_a_body_over_64_kib_is_400(api, host):
    response = api.post("/spaces", host, {"title": "big", "padding": "x" * 70_000})

    assert _refused(response, "body_too_large"), response.data


@pytest.mark.parametrize(
    "raw_title, code",
    [
        ('"\\ud800 lone surrogate"', "invalid_text"),
        ('"nul \\u0000 inside"', "invalid_text"),
        ('"bell \\u0007 inside"', "invalid_text"),
        ('"line one\\nline two"', "invalid_title"),
        ('"tab\\tinside"', "invalid_text"),
        ('"c1 \\u0085 next line"', "invalid_text"),
    ],
    ids=["lone-surrogate", "nul", "bell", "newline", "tab", "c1-control"],
)
def test_a_title_that_is_not_clean_text_is_400_and_creates_nothing(api, host, raw_title, code):
    response = api.post("/spaces", host, '{"title": %s}' % raw_title)

    assert _refused(response, code), response.data
    assert SpaceModel.by_creator.count(host) == 0


def test_a_renamed_title_is_held_to_the_same_rule(api, host):
    space = api.post("/spaces", host, {"title": "Clean"}).data

    response = api.patch(f"/spaces/{space['id']}", host, '{"title": "dirty \\u0000"}')

    assert _refused(response, "invalid_text")
    assert api.get(f"/spaces/{space['id']}", host).data["title"] == "Clean"


def test_emoji_and_accents_are_text(api, host):
    response = api.post("/spaces", host, {"title": "Café 👏 naïve"})

    assert response.status_code == 201 and response.data["title"] == "Café 👏 naïve"
