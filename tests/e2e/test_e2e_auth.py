"""``serverless-pypi serve --auth`` end to end: users made with the ``users`` CLI, real pip, uv
and twine with and without credentials, protected files and metadata, credential-free redirects,
users kept across a restart, and no credential in any log line."""

from __future__ import annotations

import base64
import dataclasses
import os
import re
import stat
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from support.clients import INSTALLERS, installed_version, new_venv, pip, twine, upload_url, uv
from support.dists import wheel_bytes, wheel_filename, write
from support.localserver import LocalIndex, serverless_pypi_command, start, wait_for

# Test users of throwaway pools; distinctive, so that a leak is found by a plain search.
READER = ("reader", "Rd-Secret-7qx1")
UPLOADER = ("uploader", "Up-Secret-9kz2")
WRONG = "Wr-Secret-3mv5"
PROJECT = "auth-demo"
WHEEL = wheel_filename(PROJECT, "1.0")
WHEEL_BYTES = wheel_bytes(PROJECT, "1.0")  # built once: a wheel's RECORD carries the build time

#: Everything the servers and the users CLI printed, scanned for credentials at the end.
_transcripts: list[str] = []


def _token(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def _header(credentials: tuple[str, str] | None) -> dict[str, str]:
    return {"Authorization": f"Basic {_token(*credentials)}"} if credentials else {}


def _secrets() -> list[str]:
    found = [READER[1], UPLOADER[1], WRONG]
    for user, password in (READER, UPLOADER, (READER[0], WRONG), (UPLOADER[0], WRONG)):
        found.append(_token(user, password))
    return found


def assert_no_credentials(lines: list[str]) -> None:
    basic = re.compile(r"basic\s+(?!realm)[A-Za-z0-9+/]{6,}", re.IGNORECASE)
    for line in lines:
        for secret in _secrets():
            assert secret not in line, f"a credential in a log line: {line[:200]}"
        assert not basic.search(line), f"an Authorization value in a log line: {line[:200]}"


def users_cli(index: LocalIndex, *args: str, password: str | None = None) -> str:
    command = [
        *serverless_pypi_command(),
        "users",
        *args,
        "--user-pool-id",
        index.user_pool_id,
        "--endpoint-url",
        index.cognito_endpoint,
    ]
    if password is not None:
        command.append("--password-stdin")
    result = subprocess.run(
        command,
        input=None if password is None else password + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        # The caller's AWS credentials; the embedded Cognito accepts any.
        env={**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"},
    )
    _transcripts.extend((result.stdout + result.stderr).splitlines())
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def add_users(index: LocalIndex) -> None:
    users_cli(index, "add", READER[0], password=READER[1])
    users_cli(index, "add", UPLOADER[0], "--upload", password=UPLOADER[1])


@pytest.fixture(scope="module")
def index() -> Iterator[LocalIndex]:
    """This module's index needs sign-in (it overrides the open one in conftest): an ``--auth``
    server with a reader and an uploader, which must log no credential."""
    server = start("--auth", "--ephemeral", log_level="INFO")
    try:
        assert server.user_pool_id and server.cognito_endpoint
        add_users(server)
        server.credentials = READER  # for the helpers (get_json, publish)
        server.publish(f"{PROJECT}/{WHEEL}", WHEEL_BYTES)
        yield server
    finally:
        code = server.stop()
    assert code == 0, server.log_text()
    # The server logged requests, authentications and user changes at INFO...
    log = server.log_text()
    assert '"message": "authentication"' in log and '"message": "http"' in log
    # ...and no password or Authorization value in any line.
    assert_no_credentials(server.output + _transcripts)


def with_userinfo(url: str, credentials: tuple[str, str]) -> str:
    parts = urlsplit(url)
    user, password = (quote(c, safe="") for c in credentials)
    return parts._replace(netloc=f"{user}:{password}@{parts.netloc}").geturl()


def base_url(index: LocalIndex) -> str:
    return index.index_url.removesuffix("simple/")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def fetch(
    url: str,
    credentials: tuple[str, str] | None = None,
    *,
    method: str = "GET",
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """Status, headers, body; redirects are returned, not followed."""
    request = urllib.request.Request(
        url, data=data, method=method, headers={**(headers or {}), **_header(credentials)}
    )
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


# -- reading -----------------------------------------------------------------------------------


@pytest.mark.parametrize("installer", sorted(INSTALLERS))
@pytest.mark.parametrize("who", [READER, UPLOADER], ids=["reader", "uploader"])
def test_install_with_credentials_in_the_index_url(
    index: LocalIndex, tmp_path: Path, installer: str, who: tuple[str, str]
) -> None:
    with_credentials = dataclasses.replace(index, index_url=with_userinfo(index.index_url, who))
    python = new_venv(tmp_path)
    INSTALLERS[installer](with_credentials, tmp_path, python, PROJECT)
    assert installed_version(python, "auth_demo") == "1.0"


def test_pip_without_credentials_fails_with_401(index: LocalIndex, tmp_path: Path) -> None:
    python = new_venv(tmp_path)
    # pip reports a refused index page as "no versions"; -vv shows why.
    result = pip(index, tmp_path, python, "-vv", PROJECT, check=False)
    assert result.returncode != 0
    assert "401 Client Error: Unauthorized" in result.stdout + result.stderr
    wrong = dataclasses.replace(index, index_url=with_userinfo(index.index_url, (READER[0], WRONG)))
    result = pip(wrong, tmp_path, python, "-vv", PROJECT, check=False)
    assert result.returncode != 0
    assert "401 Client Error: Unauthorized" in result.stdout + result.stderr


def test_uv_without_credentials_fails_with_401(index: LocalIndex, tmp_path: Path) -> None:
    python = new_venv(tmp_path)
    result = uv(index, tmp_path, python, PROJECT, check=False)
    assert result.returncode != 0
    assert "401" in result.stdout + result.stderr
    wrong = dataclasses.replace(
        index, index_url=with_userinfo(index.index_url, (UPLOADER[0], WRONG))
    )
    result = uv(wrong, tmp_path, python, PROJECT, check=False)
    assert result.returncode != 0
    assert "401" in result.stdout + result.stderr


def protected_requests(index: LocalIndex) -> list[tuple[str, str]]:
    files = f"{base_url(index)}files/{PROJECT}/{WHEEL}"
    return [
        ("GET", base_url(index)),
        ("GET", index.index_url),
        ("HEAD", index.index_url),
        ("GET", f"{index.index_url}{PROJECT}/"),
        ("GET", f"{index.index_url}Auth_Demo/"),
        ("GET", files),
        ("HEAD", files),
        ("GET", files + ".metadata"),
        ("HEAD", files + ".metadata"),
        ("GET", f"{index.index_url}no-such-project/"),
    ]


@pytest.mark.parametrize(
    "credentials",
    [None, (READER[0], WRONG), ("nobody", WRONG), "malformed"],
    ids=["none", "wrong-password", "unknown-user", "malformed"],
)
def test_every_read_needs_credentials_and_401_carries_the_challenge(
    index: LocalIndex, credentials: object
) -> None:
    for method, url in protected_requests(index):
        if credentials == "malformed":
            status, headers, _ = fetch(url, method=method, headers={"Authorization": "Basic !!"})
        else:
            status, headers, _ = fetch(url, credentials, method=method)  # type: ignore[arg-type]
        assert status == 401, (method, url)
        assert headers.get("WWW-Authenticate", "").startswith('Basic realm="serverless-pypi"')


def test_head_and_metadata_with_credentials(index: LocalIndex) -> None:
    files = f"{base_url(index)}files/{PROJECT}/{WHEEL}"
    status, headers, _ = fetch(files, READER, method="HEAD")
    assert status == 302 and headers["Location"]
    status, _, body = fetch(files + ".metadata", READER)
    assert status == 200
    assert b"Name: auth-demo" in body and b"Version: 1.0" in body


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_file_redirects_never_carry_credentials(index: LocalIndex, method: str) -> None:
    files = f"{base_url(index)}files/{PROJECT}/{WHEEL}"
    status, headers, _ = fetch(files, READER, method=method)
    assert status == 302
    location = headers["Location"]
    target = urlsplit(location)
    assert target.username is None and target.password is None and "@" not in target.netloc
    assert target.netloc == urlsplit(index.s3_endpoint).netloc  # another host: clients drop auth
    for secret in _secrets():
        assert secret not in location
    # The presigned URL works on its own, with no credentials of the index.
    status, _, body = fetch(location, method=method)
    assert status == 200
    if method == "GET":
        assert body == WHEEL_BYTES


# -- uploading ---------------------------------------------------------------------------------


def test_twine_upload_needs_the_uploaders_group(index: LocalIndex, tmp_path: Path) -> None:
    wheel = write(tmp_path, wheel_filename("auth-up", "1.0"), wheel_bytes("auth-up", "1.0"))

    code, output = twine(index, tmp_path, wheel, credentials=READER)
    assert code != 0
    assert "403" in output
    code, output = twine(index, tmp_path, wheel, credentials=(UPLOADER[0], WRONG))
    assert code != 0
    assert "401" in output
    code, output = twine(index, tmp_path, wheel, credentials=("", ""))
    assert code != 0
    assert "401" in output or "credential" in output.lower()
    assert index.project_files("auth-up") == {}

    code, output = twine(index, tmp_path, wheel, credentials=UPLOADER)
    assert code == 0, output
    wait_for(lambda: wheel.name in index.project_files("auth-up"), what="auth-up indexed")
    python = new_venv(tmp_path)
    pip(
        dataclasses.replace(index, index_url=with_userinfo(index.index_url, READER)),
        tmp_path,
        python,
        "auth-up",
    )
    assert installed_version(python, "auth_up") == "1.0"


def test_an_upload_without_credentials_gets_401_with_the_challenge(index: LocalIndex) -> None:
    status, headers, _ = fetch(
        upload_url(index),
        method="POST",
        data=b"x",
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    assert status == 401
    assert headers["WWW-Authenticate"].startswith("Basic ")


# -- users across a restart --------------------------------------------------------------------


def test_users_survive_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = start("--auth", "--data-dir", str(data), log_level="INFO")
    try:
        add_users(first)
        assert fetch(first.index_url, UPLOADER)[0] == 200
    finally:
        assert first.stop() == 0
    users_file = data / "users.json"
    assert stat.S_IMODE(users_file.stat().st_mode) == 0o600

    second = start("--auth", "--data-dir", str(data), log_level="INFO")
    try:
        assert second.user_pool_id  # a new pool, the same users
        listed = [line.split() for line in users_cli(second, "list").splitlines()[1:]]
        assert listed == [
            ["reader", "CONFIRMED", "no", "-"],
            ["uploader", "CONFIRMED", "yes", "uploaders"],
        ]
        assert fetch(second.index_url, READER)[0] == 200
        assert fetch(second.index_url, (READER[0], WRONG))[0] == 401
        # Still a reader, not an uploader: the group came back too.
        status, _, _ = fetch(
            upload_url(second),
            READER,
            method="POST",
            data=b"x",
            headers={"Content-Type": "multipart/form-data; boundary=x"},
        )
        assert status == 403
        users_cli(second, "remove", READER[0])
    finally:
        assert second.stop() == 0
    third = start("--auth", "--data-dir", str(data))
    try:
        assert fetch(third.index_url, READER)[0] == 401  # the removal was kept too
        assert fetch(third.index_url, UPLOADER)[0] == 200
    finally:
        assert third.stop() == 0
    assert_no_credentials(first.output + second.output + third.output + _transcripts)
