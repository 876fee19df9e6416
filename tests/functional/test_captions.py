"""Live captions through the HTTP API: people on stage send segments, the room is told (room
events, through the one announce hook of services/recording.py), everyone allowed in reads them back in order,
and a recorded Space's replay serves them as WebVTT."""
from __future__ import annotations

import pytest

from tests.support import webvtt
from tests.support.ivs_recordings import speaks

pytestmark = pytest.mark.usefixtures("deps")


@pytest.fixture
def stage_of(api, host, new_user):
    """A live recorded Space with a speaker (consented) and a listener: (space_id, speaker, listener)."""

    def build(recording=True):
        space = api.post("/spaces", host, {"title": "Captioned", "recording": recording}).data
        speaker, listener = new_user("speaker"), new_user("listener")
        for user in (host, speaker, listener):
            assert api.post(f"/spaces/{space['id']}/join", user).status_code == 200
        assert api.post(f"/spaces/{space['id']}/speakers", host, {"user_id": speaker}).status_code == 200
        accepted = api.post(f"/spaces/{space['id']}/invitations/accept", speaker, {"recording_consent": True})
        assert accepted.status_code == 200, accepted.data
        return space["id"], speaker, listener

    return build


def caption(text, start_ms, end_ms, language="en-US"):
    return {"text": text, "language": language, "start_ms": start_ms, "end_ms": end_ms}


def caption_events(deps, space_id):
    """The caption events the Space's room really got, in order (the local room-events log, the
    same one GET /spaces/{id}/events reads); their attributes are strings on the wire."""
    space = deps.spaces.get(space_id, with_count=False)
    events, _ = deps.room_events.read(space.room_arn, 0, 1000)
    captions = []
    for event in events:
        if event.name == "caption":
            attrs = dict(event.attributes)
            attrs["start_ms"], attrs["end_ms"] = int(attrs["start_ms"]), int(attrs["end_ms"])
            captions.append(attrs)
    return captions


def test_a_listeners_caption_is_refused_and_nothing_is_told(api, deps, stage_of):
    space_id, _, listener = stage_of()

    response = api.post(f"/spaces/{space_id}/captions", listener, caption("me too", 0, 500))

    assert response.status_code == 403 and response.data["code"] == "not_on_stage"
    assert caption_events(deps, space_id) == []
    assert api.get(f"/spaces/{space_id}/captions", listener).data["captions"] == []


def test_a_stranger_who_never_joined_cannot_caption_either(api, stage_of, new_user):
    space_id, _, _ = stage_of()

    response = api.post(f"/spaces/{space_id}/captions", new_user("stranger"), caption("hi", 0, 500))

    assert response.status_code == 403 and response.data["code"] == "not_on_stage"


def test_a_speakers_captions_arrive_as_room_events_in_order_and_read_back_in_order(api, deps, host, stage_of):
    space_id, speaker, listener = stage_of()
    sent = [
        (speaker, caption("Welcome, everyone.", 0, 1800)),
        (host, caption("Thanks for having me & <all> of you.", 2000, 4100)),
        (speaker, caption("Let's start   with\nthe news.", 4200, 6000)),
    ]

    for user, body in sent:
        response = api.post(f"/spaces/{space_id}/captions", user, body)
        assert response.status_code == 200, response.data
        assert response.data["user_id"] == user and response.data["start_ms"] == body["start_ms"]

    events = caption_events(deps, space_id)
    assert [(e["user_id"], e["text"], e["start_ms"], e["end_ms"]) for e in events] == [
        (speaker, "Welcome, everyone.", 0, 1800),
        (host, "Thanks for having me & <all> of you.", 2000, 4100),
        (speaker, "Let's start with the news.", 4200, 6000),
    ]
    assert all(e["language"] == "en-US" and e["id"] for e in events)
    page = api.get(f"/spaces/{space_id}/captions", listener).data
    assert [c["id"] for c in page["captions"]] == [e["id"] for e in events]
    assert page["next_cursor"] is None


def test_captions_are_read_back_in_time_order_whatever_order_they_were_sent(api, stage_of):
    space_id, speaker, listener = stage_of()
    for start in (3000, 1000, 2000):
        assert api.post(f"/spaces/{space_id}/captions", speaker, caption(f"at {start}", start, start + 500)).status_code == 200

    page = api.get(f"/spaces/{space_id}/captions", listener).data

    assert [c["start_ms"] for c in page["captions"]] == [1000, 2000, 3000]


def test_captions_are_paged_with_a_cursor(api, stage_of):
    space_id, speaker, listener = stage_of()
    for n in range(5):
        api.post(f"/spaces/{space_id}/captions", speaker, caption(f"line {n}", n * 1000, n * 1000 + 900))

    first = api.get(f"/spaces/{space_id}/captions?limit=2", listener).data
    second = api.get(f"/spaces/{space_id}/captions?limit=2&after={first['next_cursor']}", listener).data
    third = api.get(f"/spaces/{space_id}/captions?limit=2&cursor={second['next_cursor']}", listener).data

    texts = [c["text"] for page in (first, second, third) for c in page["captions"]]
    assert texts == [f"line {n}" for n in range(5)]
    assert first["next_cursor"] and second["next_cursor"] and third["next_cursor"] is None


@pytest.mark.parametrize("query, code", [("limit=0", "invalid_limit"), ("limit=101", "invalid_limit"), ("after=%21%21", "invalid_cursor")])
def test_bad_paging_is_400(api, stage_of, query, code):
    space_id, _, listener = stage_of()

    response = api.get(f"/spaces/{space_id}/captions?{query}", listener)

    assert response.status_code == 400 and response.data["code"] == code


