"""RemuxPort over AWS Elemental MediaConvert: a recording's HLS playlists in the recordings bucket
(one per segment: IVS may have stopped the composition and the app started another) -> one
audio file (AAC in an MP4 container, `.m4a`) in the same bucket. A job with several inputs
writes them one after the other into its outputs, in the order of `Settings.Inputs`.

The boto3 `mediaconvert` client is injected (bootstrap builds it once per container). It talks to
the regional endpoint (`mediaconvert.<region>.amazonaws.com`, what botocore resolves): the
account-specific endpoint of DescribeEndpoints is no longer required (the API model's own
documentation of DescribeEndpoints says so). MediaConvert reads the input and writes the output
with the role passed as `Role` (made by infra/, `SPACES_MEDIACONVERT_ROLE_ARN`), not with the
caller's permissions; the caller needs iam:PassRole on it.

Failures are translated by error code only: NotFoundException on GetJob is a job that does not
exist (status ERROR, so the landing starts another); every other error, and no answer at all, is
`DependencyFailed(code="remux_unavailable")`.
"""
from __future__ import annotations

import re

from chalicelib.adapters.aws_errors import client_error_code, raise_unavailable
from chalicelib.ports import RemuxStatus

REMUX_UNAVAILABLE = "remux_unavailable"
OUTPUT_EXTENSION = ".m4a"
# Speech from a composition of up to 12 publishers: AAC-LC, 48 kHz stereo (what the composition
# carries), 96 kbps constant bitrate. Audio-only MP4 with AAC is a combination MediaConvert lists
# for audio-only outputs (docs/recording.md, "What is verified").
AAC_SETTINGS = {
    "Codec": "AAC",
    "AacSettings": {
        "CodecProfile": "LC",
        "CodingMode": "CODING_MODE_2_0",
        "SampleRate": 48000,
        "Bitrate": 96000,
        "RateControlMode": "CBR",
    },
}
AUDIO_SELECTOR = "Audio Selector 1"
# ClientRequestToken: MediaConvert returns the first job for a token reused within a minute.
_TOKEN_FORBIDDEN = re.compile(r"[^A-Za-z0-9_-]")
_TOKEN_MAX = 64
_RUNNING = ("SUBMITTED", "PROGRESSING")
_FAILED = ("ERROR", "CANCELED")


class MediaConvertRemux:
    def __init__(self, client, *, bucket: str, role_arn: str, metadata: dict[str, str] | None = None):
        self._client = client
        self.bucket = bucket
        self._role_arn = role_arn
        # UserMetadata (not Tags: tagging a job would need mediaconvert:TagResource too).
        self._metadata = dict(metadata or {})

    @property
    def configured(self) -> bool:
        return bool(self._role_arn)

    def start(self, name: str, source_keys: list[str], output_key: str) -> str:
        if not output_key.endswith(OUTPUT_EXTENSION):
            raise ValueError(f"the replay file must be an {OUTPUT_EXTENSION} key, not {output_key!r}")
        if isinstance(source_keys, str):
            raise TypeError("source_keys is a list of playlist keys, not one key")
        if not source_keys:
            raise ValueError("a remux needs at least one input")
        try:
            response = self._client.create_job(**self.job_request(name, source_keys, output_key))
        except Exception as exc:
            raise_unavailable("MediaConvert", "CreateJob", exc, code=REMUX_UNAVAILABLE)
        return response["Job"]["Id"]

    def job_request(self, name: str, source_keys: list[str], output_key: str) -> dict:
        """The CreateJob request: one HLS input per segment, in order (MediaConvert stitches a
        job's inputs one after the other), one file output group with one audio-only output (no
        VideoDescription: MediaConvert then writes an audio-only file)."""
        # FileGroupSettings.Destination is the output's name without its extension, which
        # MediaConvert appends (`Extension`); with one output no NameModifier is needed.
        base = output_key[: -len(OUTPUT_EXTENSION)]
        return {
            "Role": self._role_arn,
            "ClientRequestToken": _TOKEN_FORBIDDEN.sub("-", name)[:_TOKEN_MAX],
            "UserMetadata": {**self._metadata, "source": source_keys[0], "inputs": str(len(source_keys))},
            "Settings": {
                "Inputs": [
                    {
                        "FileInput": f"s3://{self.bucket}/{key}",
                        "AudioSelectors": {AUDIO_SELECTOR: {"DefaultSelection": "DEFAULT"}},
                        "TimecodeSource": "ZEROBASED",
                    }
                    for key in source_keys
                ],
                "OutputGroups": [
                    {
                        "Name": "replay",
                        "OutputGroupSettings": {
                            "Type": "FILE_GROUP_SETTINGS",
                            "FileGroupSettings": {"Destination": f"s3://{self.bucket}/{base}"},
                        },
                        "Outputs": [
                            {
                                "Extension": OUTPUT_EXTENSION.lstrip("."),
                                # The index first, so a player starts before the whole file is in.
                                "ContainerSettings": {
                                    "Container": "MP4",
                                    "Mp4Settings": {"MoovPlacement": "PROGRESSIVE_DOWNLOAD"},
                                },
                                "AudioDescriptions": [
                                    {"AudioSourceName": AUDIO_SELECTOR, "CodecSettings": AAC_SETTINGS}
                                ],
                            }
                        ],
                    }
                ],
            },
        }

    def status(self, job_id: str) -> RemuxStatus:
        try:
            job = self._client.get_job(Id=job_id)["Job"]
        except Exception as exc:
            if client_error_code(exc) == "NotFoundException":
                return RemuxStatus(state="ERROR", failure="no such MediaConvert job")
            raise_unavailable("MediaConvert", "GetJob", exc, code=REMUX_UNAVAILABLE)
        state = job.get("Status", "SUBMITTED")
        if state == "COMPLETE":
            return RemuxStatus(state="COMPLETE")
        if state in _FAILED:
            reason = " ".join(str(p) for p in (job.get("ErrorCode"), job.get("ErrorMessage")) if p)
            return RemuxStatus(state="ERROR", failure=f"{state}: {reason}" if reason else state)
        if state in _RUNNING:
            return RemuxStatus(state="RUNNING")
        return RemuxStatus(state="RUNNING", failure=f"unknown MediaConvert job status {state!r}")
