"""QueuePort over Amazon SQS: JSON bodies, sent ten to a SendMessageBatch.

SendMessageBatch is not atomic: a successful call may still list `Failed` entries. Those that
are not the sender's fault (throttling, an internal error on one entry) are sent again, up to
three more times with a short backoff; if any entry is still unsent, or one failed through the
sender's fault (too large, invalid characters), `DependencyFailed(code="queue_unavailable")` is
raised and the caller's own retry (an SQS redelivery, a client retry) resends the work. Handlers
downstream are idempotent, so entries sent twice are harmless.

The boto3 `sqs` client is injected. A queue given by name has its URL resolved once, lazily
(GetQueueUrl), on first use. Every ClientError and connection / timeout error becomes
`DependencyFailed(code="queue_unavailable")`, decided by type and error code only.
"""
from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from chalicelib.adapters.aws_errors import aws_call
from chalicelib.adapters.json_body import json_text
from chalicelib.domain.errors import DependencyFailed

QUEUE_UNAVAILABLE = "queue_unavailable"
BATCH_SIZE = 10  # SendMessageBatch maximum
RETRIES = 3


class SqsQueue:
    """QueuePort implemented with SQS, plus receive/delete for the local worker."""

    def __init__(
        self,
        client,
        *,
        queue_name: str | None = None,
        queue_url: str | None = None,
        backoff_seconds: float = 0.05,
        sleep=time.sleep,
    ):
        if not queue_name and not queue_url:
            raise ValueError("SqsQueue needs a queue_name or a queue_url")
        self._client = client
        self._name = queue_name
        self._url = queue_url
        self._backoff = backoff_seconds
        self._sleep = sleep

    @property
    def url(self) -> str:
        if self._url is None:
            response = self._call("GetQueueUrl", self._client.get_queue_url, QueueName=self._name)
            self._url = response["QueueUrl"]
        return self._url

    # ------------------------------------------------------------------ QueuePort

    def send_batch(self, bodies: Sequence[Any]) -> None:
        """Each body (a message Struct or a dict) as compact JSON with sorted keys."""
        encoded = [json_text(body) for body in bodies]
        unsent: list[dict] = []
        for start in range(0, len(encoded), BATCH_SIZE):
            unsent.extend(self._send_chunk(encoded[start : start + BATCH_SIZE]))
        if unsent:
            codes = sorted({entry.get("Code", "Unknown") for entry in unsent})
            raise DependencyFailed(
                f"SQS SendMessageBatch left {len(unsent)} of {len(bodies)} messages unsent ({', '.join(codes)})",
                code=QUEUE_UNAVAILABLE,
            )

    # ------------------------------------------------------------------ for the local worker

    def receive(self, max_messages: int = 10, wait_seconds: int = 0) -> list[tuple[str, dict]]:
        """Up to `max_messages` (at most 10) messages as (receipt_handle, body)."""
        response = self._call(
            "ReceiveMessage",
            self._client.receive_message,
            QueueUrl=self.url,
            MaxNumberOfMessages=max(1, min(max_messages, BATCH_SIZE)),
            WaitTimeSeconds=wait_seconds,
        )
        return [(m["ReceiptHandle"], json.loads(m["Body"])) for m in response.get("Messages", [])]

    def delete(self, receipt_handle: str) -> None:
        self._call(
            "DeleteMessage", self._client.delete_message, QueueUrl=self.url, ReceiptHandle=receipt_handle
        )

    def change_visibility(self, receipt_handle: str, seconds: int) -> None:
        """Make a received message visible again after `seconds` (0: at once), as a failed
        handler's message would be after the visibility timeout."""
        self._call(
            "ChangeMessageVisibility",
            self._client.change_message_visibility,
            QueueUrl=self.url,
            ReceiptHandle=receipt_handle,
            VisibilityTimeout=seconds,
        )

    # ------------------------------------------------------------------ internals

    def _send_chunk(self, encoded: list[str]) -> list[dict]:
        """Sends ≤ 10 bodies; returns the `Failed` entries of those still unsent."""
        pending = {str(i): body for i, body in enumerate(encoded)}
        sender_faults: list[dict] = []
        still_failing: list[dict] = []
        for attempt in range(RETRIES + 1):
            if attempt:
                self._sleep(self._backoff * 2 ** (attempt - 1))
            response = self._call(
                "SendMessageBatch",
                self._client.send_message_batch,
                QueueUrl=self.url,
                Entries=[{"Id": i, "MessageBody": body} for i, body in pending.items()],
            )
            failed = [f for f in response.get("Failed", []) if f.get("Id") in pending]
            # The sender's fault (too large, invalid characters) does not go away by resending.
            sender_faults.extend(f for f in failed if f.get("SenderFault"))
            still_failing = [f for f in failed if not f.get("SenderFault")]
            pending = {f["Id"]: pending[f["Id"]] for f in still_failing}
            if not pending:
                break
        return [*sender_faults, *still_failing]

    @staticmethod
    def _call(operation: str, method, **params):
        return aws_call("SQS", operation, method, code=QUEUE_UNAVAILABLE, **params)
