"""``serverless-pypi serve`` end to end: the real handlers, the CLI process, its options."""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.dists import wheel_bytes, wheel_filename
from support.localserver import aws_client

from serverless_pypi.local import serve
from serverless_pypi.local.serve import Options, Running, start

JSON = "application/vnd.pypi.simple.v1+json"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _get(url: str, accept: str = JSON, follow: bool = True) -> tuple[int, dict[str, str], bytes]:
    opener = urllib.request.build_opener() if follow else urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, headers={"Accept": accept})
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def _project_names(index_url: str) -> list[str]:
    status, _, body = _get(index_url)
    assert status == 200
    return [p["name"] for p in json.loads(body)["projects"]]


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """``serve.run`` configures the package logger, as a command should; undo it for others."""
    package = logging.getLogger("serverless_pypi")
    state = (list(package.handlers), package.propagate, package.level)
    streams = [(h, h.stream) for h in package.handlers if isinstance(h, logging.StreamHandler)]
    yield
    package.handlers[:], package.propagate, package.level = state
    for handler, stream in streams:
        handler.stream = stream  # not setStream: it would flush the test's closed capture


@pytest.fixture
def running() -> Iterator[Running]:
    run = start(Options(port=0, ephemeral=True), out=io.StringIO())
    yield run
    run.stop()


# -- the real handlers, in process -------------------------------------------------------------


def test_a_wheel_put_into_the_bucket_is_served(running: Running) -> None:
    assert _project_names(running.index_url) == []
    data = wheel_bytes("My_Pkg", "1.0")
    filename = wheel_filename("My_Pkg", "1.0")
    aws_client(running.s3_endpoint_url).put_object(
        Bucket=running.bucket, Key=f"My_Pkg/{filename}", Body=data
    )

    # No waiting: the S3 → SNS → reindex chain ran before put_object returned.
    assert _project_names(running.index_url) == ["my-pkg"]
    status, _, body = _get(running.index_url + "my-pkg/")
    assert status == 200
    (file,) = json.loads(body)["files"]
    assert file["filename"] == filename
    file_url = urllib.request.urljoin(running.index_url + "my-pkg/", file["url"])
    status, headers, _ = _get(file_url, follow=False)
    assert status in (302, 307)
    assert headers["Location"].startswith(running.s3_endpoint_url + "/")
    assert _get(file_url, accept="*/*")[2] == data

    aws_client(running.s3_endpoint_url).delete_object(
        Bucket=running.bucket, Key=f"My_Pkg/{filename}"
    )
    assert _project_names(running.index_url) == []


def test_the_index_survives_a_restart(tmp_path: Path) -> None:
    first = start(Options(port=0, data_dir=tmp_path / "data"), out=io.StringIO())
    try:
        for name in ("alpha", "Beta.Two"):
            aws_client(first.s3_endpoint_url).put_object(
                Bucket=first.bucket,
                Key=f"{name}/{wheel_filename(name, '1.0')}",
                Body=wheel_bytes(name, "1.0"),
            )
    finally:
        first.stop()
    second = start(Options(port=0, data_dir=tmp_path / "data"), out=io.StringIO())
    try:
        assert sorted(_project_names(second.index_url)) == ["alpha", "beta-two"]
    finally:
        second.stop()


def test_serving_an_existing_bucket_rebuilds_its_index_at_start(running: Running) -> None:
    # The embedded moto of one server stands in for "an existing S3-compatible bucket".
    s3 = aws_client(running.s3_endpoint_url)
    s3.create_bucket(Bucket="existing")
    s3.put_object(
        Bucket="existing",
        Key=f"gamma/{wheel_filename('gamma', '2.0')}",
        Body=wheel_bytes("gamma", "2.0"),
    )
    out = io.StringIO()
    external = start(
        Options(port=0, bucket="existing", endpoint_url=running.s3_endpoint_url), out=out
    )
    try:
        assert external.emulator is None and external.data is None
        assert _project_names(external.index_url) == ["gamma"]
        assert f"s3: {running.s3_endpoint_url} bucket=existing\n" in out.getvalue()
        assert external.settings is not None and external.settings.uploads == "off"
    finally:
        external.stop()


# -- options ----------------------------------------------------------------------------------


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    return parser.parse_args(argv)


def test_option_defaults() -> None:
    args = _parse()
    assert (args.host, args.port, args.data_dir, args.ephemeral) == ("127.0.0.1", 8080, None, False)


