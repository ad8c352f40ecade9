"""Trusted publishing end to end: a fake CI OIDC provider on loopback, ``serve`` over HTTPS (a
test CA made here) with ``--auth``, a trusted-publishers file and upload permissions; real
``uv publish --trusted-publishing always`` as in GitHub Actions, pip installing the result,
twine with a minted token, every refusal with its reason, and per-group project rights."""

from __future__ import annotations

import base64
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.clients import (
    client_env,
    installed_version,
    new_venv,
    required_tool,
    twine,
    upload_url,
)
from support.dists import wheel_bytes, wheel_filename, write
from support.fake_oidc import FakeOidc, new_key
from support.localserver import LocalIndex, aws_client, serverless_pypi_command, start
from support.tls import Certificates, make_certificates

READER = ("reader", "Rd-Secret-7qx1")
TEAM_A = ("alice", "Al-Secret-4tp8")
AUDIENCE = "serverless-pypi-local"  # what local mode announces
REPOSITORY = "acme/widgets"
#: Minted tokens live this long here, so that one test can watch one expire.
TOKEN_TTL = 20

_state: dict[str, Any] = {}


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def provider() -> Iterator[FakeOidc]:
    fake = FakeOidc(
        claims={
            "repository": REPOSITORY,
            "ref": "refs/heads/main",
            "workflow_ref": f"{REPOSITORY}/.github/workflows/release.yml@refs/heads/main",
        }
    ).start()
    yield fake
    fake.stop()


def users_cli(index: LocalIndex, *args: str, password: str) -> None:
    command = [*serverless_pypi_command(), "users", *args]
    command += ["--user-pool-id", index.user_pool_id, "--endpoint-url", index.cognito_endpoint]
    result = subprocess.run(
        [*command, "--password-stdin"],
        input=password + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"},
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def index(
    tmp_path_factory: pytest.TempPathFactory, certs: Certificates, provider: FakeOidc
) -> Iterator[LocalIndex]:
    config_dir = tmp_path_factory.mktemp("config")
    publishers = config_dir / "publishers.json"
    publishers.write_text(
        json.dumps(
            [
                {
                    "issuer": provider.issuer,
                    "claims": {"repository": REPOSITORY, "ref": "refs/heads/main"},
                    "projects": ["acme-*"],
                }
            ]
        )
    )
    permissions = config_dir / "permissions.json"
    permissions.write_text(json.dumps({"team-a": ["acme-a-*"]}))
    server = start(
        "--auth",
        "--ephemeral",
        "--trusted-publishers",
        str(publishers),
        "--upload-permissions",
        str(permissions),
        "--tls-cert",
        str(certs.cert),
        "--tls-key",
        str(certs.key),
        env={"SERVERLESS_PYPI_UPLOAD_TOKEN_TTL": str(TOKEN_TTL)},
        log_level="INFO",
    )
    try:
        assert server.index_url.startswith("https://127.0.0.1:")
        users_cli(server, "add", READER[0], password=READER[1])
        users_cli(server, "add", TEAM_A[0], password=TEAM_A[1])
        cognito = aws_client(server.cognito_endpoint, "cognito-idp")
        cognito.create_group(UserPoolId=server.user_pool_id, GroupName="team-a")
        cognito.admin_add_user_to_group(
            UserPoolId=server.user_pool_id, Username=TEAM_A[0], GroupName="team-a"
        )
        yield server
    finally:
        code = server.stop()
    assert code == 0, server.log_text()
    # No minted token, OIDC token or request token in any log line.
    log = server.log_text()
    for secret in [provider.request_token, *_state.get("secrets", [])]:
        assert secret not in log


def remember_secret(value: str) -> str:
    _state.setdefault("secrets", []).append(value)
    return value


def base_url(index: LocalIndex) -> str:
    return index.index_url.removesuffix("simple/")


def call(
    certs: Certificates,
    url: str,
    *,
    body: Any = None,
    credentials: tuple[str, str] | None = None,
) -> tuple[int, Any]:
    """Status and JSON (or text) body, over TLS checked against the test CA."""
    headers = {"Accept": "application/json"}
    if credentials is not None:
        headers["Authorization"] = (
            "Basic " + base64.b64encode(":".join(credentials).encode()).decode()
        )
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers)
    context = ssl.create_default_context(cafile=str(certs.ca))
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode()


