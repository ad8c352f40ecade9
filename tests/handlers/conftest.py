"""The two handler apps on the test bucket (modules that need other settings define their own
fixtures of these names, which take precedence)."""

from __future__ import annotations

import pytest

from serverless_pypi import config
from serverless_pypi.api.app import ApiApp
from serverless_pypi.reindex.app import ReindexApp
from serverless_pypi.storage import Bucket


@pytest.fixture
def api(settings: config.Settings, bucket: Bucket) -> ApiApp:
    return ApiApp(settings, bucket)


@pytest.fixture
def reindex(settings: config.Settings, bucket: Bucket) -> ReindexApp:
    return ReindexApp(settings, bucket)
