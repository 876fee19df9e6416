"""The rules of recording, captions, clips and replays (chalicelib/domain/recording.py, captions.py,
clips.py, replays.py, replay_landing.py): no AWS, no I/O."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain.errors import BadRequest, RuleViolation
from chalicelib.domain.captions import Caption, build_webvtt, caption_seq, vtt_timestamp
from chalicelib.domain.clips import space_of_clip
from chalicelib.domain.recording import speaker_tag, tagged_participant_id
from chalicelib.domain.replay_landing import (
    ParticipantRecording,
    landing_plan,
    mix_members,
    offset_ms,
    participant_recordings,
    playlist_key,
    recording_started_at,
)
from chalicelib.domain.replays import available_until
from chalicelib.api.bodies.recording import caption as parse_caption
from chalicelib.api.bodies.recording import clip as parse_clip
from chalicelib.domain.commands.recording import MakeClip
from chalicelib.api.bodies.stage import recording_consent
from chalicelib.api.bodies.spaces import start_space as parse_start
from tests.support import webvtt

T0 = datetime(2026, 11, 24, 18, 0, tzinfo=timezone.utc)
ULID = "01JD2Z6R9V3M8K4T5N7Q1W2E3R"


def segment(start, end, text="hi", user="alice", ulid=ULID):
    return Caption("sp1", caption_seq(start, ulid), user, text, "en", start, end, T0)


@pytest.mark.parametrize("ms, text", [(0, "00:00:00.000"), (1, "00:00:00.001"), (61_001, "00:01:01.001"),
                                      (3_600_000, "01:00:00.000"), (86_399_999, "23:59:59.999")])
def test_webvtt_timestamps(ms, text):
    assert vtt_timestamp(ms) == text


def test_a_webvtt_file_has_one_cue_per_segment_in_time_order_and_reads_back():
    segments = [segment(5000, 6000, "second", ulid="01JD2Z6R9V3M8K4T5N7Q1W2E3S"), segment(0, 1500, "first")]

    cues = webvtt.parse(build_webvtt(segments))

    assert [(c.identifier, c.start_ms, c.end_ms, c.text, c.voice) for c in cues] == [
        ("1", 0, 1500, "first", "alice"),
        ("2", 5000, 6000, "second", "alice"),
    ]


def test_cue_text_that_looks_like_markup_or_a_timing_line_is_escaped():
    document = build_webvtt([segment(0, 10, "a --> b <i>not italic</i> & more", user="<bob>")])

    [cue] = webvtt.parse(document)

    assert cue.text == "a --> b <i>not italic</i> & more" and cue.voice == "<bob>"
    assert "-->" not in document.split("\n")[4]


def test_a_segment_of_no_duration_still_makes_a_valid_cue():
    [cue] = webvtt.parse(build_webvtt([segment(2000, 2000)]))

    assert (cue.start_ms, cue.end_ms) == (2000, 2001)


def test_no_segments_is_an_empty_but_valid_file():
    assert webvtt.parse(build_webvtt([])) == []


def test_sort_keys_order_segments_by_start_then_arrival():
    keys = [caption_seq(10, "01B"), caption_seq(9, "01C"), caption_seq(10, "01A"), caption_seq(100_000, "01A")]

    assert sorted(keys) == [caption_seq(9, "01C"), caption_seq(10, "01A"), caption_seq(10, "01B"), caption_seq(100_000, "01A")]


@pytest.mark.parametrize("language", ["en", "en-US", "pt-BR", "zh-Hant-TW", "es-419", "yue"])
def test_bcp47_languages_are_accepted(language):
    assert parse_caption({"text": "x", "language": language, "start_ms": 0, "end_ms": 1}).language == language


@pytest.mark.parametrize("language", ["", "e", "english", "en_US", "en-", "12", None, 5])
def test_other_languages_are_refused(language):
    with pytest.raises(BadRequest):
        parse_caption({"text": "x", "language": language, "start_ms": 0, "end_ms": 1})


def test_caption_text_is_collapsed_to_one_line_before_its_length_is_checked():
    assert parse_caption({"text": "  two\n\nlines  ", "language": "en", "start_ms": 0, "end_ms": 1}).text == "two lines"
    assert len(parse_caption({"text": "a \n " * 200, "language": "en", "start_ms": 0, "end_ms": 1}).text) == 399
    with pytest.raises(RuleViolation):
        parse_caption({"text": "ab" * 251, "language": "en", "start_ms": 0, "end_ms": 1})


@pytest.mark.parametrize("body, expected", [(None, False), ({}, False), ({"recording_consent": True}, True),
                                            ({"recording_consent": False}, False)])
def test_consent_is_an_explicit_true(body, expected):
    assert recording_consent(body) is expected


@pytest.mark.parametrize("value", ["true", 1, None, []])
def test_consent_must_be_a_boolean(value):
    with pytest.raises(BadRequest):
        recording_consent({"recording_consent": value})


def test_the_start_body_turns_recording_on_off_or_leaves_it():
    assert parse_start({}).recording is None
    assert parse_start({"recording": True}).recording is True
    assert parse_start({"recording": False}).recording is False


def test_a_replay_is_available_for_the_retention_to_the_second():
    ended = T0 + timedelta(microseconds=750_000)

    assert available_until(ended, 30) == T0 + timedelta(days=30)
    assert available_until(None, 30) is None


def test_the_recording_end_marker_gives_the_playlist():
    document = {"media": {"hls": {"path": "media/hls", "playlist": "multivariant.m3u8", "duration_ms": 3_600_123}}}

    assert playlist_key(document, "stage/session/p1/123") == "stage/session/p1/123/media/hls/multivariant.m3u8"
    assert playlist_key({}, "p") == "p/media/hls/multivariant.m3u8"
    assert playlist_key({"media": {"hls": {"path": 3}}}, "p") == "p/media/hls/multivariant.m3u8"


def test_a_replay_file_is_one_m4a_per_version_under_the_spaces_own_replays_prefix():
    from chalicelib.domain.replays import replay_file_key, replay_files_prefix

    assert replay_file_key("01JD2Z6R9V3M8K4T5N7Q1W2E3R", 1) == "replays/01JD2Z6R9V3M8K4T5N7Q1W2E3R/replay-1.m4a"
    assert replay_file_key("sp1", 2).startswith(replay_files_prefix("sp1") + "/")


# ---------------------------------------------------------------- participant recordings

STAGE = "AbCdEfGh1234"


def keys_of(prefix, *markers):
    return [f"{prefix}/events/recording-{m}.json" for m in markers] + [f"{prefix}/media/hls/high/seg0.ts"]


def test_recordings_are_found_by_their_started_marker_and_ended_by_their_end_marker():
    a, b = f"{STAGE}/st-1/p1-x/1700000000000", f"{STAGE}/st-1/p2-y/1700000005000"
    keys = keys_of(a, "started", "ended") + keys_of(b, "started") + [f"{STAGE}/st-1/p3/1/media/x.ts"]

    found = participant_recordings(STAGE, keys)

    assert found == [ParticipantRecording(a, "p1-x", ended=True), ParticipantRecording(b, "p2-y", ended=False)]


def test_a_recording_started_at_comes_from_its_marker_else_from_its_directory_name():
    assert recording_started_at({"recording_started_at": "2026-11-24T18:00:05.250Z"}, "x/1") == T0 + timedelta(seconds=5.25)
    assert recording_started_at({}, f"{STAGE}/s/p/{int(T0.timestamp() * 1000)}") == T0
    assert recording_started_at(None, "s/p/not-a-time") is None
    assert offset_ms(T0, T0 + timedelta(seconds=5)) == 5000
    assert offset_ms(T0, T0 - timedelta(seconds=1)) == 0, "never before the start"


def rec(n, ended=True, failed=False):
    return ParticipantRecording(f"{STAGE}/s/p{n}/1", f"p{n}", ended=ended, failed=failed)


WAIT, DEADLINE = 1800, 21600


def plan(recordings, waited):
    return landing_plan(recordings, waited, segment_wait_seconds=WAIT, deadline_seconds=DEADLINE)


def test_a_replay_is_mixed_at_once_when_every_recording_ended():
    assert plan([rec(1), rec(2), rec(3, ended=False, failed=True)], waited=0) == "mix"


def test_a_recording_still_being_written_is_waited_for_until_the_wait_is_over():
    assert plan([rec(1), rec(2, ended=False)], waited=WAIT) == "wait"
    assert plan([rec(1), rec(2, ended=False)], waited=WAIT + 1) == "mix"


def test_with_no_recording_ended_it_waits_until_the_deadline_then_fails():
    assert plan([], waited=WAIT + 1) == "wait"
    assert plan([rec(1, ended=False)], waited=DEADLINE) == "wait"
    assert plan([], waited=DEADLINE + 1) == "fail"


def test_only_consenting_speakers_who_did_not_withdraw_are_mixed():
    space = "01JD2Z6R9V3M8K4T5N7Q1W2E3R"
    host, speaker, gone, stranger = "host", "speaker", "withdrew", "never-consented"
    recs = [
        ParticipantRecording(f"{STAGE}/s/{tagged_participant_id(space, user, 'r')}/1", tagged_participant_id(space, user, "r"), ended=True)
        for user in (host, speaker, gone, stranger)
    ]

    kept, dropped = mix_members(space, recs, {host: "t", speaker: "t", gone: "t"}, {gone: "t"})

    assert [user for user, _ in kept] == [host, speaker]
    assert dropped == recs[2:]


def test_a_speaker_tag_is_per_space_and_fits_a_participant_id():
    pid = tagged_participant_id("sp1", "u1", "A" * 22)
    assert len(pid) <= 64 and pid.startswith(speaker_tag("sp1", "u1") + "-")
    assert speaker_tag("sp1", "u1") != speaker_tag("sp2", "u1")


# ---------------------------------------------------------------- clips


def test_a_clip_is_at_most_30_seconds():
    assert parse_clip({"start_ms": 0, "duration_ms": 30_000}) == MakeClip(0, 30_000)
    with pytest.raises(RuleViolation) as caught:
        parse_clip({"start_ms": 0, "duration_ms": 30_001})
    assert caught.value.code == "clip_too_long"


@pytest.mark.parametrize("body", [{}, {"start_ms": -1, "duration_ms": 5}, {"start_ms": 0, "duration_ms": True}, {"start_ms": 0, "duration_ms": 5, "x": 1}])
def test_a_clip_body_must_be_two_non_negative_integers(body):
    with pytest.raises(BadRequest):
        parse_clip(body)


def test_a_clip_id_names_its_space():
    assert space_of_clip("sp1-01JD2Z6R9V3M8K4T5N7Q1W2E3R") == "sp1"
    assert space_of_clip("sp1-short") is None and space_of_clip("../x-01JD2Z6R9V3M8K4T5N7Q1W2E3R") is None
