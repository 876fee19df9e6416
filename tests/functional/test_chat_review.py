"""IVS Chat's message review handler: one message per user per room per interval, malformed
payloads denied, the payload shapes of the IVS Chat user guide ("IVS Chat Message Review
Handler")."""
from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.jobs.chat import review as review_message

ROOM = "arn:aws:ivschat:us-east-1:123456789012:room/AbCdEfGh1234"


def message(user_id="u_alice", content="hello", room=ROOM, **extra):
    return {
        "Content": content,
        "MessageId": "msg-1",
        "RoomArn": room,
        "Attributes": extra.get("attributes", {}),
        "Sender": {"Attributes": {"role": "listener"}, "UserId": user_id, "Ip": "192.0.2.1"},
    }


class Clock:
    def __init__(self, now):
        self.at = now

    def now(self):
        return self.at


@pytest.fixture
def clocked(deps):
    deps.clock = Clock(deps.clock.now())
    return deps


def test_one_message_per_user_per_interval_then_allowed_again(clocked, new_user):
    deps = clocked
    alice, bob = new_user("alice"), new_user("bob")

    first = review_message(deps, message(alice, "hi"))
    second = review_message(deps, message(alice, "again"))
    other_user = review_message(deps, message(bob, "hello"))
    other_room = review_message(deps, message(alice, "elsewhere", room=ROOM + "X"))
    deps.clock.at += timedelta(milliseconds=deps.settings.chat_message_interval_ms)
    later = review_message(deps, message(alice, "later"))

    assert first == {"ReviewResult": "ALLOW", "Content": "hi"}
    assert second["ReviewResult"] == "DENY" and second["Attributes"]["Reason"] == "rate_limited"
    assert 0 < int(second["Attributes"]["RetryAfterMs"]) <= deps.settings.chat_message_interval_ms
    assert other_user["ReviewResult"] == other_room["ReviewResult"] == later["ReviewResult"] == "ALLOW"
    assert "ChatMessageDenied" in deps.telemetry.events


def test_message_attributes_pass_through(deps, new_user):
    verdict = review_message(deps, message(new_user("carol"), "hey", attributes={"kind": "chat"}))
    assert verdict == {"ReviewResult": "ALLOW", "Content": "hey", "Attributes": {"kind": "chat"}}


@pytest.mark.parametrize("event", [
    {},
    None,
    [],
    {"Content": "x", "RoomArn": ROOM},
    {"Content": "x", "RoomArn": ROOM, "Sender": {"UserId": ""}},
    {"Content": 5, "RoomArn": ROOM, "Sender": {"UserId": "u"}},
    {"Content": "x", "RoomArn": None, "Sender": {"UserId": "u"}},
    {"Content": "x", "RoomArn": ROOM, "Sender": "u"},
])
def test_a_malformed_payload_is_denied_not_an_error(deps, event):
    assert review_message(deps, event) == {"ReviewResult": "DENY", "Attributes": {"Reason": "invalid_message"}}


def test_the_lambda_entry_point_is_registered():
    import app

    assert "chat_message_review" in {f.name for f in app.app.pure_lambda_functions}
