"""Progress on long commands: drawn on a terminal (a pseudo-terminal here), silent off one and
with ``--quiet``; the results on stdout either way."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import termios
import threading
import uuid
from pathlib import Path

import boto3
import pytest
from support.dists import sdist_filename, wheel_bytes, wheel_filename, write
from support.localserver import serverless_pypi_command


def on_terminal(*args: str) -> tuple[int, str, str]:
    """Run the command with stderr on a pseudo-terminal and stdout on a pipe: (exit code,
    stdout, what the terminal showed)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 200, 0, 0))
    process = subprocess.Popen(
        [*serverless_pypi_command(), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
    )
    os.close(slave)
    shown: list[bytes] = []

    def read_terminal() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the command closed the terminal
                return
            if not data:
                return
            shown.append(data)

    reader = threading.Thread(target=read_terminal, daemon=True)
    reader.start()
    assert process.stdout is not None
    stdout = process.stdout.read()
    code = process.wait(timeout=300)
    reader.join(timeout=30)
    os.close(master)
    return code, stdout.decode(), b"".join(shown).decode(errors="replace")


def off_terminal(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*serverless_pypi_command(), *args], capture_output=True, text=True, timeout=300
    )


class Store:
    def __init__(self, endpoint: str) -> None:
        self.name = f"progress-{uuid.uuid4().hex[:10]}"
        self.endpoint = endpoint
        self.s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        self.s3.create_bucket(Bucket=self.name)

    def options(self) -> list[str]:
        return ["--bucket", self.name, "--endpoint-url", self.endpoint]


@pytest.fixture
def store(moto_server: str) -> Store:
    return Store(moto_server)


def three_wheels(tmp_path: Path) -> list[str]:
    return [
        str(write(tmp_path, wheel_filename("prog", v), wheel_bytes("prog", v)))
        for v in ("1.0", "1.1", "1.2")
    ]


def test_many_files_show_n_of_total_and_a_summary(store: Store, tmp_path: Path) -> None:
    wheels = three_wheels(tmp_path)
    code, stdout, terminal = on_terminal("upload", *wheels, *store.options())
    assert code == 0, terminal
    assert "files:" in terminal and "0/3" in terminal and "3/3" in terminal
    lines = stdout.splitlines()
    assert len(lines) == 4 and all("uploaded to s3://" in line for line in lines[:3])
    assert lines[-1] == "3 files: 3 uploaded, 0 failed"

    # Again, with one file that is not a distribution: counted as failed, summary still there.
    bad = write(tmp_path, sdist_filename("prog", "2.0"), b"not a tarball")
    code, stdout, terminal = on_terminal("upload", *wheels, str(bad), *store.options())
    assert code == 1
    assert "4/4" in terminal and "not a valid distribution" in terminal
    assert stdout.splitlines()[-1] == "4 files: 3 already present, 1 failed"


def test_no_progress_off_a_terminal_or_with_quiet(store: Store, tmp_path: Path) -> None:
    wheels = three_wheels(tmp_path)
    result = off_terminal("upload", *wheels, *store.options())
    assert result.returncode == 0
    assert result.stderr == ""
    assert result.stdout.splitlines()[-1] == "3 files: 3 uploaded, 0 failed"

    code, stdout, terminal = on_terminal("upload", "--quiet", *wheels, *store.options())
    assert code == 0
    assert terminal == ""
    assert stdout.splitlines()[-1] == "3 files: 3 already present, 0 failed"

    code, _, terminal = on_terminal("reindex", "-q", *store.options())
    assert code == 0 and terminal == ""
    result = off_terminal("reindex", *store.options())
    assert result.returncode == 0 and result.stderr == ""


def test_multipart_upload_shows_bytes_rate_and_eta(store: Store, tmp_path: Path) -> None:
    """17 MiB: three parts of S3's multipart upload (8 MiB each, the last smaller)."""
    payload = os.urandom(17 * 1024 * 1024)  # incompressible, so the wheel stays that large
    wheel = write(
        tmp_path, wheel_filename("big", "1.0"), wheel_bytes("big", "1.0", payload=payload)
    )
    code, stdout, terminal = on_terminal("upload", str(wheel), *store.options())
    assert code == 0, terminal
    assert wheel.name in terminal
    assert re.search(r"17\.0M/17\.0M", terminal), terminal  # bytes sent of the total
    assert re.search(r"\[\d\d:\d\d<\d\d:\d\d, +[\d.]+[kMG]?B/s\]", terminal), terminal  # ETA, rate
    assert f"{wheel.name}: uploaded to s3://{store.name}/big/{wheel.name}" in stdout
    head = store.s3.head_object(Bucket=store.name, Key=f"big/{wheel.name}")
    assert head["ETag"].strip('"').endswith("-3")  # it was a multipart upload


def test_full_reindex_shows_projects_done_of_total(store: Store) -> None:
    for name in ("alpha", "Beta", "beta", "gamma", "delta"):  # Beta and beta are one project
        store.s3.put_object(Bucket=store.name, Key=f"{name}/{name}-1.0.tar.gz", Body=b"x")
    store.s3.put_object(Bucket=store.name, Key=".yanked/alpha/alpha-1.0.tar.gz", Body=b"")
    code, stdout, terminal = on_terminal("reindex", *store.options())
    assert code == 0, terminal
    assert "projects:" in terminal and "0/4" in terminal and "4/4" in terminal
    assert re.search(r"<\d\d:\d\d", terminal)  # an ETA
    assert stdout.startswith(f"reindexed bucket={store.name} projects=4 ")
