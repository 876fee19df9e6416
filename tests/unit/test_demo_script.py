"""The pure parts of scripts/demo.py: formatting, token shortening, and how the runner judges
responses (expected status, tolerated 409 host fallback, unreachable API). No stack needed."""
from __future__ import annotations

import json

import jwt
import pytest

from scripts import demo as d

JWT = jwt.encode({"sub": "erin", "capabilities": {"allow_publish": False}}, "k" * 32, algorithm="HS256")


def test_run_suffix_is_short_lowercase_and_varies():
    suffixes = {d.run_suffix() for _ in range(20)}
    assert len(suffixes) > 1
    assert all(len(s) == 6 and s.isalnum() and s == s.lower() for s in suffixes)


def test_looks_like_jwt():
    assert d.looks_like_jwt(JWT)
    assert not d.looks_like_jwt("01JABCDEFGHJKMNPQRSTVWXYZ0")
    assert not d.looks_like_jwt("arn:aws:ivs:us-east-1:123456789012:stage/abcdefghijkl")
    assert not d.looks_like_jwt("a.b.c")
    assert not d.looks_like_jwt(None)


def test_truncate_tokens_shortens_tokens_anywhere_and_keeps_the_rest():
    body = {
        "role": "listener",
        "media": {"token": "x" * 500, "stage_arn": "arn:aws:ivs:us-east-1:1:stage/abc", "capabilities": ["SUBSCRIBE"]},
        "list": [JWT, "plain"],
        "other": JWT,
    }
    out = d.truncate_tokens(body)
    assert out["media"]["token"] == "x" * d.TOKEN_KEEP + "...(500 chars)"
    assert out["media"]["stage_arn"] == body["media"]["stage_arn"]
    assert out["list"][0].endswith(f"...({len(JWT)} chars)")
    assert out["list"][1] == "plain"
    assert out["other"].startswith(JWT[: d.TOKEN_KEEP])
    assert body["media"]["token"] == "x" * 500  # the input is not modified


def test_compact_json_keeps_small_containers_on_one_line_and_stays_valid_json():
    value = {"code": "host_only", "nested": {"a": [1, 2]}, "long": ["y" * 40, "z" * 40, "w" * 40]}
    text = d.compact_json(value, width=60)
    assert json.loads(text) == value
    lines = text.splitlines()
    assert '  "code": "host_only", "nested": {"a": [1, 2]},' in lines  # short members share a line
    assert '    "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy",' in lines  # a long list gets its own lines
    assert all(len(line) <= 60 for line in lines)
    assert d.compact_json({"a": 1}) == '{"a": 1}'
    space = {f"field_{i}": f"value number {i}" for i in range(30)}
    packed = d.compact_json({"space": space, "speaker_requests": {"requests": [{"user_id": "x" * 30}] * 3}}, width=80)
    assert json.loads(packed)["space"] == space
    assert all(len(line) <= 80 for line in packed.splitlines())
    assert d.compact_json([]) == "[]"


def test_media_summary_and_can_publish():
    claims = {
        "jti": "p1",
        "topic": "abcdefghijkl",
        "iat": 100,
        "exp": 160,
        "attributes": {"user_id": "erin", "role": "listener"},
        "capabilities": {"allow_publish": False, "allow_subscribe": True},
    }
    summary = d.media_summary(claims)
    assert summary["user_id"] == "erin" and summary["role"] == "listener"
    assert summary["valid_for_s"] == 60
    assert not d.can_publish(claims)
    assert d.can_publish({"capabilities": {"allow_publish": True}})
    assert not d.can_publish({})


def test_status_text():
    assert d.status_text(422) == "422 Unprocessable Entity"
    assert d.status_text(599) == "599"


def test_cast_ids_are_unique_per_run_and_valid_user_ids():
    from chalicelib.domain.users import validate_user_id

    cast = d.Cast.for_run("abc123")
    ids = [cast.cohost, *cast.listeners, cast.late]
    assert len(set(ids)) == len(ids)
    assert all(validate_user_id(i) == i for i in ids)
    assert cast.hosts == ("alice", "carol") and cast.bob == "bob"


def test_parse_args_defaults_and_repeated_hosts():
    args = d.parse_args([])
    assert args.base_url == "http://127.0.0.1:8000" and args.hosts == ("alice", "carol")
    assert d.parse_args(["--host", "zed", "--host", "amy"]).hosts == ("zed", "amy")


# --- the runner, with a scripted transport ----------------------------------------------------


