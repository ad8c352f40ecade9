"""The upload API at handler level: every refusal writes nothing."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from support.apigw import http_event
from support.dists import sdist_bytes, wheel_bytes
from support.forms import multipart, upload_fields

from serverless_pypi import config
from serverless_pypi.api.app import MAX_UPLOAD_BYTES, ApiApp
from serverless_pypi.storage import Bucket

WHEEL = "pkg-1.0-py3-none-any.whl"


@pytest.fixture
def app(bucket: Bucket) -> ApiApp:
    return ApiApp(config.Settings(bucket=bucket.name, uploads="unauthenticated-insecure"), bucket)


def post(
    app: ApiApp,
    content_type: str,
    body: bytes,
    path: str = "/legacy/",
    authorizer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    event = http_event("POST", path, headers={"Content-Type": content_type}, body=body)
    if authorizer is not None:
        event["requestContext"]["authorizer"] = authorizer
    return app.handle(event)


def form(
    filename: str = WHEEL, data: bytes | None = None, **overrides: str | None
) -> tuple[str, bytes]:
    """A valid form for ``pkg`` 1.0; an override replaces a field, ``None`` drops it."""
    data = wheel_bytes("pkg", "1.0") if data is None else data
    defaults = upload_fields("pkg", "1.0", filename, data)
    fields = [(k, v) for k, v in defaults if k not in overrides]
    fields += [(k, v) for k, v in overrides.items() if v is not None]
    return multipart(fields, (filename, data))


def objects(bucket: Bucket) -> dict[str, str]:
    listed = bucket.client.list_objects_v2(Bucket=bucket.name).get("Contents", [])
    return {o["Key"]: o["ETag"] for o in listed}


@pytest.mark.parametrize("path", ["/", "/legacy/", "/legacy"])
def test_upload_stores_under_canonical_prefix(app: ApiApp, bucket: Bucket, path: str) -> None:
    response = post(app, *form(), path=path)
    assert response["statusCode"] == 200, response["body"]
    assert "Location" not in response["headers"]
    stored = bucket.get(f"pkg/{WHEEL}")
    assert stored is not None and stored[0] == wheel_bytes("pkg", "1.0")


def test_sdist_upload(app: ApiApp, bucket: Bucket) -> None:
    data = sdist_bytes("My.Pkg", "2.0")
    response = post(app, *form("my_pkg-2.0.tar.gz", data, name="My.Pkg", version="2.0"))
    assert response["statusCode"] == 200, response["body"]
    assert bucket.get("my-pkg/my_pkg-2.0.tar.gz") is not None


def test_identical_reupload_succeeds_and_conflict_is_409(app: ApiApp, bucket: Bucket) -> None:
    assert post(app, *form())["statusCode"] == 200
    before = objects(bucket)
    assert post(app, *form())["statusCode"] == 200
    other = wheel_bytes("pkg", "1.0", payload=b"different")
    conflict = post(app, *form(data=other))
    assert conflict["statusCode"] == 409
    assert "already exists" in conflict["body"]
    assert objects(bucket) == before


def test_conflict_detected_under_another_spelling(app: ApiApp, bucket: Bucket) -> None:
    bucket.client.put_object(Bucket=bucket.name, Key=f"Pkg/{WHEEL}", Body=b"older bytes")
    conflict = post(app, *form())
    assert conflict["statusCode"] == 409
    assert bucket.get(f"pkg/{WHEEL}") is None


def truncated() -> tuple[str, bytes]:
    content_type, body = form()
    return content_type, body[: len(body) // 2]


BAD_FORMS = {
    "wrong sha256": lambda: form(sha256_digest="0" * 64),
    "wrong blake2": lambda: form(blake2_256_digest="0" * 64),
    "wrong name": lambda: form(name="other"),
    "wrong version": lambda: form(version="2.0"),
    "invalid version": lambda: form(version="not a version"),
    "wrong filetype": lambda: form(filetype="sdist"),
    "unknown filetype": lambda: form(filetype="bdist_egg"),
    "not an archive": lambda: form(data=b"just text"),
    "wheel without METADATA": lambda: form(data=b"PK\x05\x06" + b"\x00" * 18),
    "missing name": lambda: form(name=None),
    "missing sha256": lambda: form(sha256_digest=None),
    "missing version": lambda: form(version=None),
    "wrong action": lambda: form(**{":action": "submit"}),
    "wrong protocol": lambda: form(protocol_version="2"),
    "bad filename": lambda: form(filename="pkg.exe"),
    "no file": lambda: multipart(upload_fields("pkg", "1.0", WHEEL, b""), None),
    "truncated body": truncated,
    "not multipart": lambda: ("application/json", b"{}"),
    "no boundary": lambda: ("multipart/form-data", b"--x\r\n"),
}


@pytest.mark.parametrize("case", sorted(BAD_FORMS))
def test_bad_uploads_are_400_and_write_nothing(app: ApiApp, bucket: Bucket, case: str) -> None:
    before = objects(bucket)
    response = post(app, *BAD_FORMS[case]())
    assert response["statusCode"] == 400, (case, response["body"])
    assert 0 < len(response["body"]) < 300 and "Traceback" not in response["body"]
    assert objects(bucket) == before


def test_oversized_upload_is_413_and_names_the_cli(app: ApiApp, bucket: Bucket) -> None:
    response = post(app, "multipart/form-data; boundary=x", b"x" * (MAX_UPLOAD_BYTES + 1))
    assert response["statusCode"] == 413
    assert "serverless-pypi upload" in response["body"]
    assert objects(bucket) == {}


def test_uploads_off_by_default(bucket: Bucket) -> None:
    app = ApiApp(config.Settings(bucket=bucket.name), bucket)
    response = post(app, *form())
    assert response["statusCode"] == 403
    assert objects(bucket) == {}


def test_authenticated_mode_refuses_without_authorizer_context(bucket: Bucket) -> None:
    app = ApiApp(config.Settings(bucket=bucket.name, uploads="authenticated"), bucket)
    assert post(app, *form())["statusCode"] == 403
    assert objects(bucket) == {}


def test_upload_digest_matches_stored_bytes(app: ApiApp, bucket: Bucket) -> None:
    data = wheel_bytes("pkg", "1.0")
    post(app, *form(data=data))
    stored = bucket.get(f"pkg/{WHEEL}")
    assert stored is not None
    assert hashlib.sha256(stored[0]).hexdigest() == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("level", ["DEBUG", "INFO"])
def test_uploads_succeed_with_verbose_logging(
    app: ApiApp, bucket: Bucket, level: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every log call on the upload path must be valid at the Lambda's default level (INFO)."""
    import json
    import logging

    from serverless_pypi import logs

    logs.setup(level)
    try:
        assert post(app, *form())["statusCode"] == 200
        assert post(app, *form())["statusCode"] == 200  # the "already present" path too
    finally:
        logging.getLogger("serverless_pypi").setLevel(logging.WARNING)
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["new_file"] for r in records if r["message"] == "upload"] == [True, False]
