"""`fake_deps` (tests/fakes/__init__.py) wires every port with its fake: a use case tested on
fakes never meets an unwired port (None) by accident, and Deps built again on the same store
share the outside systems, as they share the tables."""
from dataclasses import fields
from datetime import timedelta

from chalicelib.services.context import Deps
from tests.fakes import fake_deps
from tests.fakes.spaces import SpaceStore

# Not ports: what a test may ask for (services/recording.py's announcements until room events land).
NOT_PORTS = {"room_announcements"}


def test_every_field_of_deps_is_wired():
    deps = fake_deps()

    unwired = [f.name for f in fields(Deps) if f.name not in NOT_PORTS and getattr(deps, f.name) is None]

    assert unwired == []


def test_deps_built_again_on_one_store_share_the_outside_systems_and_follow_the_later_clock():
    store = SpaceStore()
    first = fake_deps(store)
    room = first.room_events.create_room("sp1")
    later = fake_deps(store, at=first.clock.now() + timedelta(minutes=5))

    later.room_events.send_event(room, "hand_raised", {"user_id": "bob"})

    assert later.room_events is first.room_events and later.push_queue is first.push_queue
    [event] = first.room_events.read(room, 0, limit=10)[0]
    assert event.sent_at == later.clock.now()
