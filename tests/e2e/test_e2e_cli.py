"""The bucket commands end to end: ``serverless-pypi upload / yank / unyank / delete`` write to
the bucket of ``serverless-pypi serve``, the S3 events reindex it, and real pip sees the result."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from support.clients import installed_version, new_venv, pip, run
from support.dists import wheel_bytes, wheel_filename, write
from support.localserver import LocalIndex, serverless_pypi_command, wait_for

from serverless_pypi import layout, names


def command(index: LocalIndex, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a user with AWS credentials in the environment would."""
    name, *rest = args
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    bucket = ["--bucket", index.bucket, "--endpoint-url", index.s3_endpoint]
    result = subprocess.run(
        [*serverless_pypi_command(), name, *rest, *bucket],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def upload(index: LocalIndex, tmp_path: Path, name: str, version: str, **kw: bytes) -> Path:
    wheel = write(tmp_path, wheel_filename(name, version), wheel_bytes(name, version, **kw))
    result = command(index, "upload", str(wheel))
    assert result.returncode == 0, result.stderr
    project = names.canonical(name)
    wait_for(
        lambda: bool(index.project_files(project).get(wheel.name, {}).get("hashes")),
        what=f"{wheel.name} indexed",
    )
    return wheel


def yanked(index: LocalIndex, project: str, filename: str) -> object:
    return index.project_files(project)[filename].get("yanked", False)


def test_large_upload_then_pip_download(index: LocalIndex, tmp_path: Path) -> None:
    # Random bytes, so compression cannot bring the wheel under the multipart threshold.
    wheel = upload(index, tmp_path, "cli-big", "1.0", payload=os.urandom(11 * 1024 * 1024))
    assert wheel.stat().st_size > 10 * 1024 * 1024
    expected = hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert index.project_files("cli-big")[wheel.name]["hashes"] == {"sha256": expected}
    head = index.s3().head_object(Bucket=index.bucket, Key=f"cli-big/{wheel.name}")
    assert head["ETag"].strip('"').endswith("-2")  # went as a multipart upload (8 MiB parts)

    downloads = tmp_path / "downloads"
    pip_download = [sys.executable, "-m", "pip", "download", "--no-cache-dir", "--no-deps"]
    result = run(
        [*pip_download, "--index-url", index.index_url, "-d", str(downloads), "cli-big==1.0"],
        tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    fetched = downloads / wheel.name
    assert hashlib.sha256(fetched.read_bytes()).hexdigest() == expected

    # Uploading the same large file again is a no-op success.
    again = command(index, "upload", str(wheel))
    assert again.returncode == 0 and "already present" in again.stdout


def test_yank_skipped_by_ranges_installed_when_pinned(index: LocalIndex, tmp_path: Path) -> None:
    upload(index, tmp_path, "cli-yank", "1.0")
    newer = upload(index, tmp_path, "cli-yank", "1.1")
    before = index.project_files("cli-yank")[newer.name]

    result = command(index, "yank", newer.name, "--reason", "broken import")
    assert result.returncode == 0, result.stderr
    wait_for(lambda: yanked(index, "cli-yank", newer.name) == "broken import", what="yank indexed")
    after = index.project_files("cli-yank")[newer.name]
    assert (after["upload-time"], after["hashes"]) == (before["upload-time"], before["hashes"])

    ranged = new_venv(tmp_path, "ranged")
    pip(index, tmp_path, ranged, "cli-yank>=1.0")
    assert installed_version(ranged, "cli_yank") == "1.0"

    pinned = new_venv(tmp_path, "pinned")
    output = pip(index, tmp_path, pinned, "cli-yank==1.1")
    assert installed_version(pinned, "cli_yank") == "1.1"
    assert "broken import" in output.stdout + output.stderr  # pip warns with the reason

    result = command(index, "unyank", newer.name)
    assert result.returncode == 0, result.stderr
    wait_for(lambda: yanked(index, "cli-yank", newer.name) is False, what="unyank indexed")
    restored = new_venv(tmp_path, "restored")
    pip(index, tmp_path, restored, "cli-yank>=1.0")
    assert installed_version(restored, "cli_yank") == "1.1"


def test_delete_removes_files_then_the_project(index: LocalIndex, tmp_path: Path) -> None:
    first = upload(index, tmp_path, "cli-del", "1.0")
    last = upload(index, tmp_path, "cli-del", "1.1")
    assert command(index, "yank", last.name).returncode == 0
    wait_for(lambda: yanked(index, "cli-del", last.name) is True, what="yank indexed")

    kept = command(index, "delete", first.name)  # no --yes, empty stdin: nothing happens
    assert kept.returncode == 1 and "[y/N]" in kept.stderr
    assert first.name in index.project_files("cli-del")

    assert command(index, "delete", "--yes", first.name).returncode == 0
    wait_for(lambda: first.name not in index.project_files("cli-del"), what="file removed")
    assert "cli-del" in index.root_projects()

    assert command(index, "delete", "--yes", last.name).returncode == 0
    wait_for(lambda: "cli-del" not in index.root_projects(), what="project removed")
    assert index.project_files("cli-del") == {}
    listed = index.s3().list_objects_v2(Bucket=index.bucket, Prefix=layout.yank_key("cli-del/"))
    assert [o["Key"] for o in listed.get("Contents", [])] == []  # the yank marker went too

    # The project page answers 404 once the last file is gone; pip finds nothing.
    python = new_venv(tmp_path)
    result = pip(index, tmp_path, python, "cli-del", check=False)
    assert result.returncode != 0
