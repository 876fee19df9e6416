"""TranscriptionPort over Amazon Transcribe batch jobs: a replay's recording in the recordings
bucket -> WebVTT subtitles written back into the same bucket.

The boto3 `transcribe` client is injected; its calls go through `aws_call` (adapters/aws_errors.py). Transcribe writes with the caller's permissions (no
data-access role is passed), so the function that starts a job needs s3:GetObject on the
recording and s3:PutObject on the output key (infra/permissions.py).
"""
from __future__ import annotations

from urllib.parse import unquote, urlsplit

from chalicelib.adapters.aws_errors import aws_call
from chalicelib.domain.replays import TranscriptionStatus

TRANSCRIPTION_UNAVAILABLE = "transcription_unavailable"


class TranscribeJobs:
    def __init__(self, client, *, bucket: str):
        self._client = client
        self.bucket = bucket

    def start(self, job_name: str, media_key: str, output_key: str, language: str) -> None:
        aws_call(
            "Transcribe",
            "StartTranscriptionJob",
            self._client.start_transcription_job,
            code=TRANSCRIPTION_UNAVAILABLE,
            # A job of this name exists: a landing retried after its first start went through.
            tolerate=("ConflictException",),
            TranscriptionJobName=job_name,
            Media={"MediaFileUri": f"s3://{self.bucket}/{media_key}"},
            OutputBucketName=self.bucket,
            OutputKey=output_key,
            LanguageCode=language,
            Subtitles={"Formats": ["vtt"], "OutputStartIndex": 1},
        )

    def status(self, job_name: str) -> TranscriptionStatus:
        answer = aws_call(
            "Transcribe",
            "GetTranscriptionJob",
            self._client.get_transcription_job,
            code=TRANSCRIPTION_UNAVAILABLE,
            # Transcribe answers an unknown job name with BadRequest ("couldn't be found"): either
            # way there is no job to wait for.
            tolerate=("NotFoundException", "BadRequestException"),
            TranscriptionJobName=job_name,
        )
        if answer is None:
            return TranscriptionStatus(state="FAILED", failure="no such transcription job")
        job = answer["TranscriptionJob"]
        state = job.get("TranscriptionJobStatus", "QUEUED")
        if state != "COMPLETED":
            return TranscriptionStatus(state=state, failure=job.get("FailureReason"))
        uris = (job.get("Subtitles") or {}).get("SubtitleFileUris") or []
        vtt = [u for u in uris if u.lower().endswith(".vtt")]
        return TranscriptionStatus(state=state, subtitle_key=self._key_of(vtt[0]) if vtt else None)

    def _key_of(self, uri: str) -> str | None:
        """The object key of an S3 URI Transcribe reports: path style
        (https://s3.<region>.amazonaws.com/<bucket>/<key>), virtual-hosted style, or s3://."""
        parts = urlsplit(uri)
        path = unquote(parts.path).lstrip("/")
        if parts.scheme == "s3":
            return path if parts.netloc == self.bucket else None
        if parts.netloc.startswith(f"{self.bucket}."):
            return path
        bucket, _, key = path.partition("/")
        return key if bucket == self.bucket and key else None
