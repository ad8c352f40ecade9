"""``serverless-pypi prune`` (and ``status``) as a user runs them, against moto server."""

from __future__ import annotations

import json

import pytest
from test_cli_bucket import Store

from serverless_pypi import layout

KEYS = {
    "1.0": ["cli-prune/cli_prune-1.0-py3-none-any.whl", "cli-prune/cli_prune-1.0.tar.gz"],
    "1.1.dev1": ["Cli_Prune/cli_prune-1.1.dev1-py3-none-any.whl"],
    "1.1.dev2": ["cli-prune/cli_prune-1.1.dev2-py3-none-any.whl"],
    "2.0": ["cli-prune/cli_prune-2.0-py3-none-any.whl"],
    "2.1.dev1": ["cli-prune/cli_prune-2.1.dev1-py3-none-any.whl"],
}


@pytest.fixture
def store(moto_server: str) -> Store:
    store = Store(moto_server)
    store.s3.put_bucket_versioning(Bucket=store.name, VersioningConfiguration={"Status": "Enabled"})
    for keys in KEYS.values():
        for key in keys:
            store.s3.put_object(Bucket=store.name, Key=key, Body=b"x" * 100)
    yanked = layout.yank_key(KEYS["1.1.dev1"][0])
    store.s3.put_object(Bucket=store.name, Key=yanked, Body=b"broken")
    store.s3.put_object(Bucket=store.name, Key="other/other-1.0.tar.gz", Body=b"x")
    return store


def remaining(store: Store) -> set[str]:
    return {k for k in store.objects() if k.startswith(("cli-prune/", "Cli_Prune/", ".yanked/"))}


def test_prune_shows_asks_and_deletes_only_on_yes(store: Store) -> None:
    before = store.objects()
    for answer in ("n\n", ""):
        result = store.run("prune", "cli-prune", "--dev-only", "--keep-last", "1", stdin=answer)
        assert result.returncode == 1, result.stderr
        assert "nothing deleted" in result.stderr and "[y/N]" in result.stderr
        assert "cli-prune: delete 2 version(s), 2 file(s)" in result.stdout
        assert KEYS["1.1.dev1"][0] in result.stdout and KEYS["1.1.dev2"][0] in result.stdout
        assert KEYS["2.1.dev1"][0] not in result.stdout  # the newest dev release is kept
    assert store.objects() == before

    result = store.run("prune", "cli-prune", "--dev-only", "--keep-last", "1", stdin="y\n")
    assert result.returncode == 0, result.stderr
    assert "deleted 2 file(s) of 2 version(s) in 1 project(s)" in result.stdout
    gone = {*KEYS["1.1.dev1"], *KEYS["1.1.dev2"], layout.yank_key(KEYS["1.1.dev1"][0])}
    assert store.objects() == before - gone  # every spelling, and the yank mark went too


def test_prune_dry_run_and_yes(store: Store) -> None:
    before = store.objects()
    dry = store.run("prune", "--all", "--keep-last", "0", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "dry run: would delete 5 file(s) of 4 version(s) in 1 project(s)" in dry.stdout
    assert "newest release 2.0 always kept" in dry.stdout and "[y/N]" not in dry.stderr
    assert store.objects() == before

    done = store.run("prune", "--all", "--keep-last", "0", "--yes")
    assert done.returncode == 0, done.stderr
    assert remaining(store) == set(KEYS["2.0"])  # never the newest final release
    assert "other/other-1.0.tar.gz" in store.objects()  # its only version: its newest release

    again = store.run("prune", "--all", "--keep-last", "0", "--yes")
    assert again.returncode == 0 and again.stdout.strip() == "nothing to prune"


def test_older_than_keeps_what_is_younger(store: Store) -> None:
    young = store.run("prune", "cli-prune", "--older-than", "1h", "--yes")
    assert young.returncode == 0 and young.stdout.strip() == "nothing to prune"
    everything_old = store.run("prune", "cli-prune", "--older-than", "0h", "--yes")
    assert everything_old.returncode == 0, everything_old.stderr
    assert remaining(store) == set(KEYS["2.0"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["cli-prune"], "say what to prune"),
        (["--keep-last", "2"], "name a PROJECT or give --all"),
        (["cli-prune", "--all", "--keep-last", "2"], "name a PROJECT or give --all"),
        (["cli-prune", "--older-than", "soon"], "not an age"),
        (["cli-prune", "--keep-last", "-1"], "0 or more"),
        (["not a name!", "--keep-last", "1"], "invalid project name"),
    ],
)
def test_usage_errors_touch_nothing(store: Store, args: list[str], message: str) -> None:
    before = store.objects()
    result = store.run("prune", *args, "--yes")
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert store.objects() == before


def test_pruned_files_restore_as_the_readme_says(store: Store) -> None:
    """README, "Restoring pruned files": delete the delete marker; the object is back."""
    key = KEYS["1.0"][0]
    assert store.run("prune", "cli-prune", "--keep-last", "1", "--yes").returncode == 0
    assert key not in store.objects()
    versions = store.s3.list_object_versions(Bucket=store.name, Prefix=key)
    marker = next(m for m in versions["DeleteMarkers"] if m["IsLatest"])
    store.s3.delete_object(Bucket=store.name, Key=key, VersionId=marker["VersionId"])
    assert key in store.objects() and store.read(key) == b"x" * 100


def test_status_command_writes_the_marker(store: Store) -> None:
    result = store.run("status", "Cli.Prune", "quarantined", "--reason", "  bad\n  news ")
    assert result.returncode == 0, result.stderr
    assert "cli-prune: quarantined (bad news) - uploads refused, no file served" in result.stdout
    body = json.loads(store.read(layout.status_key("cli-prune")))
    assert body == {"status": "quarantined", "reason": "bad news"}
    assert store.run("status", "cli-prune").stdout.strip() == "cli-prune: quarantined (bad news)"
    assert store.run("status", "cli-prune", "active").returncode == 0
    assert layout.status_key("cli-prune") not in store.objects()
    assert store.run("status", "cli-prune", "--reason", "x").returncode == 2
