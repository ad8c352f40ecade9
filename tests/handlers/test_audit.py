"""The audit trail: the JSON lines the API and the reindexer write, read back as emitted."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from support.apigw import http_event
from support.dists import wheel_bytes
from support.forms import multipart, upload_fields
from support.s3events import s3_event

from serverless_pypi import config, layout, logs, publish, status
from serverless_pypi.api.app import ApiApp
from serverless_pypi.reindex.app import ReindexApp
from serverless_pypi.status import ProjectStatus, Status
from serverless_pypi.storage import Bucket

PASSWORD = "hunter2-very-secret"
BASIC = "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode()


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """The package's log as the functions write it, at WARNING: audit lines still come."""
    stream = io.StringIO()
    logs.setup("WARNING", stream=stream)
    yield stream
    logs.setup("WARNING")


def audit(stream: io.StringIO) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    return [line for line in lines if "event" in line]


@pytest.fixture
def api(bucket: Bucket) -> ApiApp:
    return ApiApp(config.Settings(bucket=bucket.name, uploads="authenticated"), bucket)


@pytest.fixture
def reindex(settings: config.Settings, bucket: Bucket) -> ReindexApp:
    return ReindexApp(settings, bucket)


def post(api: ApiApp, version: str = "1.0", *, user: str | None = "alice", **over: str) -> int:
    filename = f"pkg-{version}-py3-none-any.whl"
    data = wheel_bytes("pkg", version)
    fields = [(k, over.get(k, v)) for k, v in upload_fields("pkg", version, filename, data)]
    content_type, body = multipart(fields, (filename, data))
    event = http_event(
        "POST",
        "/legacy/",
        headers={"Content-Type": content_type, "Authorization": BASIC},
        body=body,
    )
    verdict = {"authenticated": user is not None, "username": user or "", "uploader": True}
    event["requestContext"]["authorizer"] = {"lambda": verdict}
    return int(api.handle(event)["statusCode"])


def test_uploads_accepted_and_refused_are_audited(
    api: ApiApp, bucket: Bucket, log_lines: io.StringIO
) -> None:
    sha256 = hashlib.sha256(wheel_bytes("pkg", "1.0")).hexdigest()
    assert post(api) == 200
    assert post(api) == 200  # identical again
    assert post(api, "1.1", sha256_digest="0" * 64) == 400
    assert post(api, user=None) == 401
    status.write(bucket, "pkg", ProjectStatus(Status.ARCHIVED, "frozen"))
    assert post(api, "1.2") == 403

    first, again, mismatch, anonymous, archived = audit(log_lines)
    assert first == {
        **{k: first[k] for k in ("time", "level", "logger", "message", "request_id")},
        "event": "upload.accepted",
        "user": "alice",
        "project": "pkg",
        "file": "pkg-1.0-py3-none-any.whl",
        "sha256": sha256,
        "size": len(wheel_bytes("pkg", "1.0")),
        "key": "pkg/pkg-1.0-py3-none-any.whl",
        "new_file": True,
    }
    assert first["logger"] == "serverless_pypi.audit" and first["message"] == "upload.accepted"
    assert again["event"] == "upload.accepted" and again["new_file"] is False
    assert mismatch["event"] == "upload.refused" and mismatch["status"] == 400
    assert mismatch["sha256"] == hashlib.sha256(wheel_bytes("pkg", "1.1")).hexdigest()
    assert mismatch["file"] == "pkg-1.1-py3-none-any.whl" and mismatch["user"] == "alice"
    assert "sha256_digest does not match" in mismatch["reason"]
    assert anonymous["event"] == "upload.refused" and anonymous["status"] == 401
    assert "user" not in anonymous and "file" not in anonymous  # refused before the form
    assert archived["status"] == 403 and archived["project"] == "pkg"
    assert "archived (frozen)" in archived["reason"]


def test_reindexer_audits_each_change_it_observes(
    bucket: Bucket, reindex: ReindexApp, log_lines: io.StringIO
) -> None:
    key = "pkg/pkg-1.0-py3-none-any.whl"

    def changed(*keys: str, event: str = "ObjectCreated:Put") -> list[dict[str, Any]]:
        log_lines.seek(0)
        log_lines.truncate()
        reindex.handle(s3_event(bucket.name, *keys, event=event))
        drop = ("time", "level", "logger")
        return [{k: v for k, v in a.items() if k not in drop} for a in audit(log_lines)]

    first = wheel_bytes("pkg", "1.0")
    bucket.put(key, first, "application/zip")
    added = changed(key)
    assert len(added) == 1 and added[0]["event"] == "file.added"
    assert added[0]["sha256"] == hashlib.sha256(first).hexdigest() and added[0]["key"] == key
    assert changed(key) == []  # nothing changed: nothing logged

    publish.yank(bucket, key, "broken")
    assert [(a["event"], a.get("reason")) for a in changed(layout.yank_key(key))] == [
        ("file.yanked", "broken")
    ]
    publish.unyank(bucket, key)
    assert [a["event"] for a in changed(layout.yank_key(key))] == ["file.unyanked"]

    other = wheel_bytes("pkg", "1.0", payload=b"other bytes")
    bucket.put(key, other, "application/zip")
    (replaced,) = changed(key)
    assert replaced["event"] == "file.replaced"
    assert replaced["previous_sha256"] == hashlib.sha256(first).hexdigest()
    assert replaced["sha256"] == hashlib.sha256(other).hexdigest()

    status.write(bucket, "pkg", ProjectStatus(Status.QUARANTINED, "malware"))
    (quarantined,) = changed(layout.status_key("pkg"))
    assert quarantined == {
        **{k: quarantined[k] for k in ("message", "request_id") if k in quarantined},
        "event": "project.status",
        "project": "pkg",
        "status": "quarantined",
        "reason": "malware",
        "previous_status": "active",
    }

    bucket.delete(key)
    (removed,) = changed(key, event="ObjectRemoved:Delete")
    assert removed["event"] == "file.removed" and removed["sha256"] == replaced["sha256"]


def test_no_secret_or_presigned_url_reaches_any_log_line(
    api: ApiApp, bucket: Bucket, reindex: ReindexApp, log_lines: io.StringIO
) -> None:
    logs.setup("DEBUG", stream=log_lines)
    assert post(api) == 200
    reindex.handle(s3_event(bucket.name, "pkg/pkg-1.0-py3-none-any.whl"))
    download = http_event(
        "GET", "/files/pkg/pkg-1.0-py3-none-any.whl", headers={"Authorization": BASIC}
    )
    response = api.handle(download)
    assert response["statusCode"] == 302
    text = log_lines.getvalue()
    assert audit(log_lines), "no audit line at all"
    for secret in (PASSWORD, BASIC.split()[1], response["headers"]["Location"], "Signature="):
        assert secret not in text