@pytest.mark.parametrize(
    "argv",
    [
        ("--data-dir", "x", "--ephemeral"),
        ("--port", "70000"),
        ("--url-ttl", "5"),
        ("--url-ttl", "soon"),
    ],
)
def test_bad_options_are_usage_errors(argv: tuple[str, ...]) -> None:
    with pytest.raises(SystemExit) as info:
        _parse(*argv)
    assert info.value.code == 2


@pytest.mark.parametrize(
    "argv",
    [
        ("--endpoint-url", "http://127.0.0.1:9000"),
        ("--bucket", "b", "--ephemeral"),
        ("--bucket", "b", "--data-dir", "d"),
        ("--ephemeral", "--fallback-index-url", "ftp://example.test/"),
    ],
)
def test_inconsistent_options_exit_2(
    argv: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    assert serve.run(_parse("--port", "0", *argv)) == 2
    assert "error" in capsys.readouterr().err


# -- the command, as a user runs it ------------------------------------------------------------


def _read_lines(stream: Any, lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line)


def _wait_for(lines: queue.Queue[str], prefixes: tuple[str, ...], timeout: float) -> dict[str, str]:
    found: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while set(found) != set(prefixes):
        line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        for prefix in prefixes:
            if line.startswith(prefix):
                assert prefix not in found, f"{prefix!r} printed twice"
                found[prefix] = line[len(prefix) :].strip()
    return found


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_command_prints_its_urls_and_stops_cleanly(tmp_path: Path, stop_signal: int) -> None:
    executable = Path(sys.executable).with_name("serverless-pypi")
    stderr_path = tmp_path / "stderr.log"
    started = time.monotonic()
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            [str(executable), "--log-level", "INFO", "serve", "--ephemeral", "--port", "0"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            lines: queue.Queue[str] = queue.Queue()
            threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True).start()
            found = _wait_for(lines, ("index: ", "s3: ", "data: "), timeout=60)
            ready = time.monotonic() - started
            index_url = found["index: "]
            s3_endpoint, bucket = found["s3: "].split(" bucket=")
            assert index_url.startswith("http://127.0.0.1:") and index_url.endswith("/simple/")
            assert s3_endpoint.startswith("http://127.0.0.1:") and bucket == "pypi"
            data_dir = Path(found["data: "].removeprefix("(ephemeral) "))
            assert data_dir.is_dir()

            s3 = aws_client(s3_endpoint)
            s3.put_object(
                Bucket=bucket,
                Key=f"delta/{wheel_filename('delta', '1.0')}",
                Body=wheel_bytes("delta", "1.0"),
            )
            assert _project_names(index_url) == ["delta"]
            file_url = urllib.request.urljoin(
                index_url + "delta/", json.loads(_get(index_url + "delta/")[2])["files"][0]["url"]
            )
            assert _get(file_url, follow=False)[0] in (302, 307)

            process.send_signal(stop_signal)
            assert process.wait(timeout=30) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert not data_dir.exists()
    log = stderr_path.read_text()
    assert "X-Amz-Signature" not in log and "Authorization" not in log
    assert "Traceback" not in log
    print(f"serve ready after {ready:.2f}s")  # shown with -s; the start-up cost users feel


def test_start_failures_exit_1_and_leave_nothing_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from serverless_pypi.local.persistence import DataDir

    busy = DataDir(tmp_path / "busy")
    try:
        assert serve.run(_parse("--port", "0", "--data-dir", str(tmp_path / "busy"))) == 1
        assert "in use by another serverless-pypi serve" in capsys.readouterr().err
    finally:
        busy.close()

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        threads = threading.active_count()
        assert serve.run(_parse("--port", str(port), "--data-dir", str(tmp_path / "d"))) == 1
        err = capsys.readouterr().err.strip().splitlines()[-1]  # after INFO log lines
        assert err == (
            f"serverless-pypi serve: error: port {port} on 127.0.0.1 is already in use (another "
            "serverless-pypi serve?): choose another with --port PORT (--port 0 picks a free one)"
        )
        # moto was started before the bind failed; it was stopped again, the data dir unlocked.
        assert threading.active_count() <= threads
        DataDir(tmp_path / "d").close()

        # The S3 emulator's port: moto would wait for ever on a port it cannot bind.
        assert serve.run(_parse("--port", "0", "--s3-port", str(port), "--ephemeral")) == 1
        (err,) = [x for x in capsys.readouterr().err.splitlines() if not x.startswith("{")]
        assert f"port {port} on 127.0.0.1 is already in use" in err
        assert "--s3-port PORT" in err
        assert threading.active_count() <= threads


#: The lines the README documents on ``serve``'s stdout (``cognito:`` only with ``--auth``).
DOCUMENTED_STDOUT = ("index: ", "s3: ", "uploads: ", "data: ", "cognito: ")


def test_command_stdout_has_only_the_documented_lines_and_logs_go_to_stderr(
    tmp_path: Path,
) -> None:
    """stdout and stderr read apart (``tests/localserver.py`` merges them, which hides this)."""
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("serverless-pypi")),
            "--log-level",
            "INFO",
            "serve",
            "--ephemeral",
            "--port",
            "0",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    stdout: queue.Queue[str] = queue.Queue()
    out_lines: list[str] = []
    err_lines: list[str] = []

    def read_stdout() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            out_lines.append(line)
            stdout.put(line)

    def read_stderr() -> None:
        assert process.stderr is not None
        err_lines.extend(line for line in process.stderr if line.strip())

    readers = [
        threading.Thread(target=read_stdout, daemon=True),
        threading.Thread(target=read_stderr, daemon=True),
    ]
    for reader in readers:
        reader.start()
    try:
        found = _wait_for(stdout, ("index: ", "s3: ", "data: "), timeout=60)
        index_url = found["index: "]
        s3_endpoint, bucket = found["s3: "].split(" bucket=")
        aws_client(s3_endpoint).put_object(
            Bucket=bucket,
            Key=f"echo/{wheel_filename('echo', '1.0')}",
            Body=wheel_bytes("echo", "1.0"),
        )
        assert _project_names(index_url) == ["echo"]
        assert _get(index_url + "echo/")[0] == 200
        assert _get(index_url + "missing/")[0] == 404
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    for reader in readers:
        reader.join(timeout=10)
    assert out_lines, "nothing on stdout"
    for line in out_lines:
        assert line.startswith(DOCUMENTED_STDOUT), f"undocumented stdout line: {line!r}"
    records = [json.loads(line) for line in err_lines if line.startswith("{")]
    assert any(r.get("message") == "http" for r in records), err_lines


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_s3_port_fixes_the_emulators_port(tmp_path: Path) -> None:
    from support import localserver

    port = _free_port()
    index = localserver.start("--ephemeral", "--s3-port", str(port))
    try:
        assert index.s3_endpoint == f"http://127.0.0.1:{port}"
        index.publish(f"fixed/{wheel_filename('fixed', '1.0')}", wheel_bytes("fixed", "1.0"))
    finally:
        assert index.stop() == 0
    assert serve.run(_parse("--bucket", "b", "--s3-port", str(port))) == 2  # not with --bucket


