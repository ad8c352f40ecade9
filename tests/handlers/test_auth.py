"""The API's side of authentication: the authorizer's verdict → 401 / 403 / served."""

from __future__ import annotations

from typing import Any

import pytest
from support.apigw import http_event
from support.dists import wheel_bytes
from support.forms import multipart, upload_fields

from serverless_pypi import config
from serverless_pypi.api.app import ApiApp
from serverless_pypi.storage import Bucket

WHEEL = "pkg-1.0-py3-none-any.whl"


@pytest.fixture
def app(bucket: Bucket) -> ApiApp:
    settings = config.Settings(bucket=bucket.name, auth="basic", uploads="authenticated")
    return ApiApp(settings, bucket)


def call(app: ApiApp, method: str, path: str, verdict: Any, **kwargs: Any) -> dict[str, Any]:
    event = http_event(method, path, **kwargs)
    if verdict is not None:
        event["requestContext"]["authorizer"] = {"lambda": verdict}
    return app.handle(event)


READER = {"authenticated": True, "username": "alice", "uploader": False}
UPLOADER = {"authenticated": True, "username": "bob", "uploader": True}
DENIED = {"authenticated": False}


@pytest.mark.parametrize(
    "path", ["/simple/", "/simple/pkg/", f"/files/pkg/{WHEEL}", f"/files/pkg/{WHEEL}.metadata"]
)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_reads_need_an_authenticated_verdict(app: ApiApp, path: str, method: str) -> None:
    denied = call(app, method, path, DENIED)
    assert denied["statusCode"] == 401
    assert denied["headers"]["WWW-Authenticate"].startswith('Basic realm="')
    assert call(app, method, path, None)["statusCode"] == 403
    assert call(app, method, path, READER)["statusCode"] in (200, 404)


@pytest.mark.parametrize(
    "verdict",
    [
        {"authenticated": "false", "username": "x"},
        {"authenticated": True},  # no username
        {"authenticated": True, "username": ""},
        {"authenticated": 1, "username": "x"},
        "not a mapping",
    ],
)
def test_malformed_verdicts_are_unauthenticated(app: ApiApp, verdict: Any) -> None:
    assert call(app, "GET", "/simple/", verdict)["statusCode"] in (401, 403)


def test_headers_are_never_trusted(app: ApiApp) -> None:
    response = call(
        app,
        "GET",
        "/simple/",
        None,
        headers={"Authorization": "Basic Ym9iOnB3", "X-Username": "bob"},
    )
    assert response["statusCode"] == 403


def _upload(app: ApiApp, verdict: Any) -> dict[str, Any]:
    data = wheel_bytes("pkg", "1.0")
    content_type, body = multipart(upload_fields("pkg", "1.0", WHEEL, data), (WHEEL, data))
    return call(app, "POST", "/legacy/", verdict, headers={"Content-Type": content_type}, body=body)


def test_only_uploaders_upload(app: ApiApp, bucket: Bucket) -> None:
    assert _upload(app, None)["statusCode"] == 403
    assert _upload(app, DENIED)["statusCode"] == 401
    reader = _upload(app, READER)
    assert reader["statusCode"] == 403 and "alice" in reader["body"]
    assert bucket.get(f"pkg/{WHEEL}") is None
    assert _upload(app, UPLOADER)["statusCode"] == 200
    assert bucket.get(f"pkg/{WHEEL}") is not None


def test_authenticated_uploads_need_basic_auth() -> None:
    with pytest.raises(config.ConfigError):
        config.load({config.BUCKET: "b", config.UPLOADS: "authenticated"})
    settings = config.load(
        {config.BUCKET: "b", config.UPLOADS: "authenticated", config.AUTH: "basic"}
    )
    assert (settings.uploads, settings.auth) == ("authenticated", "basic")