def test_a_removed_user_cannot_read_the_captions(api, host, stage_of):
    space_id, _, listener = stage_of()
    assert api.post(f"/spaces/{space_id}/participants/{listener}/remove", host).status_code == 200

    response = api.get(f"/spaces/{space_id}/captions", listener)

    assert response.status_code == 403 and response.data["code"] == "removed_from_space"


def test_a_speaker_demoted_cannot_caption_any_more(api, host, stage_of):
    space_id, speaker, _ = stage_of()
    assert api.delete(f"/spaces/{space_id}/speakers/{speaker}", host).status_code == 200

    response = api.post(f"/spaces/{space_id}/captions", speaker, caption("still here?", 0, 500))

    assert response.status_code == 403 and response.data["code"] == "not_on_stage"


def test_captions_need_a_live_space(api, host, stage_of):
    space_id, speaker, _ = stage_of()
    api.post(f"/spaces/{space_id}/end", host)

    response = api.post(f"/spaces/{space_id}/captions", speaker, caption("after the end", 0, 500))

    assert response.status_code == 409 and response.data["code"] == "space_ended"


@pytest.mark.parametrize(
    "body, status, code",
    [
        ({"language": "en", "start_ms": 0, "end_ms": 1}, 400, "invalid_caption"),
        (caption("   ", 0, 1), 400, "invalid_caption"),
        (caption("x" * 501, 0, 1), 422, "caption_too_long"),
        (caption("hi", 0, 1, language="english please"), 400, "invalid_language"),
        (caption("hi", -1, 1), 400, "invalid_caption"),
        (caption("hi", 1.5, 2), 400, "invalid_caption"),
        (caption("hi", 2000, 1000), 422, "caption_ends_before_start"),
        (caption("hi", 0, 86_400_001), 422, "caption_out_of_range"),
        ({**caption("hi", 0, 1), "speaker": "someone"}, 400, "invalid_caption"),
    ],
)
def test_malformed_captions_are_refused(api, stage_of, body, status, code):
    space_id, speaker, _ = stage_of()

    response = api.post(f"/spaces/{space_id}/captions", speaker, body)

    assert response.status_code == status and response.data["code"] == code


def test_the_replay_captions_are_the_live_segments_as_valid_webvtt(api, deps, host, stage_of):
    space_id, speaker, listener = stage_of()
    lines = [
        (speaker, "Welcome to the show.", 500, 2500),
        (host, "Tonight: <live> captions & replays.", 2600, 5100),
        (speaker, "Over to you.", 3_725_000, 3_727_250),  # past the hour
    ]
    for user, text, start, end in lines:
        assert api.post(f"/spaces/{space_id}/captions", user, caption(text, start, end)).status_code == 200
    speaks(deps, space_id, host, freq=440, start_s=0, end_s=1)
    assert api.post(f"/spaces/{space_id}/end", host).status_code == 200

    response = api.get(f"/spaces/{space_id}/replay/captions", listener)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/vtt")
    cues = webvtt.parse(response.body.decode())
    assert [(c.voice, c.text, c.start_ms, c.end_ms) for c in cues] == [
        (u, t, s, e) for u, t, s, e in lines
    ]
    replay = api.get(f"/spaces/{space_id}/replay", listener).data
    assert replay["captions"] == "live" and replay["captions_url"]
    assert deps.transcription is not None and not _transcription_started(deps, space_id)


def _transcription_started(deps, space_id) -> bool:
    from chalicelib.adapters.dynamodb.models import SpaceModel

    return SpaceModel.get(space_id).transcription_job is not None


def test_a_replay_nobody_captioned_is_transcribed_and_its_subtitles_are_served(api, deps, host, stage_of, aws):
    from chalicelib.services.replay_landing import land

    space_id, _, listener = stage_of()
    speaks(deps, space_id, host, freq=440, start_s=0, end_s=1)
    assert api.post(f"/spaces/{space_id}/end", host).status_code == 200

    replay = api.get(f"/spaces/{space_id}/replay", listener).data
    assert replay["captions"] == "running" and replay["captions_url"] is None
    pending = api.get(f"/spaces/{space_id}/replay/captions", listener)
    assert pending.status_code == 409 and pending.data["code"] == "captions_not_ready"

    job = deps.spaces.get(space_id, with_count=False).recording_info.transcription_job
    started = aws.transcribe.get_transcription_job(TranscriptionJobName=job)["TranscriptionJob"]
    # Transcribe reads one media file, not HLS: the mixed .m4a.
    assert started["Media"]["MediaFileUri"] == f"s3://{aws.recordings_bucket}/replays/{space_id}/replay-1.m4a"
    assert started["Subtitles"]["Formats"] == ["vtt"]
    # moto runs no speech recognition and writes no files: put where Transcribe writes its
    # subtitles (next to OutputKey) what it would have written.
    aws.s3.put_object(
        Bucket=aws.recordings_bucket,
        Key=f"captions/{space_id}/transcript-1.vtt",
        Body=b"WEBVTT\n\n1\n00:00:00.000 --> 00:00:02.000\nHello from Transcribe.\n",
        ContentType="text/vtt",
    )
    for _ in range(3):  # moto moves a job one state per look: QUEUED, IN_PROGRESS, COMPLETED
        land(deps, space_id)

    assert deps.spaces.get(space_id, with_count=False).recording_info.transcript_state == "ready"
    served = api.get(f"/spaces/{space_id}/replay/captions", listener)
    assert served.status_code == 200
    assert [c.text for c in webvtt.parse(served.body.decode())] == ["Hello from Transcribe."]
    assert api.get(f"/spaces/{space_id}/replay", listener).data["captions_url"]
