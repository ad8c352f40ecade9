"""The local server every end-to-end module installs from and publishes to."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.localserver import LocalIndex, start


@pytest.fixture(scope="module")
def index() -> Iterator[LocalIndex]:
    """A fresh ephemeral ``serverless-pypi serve`` per module, logging requests at INFO (read
    back by ``LocalIndex.requests``); it must exit cleanly."""
    server = start("--ephemeral", log_level="INFO")
    yield server
    assert server.stop() == 0
