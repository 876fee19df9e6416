"""A live Space's room, as use cases on the in-memory fakes (tests/fakes/room_events.py, held to
IVS Chat and the local event log by tests/integration/test_room_events_port.py): no DynamoDB, no
IVS Chat, no Java."""
from __future__ import annotations

from chalicelib.api.bodies.spaces import create_space as space_request
from chalicelib.services import spaces
from chalicelib.services.room_events import ROOM_DELETE_ATTEMPTS
from tests.fakes import fake_deps


def _live(deps, host="alice"):
    deps.users.set_follower_count(host, 1000)
    return spaces.create_space(deps, host, space_request({"title": "Jazz at noon"}))


def test_ending_a_space_tells_its_room_then_deletes_it_and_the_log_still_reads_the_end():
    deps = fake_deps()
    space = _live(deps)

    spaces.end_space(deps, "alice", space.id)

    assert deps.room_events.sent(space.room_arn)[-1] == ("space_ended", {"by": "alice"})
    assert deps.room_events.deleted == [space.room_arn] and deps.room_events.list_rooms() == []
    events, _ = deps.room_events.read(space.room_arn, 0, limit=100)
    assert events[-1].name == "space_ended"


def test_a_room_that_cannot_be_deleted_leaves_the_end_standing_and_is_left_for_later():
    deps = fake_deps()
    space = _live(deps)
    deps.room_events.fail_next("delete_room", times=ROOM_DELETE_ATTEMPTS)

    ended = spaces.end_space(deps, "alice", space.id)

    assert ended.state == "ended"
    assert "RoomReleaseDeferred" in deps.telemetry.events
    assert [room for room, _, _ in deps.room_events.list_rooms()] == [space.room_arn]
