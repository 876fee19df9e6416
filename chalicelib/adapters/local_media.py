"""In-memory MediaPort for `chalice local` and tests: no AWS, same shapes as IVS real-time.

Stage ARNs and endpoints have the shapes IVS returns from CreateStage, so code that parses them
(StageInfo.stage_id, token minting, clients) sees realistic values:

    arn      arn:aws:ivs:<region>:<account>:stage/<12 alphanumerics>
    events   wss://global.events.live-video.net
    whip     https://<12 lowercase alphanumerics>.global-bm.whip.live-video.net

(shapes from the `aws ivs-realtime create-stage` example output in aws/aws-cli,
awscli/examples/ivs-realtime/create-stage.rst, and the StageEndpoints API reference.)

What happened is public, for assertions: `stages` (live stages, arn -> space_id), `created`
(every StageInfo handed out, in order), `deleted` (arns deleted, each once), `disconnected`
((stage_arn, participant_id, reason) per call). `fail_next("create_stage", times=2)` makes the
next two calls of that method raise DependencyFailed, as IVS throttling or an outage would.

Recording: a stage created with `record=True` is remembered (`recorded_stages`); with the media
server, the server is told to record every publisher of that stage into the local S3 in the
layout IVS uses for individual participant recordings (docs/media.md, docs/recording.md), so
the landing and mixing job runs on real audio. Without a media server nothing is recorded.

With `media_server_url` (the `local` stage of `make run`: the local media server, mediaserver/,
docs/media.md), the stage's effects are real: a stage's `whip` endpoint is the server's WHIP URL
and `endpoints()` adds its WHEP URL; `disconnect_participant` and `delete_stage` call the server's
loopback control API (closing those WebRTC connections); overflow makes the server mix the stage
into HLS and the playback URL is its playlist, which the server serves only to bearers of
playback tokens of that channel (`revoke_playback` tells it whom to refuse from then on). Control calls time out quickly; a failed
disconnect or delete is logged, not raised (the in-memory record stands, as before).
"""
from __future__ import annotations

import json
import re
import secrets
import string
import threading
import time
import urllib.error
import urllib.request


from chalicelib.adapters.ivs_tokens import playback_viewer_id
from chalicelib.domain.errors import DependencyFailed
from chalicelib.domain.spaces import OverflowInfo, StageInfo

EVENTS_URL = "wss://global.events.live-video.net"
WHIP_URL_TEMPLATE = "https://{host}.global-bm.whip.live-video.net"
STAGE_ARN_PATTERN = re.compile(r"^arn:aws:ivs:[a-z0-9-]+:[0-9]+:stage/[a-zA-Z0-9-]+$")
PARTICIPANT_ID_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")

_ALNUM = string.ascii_letters + string.digits
_LOWER_ALNUM = string.ascii_lowercase + string.digits
_METHODS = (
    "create_stage",
    "delete_stage",
    "disconnect_participant",
    "list_stages",
    "start_overflow",
    "stop_overflow",
    "revoke_playback",
    "overflow_running",
    "restart_overflow",
    "list_overflow_channels",
)
# Without a media server the overflow fake hands out playback URLs of this shape (an IVS channel's
# playbackUrl) that nothing serves; with one, the server's HLS playlist (docs/overflow.md).
PLAYBACK_URL_TEMPLATE = "https://{host}.us-east-1.playback.live-video.net/api/video/v1/{region}.{account}.channel.{cid}.m3u8"


CONTROL_TIMEOUT_SECONDS = 2.0


