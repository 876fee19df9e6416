"""Every list route's cursor is opaque and signed: anything but a cursor the same list returned is
400 `invalid_cursor`, never a 500, whatever the caller puts in it, even signed with the real key."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from tests.functional.test_idempotency import tomorrow


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _signed(keys, scope: str, payload_json: str) -> str:
    """A cursor over any JSON text, signed with the stage's real key (as a leaked key would)."""
    key = json.loads(keys["paths"]["cursor_keys"].read_text())["keys"][0].encode()
    payload = _b64(payload_json.encode())
    tag = hmac.new(key, f"{scope}\n{payload}".encode(), hashlib.sha256).digest()
    return f"{payload}.{_b64(tag)}"


def _old_style(values: dict) -> str:
    """What the old cursors were: unsigned base64 JSON of DynamoDB attribute values."""
    return _b64(json.dumps(values).encode())


@pytest.fixture
def lists(api, deps, host, new_user):
    """(name, path, query filters, cursor parameter, caller) of every list route, with data."""
    from bench.oversell import make_seller

    seller, buyer, viewer = make_seller(deps), new_user("buyer"), new_user("viewer")
    live = api.post("/spaces", host, {"title": "Cursor talk", "topics": ["cursors"]}).data
    offer = {"access": "ticketed", "ticket": {"price_cents": 499, "currency": "USD", "capacity": 5}}
    ticketed = api.post("/spaces", seller, {"title": "Paid", "scheduled_start": tomorrow(), **offer}).data
    assert api.post(f"/spaces/{ticketed['id']}/tickets", buyer, {}, headers={"Idempotency-Key": "c1"}).status_code == 201
    api.post(f"/users/{host}/follow", viewer)
    return [
        ("live", "/spaces", {"state": "live"}, "cursor", viewer),
        ("topic", "/spaces", {"state": "scheduled", "topic": "cursors"}, "cursor", viewer),
        ("host", "/spaces", {"state": "live", "host_id": host}, "cursor", viewer),
        ("following", "/spaces", {"following": "true", "state": "live"}, "cursor", viewer),
        ("search", "/spaces", {"q": "cursor", "state": "live"}, "cursor", viewer),
        ("sales", f"/spaces/{ticketed['id']}/tickets", {}, "cursor", seller),
        ("my-tickets", "/me/tickets", {}, "cursor", buyer),
        ("captions", f"/spaces/{live['id']}/captions", {}, "after", viewer),
        ("captions-cursor", f"/spaces/{live['id']}/captions", {}, "cursor", viewer),
        ("events", f"/spaces/{live['id']}/events", {}, "after", viewer),
    ]


def _scope(path: str, filters: dict) -> str:
    return "\n".join(["GET", path] + [f"{k}={v}" for k, v in sorted(filters.items())])


TAMPERED = {
    "inf": '{"rank":Infinity,"space_id":"S1"}',
    "nan": '{"rank":NaN,"space_id":"S1"}',
    "1e400": '{"rank":1e400,"space_id":"S1"}',
    "-1e130": '{"rank":-1e130,"space_id":"S1"}',
    "huge-int": '{"rank":%d,"space_id":"S1"}' % 10**30,
    "empty-space-id": '{"rank":3,"space_id":""}',
    "nul-in-id": '{"rank":3,"space_id":"S\\u00001"}',
    "lone-surrogate": '{"term":"\\ud800"}',
    "not-an-object": "[1,2]",
    "empty-object": "{}",
    "attribute-values": '{"rank":{"N":"3"},"space_id":{"S":"S1"}}',
    "negative-seq": '{"seq":-1}',
    "bool-seq": '{"seq":true}',
    "wrong-names": '{"buyer":"x"}',
    "long-id": '{"buyer_id":"%s"}' % ("x" * 1100),
}


