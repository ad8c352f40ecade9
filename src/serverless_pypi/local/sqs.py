"""The local stand-in for the reindex function's event source mapping: SQS queue → batches →
the reindex handler, with the semantics the Terraform module configures in AWS.

moto delivers an S3 event to the topic and the topic to the queue inside the PutObject that
caused it (quickly: no HTTP callback), so an upload never waits for indexing. This poller then
long-polls the queue, gathers up to ``batch_size`` messages (waiting at most ``window`` seconds
after the first), hands them to the handler as the SQS event Lambda would, and deletes the
messages the handler did not list in ``batchItemFailures``. Failed messages (all of them if the
handler raised) become visible again after ``retry_after`` seconds; the queue's redrive policy
moves a message received ``max_receives`` times to the dead-letter queue, as in AWS.

The window is short locally (a twentieth of a second), and ``drained`` lets the S3 request
that notified wait (up to ``ANSWER_WITHIN`` seconds) until the queue is empty: a file is then
indexed by the time its upload returns, as before the queue, while a slow reindex still never
holds an upload past its S3 client's read timeout. ``stop`` drains the queue first, so no
upload is left unmirrored or unindexed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_plus

from serverless_pypi.local.context import LocalContext

log = logging.getLogger("serverless_pypi.local")

BATCH_SIZE = 10
WINDOW = 0.05
#: Seconds an S3 request that notified waits for the queue to drain.
ANSWER_WITHIN = 3.0
#: Seconds ``stop`` waits for the queue to drain.
CLOSE_TIMEOUT = 60.0
#: SQS's limit per ReceiveMessage.
RECEIVE_LIMIT = 10
#: Seconds a failed message stays invisible before it is tried again.
RETRY_AFTER = 1
#: Receives before a message moves to the dead-letter queue (the module's default).
MAX_RECEIVES = 5
#: Seconds one long poll waits; also how long ``stop`` may take to notice.
LONG_POLL = 1
#: Seconds a received batch stays invisible to other receivers while the handler runs.
VISIBILITY_TIMEOUT = 300

Handler = Callable[[dict[str, Any], Any], Any]
Mirror = Callable[[str], None]


def lambda_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One record of the SQS event Lambda sends for ``message`` (as ReceiveMessage returned it)."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": message.get("Attributes") or {},
        "messageAttributes": message.get("MessageAttributes") or {},
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def object_keys(s3_event_json: str, bucket: str) -> list[str]:
    """Keys of created/removed objects of ``bucket`` in an S3 event (decoded, in order)."""
    try:
        event = json.loads(s3_event_json)
    except ValueError:
        return []
    records = event.get("Records") if isinstance(event, dict) else None
    keys: list[str] = []
    for record in records if isinstance(records, list) else []:
        try:
            name = record["eventName"]
            s3 = record["s3"]
            if record.get("eventSource") != "aws:s3" or s3["bucket"]["name"] != bucket:
                continue
            key = s3["object"]["key"]
        except (KeyError, TypeError):
            continue
        wanted = isinstance(name, str) and name.startswith(("ObjectCreated:", "ObjectRemoved:"))
        if wanted and isinstance(key, str) and key:
            keys.append(unquote_plus(key))  # S3 events carry quote_plus-encoded keys
    return keys


def envelope_keys(body: str, bucket: str) -> list[str]:
    """The object keys of ``bucket`` that the S3 event in an SNS envelope names."""
    try:
        envelope = json.loads(body)
    except ValueError:
        return []
    message = envelope.get("Message") if isinstance(envelope, dict) else None
    return object_keys(message, bucket) if isinstance(message, str) else []


def failed_ids(result: Any, batch: list[dict[str, Any]]) -> set[str]:
    """The message ids a handler's response reports as failed. As in AWS, a response that
    names an id not in the batch, or is malformed, fails the whole batch."""
    ids = {m["MessageId"] for m in batch}
    failures = result.get("batchItemFailures") if isinstance(result, dict) else None
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return ids
    named = {f.get("itemIdentifier") for f in failures if isinstance(f, dict)}
    return {i for i in named if isinstance(i, str)} if named <= ids else ids


class QueuePoller:
    """Polls one queue on a thread and feeds its batches to ``handler``."""

    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        handler: Handler,
        *,
        bucket: str,
        mirror: Mirror | None = None,
        region: str = "us-east-1",
        batch_size: int = BATCH_SIZE,
        window: float = WINDOW,
        retry_after: int = RETRY_AFTER,
    ) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.handler = handler
        self.bucket = bucket
        self.mirror = mirror
        self.region = region
        self.batch_size = batch_size
        self.window = window
        self.retry_after = retry_after
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        #: Set while a batch is with the handler (its messages also count as not visible).
        self._busy = threading.Event()

    def _receive(self, wait: int, at_most: int) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=min(RECEIVE_LIMIT, at_most),
            WaitTimeSeconds=wait,
            VisibilityTimeout=VISIBILITY_TIMEOUT,
            MessageSystemAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    def gather(self, wait: int = LONG_POLL) -> list[dict[str, Any]]:
        """One batch: the first messages within ``wait`` seconds, then more for ``window``."""
        batch = self._receive(wait, self.batch_size)
        deadline = time.monotonic() + self.window
        while batch and len(batch) < self.batch_size and time.monotonic() < deadline:
            more = self._receive(0, self.batch_size - len(batch))
            batch += more
            if not more:
                time.sleep(min(0.02, max(0.0, deadline - time.monotonic())))
        return batch

    def deliver(self, batch: list[dict[str, Any]]) -> set[str]:
        """Hand ``batch`` to the handler; delete what succeeded; return the failed ids."""
        if self.mirror is not None:
            # Before reindexing, so derived objects are mirrored after what they describe.
            for message in batch:
                for key in envelope_keys(message.get("Body", ""), self.bucket):
                    try:
                        self.mirror(key)
                    except Exception:
                        log.exception("could not mirror an object to the data directory")
        event = {"Records": [lambda_record(m, self.queue_arn, self.region) for m in batch]}
        context = LocalContext(
            function_name="serverless-pypi-reindex", timeout_ms=300_000, region=self.region
        )
        try:
            failed = failed_ids(self.handler(event, context), batch)
        except Exception:
            log.exception("reindex failed on a batch", extra={"messages": len(batch)})
            failed = {m["MessageId"] for m in batch}
        for message in batch:
            if message["MessageId"] in failed:
                self._retry_later(message)
            else:
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
        if failed:
            log.warning("reindex messages failed; retried later", extra={"count": len(failed)})
        return failed

    def _retry_later(self, message: dict[str, Any]) -> None:
        with contextlib.suppress(Exception):  # it is retried after its visibility timeout anyway
            self.sqs.change_message_visibility(
                QueueUrl=self.queue_url,
                ReceiptHandle=message["ReceiptHandle"],
                VisibilityTimeout=self.retry_after,
            )

    def _queued(self) -> int:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        response = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=names)
        return sum(int(response["Attributes"].get(name, 0)) for name in names)

    def wait_briefly(self) -> None:
        """The hook for S3 requests that notified: wait up to ``ANSWER_WITHIN`` seconds."""
        self.drained(ANSWER_WITHIN)

    def drained(self, timeout: float = ANSWER_WITHIN) -> bool:
        """Wait until no message is queued or in hand, up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while self._thread is not None:
            try:
                if not self._busy.is_set() and self._queued() == 0:
                    return True
            except Exception:  # moto stopping
                return False
            if time.monotonic() >= deadline:
                log.info("reindex queue not drained yet, answering", extra={"after_s": timeout})
                return False
            time.sleep(0.01)
        return False

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                batch = self.gather()
                if batch:
                    self._busy.set()
                    self.deliver(batch)
            except Exception:  # moto stopping, a network hiccup: keep polling until stopped
                if self._stopping.is_set():
                    return
                log.exception("polling the reindex queue failed")
                self._stopping.wait(1)
            finally:
                self._busy.clear()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="local-sqs-poller", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Drain the queue (up to ``timeout``), then stop polling (safe to call twice)."""
        self.drained(timeout)
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
