"""Copying an upstream file into the bucket, after the first download was redirected upstream.

A Lambda's work ends with its response, so the API cannot copy "after answering". It hands a
``CopyJob`` to the copy function instead (``LambdaDispatcher``: an asynchronous ``Invoke``,
``InvocationType=Event``); that function (``handler``, 15 minutes, its own narrow role) streams
the file into a multipart upload under ``.upstream/files/`` and completes it only when the
bytes' sha256 and size match what the upstream's page said; otherwise the upload is aborted and
nothing is kept. In local mode (no function configured) the same ``copy_file`` runs in a
thread of the server (``ThreadDispatcher``). Copies are idempotent: an existing copy is left
alone, and two racing copies of the same bytes end with one object (``IfNoneMatch``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from serverless_pypi import config, errors, logs, names
from serverless_pypi.storage import Bucket, make_client
from serverless_pypi.upstream import cache
from serverless_pypi.upstream.client import file_url_allowed, open_stream

log = logging.getLogger(__name__)

EVENT_KEY = "upstream_copy"
#: The largest file copied (S3 multipart: 10,000 parts of ``PART_SIZE``).
MAX_COPY_BYTES = 8 * 1024**3
PART_SIZE = 16 * 1024 * 1024
#: Seconds one read from the upstream may block.
READ_TIMEOUT = 60.0
#: A thread copy (local mode) gets Lambda's longest run; in Lambda the invocation's remaining
#: time, less this margin to abort cleanly.
THREAD_BUDGET = 900.0
MARGIN = 20.0
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class CopyJob:
    project: str
    filename: str
    url: str
    sha256: str
    size: int | None

    def to_event(self) -> dict[str, Any]:
        return {EVENT_KEY: asdict(self)}

    @classmethod
    def from_event(cls, event: Any, upstream: str) -> CopyJob:
        """The job in an event, checked as if the upstream had sent it (never trusted)."""
        raw = event.get(EVENT_KEY) if isinstance(event, dict) else None
        if not isinstance(raw, dict):
            raise errors.Refused("not a copy event")
        project, filename, url = raw.get("project"), raw.get("filename"), raw.get("url")
        sha256, size = raw.get("sha256"), raw.get("size")
        dist = names.parse_filename(filename) if isinstance(filename, str) else None
        ok = (
            dist is not None
            and dist.project == project
            and isinstance(url, str)
            and file_url_allowed(url, upstream)
            and isinstance(sha256, str)
            and _SHA256.match(sha256) is not None
            and (size is None or (isinstance(size, int) and 0 <= size <= MAX_COPY_BYTES))
        )
        if not ok:
            raise errors.Refused("malformed copy event")
        assert dist is not None and isinstance(url, str) and isinstance(sha256, str)
        return cls(dist.project, dist.filename, url, sha256, size)


def _parts(stream: Any, job: CopyJob, deadline: float) -> Iterator[bytes]:
    """The file in parts, bounded by its announced size and the deadline; the last step checks
    the sha256, so a mismatch raises inside the upload and aborts it."""
    limit = job.size if job.size is not None else MAX_COPY_BYTES
    digest = hashlib.sha256()
    total = 0
    sent_parts = 0
    buffer = bytearray()
    while True:
        if time.monotonic() > deadline:
            raise errors.UpstreamUnavailable("copy ran out of time", timeout=True)
        chunk = stream.read(1024 * 1024)
        if not chunk:
            break
        total += len(chunk)
        if total > limit:
            raise errors.Refused("the upstream file is larger than its page said")
        digest.update(chunk)
        buffer += chunk
        if len(buffer) >= PART_SIZE:
            yield bytes(buffer)
            sent_parts += 1
            buffer.clear()
    if job.size is not None and total != job.size:
        raise errors.Refused("the upstream file is smaller than its page said")
    if digest.hexdigest() != job.sha256:
        raise errors.Refused("the upstream file's sha256 does not match its page")
    if buffer or not sent_parts:  # no empty last part
        yield bytes(buffer)


def copy_file(bucket: Bucket, job: CopyJob, *, budget: float = THREAD_BUDGET) -> bool:
    """Copy one file; True when a copy exists afterwards. Never raises: every failure is
    logged (the next download redirects upstream again and retries)."""
    key = cache.file_key(job.project, job.filename)
    deadline = time.monotonic() + budget
    try:
        if bucket.head(key) is not None:
            return True
        stream = open_stream(job.url, timeout=min(READ_TIMEOUT, budget))
        try:
            bucket.put_parts(
                key, _parts(stream, job, deadline), "application/octet-stream", if_none_match=True
            )
        finally:
            stream.close()
    except errors.PreconditionFailed:
        return True  # another copy finished first
    except errors.PackageIndexError as exc:
        log.warning(
            "upstream file not kept",
            extra={"project": job.project, "file": job.filename, "reason": exc.message},
        )
        return False
    except Exception:
        log.exception("upstream copy failed", extra={"file": job.filename})
        return False
    log.info("upstream file kept", extra={"key": key, "size": job.size})
    return True


Dispatcher = Callable[[CopyJob], None]


class ThreadDispatcher:
    """Local mode: the copy runs in a daemon thread of this process, one per file at a time."""

    def __init__(self, bucket: Bucket) -> None:
        self.bucket = bucket
        self._running: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, job: CopyJob) -> None:
        with self._lock:
            if job.filename in self._running:
                return
            self._running.add(job.filename)
        threading.Thread(target=self._run, args=(job,), daemon=True, name="upstream-copy").start()

    def _run(self, job: CopyJob) -> None:
        try:
            copy_file(self.bucket, job)
        finally:
            with self._lock:
                self._running.discard(job.filename)


class LambdaDispatcher:
    """In AWS: an asynchronous invocation of the copy function (the API does not wait)."""

    def __init__(self, function_name: str, region: str) -> None:
        self.function_name = function_name
        self.region = region

    @functools.cached_property
    def _client(self) -> Any:
        """Made on the first upstream download of a container, never on the page path."""
        from botocore.config import Config
        from botocore.session import get_session

        timeouts = Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 2})
        return get_session().create_client("lambda", region_name=self.region, config=timeouts)

    def __call__(self, job: CopyJob) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client.invoke(
                FunctionName=self.function_name,
                InvocationType="Event",
                Payload=json.dumps(job.to_event()).encode(),
            )
        except (BotoCoreError, ClientError) as exc:
            # The download is redirected upstream all the same; the next one tries again.
            log.warning("could not start the upstream copy", extra={"error": type(exc).__name__})


def dispatcher_for(settings: config.Settings, bucket: Bucket) -> Dispatcher:
    if settings.upstream_copy_function:
        return LambdaDispatcher(settings.upstream_copy_function, settings.region)
    return ThreadDispatcher(bucket)


@functools.cache
def _container() -> tuple[config.Settings, Bucket]:
    settings = config.load_upstream_copy()
    logs.setup(settings.log_level)
    return settings, Bucket(make_client(settings), settings.bucket)


def handler(event: Any, context: Any) -> dict[str, Any]:
    """The copy function's entry point (``serverless_pypi.upstream.copy.handler``)."""
    settings, bucket = _container()
    assert settings.upstream_index_url is not None
    with logs.request_scope(getattr(context, "aws_request_id", None)):
        try:
            job = CopyJob.from_event(event, settings.upstream_index_url)
        except errors.Refused as exc:
            log.error("refused copy event", extra={"reason": exc.message})
            return {"copied": False, "reason": exc.message}
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        budget = remaining() / 1000 - MARGIN if callable(remaining) else THREAD_BUDGET
        return {"copied": copy_file(bucket, job, budget=max(budget, 1.0))}
