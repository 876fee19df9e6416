"""The cursor codec: sealed values come back, anything else is invalid_cursor, keys rotate."""
import pytest

from chalicelib.adapters.cursors import CursorCodec
from chalicelib.domain.errors import BadRequest

OLD, NEW = b"o" * 32, b"n" * 32


def test_a_sealed_cursor_opens_to_its_values_on_its_list_only():
    codec = CursorCodec([NEW])
    cursor = codec.seal("GET /spaces state=live", {"space_id": "S1", "rank": 12})

    assert codec.open("GET /spaces state=live", cursor) == {"space_id": "S1", "rank": 12}
    with pytest.raises(BadRequest) as refused:
        codec.open("GET /spaces state=scheduled", cursor)
    assert refused.value.code == "invalid_cursor"


def test_cursors_in_flight_survive_a_rotation_and_die_with_their_key():
    before = CursorCodec([OLD]).seal("list", {"seq": 7})

    rotated = CursorCodec([NEW, OLD])
    retired = CursorCodec([NEW])

    assert rotated.open("list", before) == {"seq": 7}
    assert rotated.seal("list", {"seq": 7}) == CursorCodec([NEW]).seal("list", {"seq": 7}), "signs with the newest"
    with pytest.raises(BadRequest):
        retired.open("list", before)


@pytest.mark.parametrize(
    "values",
    [{"rank": float("inf")}, {"rank": 1.5}, {"rank": 2**60}, {"space_id": ""}, {"seq": True}, {}, {"a b": 1},
     {"id": "x\x00"}, {"id": "\ud800"}, {"id": "x" * 1025}],
)
def test_values_a_cursor_cannot_carry_are_refused_when_sealing(values):
    with pytest.raises(ValueError):
        CursorCodec([NEW]).seal("list", values)


def test_a_key_shorter_than_16_bytes_is_refused():
    with pytest.raises(ValueError):
        CursorCodec([b"short"])