def test_a_tampered_cursor_signed_with_the_real_key_is_400_on_every_list(api, keys, lists):
    """Even a leaked key cannot put inf, nan, a huge rank or an empty id in front of DynamoDB."""
    wrong = []
    for name, path, filters, param, caller in lists:
        for label, payload in TAMPERED.items():
            cursor = _signed(keys, _scope(path, filters), payload)
            query = "&".join(f"{k}={v}" for k, v in {**filters, param: cursor}.items())

            response = api.get(f"{path}?{query}", caller)

            if (response.status_code, (response.data or {}).get("code")) != (400, "invalid_cursor"):
                wrong.append(f"{name} {label}: {response.status_code} {response.data}")
    assert not wrong, "\n".join(wrong)


UNSIGNED = {
    "garbage": "garbage",
    "old-style-inf": _old_style({"list_key": {"S": "live"}, "space_id": {"S": "S1"}, "rank": {"N": "inf"}}),
    "old-style-empty-id": _old_style({"list_key": {"S": "live"}, "space_id": {"S": ""}, "rank": {"N": "1"}}),
    "old-style-1e400": _old_style({"space_id": {"S": "S1"}, "rank": {"N": "1e400"}}),
    "old-style-nan": _old_style({"space_id": {"S": "S1"}, "rank": {"N": "nan"}}),
    "old-style--1e130": _old_style({"list_key": {"S": "live"}, "space_id": {"S": "S1"}, "rank": {"N": "-1e130"}}),
    "number": "12",
    "latest-with-dot": "a.b.c",
    "bad-tag": _b64(b'{"seq":1}') + ".AAAA",
    "no-tag": _b64(b'{"seq":1}') + ".",
    "very-long": "A" * 2000 + ".x",
}


def test_an_unsigned_or_edited_cursor_is_400_on_every_list(api, lists):
    wrong = []
    for name, path, filters, param, caller in lists:
        for label, cursor in UNSIGNED.items():
            query = "&".join(f"{k}={v}" for k, v in {**filters, param: cursor}.items())

            response = api.get(f"{path}?{query}", caller)

            if (response.status_code, (response.data or {}).get("code")) != (400, "invalid_cursor"):
                wrong.append(f"{name} {label}: {response.status_code} {response.data}")
    assert not wrong, "\n".join(wrong)


def test_a_cursor_from_one_list_is_refused_by_another(api, host, new_user):
    viewer = new_user("viewer")
    for n in range(3):
        api.post("/spaces", new_user("host", followers=700), {"title": f"Two lists {n}", "topics": ["twolists"], "scheduled_start": tomorrow()})
    first = api.get("/spaces?state=scheduled&topic=twolists&limit=1", viewer).data
    assert first["next_cursor"]

    same = api.get(f"/spaces?state=scheduled&topic=twolists&limit=1&cursor={first['next_cursor']}", viewer)
    other = api.get(f"/spaces?state=scheduled&topic=otherlist&limit=1&cursor={first['next_cursor']}", viewer)

    assert same.status_code == 200
    assert (other.status_code, other.data["code"]) == (400, "invalid_cursor")


def test_an_edited_cursor_is_refused_one_character_at_a_time(api, new_user):
    viewer = new_user("viewer")
    for n in range(2):
        api.post("/spaces", new_user("host", followers=700), {"title": f"Edit {n}", "topics": ["editme"], "scheduled_start": tomorrow()})
    cursor = api.get("/spaces?state=scheduled&topic=editme&limit=1", viewer).data["next_cursor"]
    payload, tag = cursor.split(".")
    values = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert set(values) == {"space_id", "rank"}, "plain values, not DynamoDB attribute values"

    edited = _b64(json.dumps({**values, "rank": values["rank"] + 1}).encode()) + "." + tag
    response = api.get(f"/spaces?state=scheduled&topic=editme&limit=1&cursor={edited}", viewer)

    assert (response.status_code, response.data["code"]) == (400, "invalid_cursor")