def scripted(replies):
    """A send() answering from a list of (status, body), recording the requests."""
    sent = []

    def send(method, url, headers, body):
        sent.append((method, url, headers, body))
        status, payload = replies.pop(0)
        return d.Reply(status, payload)

    return send, sent


def make_demo(send, lines):
    return d.Demo("http://api.test/", send=send, token_for=lambda user: f"token-for-{user}", out=lines.append, suffix="s1")


def test_call_passes_on_the_expected_status_and_sends_identity():
    send, sent = scripted([(200, {"status": "ok"})])
    lines = []
    reply = make_demo(send, lines).call("GET", "/users/alice", "alice", 200)
    assert reply.body == {"status": "ok"}
    method, url, headers, _ = sent[0]
    assert (method, url) == ("GET", "http://api.test/users/alice")
    assert headers["Authorization"] == "Bearer token-for-alice"
    assert headers["X-Request-Id"] == "demo-s1-1"
    assert any("[as alice]" in line for line in lines)


def test_call_fails_on_another_status_or_another_error_code():
    send, _ = scripted([(500, {"code": "boom"}), (403, {"code": "moderator_only"})])
    demo = make_demo(send, [])
    with pytest.raises(d.DemoFailed, match="expected 200"):
        demo.call("POST", "/spaces", "alice", 200)
    with pytest.raises(d.DemoFailed, match="host_only"):
        demo.call("POST", "/spaces/x/end", "dana", 403, code="host_only")


def test_open_space_falls_back_to_the_next_host_on_host_already_live():
    send, sent = scripted([
        (409, {"code": "host_already_live", "message": "end it first"}),
        (201, {"id": "01SPACE", "state": "live"}),
    ])
    demo, live = make_demo(send, []), d.Live()
    assert d.open_space(demo, d.Cast.for_run("s1"), live) == "carol"
    assert (live.space_id, live.host) == ("01SPACE", "carol")
    assert [h["Authorization"] for _, _, h, _ in sent] == ["Bearer token-for-alice", "Bearer token-for-carol"]


def test_open_space_gives_up_when_every_host_is_busy():
    busy = (409, {"code": "host_already_live", "message": "end it first"})
    send, _ = scripted([busy, busy])
    with pytest.raises(d.HostsBusy):
        d.open_space(make_demo(send, []), d.Cast.for_run("s1"), d.Live())


def test_main_says_to_start_the_stack_when_the_api_does_not_answer(capsys):
    def unreachable(method, url, headers, body):
        raise d.ApiUnreachable("connection refused")

    assert d.main(["--color", "never"], send=unreachable) == 1
    assert "start the stack with `make run` first" in capsys.readouterr().out.lower()


def test_main_exits_1_and_ends_the_space_it_opened_when_a_step_fails(capsys, monkeypatch):
    monkeypatch.setattr(d.Demo, "token", lambda self, user: f"token-for-{user}")
    replies = [
        (200, {"status": "ok"}),
        (200, {"id": "alice", "can_host": True}),
        (200, {"id": "bob", "can_host": False}),
        (422, {"code": "not_eligible_to_host", "message": "no"}),
        (201, {"id": "01SPACE", "state": "live"}),
        (500, {"message": "Internal Server Error"}),  # the host's join: not what the story expects
        (200, {"id": "01SPACE", "state": "ended"}),  # the cleanup
    ]
    send, sent = scripted(replies)
    assert d.main(["--color", "never"], send=send) == 1
    out = capsys.readouterr().out
    assert "DEMO FAILED at step 3" in out
    assert sent[-1][:2] == ("POST", "http://127.0.0.1:8000/spaces/01SPACE/end")
    assert "cleanup: ended Space 01SPACE of alice" in out


def test_live_space_ids_finds_the_hosts_live_spaces_in_any_list_shape():
    body = {
        "data": [
            {"id": "S1", "creator_id": "alice", "state": "live"},
            {"id": "S2", "creator_id": "alice", "state": "ended"},
            {"id": "S3", "creator_id": "carol", "state": "live"},
        ],
        "next_cursor": None,
    }
    assert d.live_space_ids(body, "alice") == ["S1"]
    assert d.live_space_ids([{"id": "S3", "creator_id": "carol", "state": "live"}], "carol") == ["S3"]
    assert d.live_space_ids({"code": "method_not_allowed"}, "alice") == []


def test_hosts_busy_help_names_the_spaces_when_known():
    text = d.hosts_busy_help("http://api", ["alice", "carol"], {"alice": ["S1"]})
    assert "make -s token USER=alice" in text and "http://api/spaces/S1/end" in text
    assert "--host <user id>" in text
    assert "<space id>" in d.hosts_busy_help("http://api", ["alice"])
