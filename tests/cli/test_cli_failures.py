"""Every bucket command turns S3, credential, connection and bucket failures into one line that
names the bucket or endpoint and the likely fix, with exit code 1; run as a user runs them."""

from __future__ import annotations

import functools
import http.server
import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import localserver
from support.dists import wheel_bytes, wheel_filename, write

#: One invocation of each command that reaches S3 (``{wheel}``: a real wheel, so ``upload``
#: gets past its local checks).
COMMANDS = [
    ("upload", "{wheel}"),
    ("upload", "{wheel}", "{wheel2}"),
    ("yank", "fail-pkg==1.0"),
    ("unyank", "fail_pkg-1.0-py3-none-any.whl"),
    ("delete", "--yes", "fail_pkg-1.0-py3-none-any.whl"),
    ("reindex",),
    ("reindex", "--project", "fail-pkg"),
]
IDS = [" ".join(c[:1] + c[1:2]) for c in COMMANDS]


def run(
    command: tuple[str, ...],
    tmp_path: Path,
    bucket: str,
    endpoint: str,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    wheels = {
        "wheel": str(
            write(tmp_path, wheel_filename("fail-pkg", "1.0"), wheel_bytes("fail-pkg", "1.0"))
        ),
        "wheel2": str(
            write(tmp_path, wheel_filename("fail-pkg", "2.0"), wheel_bytes("fail-pkg", "2.0"))
        ),
    }
    argv = [part.format(**wheels) for part in command]
    return subprocess.run(
        [
            *localserver.serverless_pypi_command(),
            *argv,
            "--bucket",
            bucket,
            "--endpoint-url",
            endpoint,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The command failed with exit code 1 and said why in exactly one line."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("serverless-pypi: "), lines
    return lines[0]


@pytest.fixture(scope="module")
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("command", COMMANDS, ids=IDS)
def test_missing_bucket(command: tuple[str, ...], moto_server: str, tmp_path: Path) -> None:
    line = one_line(run(command, tmp_path, "no-such-bucket-here", moto_server))
    assert f"bucket 'no-such-bucket-here' does not exist at {moto_server}" in line
    assert "check --bucket" in line


@pytest.mark.parametrize("command", COMMANDS, ids=IDS)
def test_nothing_listening(command: tuple[str, ...], closed_port: int, tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{closed_port}"
    line = one_line(run(command, tmp_path, "pypi", endpoint))
    assert f"cannot connect to {endpoint}" in line
    assert "`s3:` line" in line


@pytest.fixture(scope="module")
def index() -> Iterator[localserver.LocalIndex]:
    running = localserver.start("--ephemeral")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def index_with_auth() -> Iterator[localserver.LocalIndex]:
    running = localserver.start("--ephemeral", "--auth")
    yield running
    running.stop()


@pytest.mark.parametrize("command", COMMANDS, ids=IDS)
def test_endpoint_is_the_index_port(
    command: tuple[str, ...], index: localserver.LocalIndex, tmp_path: Path
) -> None:
    """The usual mistake: the `index:` port instead of the `s3:` one (bare 404s)."""
    origin = index.index_url.removesuffix("/simple/")
    line = one_line(run(command, tmp_path, index.bucket, origin))
    assert f"{origin} is the package index, not S3" in line
    assert "--endpoint-url takes the URL on the `s3:` line" in line


@pytest.mark.parametrize("pasted", ["origin", "index url"])
def test_endpoint_is_an_index_that_wants_users(
    pasted: str, index_with_auth: localserver.LocalIndex, tmp_path: Path
) -> None:
    """With --auth the index answers 401; a pasted ``index:`` URL is recognised too."""
    url = index_with_auth.index_url
    endpoint = url.removesuffix("/simple/") if pasted == "origin" else url
    line = one_line(run(("reindex",), tmp_path, "pypi", endpoint))
    assert "is the package index, not S3 (HTTP 401" in line


def test_endpoint_that_is_not_s3(tmp_path: Path) -> None:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        line = one_line(run(("yank", "fail-pkg==1.0"), tmp_path, "pypi", endpoint))
        assert f"{endpoint} does not answer as S3 does (HTTP 404" in line
        assert "check --endpoint-url" in line
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("command", COMMANDS, ids=IDS)
def test_no_credentials(command: tuple[str, ...], moto_server: str, tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AWS_") or k in ("AWS_DEFAULT_REGION", "AWS_REGION")
    }
    missing = str(tmp_path / "none")
    env.update(
        AWS_SHARED_CREDENTIALS_FILE=missing,
        AWS_CONFIG_FILE=missing,
        AWS_EC2_METADATA_DISABLED="true",
    )
    line = one_line(run(command, tmp_path, "pypi", moto_server, env=env))
    assert "no AWS credentials for bucket 'pypi'" in line
    assert "AWS_PROFILE" in line and "any values work" in line


def test_endpoint_url_must_be_a_url(tmp_path: Path) -> None:
    result = run(("reindex",), tmp_path, "pypi", "127.0.0.1:9000")
    assert result.returncode == 2
    assert "is not an http:// or https:// URL" in result.stderr
    assert "Traceback" not in result.stderr


def users_list(endpoint: str, pool: str = "us-east-1_abc") -> str:
    result = subprocess.run(
        [
            *localserver.serverless_pypi_command(),
            *("users", "list", "--user-pool-id", pool, "--endpoint-url", endpoint),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stdout
    (line,) = result.stderr.strip().splitlines()
    return line


def test_users_commands_fail_in_one_line_too(
    closed_port: int, index_with_auth: localserver.LocalIndex
) -> None:
    line = users_list(f"http://127.0.0.1:{closed_port}")
    assert f"127.0.0.1:{closed_port}" in line and "is it running?" in line
    # The index's port instead of the `cognito:` one.
    origin = index_with_auth.index_url.removesuffix("/simple/")
    line = users_list(origin, index_with_auth.user_pool_id)
    assert "HTTP 401 from --endpoint-url, which does not answer as Cognito does" in line
    assert "the `cognito:` URL `serverless-pypi serve --auth` prints" in line


class _S3Refusing(http.server.BaseHTTPRequestHandler):
    """An S3 endpoint that answers every request with one S3 error document."""

    code = "AccessDenied"
    status = 403

    def _refuse(self) -> None:
        body = (
            f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{self.code}</Code>"
            "<Message>refused</Message><RequestId>1</RequestId></Error>"
        ).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amz-request-id", "1")
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_DELETE = _refuse

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("AccessDenied", 403, "access to bucket 'pypi' at {endpoint} denied (AccessDenied)"),
        ("InvalidAccessKeyId", 403, "{endpoint} refused your AWS credentials (InvalidAccessKeyId)"),
        ("SignatureDoesNotMatch", 403, "refused your AWS credentials (SignatureDoesNotMatch)"),
        ("AuthorizationHeaderMalformed", 400, "bucket 'pypi' is not in region us-east-1"),
    ],
)
def test_refusals_name_the_likely_fix(
    code: str, status: int, expected: str, tmp_path: Path
) -> None:
    handler = type("Refusing", (_S3Refusing,), {"code": code, "status": status})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        for command in (("reindex",), ("upload", "{wheel}", "{wheel2}")):
            line = one_line(run(command, tmp_path, "pypi", endpoint))
            assert expected.format(endpoint=endpoint) in line
    finally:
        server.shutdown()
        server.server_close()
