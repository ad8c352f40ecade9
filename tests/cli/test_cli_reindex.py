"""``serverless-pypi reindex`` against moto server, as a user runs it."""

from __future__ import annotations

import json
import subprocess

import boto3
from support.localserver import serverless_pypi_command

from serverless_pypi import layout


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*serverless_pypi_command(), *args], capture_output=True, text=True, timeout=60
    )


def test_full_reindex_reports_changes_and_keeps_upload_times(moto_server: str) -> None:
    s3 = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1")
    s3.create_bucket(Bucket="cli-bucket")
    for key in ("One/one-1.0.tar.gz", "one/one-1.1.tar.gz", "two/two-1.0.tar.gz", "x/y.txt"):
        s3.put_object(Bucket="cli-bucket", Key=key, Body=b"data")
    first = run("reindex", "--bucket", "cli-bucket", "--endpoint-url", moto_server, "--full")
    assert first.returncode == 0, first.stderr
    assert "projects=2 files_added=3 files_removed=0" in first.stdout
    assert "  + one" in first.stdout and "  + two" in first.stdout
    doc_key = layout.project_doc_key("one")
    before = json.loads(s3.get_object(Bucket="cli-bucket", Key=doc_key)["Body"].read())

    s3.delete_object(Bucket="cli-bucket", Key="two/two-1.0.tar.gz")
    second = run("reindex", "--bucket", "cli-bucket", "--endpoint-url", moto_server)
    assert "projects=1 files_added=0 files_removed=1" in second.stdout
    assert "  - two" in second.stdout
    after = json.loads(s3.get_object(Bucket="cli-bucket", Key=doc_key)["Body"].read())
    assert after == before  # nothing re-derived, upload times kept

    one = run(
        "reindex", "--bucket", "cli-bucket", "--endpoint-url", moto_server, "--project", "ONE"
    )
    assert one.returncode == 0 and "files_added=0" in one.stdout
    bad = run(
        "reindex", "--bucket", "cli-bucket", "--endpoint-url", moto_server, "--project", "../x"
    )
    assert bad.returncode == 2 and "invalid project name" in bad.stderr


def test_verify_repairs_and_lists_each_difference(moto_server: str) -> None:
    s3 = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1")
    s3.create_bucket(Bucket="cli-verify")
    s3.put_object(Bucket="cli-verify", Key="one/one-1.0.tar.gz", Body=b"data")
    assert run("reindex", "--bucket", "cli-verify", "--endpoint-url", moto_server).returncode == 0
    doc_key = layout.project_doc_key("one")
    good = s3.get_object(Bucket="cli-verify", Key=doc_key)["Body"].read()
    document = json.loads(good)
    document["files"]["one/one-1.0.tar.gz"]["sha256"] = "0" * 64
    s3.put_object(Bucket="cli-verify", Key=doc_key, Body=json.dumps(document).encode())

    verify = ("reindex", "--bucket", "cli-verify", "--endpoint-url", moto_server, "--verify")
    first = run(*verify)
    assert first.returncode == 0, first.stderr
    assert "differences=" in first.stdout and "differences=0" not in first.stdout
    assert f"  ! one/one-1.0.tar.gz: sha256 recorded as '{'0' * 64}'" in first.stdout
    assert s3.get_object(Bucket="cli-verify", Key=doc_key)["Body"].read() == good
    again = run(*verify, "--project", "one")
    assert "differences=0" in again.stdout and "  ! " not in again.stdout


def test_project_reindex_reports_on_that_project(moto_server: str) -> None:
    s3 = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1")
    s3.create_bucket(Bucket="cli-project")
    for key in ("One/one-1.0.tar.gz", "one/one-1.1.tar.gz", "one/one-1.1-py3-none-any.whl"):
        s3.put_object(Bucket="cli-project", Key=key, Body=b"data")
    s3.put_object(Bucket="cli-project", Key="two/two-1.0.tar.gz", Body=b"data")
    options = ("--bucket", "cli-project", "--endpoint-url", moto_server)
    first = run("reindex", *options, "--project", "ONE")
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        "reindexed project=one bucket=cli-project files=3 versions=2 files_added=3 "
        "files_removed=0 listed",
        "  + one",
    ]
    # Removing its last files takes it out of the index: reported, and not a failure.
    for key in ("One/one-1.0.tar.gz", "one/one-1.1.tar.gz", "one/one-1.1-py3-none-any.whl"):
        s3.delete_object(Bucket="cli-project", Key=key)
    gone = run("reindex", *options, "--project", "one")
    assert gone.returncode == 0, gone.stderr
    assert "files=0 versions=0 files_added=0 files_removed=3" in gone.stdout
    assert "removed from the index" in gone.stdout and "  - one" in gone.stdout


def test_project_without_files_fails_clearly_and_writes_nothing(moto_server: str) -> None:
    s3 = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1")
    s3.create_bucket(Bucket="cli-nofiles")
    s3.put_object(Bucket="cli-nofiles", Key="two/two-1.0.tar.gz", Body=b"data")
    options = ("--bucket", "cli-nofiles", "--endpoint-url", moto_server)
    assert run("reindex", *options).returncode == 0
    before = {o["Key"] for o in s3.list_objects_v2(Bucket="cli-nofiles")["Contents"]}
    result = run("reindex", *options, "--project", "Tw0")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip() == (
        "serverless-pypi: project 'tw0' has no files in bucket 'cli-nofiles' (any spelling of "
        "tw0/ was looked for): nothing to reindex"
    )
    assert {o["Key"] for o in s3.list_objects_v2(Bucket="cli-nofiles")["Contents"]} == before