def test_serving_a_missing_bucket_is_one_line(moto_server: str) -> None:
    options = ["serve", "--port", "0", "--bucket", "no-such-bucket", "--endpoint-url"]
    result = subprocess.run(
        [str(Path(sys.executable).with_name("serverless-pypi")), *options, moto_server],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"serverless-pypi serve: error: bucket 'no-such-bucket' does not exist at {moto_server}: "
        "check --bucket"
    ]


#: The README's block of what ``make serve`` prints, after this marker.
README_MARKER = "<!-- serve-output:"
#: The README's stand-ins for what differs from one machine or start to the next.
README_DATA_PARENT = "/path/to/serverless-pypi"
README_INDEX_PORT = "8080"
README_S3_PORT = "PORT"


def _readme_serve_block() -> list[str]:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    after = readme.split(README_MARKER, 1)[1].split("\n```\n", 1)[1]
    return after.split("\n```", 1)[0].splitlines()


def test_readme_shows_exactly_what_serve_prints(tmp_path: Path) -> None:
    """Run serve with its defaults (but a free port) and compare its stdout, line by line, with
    the README's block, so that the two cannot drift apart."""
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("serverless-pypi")), "serve", "--port", "0"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    try:
        printed = []
        for line in process.stdout:  # the s3: line is the last one without --auth
            printed.append(line.rstrip("\n"))
            if line.startswith("s3: "):
                break
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=30)
        assert process.returncode == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert rest == ""  # nothing after the s3: line, at exit either
    index_port = re.search(r"^index: http://127\.0\.0\.1:(\d+)/", "\n".join(printed), re.M)
    s3_port = re.search(r"^s3: http://127\.0\.0\.1:(\d+) ", "\n".join(printed), re.M)
    assert index_port and s3_port, printed
    data = str((tmp_path / ".serverless-pypi").resolve())
    shown = [
        line.replace(data, f"{README_DATA_PARENT}/.serverless-pypi")
        .replace(f"127.0.0.1:{index_port[1]}", f"127.0.0.1:{README_INDEX_PORT}")
        .replace(f"127.0.0.1:{s3_port[1]}", f"127.0.0.1:{README_S3_PORT}")
        for line in printed
    ]
    assert shown == _readme_serve_block()
