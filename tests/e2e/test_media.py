"""The audio path of the page, which the local stage never takes (it carries no audio): the IVS
SDK bundle `make web` ships loads from the page's own origin, and media.js drives it as a real
IVS stage needs (subscribe-only for a listener, the microphone published on stage, a new
connection per token). The SDK's own networking is not exercised: there is no IVS here."""
from __future__ import annotations

import pytest

from tests.support.local_stack import ROOT

pytestmark = pytest.mark.slow


def test_the_sdk_bundle_loads_from_the_page_origin(people):
    if not (ROOT / "web" / "static" / "amazon-ivs-web-broadcast.js").is_file():
        pytest.fail("web/static/amazon-ivs-web-broadcast.js is missing: run `make web`")
    person = people("sdk")
    page = person.page
    page.goto("/web/index.html")

    exposed = page.evaluate("""async () => {
      await new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = "/web/amazon-ivs-web-broadcast.js";
        script.onload = resolve; script.onerror = () => reject(new Error("not served"));
        document.head.append(script);
      });
      const sdk = window.IVSBroadcastClient;
      return { stage: typeof sdk.Stage, stream: typeof sdk.LocalStageStream, audioOnly: sdk.SubscribeType.AUDIO_ONLY };
    }""")

    assert exposed == {"stage": "function", "stream": "function", "audioOnly": "audio_only"}
    assert person.refused == [] and person.page_errors == []


def test_listeners_subscribe_only_and_speakers_publish_the_microphone_on_a_new_connection(people):
    person = people("media")
    page = person.page
    page.goto("/web/index.html")

    # A stand-in for the SDK that records what media.js asks of it.
    seen = page.evaluate("""async () => {
      const log = [];
      class Stage {
        constructor(token, strategy) { this.token = token; this.strategy = strategy; log.push({ created: token }); }
        on() {}
        async join() { log.push({ joined: this.token,
          publishes: this.strategy.shouldPublishParticipant({}),
          subscribe: this.strategy.shouldSubscribeToParticipant({}),
          streams: this.strategy.stageStreamsToPublish().map((s) => s.kind) }); }
        leave() { log.push({ left: this.token }); }
      }
      class LocalStageStream {
        constructor(track) { this.kind = track.kind; this.mediaStreamTrack = track; }
        setMuted(muted) { log.push({ micMuted: muted }); }
      }
      window.IVSBroadcastClient = { Stage, LocalStageStream, StageEvents: {}, StreamType: { AUDIO: "audio" },
                                    SubscribeType: { AUDIO_ONLY: "audio_only" } };
      const { createMedia } = await import("/web/media.js");
      const statuses = [];
      const media = createMedia({ media: { carries_audio: true } }, (s) => statuses.push(s));
      await media.connect({ token: "listener-token", capabilities: ["SUBSCRIBE"] });
      await media.connect({ token: "speaker-token", capabilities: ["PUBLISH", "SUBSCRIBE"] });
      media.setMicMuted(true);
      await media.disconnect();
      return { log, statuses };
    }""")

    assert seen["log"] == [
        {"created": "listener-token"},
        {"joined": "listener-token", "publishes": False, "subscribe": "audio_only", "streams": []},
        {"left": "listener-token"},
        {"created": "speaker-token"},
        {"joined": "speaker-token", "publishes": True, "subscribe": "audio_only", "streams": ["audio"]},
        {"micMuted": True},
        {"left": "speaker-token"},
    ]
    assert seen["statuses"][-1] == "Audio: connected; your microphone is live."
    assert person.refused == [] and person.page_errors == []
