"""The rules of recording, captions and replays (chalicelib/domain/recording.py): no AWS, no I/O."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain.errors import BadRequest, RuleViolation
from chalicelib.domain.recording import (
    Caption,
    LandedSegment,
    RecordingSegment,
    available_until,
    build_webvtt,
    caption_seq,
    landing_plan,
    parse_recording_end,
    replay_duration_ms,
    restart_token,
    vtt_timestamp,
)
from chalicelib.api.bodies import caption as parse_caption
from chalicelib.api.bodies import recording_consent
from chalicelib.api.bodies import start_space as parse_start
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


def test_the_recording_end_marker_gives_the_media_key_and_duration():
    document = {"media": {"hls": {"path": "media/hls", "playlist": "multivariant.m3u8", "duration_ms": 3_600_123}}}

    assert parse_recording_end(document, "stage/session/comp/") == ("stage/session/comp/media/hls/multivariant.m3u8", 3_600_123)
    assert parse_recording_end({}, "p") == ("p/media/hls/multivariant.m3u8", None)
    assert parse_recording_end({"media": {"hls": {"duration_ms": "long"}}}, "p")[1] is None


def test_a_replay_file_is_one_m4a_under_the_spaces_own_replays_prefix():
    from chalicelib.domain.recording import replay_file_key, replay_files_prefix

    assert replay_file_key("01JD2Z6R9V3M8K4T5N7Q1W2E3R") == "replays/01JD2Z6R9V3M8K4T5N7Q1W2E3R/replay.m4a"
    assert replay_file_key("sp1").startswith(replay_files_prefix("sp1") + "/")


# ---------------------------------------------------------------- landing a recording of segments

SEGMENTS = tuple(RecordingSegment(f"arn:aws:ivs:us-east-1:123456789012:composition/C{n}", f"stage/C{n}") for n in (1, 2, 3))
WAIT, DEADLINE = 1800, 21600


def landed(*indexes, duration_ms=60_000):
    return [LandedSegment(SEGMENTS[i], f"stage/C{i + 1}/media/hls/multivariant.m3u8", duration_ms) for i in indexes]


def plan(landed_segments, waited):
    return landing_plan(SEGMENTS, landed_segments, waited, segment_wait_seconds=WAIT, deadline_seconds=DEADLINE)


def test_a_recording_is_remuxed_at_once_when_every_segment_landed():
    assert plan(landed(0, 1, 2), waited=0) == "remux"


def test_a_missing_segment_is_waited_for_until_the_segment_wait_is_over():
    assert plan(landed(0, 2), waited=WAIT) == "wait"
    assert plan(landed(0, 2), waited=WAIT + 1) == "remux"


def test_with_no_segment_landed_it_waits_until_the_deadline_then_fails():
    assert plan([], waited=WAIT + 1) == "wait"
    assert plan([], waited=DEADLINE) == "wait"
    assert plan([], waited=DEADLINE + 1) == "fail"


def test_a_segment_wait_longer_than_the_deadline_is_cut_to_the_deadline():
    assert landing_plan(SEGMENTS, landed(0), DEADLINE + 1, segment_wait_seconds=10 * DEADLINE, deadline_seconds=DEADLINE) == "remux"


def test_the_replay_lasts_as_long_as_its_segments_together_unless_one_is_unknown():
    assert replay_duration_ms(landed(0, 1, 2, duration_ms=60_000)) == 180_000
    assert replay_duration_ms(landed(0) + landed(1, duration_ms=None)) is None
    assert replay_duration_ms([]) is None


def test_each_restart_has_its_own_token_apart_from_the_overflow_ones():
    tokens = {restart_token("01JD2Z6R9V3M8K4T5N7Q1W2E3R", n) for n in range(1, 21)}
    assert len(tokens) == 20
    assert "01JD2Z6R9V3M8K4T5N7Q1W2E3R-restart-1" not in tokens
