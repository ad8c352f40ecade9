"""Prune planning: which versions go, which stay, and the newest final release always stays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from packaging.version import Version

from serverless_pypi.retention import Policy, StoredFile, parse_age, plan, releases

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def files(*specs: tuple[str, int]) -> list[StoredFile]:
    """(version, age in days) → one wheel and one sdist of that version."""
    found = []
    for version, days in specs:
        when = NOW - timedelta(days=days)
        found.append(StoredFile(f"p/p-{version}-py3-none-any.whl", Version(version), 10, when))
        found.append(StoredFile(f"p/p-{version}.tar.gz", Version(version), 5, when))
    return found


def deleted(policy: Policy, *specs: tuple[str, int]) -> list[str]:
    return [str(r.version) for r in plan("p", files(*specs), policy, NOW).delete]


HISTORY = (("1.0", 400), ("1.1", 300), ("2.0", 200), ("2.1.dev1", 100), ("2.1.dev2", 50),
           ("2.1rc1", 20), ("2.1.dev3", 1))  # fmt: skip


def test_keep_last_keeps_the_newest_by_version_and_never_the_newest_final() -> None:
    assert deleted(Policy(keep_last=3), *HISTORY) == ["2.1.dev1", "1.1", "1.0"]
    # 2.0 is the newest final release: kept even when keep-last would let it go. (PEP 440:
    # 2.1.dev3 < 2.1rc1, so the release candidate is the newest version.)
    expected = ["2.1.dev3", "2.1.dev2", "2.1.dev1", "1.1", "1.0"]
    assert deleted(Policy(keep_last=1), *HISTORY) == expected
    assert deleted(Policy(keep_last=0), ("1.0", 1)) == []


def test_dev_only_considers_development_releases_alone() -> None:
    assert deleted(Policy(dev_only=True), *HISTORY) == ["2.1.dev3", "2.1.dev2", "2.1.dev1"]
    assert deleted(Policy(dev_only=True, keep_last=1), *HISTORY) == ["2.1.dev2", "2.1.dev1"]


def test_older_than_uses_the_newest_file_of_a_version() -> None:
    assert deleted(Policy(older_than=timedelta(days=90)), *HISTORY) == ["2.1.dev1", "1.1", "1.0"]
    mixed = [*files(("1.0", 400)), StoredFile("p/p-1.0-py2-none-any.whl", Version("1.0"), 1, NOW)]
    mixed += files(("3.0", 1))
    assert plan("p", mixed, Policy(older_than=timedelta(days=90)), NOW).delete == ()
    # All criteria together: old, dev and not the newest dev release.
    both = Policy(dev_only=True, keep_last=1, older_than=timedelta(days=60))
    assert deleted(both, *HISTORY) == ["2.1.dev1"]


def test_whole_versions_go_and_equal_versions_are_one() -> None:
    found = files(("1.0", 10), ("1.0.0", 5), ("2.0", 1))
    grouped = releases(found)
    assert [str(r.version) for r in grouped] == ["2.0", "1.0"]
    result = plan("p", found, Policy(keep_last=1), NOW)
    assert result.protected == Version("2.0")
    assert [len(r.files) for r in result.delete] == [4]
    assert (result.files, result.size) == (4, 30)


def test_only_prereleases_means_nothing_is_protected() -> None:
    result = plan("p", files(("1.0a1", 10), ("1.0a2", 5)), Policy(keep_last=1), NOW)
    assert result.protected is None
    assert [str(r.version) for r in result.delete] == ["1.0a1"]


def test_post_releases_are_final() -> None:
    assert deleted(Policy(keep_last=0), ("1.0", 10), ("1.0.post1", 5)) == ["1.0"]


def test_no_criterion_selects_nothing() -> None:
    assert not Policy().selects
    assert Policy(keep_last=0).selects and Policy(dev_only=True).selects


@pytest.mark.parametrize(
    ("text", "expected"),
    [("90d", timedelta(days=90)), ("12w", timedelta(weeks=12)), ("36h", timedelta(hours=36)),
     (" 7D ", timedelta(days=7))],
)  # fmt: skip
def test_ages(text: str, expected: timedelta) -> None:
    assert parse_age(text) == expected


@pytest.mark.parametrize("text", ["", "90", "d", "-1d", "1.5d", "9999999d", "3m"])
def test_bad_ages(text: str) -> None:
    with pytest.raises(ValueError, match="not an age"):
        parse_age(text)
