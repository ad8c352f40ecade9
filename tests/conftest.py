"""Shared fixtures, and a marker for each test directory.

Each directory under tests/ is one kind of test, and its name is the marker (``-m "not
terraform"``, ``-m unit``), declared in pyproject.toml. Helpers live in tests/support.

In CI (``CI=true``) a skipped test is a failure: a check that CI can run (moto server, pip, uv,
twine, terraform) must not silently not run.
"""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from serverless_pypi import config
from serverless_pypi.storage import Bucket, make_client

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
TESTS = Path(__file__).resolve().parent
#: The test directories, each also the marker its tests carry.
KINDS = ("unit", "handlers", "local", "cli", "e2e", "terraform", "bench")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test with its directory, so the kind of test is a path and a marker at once."""
    for item in items:
        kind = item.path.resolve().relative_to(TESTS).parts[0]
        if kind not in KINDS:
            raise pytest.UsageError(f"{item.nodeid}: tests live in one of {', '.join(KINDS)}")
        item.add_marker(kind)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which counts as a failure: {reason}"


@pytest.fixture(autouse=True)
def _aws_test_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never let a test reach a real AWS account."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture
def settings() -> config.Settings:
    return config.Settings(bucket="pypi-test", region="us-east-1")


@pytest.fixture
def bucket(settings: config.Settings) -> Iterator[Bucket]:
    """An in-process moto bucket (unit level; HTTP tests use moto server)."""
    from moto import mock_aws

    with mock_aws():
        client = make_client(settings)
        client.create_bucket(Bucket=settings.bucket)
        yield Bucket(client, settings.bucket)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """The endpoint of one moto server on loopback, for every test that talks to AWS over HTTP.

    It runs in this process, so it shares state with in-process moto, which resets it: tests keep
    their resources apart by name, and one that needs an empty account uses ``empty_moto_server``.
    """
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="module")
def empty_moto_server(moto_server: str) -> str:
    """The moto server with everything earlier tests made in it removed."""
    reset = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")
    with urllib.request.urlopen(reset, timeout=30) as response:
        assert response.status == 200
    return moto_server


@pytest.fixture(autouse=True)
def atomic_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make each in-process moto request atomic, as real S3 requests are. For every test:
    a full rebuild applies prefixes on a thread pool.

    In-process moto is not thread-safe: a concurrent overwrite of one key can close the buffer
    another thread is reading. Requests still interleave freely, which is what the concurrency
    tests are about.
    """
    import threading

    from moto.core.botocore_stubber import BotocoreStubber

    lock = threading.RLock()
    original = BotocoreStubber.__call__

    def locked(self: BotocoreStubber, *args: object, **kwargs: object) -> object:
        with lock:
            return original(self, *args, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", locked)
