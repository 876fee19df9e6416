"""Recorded Spaces on real audio: per-speaker recordings (tones encoded as IVS individual
participant recordings would be) are mixed by the landing job into one replay file, at their
offsets; a withdrawal mixes it again without the one who withdrew; clips are cut from it; the
mix runs once however many job runs race for it."""
from __future__ import annotations

import threading
import numpy as np
import pytest

from chalicelib.services import replay_landing
from tests.support.ivs_recordings import RATE, decode, dominant_per_second, speaks

pytestmark = [pytest.mark.usefixtures("deps"), pytest.mark.slow]

HOST_HZ, SPEAKER_HZ = 440.0, 660.0


def recorded_space(api, host):
    response = api.post("/spaces", host, {"title": "Tones", "recording": True})
    assert response.status_code == 201, response.data
    return response.data["id"]


def speaker_on_stage(api, space_id, host, user):
    assert api.post(f"/spaces/{space_id}/join", user).status_code == 200
    assert api.post(f"/spaces/{space_id}/speakers", host, {"user_id": user}).status_code == 200
    accepted = api.post(f"/spaces/{space_id}/invitations/accept", user, {"recording_consent": True})
    assert accepted.status_code == 200, accepted.data
    return accepted.data


def end(api, space_id, host):
    response = api.post(f"/spaces/{space_id}/end", host)
    assert response.status_code == 200, response.data


def replay_audio(api, deps, space_id, user):
    response = api.get(f"/spaces/{space_id}/replay", user)
    assert response.status_code == 200, response.data
    key = deps.spaces.get(space_id, with_count=False).recording_info.media_key
    return decode(deps.replays.get_bytes(key)), response.data


def tone_level(samples, second, freq):
    """How strong `freq` (within 20 Hz) is in that second, relative to the second's peak."""
    window = samples[second * RATE : (second + 1) * RATE]
    spectrum = np.abs(np.fft.rfft(window * np.hanning(len(window))))
    freqs = np.fft.rfftfreq(len(window), 1 / RATE)
    return float(spectrum[np.abs(freqs - freq) <= 20].max() / max(spectrum.max(), 1e-9))


@pytest.fixture
def two_tones(api, deps, host, new_user):
    """The host speaks 440 Hz from 0 to 10 s, a speaker 660 Hz from 5 to 15 s."""
    space_id = recorded_space(api, host)
    speaker = new_user("speaker")
    speaker_on_stage(api, space_id, host, speaker)
    speaks(deps, space_id, host, freq=HOST_HZ, start_s=0, end_s=10)
    speaks(deps, space_id, speaker, freq=SPEAKER_HZ, start_s=5, end_s=15)
    return space_id, speaker


def test_the_replay_mixes_each_speaker_at_their_offset(api, deps, host, new_user, two_tones):
    space_id, _ = two_tones
    end(api, space_id, host)  # the end lands at once: both recordings ended

    audio, replay = replay_audio(api, deps, space_id, new_user("listener"))

    per_second = dominant_per_second(audio)
    assert 14.9 <= len(audio) / RATE <= 15.2, "from the start to the end of the last speaker"
    assert replay["duration_seconds"] == 15
    for second in range(0, 5):
        assert per_second[second] == pytest.approx(HOST_HZ, abs=20), second
        assert tone_level(audio, second, SPEAKER_HZ) < 0.05, f"nobody else spoke at {second} s"
    for second in range(5, 10):
        assert tone_level(audio, second, HOST_HZ) > 0.5 and tone_level(audio, second, SPEAKER_HZ) > 0.5, second
    for second in range(10, 15):
        assert per_second[second] == pytest.approx(SPEAKER_HZ, abs=20), second
        assert tone_level(audio, second, HOST_HZ) < 0.05, second


