"""Which stream records move a count (adapters/dynamodb/counts.changes_from_records), and the
lazy service modules routes and jobs use (chalicelib/lazy.py). No database: pure functions."""
import sys

from chalicelib.adapters.dynamodb.counts import CountChange, changes_from_records
from chalicelib.lazy import LazyModule


def record(event, user, connected=None, counted=None, shard=3, space="S1"):
    image = {"key": {"S": f"{space}#{user}"}, "space_id": {"S": space}, "user_id": {"S": user}}
    if connected is not None:
        image["connected"] = {"BOOL": connected}
    if counted is not None:
        image["counted"] = {"BOOL": counted}
    if shard is not None:
        image["count_shard"] = {"N": str(shard)}
    return {"eventName": event, "dynamodb": {"Keys": {"key": image["key"]}, "NewImage": image}}


def test_a_join_and_a_leave_not_yet_counted_are_changes():
    changes = changes_from_records([record("INSERT", "a", connected=True), record("MODIFY", "b", False, True)])
    assert changes == [CountChange("S1", "a", 3, True), CountChange("S1", "b", 3, False, counted=True)]


def test_records_that_agree_with_the_counter_move_nothing():
    # The fold's own writes, heartbeats, a never-joined user's ban or block mark.
    assert changes_from_records(
        [
            record("MODIFY", "a", connected=True, counted=True),
            record("MODIFY", "b", connected=False, counted=False),
            record("INSERT", "c", connected=False, shard=None),
        ]
    ) == []


def test_the_latest_record_of_a_participant_wins():
    joined_then_left = [record("INSERT", "a", connected=True), record("MODIFY", "a", connected=False)]
    assert changes_from_records(joined_then_left) == []  # never counted, gone again: nothing to do
    left_then_back = [record("MODIFY", "b", False, True), record("MODIFY", "b", True, True)]
    assert changes_from_records(left_then_back) == []


def incognito(record_, flag=True, counted_incognito=None):
    image = record_["dynamodb"]["NewImage"]
    image["incognito"] = {"BOOL": flag}
    if counted_incognito is not None:
        image["counted_incognito"] = {"BOOL": counted_incognito}
    return record_


def test_an_incognito_join_moves_both_counts_and_its_leave_takes_both_back():
    [joined] = changes_from_records([incognito(record("INSERT", "a", connected=True))])
    assert (joined.delta, joined.incognito_delta) == (1, 1)
    [left] = changes_from_records([incognito(record("MODIFY", "a", False, True), counted_incognito=True)])
    assert (left.delta, left.incognito_delta) == (-1, -1)


def test_a_raised_hand_takes_an_incognito_listener_out_of_the_incognito_count_only():
    # Raising the hand removed `incognito`; the participant stays connected and counted.
    record_ = record("MODIFY", "a", connected=True, counted=True)
    record_["dynamodb"]["NewImage"]["counted_incognito"] = {"BOOL": True}
    [change] = changes_from_records([record_])
    assert (change.delta, change.incognito_delta) == (0, -1)


def test_removals_are_ignored():
    removed = {"eventName": "REMOVE", "dynamodb": {"Keys": {"key": {"S": "S1#a"}}}}
    assert changes_from_records([removed]) == []


def test_a_lazy_module_imports_on_first_use_only():
    name = "tests.support.lazy_probe"  # nothing else imports it
    assert name not in sys.modules
    lazy = LazyModule(name)
    assert name not in sys.modules
    assert lazy.VALUE == "loaded" and name in sys.modules
