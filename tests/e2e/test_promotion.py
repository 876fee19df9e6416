"""Promotion without reconnecting, in real browsers (docs/web-client.md, "Coming on stage").

Locally (the media server, WHIP/WHEP): a listener who hears the host is approved to speak; its
page keeps the very RTCPeerConnection it listens on (its WHEP session, whose inbound-rtp bytes keep
growing across the promotion), adds one WHIP publish with the new token, never hears itself, and
is heard by the host. The harness (tones, AnalyserNode, inbound-rtp) is tests/e2e/test_audio.py's.

On IVS (no IVS here): with a stand-in for the Web Broadcast SDK, the page exchanges the token on
the live Stage instead of leaving it, and falls back to a new connection where it cannot (another
participant id, an SDK without `exchangeToken`); the SDK bundle `make web` ships has the method.
"""
from __future__ import annotations

import pytest
import requests

from tests.e2e.test_audio import (  # noqa: F401 (fixtures)
    CONNECT_S,
    HOST_HZ,
    SPEAKER_HZ,
    approve,
    audio_stack,
    clean,
    hears,
    joined_media,
    never_hears,
    probe,
    start_space,
    tone_browsers,
    tones,
    until,
    voices,
)
from tests.support.local_stack import ROOT

pytestmark = pytest.mark.slow

# Every RTCPeerConnection the page makes, and every 200 ms the inbound-rtp bytes of the first one
# (the listening connection) and its state: what the test reads after the promotion.
WATCH_CONNECTIONS = """() => {
  const Original = window.RTCPeerConnection;
  window.madeConnections = [];
  window.RTCPeerConnection = class extends Original {
    constructor(...args) { super(...args); window.madeConnections.push(this); }
  };
  window.listeningLog = [];
  setInterval(async () => {
    const pc = window.madeConnections[0];
    if (!pc) return;
    let bytes = 0;
    (await pc.getStats()).forEach((s) => { if (s.type === "inbound-rtp") bytes += s.bytesReceived || 0; });
    window.listeningLog.push({ bytes, state: pc.connectionState });
  }, 200);
}"""

CONNECTIONS = """() => window.madeConnections.map((pc) => ({
  state: pc.connectionState,
  directions: pc.getTransceivers().map((t) => t.currentDirection || t.direction),
}))"""


def listening_log(person) -> list[dict]:
    return person.page.evaluate("() => window.listeningLog.slice()")


def test_an_approved_listener_keeps_listening_on_the_same_connection_and_is_heard(voices, audio_stack):
    host, other = voices("alice"), voices("frank")
    speaker = voices("dave", SPEAKER_HZ)
    space_id, _ = start_space(host, "Come on up")
    speaker.page.evaluate(WATCH_CONNECTIONS)
    listening = joined_media(speaker, space_id)
    joined_media(other, space_id)
    hears(speaker, HOST_HZ)
    [whep_before] = [c for c in probe(speaker)["connections"] if c["kind"] == "whep"]
    before = listening_log(speaker)[-1]["bytes"]

    # When the host approves the raised hand and the page takes the stage
    with speaker.page.expect_response(lambda r: r.url.endswith(f"/spaces/{space_id}/invitations/accept")) as accepted:
        approve(host, speaker, "dave")
    media = accepted.value.json()["media"]
    assert media["participant_id"] == listening["participant_id"]
    hears(host, SPEAKER_HZ)
    hears(other, SPEAKER_HZ)

    # Then the listening connection is the one it had: never closed, its bytes never reset and
    # still growing, and the only new connection is the publish
    log = listening_log(speaker)
    log = log[next(i for i, entry in enumerate(log) if entry["state"] == "connected"):]
    after = log[-1]["bytes"]
    assert after > before, (before, after)
    assert all(entry["state"] == "connected" for entry in log), [e["state"] for e in log]
    assert all(b["bytes"] >= a["bytes"] for a, b in zip(log, log[1:])), "the listening connection's bytes went back"
    connections = speaker.page.evaluate(CONNECTIONS)
    assert len(connections) == 2, connections
    assert connections[0]["directions"] == ["recvonly"] * 12 and connections[0]["state"] == "connected"
    assert connections[1]["directions"] == ["sendonly"]
    now = probe(speaker)["connections"]
    assert [c["kind"] for c in now] == ["whep", "whip"], now
    assert now[0]["location"] == whep_before["location"] and now[0]["closed_by"] is None
    # The media server still serves that WHEP session, to the participant's new token
    slots = requests.get(now[0]["location"], headers={"Authorization": f"Bearer {media['token']}"}, timeout=10)
    assert slots.status_code == 200 and slots.json()["kind"] == "subscribe", slots.text

    # It goes on hearing the host, and never hears itself
    hears(speaker, HOST_HZ)
    never_hears([speaker], SPEAKER_HZ)
    clean(host, other, speaker)


