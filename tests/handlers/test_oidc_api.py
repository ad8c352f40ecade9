"""``/_/oidc/*`` and uploads with upload tokens and group rights, at handler level (in-process
moto S3 and KMS, a fake OIDC provider on loopback)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from support.apigw import http_event
from support.dists import wheel_bytes, wheel_filename
from support.fake_oidc import FakeOidc
from support.forms import multipart, upload_fields

from serverless_pypi import config
from serverless_pypi.api.app import ApiApp
from serverless_pypi.storage import Bucket

AUDIENCE = "pypi-test"


@pytest.fixture
def provider() -> Iterator[FakeOidc]:
    fake = FakeOidc(claims={"repository": "acme/widgets"}).start()
    yield fake
    fake.stop()


def make_app(bucket: Bucket, provider: FakeOidc, **overrides: str) -> ApiApp:
    import boto3

    # The bucket fixture's mock_aws is active: KMS is in-process moto too.
    key = boto3.client("kms", region_name="us-east-1").create_key(
        KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC"
    )
    publishers = [
        {
            "issuer": provider.issuer,
            "claims": {"repository": "acme/widgets"},
            "projects": ["acme-*"],
        }
    ]
    env = {
        config.BUCKET: bucket.name,
        config.UPLOADS: "authenticated",
        config.AUTH: "basic",
        config.TRUSTED_PUBLISHERS: json.dumps(publishers),
        config.OIDC_AUDIENCE: AUDIENCE,
        config.UPLOAD_TOKEN_KEY_ID: key["KeyMetadata"]["Arn"],
        config.OIDC_ALLOW_LOOPBACK_HTTP: "true",
        config.UPLOAD_PERMISSIONS: json.dumps({"team-a": ["acme-a-*"]}),
        **overrides,
    }
    return ApiApp(config.load(env), bucket)


@pytest.fixture
def app(bucket: Bucket, provider: FakeOidc) -> ApiApp:
    return make_app(bucket, provider)


def call(
    app: ApiApp,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    verdict: dict[str, Any] | None = None,
) -> tuple[int, str]:
    event = http_event(method, path, headers=headers, body=body)
    # The authorizer always runs in front of the API (auth = basic); its verdict:
    event["requestContext"]["authorizer"] = {
        "lambda": verdict or {"authenticated": False, "username": "", "uploader": False}
    }
    response = app.handle(event)
    return response["statusCode"], response["body"]


def mint(app: ApiApp, token: str) -> tuple[int, dict[str, Any]]:
    status, body = call(app, "POST", "/_/oidc/mint-token", json.dumps({"token": token}).encode())
    return status, json.loads(body)


def upload(
    app: ApiApp, project: str, token: str | None = None, verdict: dict[str, Any] | None = None
) -> tuple[int, str]:
    data = wheel_bytes(project, "1.0")
    filename = wheel_filename(project, "1.0")
    content_type, body = multipart(upload_fields(project, "1.0", filename, data), (filename, data))
    headers = {"Content-Type": content_type}
    if token is not None:
        credentials = base64.b64encode(f"__token__:{token}".encode()).decode()
        headers["Authorization"] = f"Basic {credentials}"
        verdict = {"authenticated": False, "upload_token": True}
    return call(app, "POST", "/legacy/", body, headers, verdict)


def test_audience_needs_no_user(app: ApiApp) -> None:
    assert call(app, "GET", "/_/oidc/audience") == (200, json.dumps({"audience": AUDIENCE}))
    assert call(app, "GET", "/simple/")[0] == 401


def test_oidc_routes_without_configuration_are_404(bucket: Bucket) -> None:
    plain = ApiApp(config.Settings(bucket=bucket.name), bucket)
    status, body = call(plain, "GET", "/_/oidc/audience")
    assert status == 404 and "not configured" in json.loads(body)["message"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/_/oidc/mint-token", b"not json", 400),
        ("POST", "/_/oidc/mint-token", b'{"token": 1}', 400),
        ("POST", "/_/oidc/mint-token", b'{"token": "' + b"x" * 20000 + b'"}', 413),
        ("GET", "/_/oidc/mint-token", None, 405),
        ("POST", "/_/oidc/audience", b"{}", 405),
        ("POST", "/_/oidc/burn-token", b"{}", 404),  # uv: a warning only
    ],
)
def test_malformed_exchange_requests(
    app: ApiApp, method: str, path: str, body: bytes | None, status: int
) -> None:
    got, answer = call(app, method, path, body)
    assert got == status
    assert json.loads(answer)["message"]


def test_minted_token_uploads_inside_its_globs_only(app: ApiApp, provider: FakeOidc) -> None:
    status, answer = mint(app, provider.sign(AUDIENCE))
    assert status == 200 and answer["success"] is True
    token = answer["token"]
    assert upload(app, "acme-widgets", token)[0] == 200
    status, body = upload(app, "zeta", token)
    assert status == 403 and "'zeta'" in body
    status, body = upload(app, "acme-widgets", token[:-4] + "AAAA")
    assert status == 401 and "not issued by this index" in body


def test_token_reads_are_refused(app: ApiApp, provider: FakeOidc) -> None:
    status, body = call(
        app, "GET", "/simple/", verdict={"authenticated": False, "upload_token": True}
    )
    assert status == 401 and "may only upload" in body


def test_group_rights(app: ApiApp) -> None:
    alice = {"authenticated": True, "username": "alice", "uploader": False, "groups": '["team-a"]'}
    status, body = upload(app, "acme-b-tool", verdict=alice)
    assert status == 403 and "'acme-b-tool'" in body and "acme-a-*" in body
    assert upload(app, "acme-a-tool", verdict=alice)[0] == 200
    reader = {"authenticated": True, "username": "rita", "uploader": False, "groups": "[]"}
    status, body = upload(app, "acme-a-tool", verdict=reader)
    assert status == 403 and "may read but not upload" in body
    uploader = {"authenticated": True, "username": "ulf", "uploader": True, "groups": "[]"}
    assert upload(app, "zeta", verdict=uploader)[0] == 200  # the uploaders group: every project


def test_uploads_off_refuse_tokens_too(bucket: Bucket, provider: FakeOidc) -> None:
    app = make_app(bucket, provider)
    token = mint(app, provider.sign(AUDIENCE))[1]["token"]
    off = make_app(bucket, provider, **{config.UPLOADS: "off", config.AUTH: "none"})
    status, body = upload(off, "acme-widgets", token)
    assert status == 403 and "disabled" in body


def test_kms_failures_are_503_not_500(bucket: Bucket, provider: FakeOidc) -> None:
    """A key that KMS cannot use (deleted, no permission, an outage) is the service's problem:
    503 with a reason, on mint and on upload."""
    good = make_app(bucket, provider)
    token = mint(good, provider.sign(AUDIENCE))[1]["token"]
    missing = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    broken = make_app(bucket, provider, **{config.UPLOAD_TOKEN_KEY_ID: missing})
    status, answer = mint(broken, provider.sign(AUDIENCE))
    assert status == 503 and "KMS" in answer["message"]
    status, body = upload(broken, "acme-widgets", token)
    assert status == 503 and "KMS" in body


def test_read_path_never_loads_jwt_or_kms(tmp_path: Any) -> None:
    """Cold start: a fresh interpreter that serves a page with trusted publishing configured
    has not imported PyJWT, cryptography or the OIDC modules (they load on /_/oidc/ only)."""
    import subprocess
    import sys

    script = """
import json, sys
from serverless_pypi import config
from serverless_pypi.api.app import ApiApp

class Bucket:  # never indexed: the root page is rendered empty, no AWS involved
    def get(self, key):
        return None

publishers = [{"issuer": "https://gitlab.com", "claims": {"project_path": "a/b"},
               "projects": ["a-*"]}]
env = {config.BUCKET: "read-path", config.TRUSTED_PUBLISHERS: json.dumps(publishers),
       config.OIDC_AUDIENCE: "x", config.UPLOAD_TOKEN_KEY_ID: "k", "AWS_REGION": "us-east-1"}
event = {"version": "2.0", "rawPath": "/simple/", "rawQueryString": "", "headers": {},
         "requestContext": {"http": {"method": "GET", "path": "/simple/"}}}
assert ApiApp(config.load(env), Bucket()).handle(event)["statusCode"] == 200
ours = ("serverless_pypi.api.oidc", "serverless_pypi.publishing.oidc",
        "serverless_pypi.publishing.discovery", "serverless_pypi.publishing.tokens")
print(json.dumps(sorted(m for m in sys.modules
                        if m.split(".")[0] in ("jwt", "cryptography") or m in ours)))
"""
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "PATH": "/usr/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
