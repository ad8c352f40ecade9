"""Local uploads answer right however long indexing takes (moto delivers S3 events inside the
PutObject; when the reindex handler ran inside that delivery, a slow one held up the API's
PutObject past its read timeout, and botocore's retry of the conditional PUT found the object
and said "Identical file already present"). The queue's poller now runs the handler apart from
the upload."""

from __future__ import annotations

import io
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.config import Config
from botocore.session import get_session
from support.dists import wheel_bytes, wheel_filename
from support.forms import multipart, upload_fields

from serverless_pypi import config
from serverless_pypi.api.app import ApiApp
from serverless_pypi.local.serve import Options, Running, start
from serverless_pypi.reindex.app import ReindexApp
from serverless_pypi.storage import Bucket

READ_TIMEOUT = 4  # seconds: the API's S3 client gives up on a response after this
INDEXING_DELAY = 6  # seconds: longer than READ_TIMEOUT
PROJECT = "slow-pkg"
FILENAME = wheel_filename(PROJECT, "1.0")

assert READ_TIMEOUT < INDEXING_DELAY


def _impatient_api(settings: config.Settings) -> ApiApp:
    """The real API, with an S3 client whose read timeout is short (retries as in Lambda)."""
    client = get_session().create_client(
        "s3",
        region_name=settings.region,
        endpoint_url=settings.s3_endpoint_url,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"mode": "standard", "max_attempts": 3},
            read_timeout=READ_TIMEOUT,
        ),
    )
    return ApiApp(settings, Bucket(client, settings.bucket))


class _SlowReindex(ReindexApp):
    """The real reindex handler, slow for the event about the uploaded file."""

    slowed = threading.Event()

    def handle(self, event: Any, context: Any = None) -> dict[str, Any]:
        if FILENAME in json.dumps(event) and not self.slowed.is_set():
            self.slowed.set()
            time.sleep(INDEXING_DELAY)
        return super().handle(event, context)


@pytest.fixture
def running() -> Iterator[Running]:
    _SlowReindex.slowed.clear()
    run = start(
        Options(port=0, ephemeral=True),
        api_factory=_impatient_api,
        reindex_factory=_SlowReindex,
        out=io.StringIO(),
    )
    yield run
    run.stop()


def _upload(running: Running, data: bytes) -> tuple[int, str]:
    content_type, body = multipart(upload_fields(PROJECT, "1.0", FILENAME, data), (FILENAME, data))
    request = urllib.request.Request(
        running.index_url.removesuffix("simple/") + "legacy/",
        data=body,
        headers={"Content-Type": content_type},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _listed(running: Running) -> list[str]:
    request = urllib.request.Request(
        running.index_url + f"{PROJECT}/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return [f["filename"] for f in json.load(response)["files"]]
    except urllib.error.HTTPError:
        return []


def test_an_upload_is_uploaded_even_when_indexing_outlasts_the_read_timeout(
    running: Running,
) -> None:
    status, text = _upload(running, wheel_bytes(PROJECT, "1.0"))
    assert (status, text.strip()) == (200, "Uploaded.")
    assert _SlowReindex.slowed.wait(10)  # indexing this very upload was slow
    deadline = time.monotonic() + 30
    while FILENAME not in _listed(running):
        assert time.monotonic() < deadline, "the file was never indexed"
        time.sleep(0.1)
