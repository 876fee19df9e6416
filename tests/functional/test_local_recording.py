"""The local media server's recorder writes a publisher's audio in IVS's participant recording
layout, and the app's landing job mixes what it wrote: real audio from the recorder's input to
the replay file. The publisher here is an in-process track of audio frames as aiortc hands them
over (pts on the RTP clock, with a gap where the publisher sent nothing); the WebRTC leg itself is
covered by tests/integration/test_media_server.py."""
from __future__ import annotations

import asyncio
import fractions
from datetime import timedelta

import numpy as np
import pytest
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame

from chalicelib.domain.recording import tagged_participant_id
from mediaserver.recorder import Recorder
from tests.support.ivs_recordings import RATE, decode, dominant_per_second
from tests.support.own_loop import run

pytestmark = [pytest.mark.usefixtures("deps"), pytest.mark.slow]

FRAME = 960  # 20 ms, as aiortc decodes Opus


class FramesTrack(MediaStreamTrack):
    """`seconds` of a tone in 20 ms frames, stereo s16 as aiortc gives them, with the RTP clock
    skipping `gap` seconds after `gap_after` seconds."""

    kind = "audio"

    def __init__(self, freq, seconds, gap_after=None, gap=0.0):
        super().__init__()
        self._freq, self._total = freq, int(seconds * RATE)
        self._gap_at = int(gap_after * RATE) if gap_after is not None else None
        self._gap = int(gap * RATE)
        self._sent = 0

    async def recv(self):
        if self._sent >= self._total:
            raise MediaStreamError
        t = (self._sent + np.arange(FRAME)) / RATE
        tone = (0.4 * np.sin(2 * np.pi * self._freq * t) * 32767).astype(np.int16)
        frame = AudioFrame.from_ndarray(np.repeat(tone, 2).reshape(1, -1), format="s16", layout="stereo")
        skipped = self._gap if self._gap_at is not None and self._sent >= self._gap_at else 0
        frame.sample_rate, frame.time_base, frame.pts = RATE, fractions.Fraction(1, RATE), self._sent + skipped
        self._sent += FRAME
        return frame


def test_what_the_recorder_writes_is_mixed_into_the_replay(api, deps, host):
    space_id = api.post("/spaces", host, {"title": "Local", "recording": True}).data["id"]
    info = deps.spaces.get(space_id, with_count=False).recording_info
    starts = (info.started_at + timedelta(seconds=2)).timestamp()
    recorder = Recorder(lambda: deps.replays, clock=lambda: starts)
    participant = tagged_participant_id(space_id, host, "local1")

    prefix = run(recorder.record(info.prefix, participant, FramesTrack(660, 4, gap_after=2, gap=1)))

    assert prefix.startswith(f"{info.prefix}/st-local/{participant}/")
    assert {k.rsplit("/", 1)[-1] for k in deps.replays.list_keys(prefix)} >= {
        "recording-started.json", "recording-ended.json", "multivariant.m3u8", "playlist.m3u8", "seg0.ts",
    }
    assert api.post(f"/spaces/{space_id}/end", host).status_code == 200
    audio = decode(deps.replays.get_bytes(deps.spaces.get(space_id, with_count=False).recording_info.media_key))
    per_second = dominant_per_second(audio)
    # 0-2 s nobody; the recorder's start 2 s in: 2 s of tone, the 1 s gap kept silent, 2 s of tone.
    assert per_second[0:2] == [None, None]
    assert all(abs(f - 660) <= 20 for f in per_second[2:4])
    # (AAC's priming, about 21 ms, shifts the audio a little: the gap's middle is what is checked.)
    assert float(np.sqrt(np.mean(audio[int(4.1 * RATE) : int(4.9 * RATE)] ** 2))) < 0.001, per_second
    assert all(abs(f - 660) <= 20 for f in per_second[5:7])
    assert len(audio) / RATE == pytest.approx(7, abs=0.2)
