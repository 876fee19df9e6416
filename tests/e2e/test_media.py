"""How the page picks and drives its audio transport, without a media server (what people hear
through the local media server is tests/e2e/test_audio.py).

- The join's media picks the transport, never the stage's name: a `whep` URL means the local
  WHIP/WHEP transport (no SDK loaded), `kind: "playback"` the HLS player, neither the IVS SDK.
- The IVS SDK bundle `make web` ships loads from the page's own origin, and media.js drives it as
  a real IVS stage needs (subscribe-only for a listener, the microphone published on stage, a new
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


# The offer a listener's page sends, read from the request itself (the test answers it 403).
WHEP_CHECK = """async () => {
  const { createMedia } = await import("/web/media.js");
  const statuses = [];
  const media = createMedia({ media: { carries_audio: true } }, (s) => statuses.push(s));
  let error = null;
  await media.connect({ kind: "stage", token: "listener-token", capabilities: ["SUBSCRIBE"],
                        whep: "http://127.0.0.1:9/whep", whip: "http://127.0.0.1:9/whip" })
    .catch((err) => { error = { status: err.status, code: err.code, message: err.message }; });
  return { error, statuses, sdk: Boolean(window.IVSBroadcastClient), carries: media.carriesAudio };
}"""


def test_a_whep_url_means_one_whep_offer_of_twelve_recvonly_slots_and_no_sdk(people):
    person = people("whep")
    page = person.page
    page.goto("/web/index.html")
    seen = []

    def refuse(route):
        request = route.request
        if request.method == "OPTIONS":  # the CORS preflight
            route.fulfill(status=204, headers={"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "POST, DELETE",
                                               "Access-Control-Allow-Headers": "Authorization, Content-Type"})
            return
        seen.append({"method": request.method, "headers": request.headers, "body": request.post_data})
        route.fulfill(status=403, content_type="application/json",
                      headers={"Access-Control-Allow-Origin": "*"},
                      body='{"code": "participant_disconnected", "message": "this participant was disconnected"}')

    page.route("http://127.0.0.1:9/**", refuse)
    result = page.evaluate(WHEP_CHECK)

    posts = [r for r in seen if r["method"] == "POST"]
    assert len(posts) == 1, seen  # a listener never POSTs to WHIP
    offer = posts[0]["body"]
    assert posts[0]["headers"]["authorization"] == "Bearer listener-token"
    assert posts[0]["headers"]["content-type"] == "application/sdp"
    audio_lines = [line for line in offer.split("\r\n") if line.startswith("m=audio")]
    assert len(audio_lines) == 12, offer
    assert offer.count("a=recvonly") == 12 and "a=sendonly" not in offer and "a=sendrecv" not in offer
    assert "a=candidate:" in offer  # non-trickle: the candidates are in the offer
    assert result["error"] == {"status": 403, "code": "participant_disconnected",
                               "message": "this participant was disconnected"}
    assert result["sdk"] is False
    assert not any("amazon-ivs-web-broadcast" in url for url in person.requested)
    assert person.refused == [] and person.page_errors == []


def test_playback_media_loads_the_hls_player_from_the_page_origin(people):
    if not (ROOT / "web" / "static" / "hls.min.js").is_file():
        pytest.fail("web/static/hls.min.js is missing: run `make web`")
    person = people("playback")
    page = person.page
    page.goto("/web/index.html")
    page.route("http://127.0.0.1:9/**", lambda route: route.fulfill(status=404, body=""))

    result = page.evaluate("""async () => {
      const { createMedia } = await import("/web/media.js");
      const statuses = [];
      const media = createMedia({ media: { carries_audio: false } }, (s) => statuses.push(s));
      await media.connect({ kind: "playback", playback_url: "http://127.0.0.1:9/playback.m3u8?token=t", capabilities: [] });
      const probe = await window.spacesAudioProbe();
      await media.disconnect();
      return { hls: typeof window.Hls, statuses, transport: probe.transport };
    }""")

    assert result["hls"] == "function"
    assert result["transport"] == "playback"
    assert any("overflow stream" in s for s in result["statuses"]), result
    assert any(url.endswith("/web/hls.min.js") for url in person.requested)
    assert not any("amazon-ivs-web-broadcast" in url for url in person.requested)
    assert person.refused == []
