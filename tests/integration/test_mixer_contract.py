"""The MixerPort contract, run on PyAvMixer (real audio: tones encoded as IVS writes participant
recordings, tests/support/ivs_recordings.py) and on the in-memory FakeMixer (tests/fakes/storage.py).
Both read and write the same kind of bucket, the in-memory recordings bucket held to S3 by
test_outside_ports_contract.py. Lengths are compared within 100 ms: AAC frames are 21 ms and an
encoder adds its priming, so a real file is a few frames longer than its samples."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest

from chalicelib.domain.errors import DependencyFailed
from chalicelib.domain.replay_landing import Track, playlist_key
from tests.fakes.storage import FakeReplayStore

NOW = datetime(2026, 12, 1, 18, 0, tzinfo=timezone.utc)
SLACK_MS = 100


@pytest.fixture(params=["fake", "pyav"])
def mixer(request):
    store = FakeReplayStore()
    if request.param == "fake":
        from tests.fakes.storage import FakeMixer

        return FakeMixer(store), store
    from chalicelib.adapters.audio_mix import PyAvMixer

    return PyAvMixer(store), store


def _track(store, user_id: str, seconds: float, offset_ms: int) -> Track:
    from tests.support.ivs_recordings import tone, write_recording

    prefix = write_recording(
        store, stage_id=f"stage{uuid.uuid4().hex[:8]}", participant_id=f"{user_id}-p1", started_at=NOW,
        samples=tone(440, seconds),
    )
    return Track(user_id, prefix, playlist_key(store.get_json(f"{prefix}/events/recording-ended.json"), prefix), offset_ms)


def _close(got: int, expected: int) -> bool:
    return expected <= got <= expected + SLACK_MS


def test_a_mix_lasts_from_offset_zero_to_the_end_of_the_last_track(mixer):
    port, store = mixer
    tracks = [_track(store, "alice", 2.0, 0), _track(store, "bob", 1.0, 3000)]

    length = port.mix(tracks, "replays/sp1/v1.m4a")

    assert _close(length, 4000), length
    assert store.get_bytes("replays/sp1/v1.m4a")


def test_a_mix_already_written_is_kept(mixer):
    port, store = mixer
    port.mix([_track(store, "alice", 1.0, 0)], "replays/sp1/v1.m4a")
    first = store.get_bytes("replays/sp1/v1.m4a")

    port.mix([_track(store, "bob", 2.0, 500)], "replays/sp1/v1.m4a")

    assert store.get_bytes("replays/sp1/v1.m4a") == first


def test_a_track_whose_playlist_is_not_in_the_bucket_is_mix_unavailable(mixer):
    port, store = mixer
    missing = Track("alice", "stage/none/p1/1", "stage/none/p1/1/media/hls/multivariant.m3u8", 0)

    with pytest.raises(DependencyFailed) as raised:
        port.mix([missing], "replays/sp1/v1.m4a")

    assert raised.value.code == "mix_unavailable" and store.get_bytes("replays/sp1/v1.m4a") is None


def test_a_clip_is_the_part_asked_for_and_is_cut_again_over_the_last(mixer):
    port, store = mixer
    port.mix([_track(store, "alice", 3.0, 0)], "replays/sp1/v1.m4a")

    assert _close(port.cut("replays/sp1/v1.m4a", 500, 1000, "clips/c1.m4a"), 1000)
    first = store.get_bytes("clips/c1.m4a")
    assert _close(port.cut("replays/sp1/v1.m4a", 0, 2000, "clips/c1.m4a"), 2000)
    assert store.get_bytes("clips/c1.m4a") != first


def test_a_clip_past_the_end_is_cut_short(mixer):
    port, store = mixer
    length = port.mix([_track(store, "alice", 2.0, 0)], "replays/sp1/v1.m4a")

    clipped = port.cut("replays/sp1/v1.m4a", 1000, 5000, "clips/c1.m4a")

    assert length - 1000 - SLACK_MS <= clipped <= length - 1000, (length, clipped)


def test_a_replay_not_in_the_bucket_is_mix_unavailable(mixer):
    port, _ = mixer

    with pytest.raises(DependencyFailed) as raised:
        port.cut("replays/none.m4a", 0, 1000, "clips/c1.m4a")

    assert raised.value.code == "mix_unavailable"
