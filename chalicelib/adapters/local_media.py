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

Recording: there is no media server locally, so no audio is recorded. `start_recording` hands
out a composition ARN of IVS's shape and remembers it (`recordings`, arn -> state); on
`stop_recording` it writes, when given a store (the local S3 of `make run`), what IVS leaves in
the bucket once a recording is complete: `<prefix>/events/recording-ended.json` and a placeholder
playlist with no segments, so replays, their URLs and transcription run end to end locally.
Nothing stops a local composition on its own (there is no media server): tests do it with
`composition_stops_by_itself`, and `restart_recording` starts another under its own prefix, once
per idempotency token, as IVS does. A recording's state is also kept in the store
(`local-media/...`) so the worker process of `make run` sees the compositions the API started.
"""
from __future__ import annotations

import json
import re
import secrets
import string
import threading
import time
from datetime import datetime, timezone

from chalicelib.domain.errors import DependencyFailed
from chalicelib.domain.recording import restart_token
from chalicelib.domain.spaces import OverflowInfo, StageInfo
from chalicelib.ports import CompositionStatus, RecordingHandle

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
    "start_recording",
    "stop_recording",
    "start_overflow",
    "stop_overflow",
    "revoke_playback",
    "overflow_running",
    "restart_overflow",
    "list_overflow_channels",
    "recording_status",
    "restart_recording",
)
COMPOSITION_ARN_PATTERN = re.compile(r"^arn:aws:ivs:[a-z0-9-]+:[0-9]+:composition/[a-zA-Z0-9-]+$")
PLACEHOLDER_PLAYLIST = (
    "#EXTM3U\n"
    "# Spaces local stack: no media server runs locally, so no audio was recorded.\n"
    "#EXT-X-VERSION:3\n"
    "#EXT-X-TARGETDURATION:1\n"
    "#EXT-X-PLAYLIST-TYPE:VOD\n"
    "#EXT-X-ENDLIST\n"
)
# The overflow fake hands out playback URLs of this shape (an IVS channel's playbackUrl); nothing
# serves them: the local stage has no media server (docs/overflow.md).
PLAYBACK_URL_TEMPLATE = "https://{host}.us-east-1.playback.live-video.net/api/video/v1/{region}.{account}.channel.{cid}.m3u8"


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
        recordings_store=None,
    ):
        self.region = region
        self.account_id = account_id
        self.clock = clock
        # ReplayStorePort (or None): where stop_recording leaves its placeholder recording.
        self.recordings_store = recordings_store
        self.recordings: dict[str, dict] = {}
        # Restarted recordings: idempotency token -> composition arn (IVS returns the first
        # composition for a token used again), and every restart asked for, in order.
        self.recording_tokens: dict[str, str] = {}
        self.recording_restarts: list[tuple[str, int]] = []  # (space id, restart) per call
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

    def fail_next(self, method_name: str, times: int = 1) -> None:
        """Make the next `times` calls of `method_name` raise DependencyFailed."""
        if method_name not in _METHODS:
            raise ValueError(f"unknown MediaPort method {method_name!r}; one of {_METHODS}")
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._failures[method_name] = self._failures.get(method_name, 0) + times

    def create_stage(self, space_id: str) -> StageInfo:
        with self._lock:
            self._maybe_fail("create_stage")
            arn = self._new_arn()
            info = StageInfo(
                arn=arn,
                events_url=EVENTS_URL,
                whip_url=WHIP_URL_TEMPLATE.format(host=_random(_LOWER_ALNUM, 12)),
            )
            self.stages[arn] = space_id
            self.created_at[arn] = int(self.clock())
            self.created.append(info)
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

    def disconnect_participant(self, stage_arn: str, participant_id: str, reason: str) -> None:
        _check_arn(stage_arn)
        if not PARTICIPANT_ID_PATTERN.match(participant_id):
            raise ValueError(f"participant id {participant_id!r} is not a valid IVS participant id")
        with self._lock:
            self._maybe_fail("disconnect_participant")
            self.disconnected.append((stage_arn, participant_id, reason))

    def start_recording(self, space_id: str, stage_arn: str) -> RecordingHandle:
        _check_arn(stage_arn)
        with self._lock:
            self._maybe_fail("start_recording")
            return self._record(space_id, stage_arn)

    def restart_recording(self, space_id: str, stage_arn: str, restart: int) -> RecordingHandle:
        _check_arn(stage_arn)
        with self._lock:
            self._maybe_fail("restart_recording")
            if stage_arn not in self.stages:
                # IVS: ResourceNotFoundException, which IvsMedia reports as media_unavailable (a
                # Space whose stage is being deleted, or, in tests, another test's Space).
                raise DependencyFailed(f"local media: no stage {stage_arn}", code="media_unavailable")
            self.recording_restarts.append((space_id, restart))
            token = restart_token(space_id, restart)
            known = self.recording_tokens.get(token)
            if known is not None:
                recording = self.recordings[known]
                return RecordingHandle(
                    composition_arn=known,
                    started_at=datetime.fromtimestamp(recording["started"], timezone.utc),
                    prefix=recording["prefix"],
                )
            handle = self._record(space_id, stage_arn)
            self.recording_tokens[token] = handle.composition_arn
            return handle

    def recording_status(self, composition_arn: str) -> CompositionStatus:
        with self._lock:
            self._maybe_fail("recording_status")
            recording = self.recordings.get(composition_arn)
        if recording is None and self.recordings_store is not None:
            # Started by another process (under `make run` the API starts compositions, the
            # worker's rank job checks them): its state is kept in the local bucket.
            text = self.recordings_store.get_text(_state_key(composition_arn))
            recording = json.loads(text) if text else None
        if recording is None:
            return CompositionStatus(running=False)  # IVS: a composition it deleted, or never made
        return CompositionStatus(running=recording["state"] == "ACTIVE", prefix=recording["prefix"])

    def _record(self, space_id: str, stage_arn: str) -> RecordingHandle:
        if stage_arn not in self.stages:
            # IVS answers ResourceNotFound for a stage that does not exist: a bug here.
            raise ValueError(f"no stage {stage_arn}: create it before recording it")
        composition_id = _random(_ALNUM, 12)
        arn = f"arn:aws:ivs:{self.region}:{self.account_id}:composition/{composition_id}"
        started = self.clock()
        prefix = f"{stage_arn.rsplit('/', 1)[-1]}/{composition_id}"
        self.recordings[arn] = {
            "space_id": space_id,
            "stage_arn": stage_arn,
            "state": "ACTIVE",
            "started": started,
            "prefix": prefix,
        }
        self._keep_state(arn)
        return RecordingHandle(
            composition_arn=arn, started_at=datetime.fromtimestamp(started, timezone.utc), prefix=prefix
        )

    def stop_recording(self, composition_arn: str) -> str | None:
        if not COMPOSITION_ARN_PATTERN.match(composition_arn):
            raise ValueError(f"{composition_arn!r} is not an IVS composition ARN")
        with self._lock:
            self._maybe_fail("stop_recording")
        return self._stop(composition_arn)

    def _stop(self, composition_arn: str, *, writes: bool = True) -> str | None:
        with self._lock:
            recording = self.recordings.get(composition_arn)
            if recording is None or recording["state"] == "STOPPED":
                return recording["prefix"] if recording else None
            recording["state"] = "STOPPED"
            recording["stopped"] = self.clock()
        self._keep_state(composition_arn)
        if writes and self.recordings_store is not None:
            self._write_placeholder(recording)
        return recording["prefix"]

    def _keep_state(self, composition_arn: str) -> None:
        if self.recordings_store is not None:
            recording = self.recordings[composition_arn]
            state = {"state": recording["state"], "prefix": recording["prefix"]}
            self.recordings_store.put_text(_state_key(composition_arn), json.dumps(state), "application/json")

    def _write_placeholder(self, recording: dict) -> None:
        prefix = recording["prefix"]
        duration_ms = int(max(recording["stopped"] - recording["started"], 0) * 1000)
        self.recordings_store.put_text(
            f"{prefix}/media/hls/multivariant.m3u8", PLACEHOLDER_PLAYLIST, "application/vnd.apple.mpegurl"
        )
        ended = {
            "version": "v1",
            "stage_arn": recording["stage_arn"],
            "recording_status": "RECORDING_ENDED",
            "local_placeholder": "no audio is recorded by the local stack",
            "media": {"hls": {"path": "media/hls", "playlist": "multivariant.m3u8", "duration_ms": duration_ms}},
        }
        # Written last, as IVS does: its presence means the recording is complete.
        self.recordings_store.put_text(f"{prefix}/events/recording-ended.json", json.dumps(ended), "application/json")

    def start_overflow(self, space_id: str, stage_arn: str) -> OverflowInfo:
        _check_arn(stage_arn)
        with self._lock:
            self._maybe_fail("start_overflow")
            # StartComposition's idempotency token is the Space id: a second start returns the first.
            for arn, sid in self.compositions.items():
                if sid == space_id:
                    return next(info for s, info in self.overflow_started if info.composition_arn == arn)
            cid = _random(_ALNUM, 12)
            info = OverflowInfo(
                channel_arn=f"arn:aws:ivs:{self.region}:{self.account_id}:channel/{cid}",
                playback_url=PLAYBACK_URL_TEMPLATE.format(
                    host=_random(_LOWER_ALNUM, 12), region=self.region, account=self.account_id, cid=cid
                ),
                composition_arn=f"arn:aws:ivs:{self.region}:{self.account_id}:composition/{_random(_ALNUM, 12)}",
            )
            self.compositions[info.composition_arn] = space_id
            self.overflow_started.append((space_id, info))
            return info

    def stop_overflow(self, info: OverflowInfo) -> None:
        with self._lock:
            self._maybe_fail("stop_overflow")
            if self.compositions.pop(info.composition_arn, None) is not None:
                self.overflow_stopped.append(info)
            if info.channel_arn:
                self.channels_deleted.add(info.channel_arn)

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

    def composition_stops_by_itself(self, composition_arn: str, *, writes_recording: bool = True) -> None:
        """What IVS does a minute after the last publisher left, or when broadcasting fails. A
        recording's composition then completes its files, as on a stop (unless
        `writes_recording` is False: a segment whose files never land)."""
        with self._lock:
            self.compositions.pop(composition_arn, None)
        self._stop(composition_arn, writes=writes_recording)

    def revoke_playback(self, channel_arn: str, user_id: str) -> None:
        with self._lock:
            self._maybe_fail("revoke_playback")
            self.playback_revoked.append((channel_arn, user_id))

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


def _state_key(composition_arn: str) -> str:
    """Where the local stack keeps a composition's state for its other processes (nothing of
    IVS's layout: IVS keeps it in its own service)."""
    return f"local-media/compositions/{composition_arn.rsplit('/', 1)[-1]}.json"


def _check_arn(stage_arn: str) -> None:
    # IVS answers a malformed ARN with ValidationException; here it is a bug in the caller.
    if not STAGE_ARN_PATTERN.match(stage_arn):
        raise ValueError(f"{stage_arn!r} is not an IVS stage ARN")