# --- IVS: the page's side of the token exchange, against a stand-in SDK ---------------------------

IVS_STAND_IN = """async ({ exchange, promoteAs }) => {
  const log = [];
  class Stage {
    constructor(token, strategy) { this.token = token; this.strategy = strategy; log.push({ created: token }); }
    on() {}
    async join() { log.push({ joined: this.token, publishes: this.strategy.shouldPublishParticipant({}) }); }
    leave() { log.push({ left: this.token }); }
  }
  if (exchange) {
    // As the SDK documents it: the new token's capabilities are applied and the strategy is
    // asked again, on the same Stage.
    Stage.prototype.exchangeToken = async function (token) {
      this.token = token;
      log.push({ exchanged: token, publishes: this.strategy.shouldPublishParticipant({}),
                 streams: this.strategy.stageStreamsToPublish().map((s) => s.kind) });
    };
  }
  class LocalStageStream {
    constructor(track) { this.kind = track.kind; this.mediaStreamTrack = track; }
    setMuted() {}
  }
  window.IVSBroadcastClient = { Stage, LocalStageStream, StageEvents: {}, StreamType: { AUDIO: "audio" },
                                SubscribeType: { AUDIO_ONLY: "audio_only" } };
  const { createMedia } = await import("/web/media.js");
  const statuses = [];
  const media = createMedia({ media: { carries_audio: true } }, (s) => statuses.push(s));
  await media.connect({ kind: "stage", participant_id: "p-1", token: "listener-token", capabilities: ["SUBSCRIBE"] });
  await media.promote({ kind: "stage", participant_id: promoteAs, token: "speaker-token", capabilities: ["PUBLISH", "SUBSCRIBE"] });
  await media.disconnect();
  return { log, statuses };
}"""


def test_on_ivs_the_page_exchanges_the_token_on_the_live_stage(people):
    person = people("ivs-exchange")
    person.page.goto("/web/index.html")

    seen = person.page.evaluate(IVS_STAND_IN, {"exchange": True, "promoteAs": "p-1"})

    assert seen["log"] == [
        {"created": "listener-token"},
        {"joined": "listener-token", "publishes": False},
        {"exchanged": "speaker-token", "publishes": True, "streams": ["audio"]},
        {"left": "speaker-token"},  # only when the page leaves
    ]
    assert seen["statuses"][-1] == "Audio: connected; your microphone is live."
    assert person.refused == [] and person.page_errors == []


@pytest.mark.parametrize("exchange, promote_as", [(False, "p-1"), (True, "p-2")], ids=["sdk-without-exchange", "another-participant"])
def test_on_ivs_the_page_reconnects_where_it_cannot_exchange(people, exchange, promote_as):
    person = people("ivs-reconnect")
    person.page.goto("/web/index.html")

    seen = person.page.evaluate(IVS_STAND_IN, {"exchange": exchange, "promoteAs": promote_as})

    assert seen["log"] == [
        {"created": "listener-token"},
        {"joined": "listener-token", "publishes": False},
        {"left": "listener-token"},
        {"created": "speaker-token"},
        {"joined": "speaker-token", "publishes": True},
        {"left": "speaker-token"},
    ]
    assert person.refused == [] and person.page_errors == []


def test_the_shipped_sdk_has_token_exchange(people):
    if not (ROOT / "web" / "static" / "amazon-ivs-web-broadcast.js").is_file():
        pytest.fail("web/static/amazon-ivs-web-broadcast.js is missing: run `make web`")
    person = people("ivs-sdk")
    person.page.goto("/web/index.html")

    kind = person.page.evaluate("""async () => {
      await new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = "/web/amazon-ivs-web-broadcast.js";
        script.onload = resolve; script.onerror = () => reject(new Error("not served"));
        document.head.append(script);
      });
      return typeof window.IVSBroadcastClient.Stage.prototype.exchangeToken;
    }""")

    assert kind == "function"
    assert person.refused == [] and person.page_errors == []