def test_silence_where_nobody_spoke(api, deps, host, new_user):
    space_id = recorded_space(api, host)
    speaker = new_user("speaker")
    speaker_on_stage(api, space_id, host, speaker)
    speaks(deps, space_id, host, freq=HOST_HZ, start_s=0, end_s=3)
    speaks(deps, space_id, speaker, freq=SPEAKER_HZ, start_s=6, end_s=9)
    end(api, space_id, host)

    audio, _ = replay_audio(api, deps, space_id, host)

    per_second = dominant_per_second(audio)
    # Seconds 4 and 5 lie wholly in the gap. Second 3 does not quite: AAC in MPEG-TS decodes with
    # its encoder's priming samples (about 21 ms), so a recording sounds that much later and longer.
    assert per_second[4:6] == [None, None]
    assert float(np.sqrt(np.mean(audio[3 * RATE + RATE // 10 : 6 * RATE] ** 2))) < 0.001, "3.1-6 s: silence"
    assert per_second[1] == pytest.approx(HOST_HZ, abs=20) and per_second[7] == pytest.approx(SPEAKER_HZ, abs=20)


def test_the_replay_waits_for_every_recording_to_end(api, deps, host, new_user):
    space_id = recorded_space(api, host)
    speaker = new_user("speaker")
    speaker_on_stage(api, space_id, host, speaker)
    speaks(deps, space_id, host, freq=HOST_HZ, start_s=0, end_s=2)
    speaks(deps, space_id, speaker, freq=SPEAKER_HZ, start_s=1, end_s=3, ended=False)  # IVS still writing
    end(api, space_id, host)

    assert api.get(f"/spaces/{space_id}/replay", host).data["code"] == "replay_not_ready"
    # This Space's landing (the job's table holds other tests' Spaces too): it waits.
    assert replay_landing.land(deps, space_id, from_job=True) is False
    assert deps.spaces.get(space_id, with_count=False).recording_info.replay_state == "processing"
    assert api.get(f"/spaces/{space_id}/replay", host).data["code"] == "replay_not_ready"


def test_a_withdrawn_speaker_is_absent_from_the_replay_and_from_an_earlier_clip(api, deps, host, new_user, two_tones):
    space_id, speaker = two_tones
    end(api, space_id, host)
    clip = api.post(f"/spaces/{space_id}/clips", host, {"start_ms": 6000, "duration_ms": 3000})
    assert clip.status_code == 201, clip.data
    replay_landing.land_recordings(deps)  # the job cuts it
    clip_before = decode(deps.replays.get_bytes(f"clips/{space_id}/{clip.data['clip_id']}.m4a"))
    assert tone_level(clip_before, 1, SPEAKER_HZ) > 0.5, "the clip had the speaker in it"
    raw_before = [k for k in deps.replays.list_keys(deps.spaces.get(space_id, with_count=False).recording_info.prefix)]

    withdrawn = api.delete(f"/spaces/{space_id}/recording/consent", speaker)

    assert withdrawn.status_code == 200, withdrawn.data
    assert api.get(f"/spaces/{space_id}/replay", host).data["code"] == "replay_not_ready", "never the old file"
    assert api.get(f"/clips/{clip.data['clip_id']}", host).data["code"] == "clip_not_ready"
    replay_landing.land_recordings(deps)
    audio, replay = replay_audio(api, deps, space_id, host)
    for second in range(0, 10):
        assert dominant_per_second(audio)[second] == pytest.approx(HOST_HZ, abs=20), second
        assert tone_level(audio, second, SPEAKER_HZ) < 0.05, second
    assert len(audio) / RATE == pytest.approx(10, abs=0.2), "the replay ends with the host now"
    assert [w["user_id"] for w in replay["withdrawals"]] == [speaker], "the host is told who withdrew"
    got = api.get(f"/clips/{clip.data['clip_id']}", host)
    assert got.status_code == 200, got.data
    clip_after = decode(deps.replays.get_bytes(f"clips/{space_id}/{clip.data['clip_id']}.m4a"))
    for second in range(3):
        assert tone_level(clip_after, second, SPEAKER_HZ) < 0.05 and tone_level(clip_after, second, HOST_HZ) > 0.5
    raw_after = deps.replays.list_keys(deps.spaces.get(space_id, with_count=False).recording_info.prefix)
    from chalicelib.domain.recording import speaker_tag

    tag = speaker_tag(space_id, speaker)
    assert any(f"/{tag}-" in k for k in raw_before) and not any(f"/{tag}-" in k for k in raw_after), "raw files deleted"
    assert deps.replays.list_keys(f"replays/{space_id}") == [f"replays/{space_id}/replay-2.m4a"]


def test_a_withdrawal_is_recorded_once_and_only_for_someone_who_consented(api, deps, host, new_user, two_tones):
    space_id, speaker = two_tones
    first = api.delete(f"/spaces/{space_id}/recording/consent", speaker)  # while live
    again = api.delete(f"/spaces/{space_id}/recording/consent", speaker)
    stranger = api.delete(f"/spaces/{space_id}/recording/consent", new_user("never"))

    assert first.status_code == again.status_code == 200
    assert first.data["withdrawn_at"] == again.data["withdrawn_at"]
    assert stranger.status_code == 404 and stranger.data["code"] == "consent_not_found"
    assert deps.room_announcements[-1][1:] == ("recording_consent_withdrawn", {"user_id": speaker})
    end(api, space_id, host)
    audio, _ = replay_audio(api, deps, space_id, host)
    assert all(tone_level(audio, s, SPEAKER_HZ) < 0.05 for s in range(0, 10)), "withdrawn while live: never mixed"


def test_a_non_consenting_invitee_never_appears_in_any_recording(api, deps, host, new_user):
    space_id = recorded_space(api, host)
    invitee = new_user("shy")
    assert api.post(f"/spaces/{space_id}/join", invitee).status_code == 200
    assert api.post(f"/spaces/{space_id}/speakers", host, {"user_id": invitee}).status_code == 200
    refused = api.post(f"/spaces/{space_id}/invitations/accept", invitee, {})
    assert refused.status_code == 422 and refused.data["code"] == "recording_consent_required"
    speaks(deps, space_id, host, freq=HOST_HZ, start_s=0, end_s=4)
    # Even a recording under their name (there can be none: they hold no publish token) is never mixed.
    speaks(deps, space_id, invitee, freq=SPEAKER_HZ, start_s=0, end_s=4)
    end(api, space_id, host)

    audio, _ = replay_audio(api, deps, space_id, host)

    assert all(tone_level(audio, s, SPEAKER_HZ) < 0.05 for s in range(4))
    from chalicelib.domain.recording import speaker_tag

    prefix = deps.spaces.get(space_id, with_count=False).recording_info.prefix
    assert not any(f"/{speaker_tag(space_id, invitee)}-" in k for k in deps.replays.list_keys(prefix))


def test_mixing_twice_or_concurrently_makes_one_replay(api, deps, host, two_tones, monkeypatch):
    space_id, _ = two_tones
    mixed = []
    real_mix, real_claim = deps.mixer.mix, deps.recordings.claim_mix
    barrier = threading.Barrier(3, timeout=30)

    def counted_mix(tracks, key):
        mixed.append(key)
        return real_mix(tracks, key)

    def claim_together(*args, **kwargs):
        barrier.wait()  # three job runs reach the claim at the same moment
        return real_claim(*args, **kwargs)

    monkeypatch.setattr(deps.mixer, "mix", counted_mix)
    monkeypatch.setattr(deps.recordings, "claim_mix", claim_together)
    monkeypatch.setattr(replay_landing, "on_space_ended", lambda deps, space: None)  # only the job lands
    end(api, space_id, host)
    results = []
    threads = [threading.Thread(target=lambda: results.append(replay_landing.land(deps, space_id, from_job=True))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    monkeypatch.setattr(deps.recordings, "claim_mix", real_claim)
    again = replay_landing.land(deps, space_id, from_job=True)  # and a run afterwards

    assert sorted(results) == [False, False, True] and again is False
    assert mixed == [f"replays/{space_id}/replay-1.m4a"], "one mix"
    assert deps.replays.list_keys(f"replays/{space_id}") == [f"replays/{space_id}/replay-1.m4a"]
    assert deps.spaces.get(space_id, with_count=False).recording_info.replay_state == "available"


def test_a_mix_overtaken_by_a_withdrawal_is_deleted_and_mixed_again_without_them(api, deps, host, two_tones, monkeypatch):
    space_id, speaker = two_tones
    real_put = deps.replays.put_bytes

    def withdraw_before_the_upload(key, data, content_type, **kw):
        # The withdrawal lands while version 1 (with the speaker) is being mixed: after the
        # recordings were read, before the file is uploaded.
        if key.endswith("/replay-1.m4a"):
            assert api.delete(f"/spaces/{space_id}/recording/consent", speaker).status_code == 200
        return real_put(key, data, content_type, **kw)

    monkeypatch.setattr(deps.replays, "put_bytes", withdraw_before_the_upload)
    end(api, space_id, host)
    monkeypatch.setattr(deps.replays, "put_bytes", real_put)

    assert deps.replays.get_bytes(f"replays/{space_id}/replay-1.m4a") is None, "never served, and gone"
    replay_landing.land_recordings(deps)
    audio, _ = replay_audio(api, deps, space_id, host)
    assert deps.spaces.get(space_id, with_count=False).recording_info.media_key == f"replays/{space_id}/replay-2.m4a"
    assert all(tone_level(audio, s, SPEAKER_HZ) < 0.05 for s in range(10))


def test_a_mix_that_fails_every_attempt_fails_the_replay_instead_of_retrying_for_ever(api, deps, host, two_tones, monkeypatch):
    """Each claim of a version's mix counts; past `replay_mix_max_attempts` the replay fails
    rather than a 15-minute run being paid every `replay_mix_timeout_seconds` for ever."""
    from dataclasses import replace

    space_id, _ = two_tones
    attempts = []

    def broken_mix(tracks, key):
        attempts.append(key)
        raise RuntimeError("the decoder crashed")

    monkeypatch.setattr(deps.mixer, "mix", broken_mix)
    monkeypatch.setattr(replay_landing, "on_space_ended", lambda deps, space: None)  # only the job lands
    # Every claim is stale at once: the next run takes the mix over, as after a dead Lambda.
    monkeypatch.setattr(deps, "settings", replace(deps.settings, replay_mix_timeout_seconds=0))
    end(api, space_id, host)
    for _ in range(6):
        try:
            replay_landing.land(deps, space_id, from_job=True)
        except RuntimeError:
            pass

    assert len(attempts) == deps.settings.replay_mix_max_attempts == 3
    info = deps.spaces.get(space_id, with_count=False).recording_info
    assert info.replay_state == "failed" and info.mix_attempts == 3
