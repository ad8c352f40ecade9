"""Issue 11 items 10 and 11: a too-large upload says the real limit and what to use instead;
``.metadata`` responses revalidate with ETags like pages do."""

from __future__ import annotations

import re
from pathlib import Path

from support.apigw import http_event
from support.dists import wheel_bytes
from support.forms import multipart, upload_fields

from serverless_pypi import config
from serverless_pypi.api.app import MAX_UPLOAD_BYTES, ApiApp
from serverless_pypi.reindex.app import ReindexApp
from serverless_pypi.storage import Bucket

README = Path(__file__).resolve().parents[2] / "README.md"


def test_too_large_upload_is_413_with_the_limit_and_the_cli(bucket: Bucket) -> None:
    app = ApiApp(config.Settings(bucket=bucket.name, uploads="unauthenticated-insecure"), bucket)
    data = wheel_bytes("big", "1.0", payload=b"x" * (MAX_UPLOAD_BYTES + 1))
    content_type, body = multipart(
        upload_fields("big", "1.0", "big-1.0-py3-none-any.whl", data),
        ("big-1.0-py3-none-any.whl", data),
    )
    event = http_event("POST", "/legacy/", headers={"Content-Type": content_type}, body=body)
    response = app.handle(event)
    assert response["statusCode"] == 413
    assert f"{MAX_UPLOAD_BYTES / 1e6:.1f} MB" in response["body"]
    assert "serverless-pypi upload" in response["body"]
    assert bucket.client.list_objects_v2(Bucket=bucket.name).get("KeyCount") == 0


def test_readme_states_the_real_upload_limit() -> None:
    text = README.read_text()
    assert f"{MAX_UPLOAD_BYTES / 1e6:.1f} MB" in text
    assert not re.search(r"limited to 10 MB", text)


def test_metadata_answers_304_to_a_matching_if_none_match(
    bucket: Bucket, settings: config.Settings
) -> None:
    bucket.put("pkg/pkg-1.0-py3-none-any.whl", wheel_bytes("pkg", "1.0"), "application/zip")
    ReindexApp(settings, bucket).rebuild_all()
    app = ApiApp(settings, bucket)
    path = "/files/pkg/pkg-1.0-py3-none-any.whl.metadata"
    first = app.handle(http_event("GET", path))
    assert first["statusCode"] == 200
    etag = first["headers"]["ETag"]
    again = app.handle(http_event("GET", path, headers={"If-None-Match": etag}))
    assert again["statusCode"] == 304 and again["body"] == ""
    assert again["headers"]["ETag"] == etag
    other = app.handle(http_event("GET", path, headers={"If-None-Match": '"other"'}))
    assert other["statusCode"] == 200 and other["body"] == first["body"]