def mint(index: LocalIndex, certs: Certificates, token: str) -> tuple[int, Any]:
    remember_secret(token)
    status, answer = call(certs, f"{base_url(index)}_/oidc/mint-token", body={"token": token})
    if isinstance(answer, dict) and "token" in answer:
        remember_secret(answer["token"])
    if status != 200:  # a refusal never echoes the token
        assert token not in json.dumps(answer)
    return status, answer


def publish_env(tmp_path: Path, provider: FakeOidc, certs: Certificates) -> dict[str, str]:
    return {
        **client_env(tmp_path),
        "GITHUB_ACTIONS": "true",
        "ACTIONS_ID_TOKEN_REQUEST_URL": provider.token_request_url,
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": provider.request_token,
        "SSL_CERT_FILE": str(certs.ca),
    }


def uv_publish(
    index: LocalIndex, tmp_path: Path, provider: FakeOidc, certs: Certificates, wheel: Path
) -> subprocess.CompletedProcess[str]:
    command = [
        required_tool("uv"),
        "publish",
        "--trusted-publishing",
        "always",
        "--publish-url",
        upload_url(index),
        str(wheel),
    ]
    return subprocess.run(
        command,
        env=publish_env(tmp_path, provider, certs),
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_audience_is_served_without_credentials(index: LocalIndex, certs: Certificates) -> None:
    assert call(certs, f"{base_url(index)}_/oidc/audience") == (200, {"audience": AUDIENCE})
    # ...while everything else needs a user.
    assert call(certs, index.index_url)[0] == 401


def test_uv_publishes_with_trusted_publishing_and_pip_installs(
    index: LocalIndex, tmp_path: Path, provider: FakeOidc, certs: Certificates
) -> None:
    wheel = write(
        tmp_path, wheel_filename("acme-widgets", "1.0"), wheel_bytes("acme-widgets", "1.0")
    )
    result = uv_publish(index, tmp_path, provider, certs, wheel)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "::add-mask::" in result.stdout  # uv masked the minted token, as in GitHub Actions
    assert "/token" in provider.requests  # uv asked the fake provider for the OIDC token
    python = new_venv(tmp_path)
    reader_url = index.index_url.replace("https://", f"https://{READER[0]}:{READER[1]}@")
    command = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-cache-dir"]
    command += ["--cert", str(certs.ca), "--index-url", reader_url, "acme-widgets"]
    env = {**client_env(tmp_path), "SSL_CERT_FILE": str(certs.ca)}
    installed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert installed_version(python, "acme_widgets") == "1.0"


def test_uv_publish_outside_the_globs_is_refused(
    index: LocalIndex, tmp_path: Path, provider: FakeOidc, certs: Certificates
) -> None:
    wheel = write(tmp_path, wheel_filename("other-tool", "1.0"), wheel_bytes("other-tool", "1.0"))
    result = uv_publish(index, tmp_path, provider, certs, wheel)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "403" in output and "other-tool" in output, output


@pytest.mark.parametrize(
    ("case", "status", "reason"),
    [
        ("wrong audience", 422, "audience (aud) is not"),
        ("wrong repository", 403, "claim repository does not match"),
        ("expired", 422, "expired (exp)"),
        ("another key", 422, "signature does not verify"),
        ("unknown issuer", 422, "is not a trusted publisher"),
        ("not a jwt", 422, "not a JWT"),
    ],
)
def test_mint_refusals_say_why(
    index: LocalIndex,
    certs: Certificates,
    provider: FakeOidc,
    case: str,
    status: int,
    reason: str,
) -> None:
    token = {
        "wrong audience": lambda: provider.sign("pypi"),
        "wrong repository": lambda: provider.sign(AUDIENCE, repository="evil/widgets"),
        "expired": lambda: provider.sign(AUDIENCE, issued=time.time() - 3600),
        "another key": lambda: provider.sign(AUDIENCE, key=new_key()),
        "unknown issuer": lambda: provider.sign(AUDIENCE, iss="https://gitlab.example"),
        "not a jwt": lambda: "not.a.jwt",
    }[case]()
    got, answer = mint(index, certs, token)
    assert got == status, answer
    assert reason in answer["message"]
    assert answer["errors"][0]["description"] == answer["message"]


def test_mint_answers_a_short_lived_token(
    index: LocalIndex, certs: Certificates, provider: FakeOidc
) -> None:
    status, answer = mint(index, certs, provider.sign(AUDIENCE))
    assert status == 200 and answer["success"] is True
    assert 0 < answer["expires"] - time.time() <= TOKEN_TTL + 1


def twine_upload(
    index: LocalIndex,
    tmp_path: Path,
    certs: Certificates,
    wheel: Path,
    credentials: tuple[str, str],
) -> tuple[int, str]:
    return twine(index, tmp_path, wheel, credentials=credentials, ca=certs.ca)


def minted(index: LocalIndex, certs: Certificates, provider: FakeOidc) -> dict[str, Any]:
    status, answer = mint(index, certs, provider.sign(AUDIENCE))
    assert status == 200, answer
    return dict(answer)


def test_twine_uploads_with_a_minted_token(
    index: LocalIndex, tmp_path: Path, certs: Certificates, provider: FakeOidc
) -> None:
    token = minted(index, certs, provider)["token"]
    wheel = write(
        tmp_path, wheel_filename("acme-gadgets", "1.0"), wheel_bytes("acme-gadgets", "1.0")
    )
    code, output = twine_upload(index, tmp_path, certs, wheel, ("__token__", token))
    assert code == 0, output
    # The same token outside its globs: 403 naming the project.
    other = write(tmp_path, wheel_filename("zeta", "1.0"), wheel_bytes("zeta", "1.0"))
    code, output = twine_upload(index, tmp_path, certs, other, ("__token__", token))
    assert code != 0 and "403" in output and "'zeta'" in output, output


def test_a_minted_token_cannot_read(
    index: LocalIndex, certs: Certificates, provider: FakeOidc
) -> None:
    token = minted(index, certs, provider)["token"]
    status, answer = call(certs, index.index_url, credentials=("__token__", token))
    assert status == 401 and "may only upload" in answer


def test_a_minted_token_replayed_after_expiry_is_refused(
    index: LocalIndex, tmp_path: Path, certs: Certificates, provider: FakeOidc
) -> None:
    answer = minted(index, certs, provider)
    time.sleep(max(0.0, answer["expires"] - time.time()) + 1)
    wheel = write(tmp_path, wheel_filename("acme-late", "1.0"), wheel_bytes("acme-late", "1.0"))
    code, output = twine_upload(index, tmp_path, certs, wheel, ("__token__", answer["token"]))
    assert code != 0 and "401" in output and "expired" in output, output


def test_a_group_uploads_only_its_own_projects(
    index: LocalIndex, tmp_path: Path, certs: Certificates
) -> None:
    theirs = write(
        tmp_path, wheel_filename("acme-b-tool", "1.0"), wheel_bytes("acme-b-tool", "1.0")
    )
    code, output = twine_upload(index, tmp_path, certs, theirs, TEAM_A)
    assert code != 0 and "403" in output and "'acme-b-tool'" in output, output
    own = write(tmp_path, wheel_filename("acme-a-tool", "1.0"), wheel_bytes("acme-a-tool", "1.0"))
    code, output = twine_upload(index, tmp_path, certs, own, TEAM_A)
    assert code == 0, output
    # A reader with no group may not upload at all.
    code, output = twine_upload(index, tmp_path, certs, own, READER)
    assert code != 0 and "403" in output, output