def _random(alphabet: str, n: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


class LocalMedia:
    """MediaPort kept in memory. Thread-safe: every method holds one lock."""

    def __init__(
        self,
        *,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        clock=time.time,
        media_server_url: str = "",
        control_secret: str = "",
    ):
        self.media_server_url = media_server_url.rstrip("/")
        self.control_secret = control_secret
        self.region = region
        self.account_id = account_id
        self.clock = clock
        # Stages created with individual participant recording (stage arn -> space id).
        self.recorded_stages: dict[str, str] = {}
        self.stages: dict[str, str] = {}
        self.created_at: dict[str, int] = {}
        self.created: list[StageInfo] = []
        self.deleted: list[str] = []
        self.disconnected: list[tuple[str, str, str]] = []
        self._failures: dict[str, int] = {}
        self._lock = threading.Lock()
        # Overflow: composition arn -> space id while running; every start and stop, in order.
        self.compositions: dict[str, str] = {}
        self.overflow_started: list[tuple[str, OverflowInfo]] = []
        self.overflow_stopped: list[OverflowInfo] = []
        self.playback_revoked: list[tuple[str, str]] = []  # (channel arn, user id) per call
        self.overflow_restarted: list[tuple[str, str]] = []  # (space id, new composition arn)
        self.channels_deleted: set[str] = set()
        self.channel_created_at: dict[str, int] = {}  # channel arn -> epoch seconds, when set
        self._overflow_stages: dict[str, str] = {}  # composition arn -> stage id (media server)

    def fail_next(self, method_name: str, times: int = 1) -> None:
        """Make the next `times` calls of `method_name` raise DependencyFailed."""
        if method_name not in _METHODS:
            raise ValueError(f"unknown MediaPort method {method_name!r}; one of {_METHODS}")
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._failures[method_name] = self._failures.get(method_name, 0) + times

    def create_stage(self, space_id: str, *, record: bool = False) -> StageInfo:
        with self._lock:
            self._maybe_fail("create_stage")
            arn = self._new_arn()
            info = StageInfo(
                arn=arn,
                events_url=EVENTS_URL,
                whip_url=(
                    self._server_url(arn.rsplit("/", 1)[-1], "whip") if self.media_server_url
                    else WHIP_URL_TEMPLATE.format(host=_random(_LOWER_ALNUM, 12))
                ),
            )
            self.stages[arn] = space_id
            self.created_at[arn] = int(self.clock())
            self.created.append(info)
            if record:
                self.recorded_stages[arn] = space_id
        if record:
            # The media server records this stage's publishers (nothing happens without one).
            self._control("PUT", f"/control/stages/{_stage_id(arn)}/recording", {"space_id": space_id})
        return info

    def list_stages(self) -> list[tuple[str, str, int]]:
        with self._lock:
            self._maybe_fail("list_stages")
            return [(arn, space_id, self.created_at[arn]) for arn, space_id in self.stages.items()]

    def delete_stage(self, stage_arn: str) -> None:
        _check_arn(stage_arn)
        with self._lock:
            self._maybe_fail("delete_stage")
            # A stage already gone (or never ours) is success, as with IVS ResourceNotFound.
            if self.stages.pop(stage_arn, None) is not None:
                self.deleted.append(stage_arn)
        self._control("DELETE", f"/control/stages/{_stage_id(stage_arn)}")

    def disconnect_participant(self, stage_arn: str, participant_id: str, reason: str) -> None:
        _check_arn(stage_arn)
        if not PARTICIPANT_ID_PATTERN.match(participant_id):
            raise ValueError(f"participant id {participant_id!r} is not a valid IVS participant id")
        with self._lock:
            self._maybe_fail("disconnect_participant")
            self.disconnected.append((stage_arn, participant_id, reason))
        self._control(
            "POST",
            f"/control/stages/{_stage_id(stage_arn)}/disconnect",
            {"participant_id": participant_id, "reason": reason},
        )

    def endpoints(self, stage: StageInfo) -> dict[str, str]:
        """What a client connects to: with the media server, its WHIP and WHEP URLs; without,
        the shapes of an IVS stage (nothing answers them locally)."""
        if self.media_server_url:
            return {"whip": self._server_url(stage.stage_id, "whip"), "whep": self._server_url(stage.stage_id, "whep")}
        return {"whip": stage.whip_url, "events": stage.events_url}

    def _server_url(self, stage_id: str, what: str) -> str:
        return f"{self.media_server_url}/stages/{stage_id}/{what}"

    def _control(self, method: str, path: str, body: dict | None = None) -> dict | None:
        """Call the media server's control API; None (logged) when there is none or it fails."""
        if not self.media_server_url:
            return None
        request = urllib.request.Request(
            self.media_server_url + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.control_secret}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=CONTROL_TIMEOUT_SECONDS) as response:
                return json.loads(response.read() or b"{}")
        except (urllib.error.URLError, OSError, ValueError) as exc:
            # Imported here: the adapter's import stays free of the AWS SDK (Powertools pulls it).
            from aws_lambda_powertools import Logger

            from chalicelib.config import SERVICE_NAME

            Logger(child=True, service=SERVICE_NAME).warning("media server control call failed", method=method, path=path, error=str(exc))
            return None

    def start_overflow(self, space_id: str, stage_arn: str) -> OverflowInfo:
        _check_arn(stage_arn)
        with self._lock:
            self._maybe_fail("start_overflow")
            # StartComposition's idempotency token is the Space id: a second start returns the first.
            for arn, sid in self.compositions.items():
                if sid == space_id:
                    return next(info for s, info in self.overflow_started if info.composition_arn == arn)
            cid = _random(_ALNUM, 12)
            channel_arn = f"arn:aws:ivs:{self.region}:{self.account_id}:channel/{cid}"
            playback_url = PLAYBACK_URL_TEMPLATE.format(
                host=_random(_LOWER_ALNUM, 12), region=self.region, account=self.account_id, cid=cid
            )
            if self.media_server_url:
                # The server lets in the playback tokens of this channel only.
                started = self._control(
                    "POST", f"/control/stages/{_stage_id(stage_arn)}/overflow", {"channel_arn": channel_arn}
                )
                if started is None:
                    raise DependencyFailed("local media server: overflow HLS did not start", code="media_unavailable")
                playback_url = self.media_server_url + started["playlist"]
            info = OverflowInfo(
                channel_arn=channel_arn,
                playback_url=playback_url,
                composition_arn=f"arn:aws:ivs:{self.region}:{self.account_id}:composition/{_random(_ALNUM, 12)}",
            )
            self.compositions[info.composition_arn] = space_id
            self._overflow_stages[info.composition_arn] = _stage_id(stage_arn)
            self.overflow_started.append((space_id, info))
            return info

    def stop_overflow(self, info: OverflowInfo) -> None:
        with self._lock:
            self._maybe_fail("stop_overflow")
            if self.compositions.pop(info.composition_arn, None) is not None:
                self.overflow_stopped.append(info)
            if info.channel_arn:
                self.channels_deleted.add(info.channel_arn)
            stage_id = self._overflow_stages.pop(info.composition_arn, None)
        if stage_id is not None:
            self._control("DELETE", f"/control/stages/{stage_id}/overflow")

    def list_overflow_channels(self) -> list[tuple[str, str, int]]:
        """Channels made and not deleted, with the age `channel_created_at` gives them (tests
        back-date one to make it an orphan past the grace period)."""
        with self._lock:
            self._maybe_fail("list_overflow_channels")
            return [
                (info.channel_arn, space_id, self.channel_created_at.get(info.channel_arn, int(time.time())))
                for space_id, info in self.overflow_started
                if info.channel_arn not in self.channels_deleted
            ]

    def overflow_running(self, info: OverflowInfo) -> bool:
        with self._lock:
            self._maybe_fail("overflow_running")
            return info.composition_arn in self.compositions

    def restart_overflow(self, space_id: str, stage_arn: str, info: OverflowInfo) -> str:
        _check_arn(stage_arn)
        with self._lock:
            self._maybe_fail("restart_overflow")
            arn = f"arn:aws:ivs:{self.region}:{self.account_id}:composition/{_random(_ALNUM, 12)}"
            self.compositions[arn] = space_id
            self.overflow_restarted.append((space_id, arn))
            return arn

    def composition_stops_by_itself(self, composition_arn: str) -> None:
        """What IVS does a minute after the last publisher left, or when broadcasting fails."""
        with self._lock:
            self.compositions.pop(composition_arn, None)

    def revoke_playback(self, channel_arn: str, user_id: str) -> None:
        with self._lock:
            self._maybe_fail("revoke_playback")
            self.playback_revoked.append((channel_arn, user_id))
        # The media server refuses that viewer's playback token from now on.
        self._control(
            "POST", "/control/playback/revoke", {"channel_arn": channel_arn, "viewer_id": playback_viewer_id(user_id)}
        )

    def _maybe_fail(self, method_name: str) -> None:
        left = self._failures.get(method_name, 0)
        if left:
            self._failures[method_name] = left - 1
            raise DependencyFailed(
                f"local media: injected failure of {method_name}", code="media_unavailable"
            )

    def _new_arn(self) -> str:
        while True:
            arn = f"arn:aws:ivs:{self.region}:{self.account_id}:stage/{_random(_ALNUM, 12)}"
            if arn not in self.stages and arn not in self.deleted:
                return arn


def _stage_id(stage_arn: str) -> str:
    return stage_arn.rsplit("/", 1)[-1]


def _check_arn(stage_arn: str) -> None:
    # IVS answers a malformed ARN with ValidationException; here it is a bug in the caller.
    if not STAGE_ARN_PATTERN.match(stage_arn):
        raise ValueError(f"{stage_arn!r} is not an IVS stage ARN")
