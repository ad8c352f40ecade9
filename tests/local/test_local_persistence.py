"""The data directory: safe names, locking, and a restart round trip through embedded moto."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.localserver import aws_client

from serverless_pypi.local import persistence
from serverless_pypi.local.persistence import DataDir, DataDirError, file_name
from serverless_pypi.local.serve import Options, Running, start

HOSTILE_KEYS = [
    "..",
    ".",
    "../../escape.txt",
    "a/../../b",
    "%2e%2e/x.whl",
    "%",
    "100%25/x",
    "x" * 1000,
    "é/ü 1.0.whl",
    "日本/パッケージ.whl",
    "sp ace+plus~tilde.whl",
    "back\\slash",
    "My_Pkg/File-1.0.whl",
    "my_pkg/file-1.0.whl",
    "=deadbeef",
    ".index/root.json",
]


# -- names -------------------------------------------------------------------------------------


def test_file_names_are_safe_and_distinct() -> None:
    names = [file_name(k) for k in HOSTILE_KEYS]
    for name in names:
        assert name not in (".", "..", "")
        assert "/" not in name and "\\" not in name and "\0" not in name
        assert len(name.encode()) <= persistence.MAX_NAME_BYTES + 70
        assert name.isascii()
    # Distinct even on a case-insensitive filesystem.
    assert len({n.lower() for n in names}) == len(HOSTILE_KEYS)
    assert file_name("x" * 1000).startswith("=")
    assert file_name("simple/a-1.0.whl") == "simple%2Fa-1.0.whl"


def test_empty_key_is_refused() -> None:
    with pytest.raises(ValueError):
        file_name("")


# -- the directory -----------------------------------------------------------------------------


def test_save_remove_and_entries(tmp_path: Path) -> None:
    data = DataDir(tmp_path)
    try:
        for key in HOSTILE_KEYS:
            data.save(
                key, io.BytesIO(key.encode()), {"content_type": "x/y", "metadata": {"k": "v"}}
            )
        entries = {e.key: e for e in data.entries()}
        assert set(entries) == set(HOSTILE_KEYS)
        assert entries[".."].path.read_bytes() == b".."
        assert entries["é/ü 1.0.whl"].meta["metadata"] == {"k": "v"}
        data.remove("..")
        data.remove("never-existed")
        assert ".." not in {e.key for e in data.entries()}
    finally:
        data.close()
    # Nothing was written outside the directory's three folders.
    top = {p.name for p in tmp_path.iterdir()}
    assert top == {"objects", "meta", "tmp", "format", "lock"}
    assert not any((tmp_path.parent / "escape.txt").exists() for _ in [0])
    assert list((tmp_path / "tmp").iterdir()) == []


def test_broken_sidecars_are_skipped(tmp_path: Path) -> None:
    data = DataDir(tmp_path)
    try:
        data.save("a/ok.whl", io.BytesIO(b"ok"), {})
        (tmp_path / "meta" / "broken.json").write_text("{not json")
        (tmp_path / "meta" / "lying.json").write_text('{"key": "something-else"}')
        (tmp_path / "objects" / "lying").write_text("x")
        (tmp_path / "meta" / "orphan.json").write_text('{"key": "orphan"}')
        assert [e.key for e in data.entries()] == ["a/ok.whl"]
    finally:
        data.close()


def test_a_data_dir_is_used_by_one_server_at_a_time(tmp_path: Path) -> None:
    first = DataDir(tmp_path)
    try:
        with pytest.raises(DataDirError, match="in use"):
            DataDir(tmp_path)
    finally:
        first.close()
    DataDir(tmp_path).close()  # free again


def test_unknown_format_and_leftover_temp_files(tmp_path: Path) -> None:
    DataDir(tmp_path).close()
    (tmp_path / "tmp" / "partial").write_bytes(b"half a wheel")
    DataDir(tmp_path).close()
    assert list((tmp_path / "tmp").iterdir()) == []
    (tmp_path / "format").write_text("something else 9\n")
    with pytest.raises(DataDirError, match="unknown format"):
        DataDir(tmp_path)


# -- restart round trip through the embedded moto ----------------------------------------------


class FakeApi:
    def __init__(self, settings: Any) -> None:
        self.settings = settings

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"statusCode": 200, "body": "fake"}


class FakeReindex:
    instances: list[FakeReindex] = []  # noqa: RUF012 (test-local recorder)

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self.events: list[dict[str, Any]] = []
        self.rebuilds = 0
        FakeReindex.instances.append(self)

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.events.append(event)
        return {}

    def rebuild_all(self) -> object:
        self.rebuilds += 1
        return None


def _start(data_dir: Path) -> Running:
    return start(
        Options(port=0, data_dir=data_dir),
        api_factory=FakeApi,
        reindex_factory=FakeReindex,
        out=io.StringIO(),
    )


@pytest.fixture
def started() -> Iterator[list[Running]]:
    runs: list[Running] = []
    FakeReindex.instances = []
    yield runs
    for running in runs:
        running.stop()


def _all_objects(s3: Any, bucket: str) -> dict[str, bytes]:
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            out[item["Key"]] = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    return out


def test_objects_and_metadata_survive_a_restart(tmp_path: Path, started: list[Running]) -> None:
    data_dir = tmp_path / "data"
    first = _start(data_dir)
    started.append(first)
    assert first.settings is not None and first.settings.uploads == "unauthenticated-insecure"
    s3 = aws_client(first.s3_endpoint_url)
    for i, key in enumerate(HOSTILE_KEYS):
        s3.put_object(
            Bucket=first.bucket,
            Key=key,
            Body=f"body {i}".encode(),
            ContentType="application/zip",
            Metadata={"sha256": f"h{i}"},
        )
    big = os.urandom(3 * 1024 * 1024)
    s3.put_object(Bucket=first.bucket, Key="big/big-1.0.whl", Body=big)
    s3.delete_object(Bucket=first.bucket, Key="a/../../b")
    # Each put_object returns once the queue is drained: the disk already has everything.
    on_disk = {e.key for e in first.data.entries()}
    assert on_disk == (set(HOSTILE_KEYS) - {"a/../../b"}) | {"big/big-1.0.whl"}
    reindex = FakeReindex.instances[-1]
    assert reindex.rebuilds == 1
    records = [r for event in reindex.events for r in event["Records"]]
    assert len(records) >= len(HOSTILE_KEYS) + 2  # one queue message per put/delete
    first.stop()
    started.clear()

    second = _start(data_dir)
    started.append(second)
    s3 = aws_client(second.s3_endpoint_url)
    objects = _all_objects(s3, second.bucket)
    expected = {k: f"body {i}".encode() for i, k in enumerate(HOSTILE_KEYS) if k != "a/../../b"}
    expected["big/big-1.0.whl"] = big
    assert objects == expected
    head = s3.head_object(Bucket=second.bucket, Key="é/ü 1.0.whl")
    assert head["ContentType"] == "application/zip"
    assert head["Metadata"] == {"sha256": f"h{HOSTILE_KEYS.index('é/ü 1.0.whl')}"}
    # The restore itself is not an upload: no events for it, but the index was rebuilt.
    reindex = FakeReindex.instances[-1]
    assert reindex.rebuilds == 1
    assert all("ObjectCreated" not in json_text(e) for e in reindex.events)
    # Nothing ever left the data directory.
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path.parent / "escape.txt").exists()


def json_text(event: dict[str, Any]) -> str:
    return "".join(r["body"] for r in event["Records"])


def test_mirror_is_idempotent_and_follows_the_current_state(
    tmp_path: Path, started: list[Running]
) -> None:
    running = _start(tmp_path / "data")
    started.append(running)
    s3 = aws_client(running.s3_endpoint_url)
    mirror = persistence.Mirror(s3, running.bucket, running.data)
    s3.put_object(Bucket=running.bucket, Key="p/a.whl", Body=b"v1")
    mirror("p/a.whl")
    mirror("p/a.whl")
    assert (running.data.objects / "p%2Fa.whl").read_bytes() == b"v1"
    # An out-of-date event (say, the first put, replayed after a delete) cannot resurrect it.
    s3.delete_object(Bucket=running.bucket, Key="p/a.whl")
    mirror("p/a.whl")
    assert not (running.data.objects / "p%2Fa.whl").exists()
    mirror("never/was.whl")
    assert [e.key for e in running.data.entries()] == []


def test_ephemeral_directory_is_deleted_at_stop(started: list[Running]) -> None:
    running = start(
        Options(port=0, ephemeral=True),
        api_factory=FakeApi,
        reindex_factory=FakeReindex,
        out=io.StringIO(),
    )
    started.append(running)
    assert running.temp_dir is not None and running.temp_dir.is_dir()
    aws_client(running.s3_endpoint_url).put_object(Bucket=running.bucket, Key="a/b.whl", Body=b"x")
    running.stop()
    assert not running.temp_dir.exists()
