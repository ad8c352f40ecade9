"""A full rebuild spread over the reindex queue, for a bucket of any size.

One invocation cannot rebuild past roughly 100,000 projects within Lambda's 15 minutes. With
a queue (``SERVERLESS_PYPI_QUEUE_URL``), ``{"reindex": "*"}`` only lists the bucket's
top-level prefixes (1,000 per request) and sends one message per ``PROJECTS_PER_MESSAGE``
projects, naming each project's spellings; the event source mapping then rebuilds them in
batches (``batch``) at its bounded concurrency, one root update per batch. Projects that only
the derived data still knows (a document or a root entry without any object) are sent too, so
their documents are emptied and they leave the root, as ``rebuild_all`` does.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterator
from typing import Any, Protocol

from serverless_pypi import layout, names
from serverless_pypi.errors import StoreUnavailable
from serverless_pypi.reindex.batch import REBUILD_KEY
from serverless_pypi.reindex.root import RootIndex
from serverless_pypi.storage import Bucket

log = logging.getLogger(__name__)

#: Projects per message: a batch of ten messages is then about 500 projects' rebuilds.
PROJECTS_PER_MESSAGE = 50
#: SQS's limit on the entries of one SendMessageBatch.
SEND_BATCH = 10


#: Seconds before a failed message is tried again (instead of the queue's visibility timeout,
#: six times the function's timeout): a lost race should not hold a project back for long.
RETRY_AFTER = 10


class Queue(Protocol):
    def send(self, bodies: list[str]) -> None:
        """Send each body as one message (at most ``SEND_BATCH``); raise if any was not."""

    def retry_soon(self, receipt_handles: list[str]) -> None:
        """Make these received messages visible again after ``RETRY_AFTER`` seconds."""


class SqsQueue:
    """The reindex queue through an SQS client."""

    def __init__(self, client: Any, url: str) -> None:
        self.client = client
        self.url = url

    def send(self, bodies: list[str]) -> None:
        entries = [{"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies)]
        try:
            response = self.client.send_message_batch(QueueUrl=self.url, Entries=entries)
        except Exception as exc:  # botocore's errors, whatever their class
            raise StoreUnavailable(
                f"SendMessageBatch: {type(exc).__name__}", transient=True
            ) from exc
        if response.get("Failed"):
            failed = len(response["Failed"])
            raise StoreUnavailable(f"SendMessageBatch: {failed} not sent", transient=True)

    def retry_soon(self, receipt_handles: list[str]) -> None:
        for start in range(0, len(receipt_handles), SEND_BATCH):
            entries = [
                {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": RETRY_AFTER}
                for i, handle in enumerate(receipt_handles[start : start + SEND_BATCH])
            ]
            try:
                self.client.change_message_visibility_batch(QueueUrl=self.url, Entries=entries)
            except Exception:  # they are retried after the visibility timeout anyway
                log.warning("could not shorten the retry delay of failed messages")


def make_queue(url: str, region: str) -> SqsQueue:
    from botocore.config import Config
    from botocore.session import get_session

    config = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5)
    return SqsQueue(get_session().create_client("sqs", region_name=region, config=config), url)


def projects_to_rebuild(bucket: Bucket, root: RootIndex) -> dict[str, set[str]]:
    """Every project the bucket or the derived data knows, with the prefixes spelling it."""
    found: dict[str, set[str]] = defaultdict(set)
    for prefix in bucket.list_prefixes(""):
        project = names.canonical(prefix)
        if project is not None and not layout.is_reserved_key(prefix + "/"):
            found[project].add(prefix)
    for doc in bucket.list_objects(layout.PROJECT_DOCS_PREFIX):
        name = names.canonical(
            doc.key.removeprefix(layout.PROJECT_DOCS_PREFIX).removesuffix(".json")
        )
        if name is not None:
            found.setdefault(name, set())  # known to the derived data, maybe no objects
    for listed in root.load()[0]:
        found.setdefault(listed, set())
    return found


def messages(found: dict[str, set[str]]) -> Iterator[str]:
    """The fan-out message bodies, ``PROJECTS_PER_MESSAGE`` projects each."""
    ordered = sorted(found)
    for start in range(0, len(ordered), PROJECTS_PER_MESSAGE):
        chunk = {p: sorted(found[p]) for p in ordered[start : start + PROJECTS_PER_MESSAGE]}
        yield json.dumps({REBUILD_KEY: chunk}, separators=(",", ":"))


def fan_out(bucket: Bucket, root: RootIndex, queue: Queue) -> dict[str, int]:
    """Send the whole bucket's rebuild to the queue; returns what was sent."""
    found = projects_to_rebuild(bucket, root)
    sent = 0
    pending: list[str] = []
    for body in messages(found):
        pending.append(body)
        if len(pending) == SEND_BATCH:
            queue.send(pending)
            sent, pending = sent + len(pending), []
    if pending:
        queue.send(pending)
        sent += len(pending)
    for key in layout.LEGACY_ROOT_KEYS:
        bucket.delete(key)
    log.info("full rebuild sent to the queue", extra={"projects": len(found), "messages": sent})
    return {"projects": len(found), "messages": sent}
