"""``serverless-pypi upload / yank / unyank / delete`` against moto server.

Most cases run the command as a user does (a subprocess); the ones that inject a failure or a
race run it in-process against the same server.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from support.dists import sdist_bytes, sdist_filename, wheel_bytes, wheel_filename, write
from support.localserver import serverless_pypi_command

from serverless_pypi import cli, layout, publish
from serverless_pypi.cli import bucket as bucket_commands
from serverless_pypi.errors import Refused
from serverless_pypi.storage import Bucket


class Store:
    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.name = f"cli-{uuid.uuid4().hex[:12]}"
        self.s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        self.s3.create_bucket(Bucket=self.name)

    def options(self) -> list[str]:
        return ["--bucket", self.name, "--endpoint-url", self.endpoint]

    def objects(self) -> set[str]:
        listed = self.s3.list_objects_v2(Bucket=self.name).get("Contents", [])
        return {o["Key"] for o in listed}

    def read(self, key: str) -> bytes:
        return bytes(self.s3.get_object(Bucket=self.name, Key=key)["Body"].read())

    def uploads(self) -> list[dict[str, Any]]:
        return list(self.s3.list_multipart_uploads(Bucket=self.name).get("Uploads", []))

    def run(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        command, *rest = args
        return subprocess.run(
            [*serverless_pypi_command(), command, *rest, *self.options()],
            capture_output=True,
            text=True,
            input=stdin,
            timeout=120,
        )


@pytest.fixture
def store(moto_server: str) -> Store:
    return Store(moto_server)


def a_wheel(tmp_path: Path, name: str = "cli-pkg", version: str = "1.0", **kw: Any) -> Path:
    return write(tmp_path, wheel_filename(name, version), wheel_bytes(name, version, **kw))


def no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr, result.stderr


# -- upload -----------------------------------------------------------------------------------


def test_upload_stores_under_the_canonical_project(store: Store, tmp_path: Path) -> None:
    wheel = a_wheel(tmp_path, "CLI.Pkg")
    sdist = write(tmp_path, sdist_filename("CLI.Pkg", "1.0"), sdist_bytes("CLI.Pkg", "1.0"))
    result = store.run("upload", str(wheel), str(sdist))
    assert result.returncode == 0, result.stderr
    assert store.objects() == {f"cli-pkg/{wheel.name}", f"cli-pkg/{sdist.name}"}
    assert store.read(f"cli-pkg/{wheel.name}") == wheel.read_bytes()
    assert "uploaded to s3://" in result.stdout
    head = store.s3.head_object(Bucket=store.name, Key=f"cli-pkg/{wheel.name}")
    assert head["ContentType"] == "application/zip"


def test_dry_run_writes_nothing(store: Store, tmp_path: Path) -> None:
    wheel = a_wheel(tmp_path)
    result = store.run("upload", "--dry-run", str(wheel))
    assert result.returncode == 0, result.stderr
    assert f"would upload to s3://{store.name}/cli-pkg/{wheel.name}" in result.stdout
    assert hashlib.sha256(wheel.read_bytes()).hexdigest() in result.stdout
    assert store.objects() == set()
    # The dry run still applies every check.
    bad = write(tmp_path, "cli_pkg-2.0-py3-none-any.whl", b"not a zip")
    result = store.run("upload", "--dry-run", str(bad))
    assert result.returncode == 1 and "not a valid distribution" in result.stderr


def test_identical_reupload_is_success_under_any_spelling(store: Store, tmp_path: Path) -> None:
    wheel = a_wheel(tmp_path)
    store.s3.put_object(Bucket=store.name, Key=f"CLI_Pkg/{wheel.name}", Body=wheel.read_bytes())
    result = store.run("upload", str(wheel))
    assert result.returncode == 0, result.stderr
    assert "already present" in result.stdout
    assert store.objects() == {f"CLI_Pkg/{wheel.name}"}  # no second copy under cli-pkg/


def test_conflict_is_refused_and_other_files_still_go(store: Store, tmp_path: Path) -> None:
    first = a_wheel(tmp_path)
    assert store.run("upload", str(first)).returncode == 0
    original = first.read_bytes()
    changed_dir = tmp_path / "changed"
    changed_dir.mkdir()
    changed = a_wheel(changed_dir, payload=b"different bytes")
    other = a_wheel(tmp_path, version="1.1")
    result = store.run("upload", str(changed), str(other))
    assert result.returncode == 1
    no_traceback(result)
    assert "already exists with different content" in result.stderr
    assert store.read(f"cli-pkg/{first.name}") == original
    assert f"cli-pkg/{other.name}" in store.objects()
    # Re-running the same job: the conflict is still reported, the rest is idempotent.
    again = store.run("upload", str(changed), str(other))
    assert again.returncode == 1 and "already present" in again.stdout


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("notes.txt", b"hello", "Invalid distribution filename"),
        ("cli_pkg-1.0-py3-none-any.whl", b"not a zip", "not a valid distribution"),
        ("cli_pkg-1.0.tar.gz", b"\x1f\x8b garbage", "not a valid distribution"),
    ],
)
def test_bad_files_are_refused_like_the_api(
    store: Store, tmp_path: Path, filename: str, data: bytes, message: str
) -> None:
    path = write(tmp_path, filename, data)
    with pytest.raises(Refused) as api:
        publish.check(filename, io.BytesIO(data))
    with pytest.raises(Refused) as command:
        publish.check_file(path)
    assert command.value.message == api.value.message  # the same checks, the same words
    result = store.run("upload", str(path))
    assert result.returncode == 1
    no_traceback(result)
    assert message in result.stderr
    assert store.objects() == set()


def test_missing_file_and_usage_errors(store: Store, tmp_path: Path) -> None:
    result = store.run("upload", str(tmp_path / "cli_pkg-1.0-py3-none-any.whl"))
    assert result.returncode == 1 and "no such file" in result.stderr
    no_traceback(result)
    usage = subprocess.run(
        [*serverless_pypi_command(), "upload", "x.whl"], capture_output=True, text=True
    )
    assert usage.returncode == 2 and "--bucket" in usage.stderr


def test_s3_errors_are_one_line(moto_server: str, tmp_path: Path) -> None:
    wheel = a_wheel(tmp_path)
    options = ["--bucket", "no-such-bucket", "--endpoint-url", moto_server]
    result = subprocess.run(
        [*serverless_pypi_command(), "upload", str(wheel), *options],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    no_traceback(result)
    assert len(result.stderr.strip().splitlines()) == 1
    assert "bucket 'no-such-bucket' does not exist" in result.stderr


# -- multipart --------------------------------------------------------------------------------


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> int:
    """Multipart uploads with 64 KiB parts (moto enforces S3's 5 MiB minimum unless told)."""
    from moto.s3 import models

    part = 64 * 1024
    monkeypatch.setattr(models, "S3_UPLOAD_PART_MIN_SIZE", 1024)
    monkeypatch.setattr(publish, "PART_SIZE", part)
    return part


def in_process(store: Store, *args: str) -> int:
    command, *rest = args
    return cli.main([command, *rest, *store.options()])


def test_multipart_upload_with_progress(
    store: Store,
    tmp_path: Path,
    small_parts: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    wheel = a_wheel(tmp_path, payload=bytes(range(256)) * 1024 + b"x" * 100_000)
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    assert wheel.stat().st_size > 3 * small_parts
    assert in_process(store, "upload", str(wheel)) == 0
    key = f"cli-pkg/{wheel.name}"
    assert store.read(key) == wheel.read_bytes()
    etag = store.s3.head_object(Bucket=store.name, Key=key)["ETag"]
    assert etag.strip('"').endswith(f"-{-(-wheel.stat().st_size // small_parts)}")  # multipart
    err = capsys.readouterr().err
    assert "\r" in err and "100%" in err
    assert store.uploads() == []


def test_part_size_grows_past_ten_thousand_parts() -> None:
    part = publish.PART_SIZE
    assert publish.part_size_for(part * 10) == part
    huge = part * 10_000 + 1
    assert -(-huge // publish.part_size_for(huge)) <= 10_000


class FailingParts:
    """An S3 client whose second UploadPart fails."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.parts = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def upload_part(self, **kwargs: Any) -> Any:
        self.parts += 1
        if self.parts == 2:
            raise ClientError({"Error": {"Code": "InternalError"}}, "UploadPart")
        return self.client.upload_part(**kwargs)


def test_failed_multipart_upload_is_aborted(
    store: Store,
    tmp_path: Path,
    small_parts: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    wheel = a_wheel(tmp_path, payload=bytes(range(256)) * 1024)
    real = bucket_commands._bucket

    def failing(args: Any) -> Bucket:
        bucket = real(args)
        return Bucket(FailingParts(bucket.client), bucket.name)  # type: ignore[arg-type]

    monkeypatch.setattr(bucket_commands, "_bucket", failing)
    assert in_process(store, "upload", str(wheel)) == 1
    assert "UploadPart failed: InternalError" in capsys.readouterr().err
    assert store.uploads() == []
    assert store.objects() == set()


@pytest.mark.parametrize("same", [True, False])
def test_lost_race_on_complete_compares_content(
    store: Store,
    tmp_path: Path,
    small_parts: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    same: bool,
) -> None:
    """Another upload stores the filename between our check and our CompleteMultipartUpload:
    S3 answers 412 and the command falls back to comparing content."""
    wheel = a_wheel(tmp_path, payload=bytes(range(256)) * 1024)
    key = f"cli-pkg/{wheel.name}"
    theirs = wheel.read_bytes() if same else b"someone else's bytes"
    store.s3.put_object(Bucket=store.name, Key=key, Body=theirs)
    monkeypatch.setattr(publish, "existing", lambda bucket, candidate: None)
    code = in_process(store, "upload", str(wheel))
    out, err = capsys.readouterr()
    assert store.uploads() == []
    assert store.read(key) == theirs
    if same:
        assert code == 0 and "already present" in out
    else:
        assert code == 1 and "already exists with different content" in err


def test_lost_race_on_small_put(store: Store, tmp_path: Path, monkeypatch: Any) -> None:
    wheel = a_wheel(tmp_path)
    key = f"cli-pkg/{wheel.name}"
    store.s3.put_object(Bucket=store.name, Key=key, Body=b"other")
    monkeypatch.setattr(publish, "existing", lambda bucket, candidate: None)
    assert in_process(store, "upload", str(wheel)) == 1
    assert store.read(key) == b"other"


def test_file_changed_during_upload_is_not_stored(
    store: Store, tmp_path: Path, small_parts: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = a_wheel(tmp_path, payload=bytes(range(256)) * 1024)
    checked = publish.check_file

    def check_then_change(path: Path) -> publish.Candidate:
        result = checked(path)
        path.write_bytes(wheel_bytes("cli-pkg", "1.0", payload=b"swapped" * 50_000))
        return result

    monkeypatch.setattr(publish, "check_file", check_then_change)
    assert in_process(store, "upload", str(wheel)) == 1
    assert store.objects() == set() and store.uploads() == []


# -- yank / unyank / delete -------------------------------------------------------------------


def test_yank_and_unyank_write_only_the_marker(store: Store, tmp_path: Path) -> None:
    wheel = a_wheel(tmp_path)
    key = f"Cli_Pkg/{wheel.name}"
    store.s3.put_object(Bucket=store.name, Key=key, Body=wheel.read_bytes())
    before = store.s3.head_object(Bucket=store.name, Key=key)

    result = store.run("yank", wheel.name, "--reason", "broken  build")
    assert result.returncode == 0, result.stderr
    assert store.read(layout.yank_key(key)) == b"broken build"
    assert f"yanked {key}" in result.stdout
    after = store.s3.head_object(Bucket=store.name, Key=key)
    assert (after["ETag"], after["LastModified"]) == (before["ETag"], before["LastModified"])

    # Without a reason: an empty marker. A path or key names the file too.
    assert store.run("yank", str(wheel)).returncode == 0
    assert store.read(layout.yank_key(key)) == b""

    result = store.run("unyank", f"cli-pkg/{wheel.name}")
    assert result.returncode == 0 and f"unyanked {key}" in result.stdout
    assert store.objects() == {key}
    again = store.run("unyank", wheel.name)
    assert again.returncode == 0 and "was not yanked" in again.stdout


def test_yank_unknown_or_invalid_file(store: Store) -> None:
    for argument in ("cli_pkg-9.9-py3-none-any.whl", "nonsense.txt"):
        result = store.run("yank", argument, "--reason", "x")
        assert result.returncode == 1
        no_traceback(result)
    assert "not found in bucket" in store.run("unyank", "cli_pkg-9.9.tar.gz").stderr
    assert store.objects() == set()
    long = store.run("yank", "cli_pkg-9.9.tar.gz", "--reason", "x" * 1001)
    assert long.returncode == 2


def test_delete_asks_and_keeps_the_file_unless_yes(store: Store, tmp_path: Path) -> None:
    wheel = a_wheel(tmp_path)
    key = f"cli-pkg/{wheel.name}"
    store.s3.put_object(Bucket=store.name, Key=key, Body=wheel.read_bytes())
    store.s3.put_object(Bucket=store.name, Key=layout.yank_key(key), Body=b"bad")

    for answer in ("n\n", "", "whatever\n"):
        result = store.run("delete", wheel.name, stdin=answer)
        assert result.returncode == 1
        assert f"Delete {key} from bucket {store.name}? [y/N]" in result.stderr
        assert "not deleted" in result.stderr
    assert store.objects() == {key, layout.yank_key(key)}

    result = store.run("delete", wheel.name, stdin="y\n")
    assert result.returncode == 0, result.stderr
    assert store.objects() == set()  # the yank marker went with the file

    missing = store.run("delete", "--yes", wheel.name)
    assert missing.returncode == 1 and "not found" in missing.stderr
    no_traceback(missing)


def test_delete_yes_removes_every_spelling(store: Store, tmp_path: Path) -> None:
    wheel = a_wheel(tmp_path)
    other = a_wheel(tmp_path, version="2.0")
    for key in (f"cli-pkg/{wheel.name}", f"CLI_PKG/{wheel.name}", f"cli-pkg/{other.name}"):
        store.s3.put_object(Bucket=store.name, Key=key, Body=b"x")
    result = store.run("delete", "--yes", wheel.name)
    assert result.returncode == 0, result.stderr
    assert store.objects() == {f"cli-pkg/{other.name}"}


def test_yank_and_unyank_a_whole_version(store: Store, tmp_path: Path) -> None:
    """PROJECT==VERSION acts on every file of that version, under any spelling, and on
    no other version."""
    keys = [
        f"Cli_Pkg/{wheel_filename('cli-pkg', '1.0')}",
        f"cli-pkg/{sdist_filename('cli-pkg', '1.0')}",
        f"cli-pkg/{wheel_filename('cli-pkg', '1.1')}",
    ]
    for key in keys:
        store.s3.put_object(Bucket=store.name, Key=key, Body=b"x")
    result = store.run("yank", "CLI.Pkg==1.0.0", "--reason", "bad")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"yanked {k} (reason: bad)" for k in sorted(keys[:2])]
    assert store.objects() == {*keys, *(layout.yank_key(k) for k in keys[:2])}

    result = store.run("unyank", "cli-pkg==1.0")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"unyanked {k}" for k in sorted(keys[:2])]
    assert store.objects() == set(keys)

    missing = store.run("yank", "cli-pkg==2.0")
    assert missing.returncode == 1 and "no files of cli-pkg 2.0 in bucket" in missing.stderr
    for bad, message in (
        ("cli-pkg==not a version", "invalid version"),
        ("../x==1.0", "invalid project name"),
    ):
        result = store.run("yank", bad)
        assert result.returncode == 1 and message in result.stderr
        no_traceback(result)
