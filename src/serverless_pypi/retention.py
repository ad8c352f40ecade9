"""Which versions of a project a prune deletes: pure planning, no I/O.

A prune deletes whole versions (every file of a version, under any spelling). A version is
deleted when every criterion given says so:

- ``dev_only``: only development releases (``1.0.dev3``) are considered at all;
- ``keep_last``: the N newest considered versions (by PEP 440 order) are kept;
- ``older_than``: only versions whose newest file is older than that are deleted.

The newest final release (not a pre- or development release) is never deleted, whatever the
criteria: installers fall back to it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from packaging.version import Version

_AGE = re.compile(r"^\s*(\d{1,6})\s*([hdw])\s*$")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def parse_age(text: str) -> timedelta:
    """``90d``, ``12w`` or ``36h``; ``ValueError`` otherwise."""
    match = _AGE.match(text.lower())
    if match is None:
        raise ValueError(f"{text!r} is not an age such as 90d, 12w or 36h")
    return int(match.group(1)) * _UNITS[match.group(2)]


@dataclass(frozen=True, slots=True)
class Policy:
    keep_last: int | None = None
    dev_only: bool = False
    older_than: timedelta | None = None

    @property
    def selects(self) -> bool:
        """Whether any criterion is given (with none, a prune would delete all but one)."""
        return self.keep_last is not None or self.dev_only or self.older_than is not None


@dataclass(frozen=True, slots=True)
class StoredFile:
    key: str
    version: Version
    size: int
    last_modified: datetime


@dataclass(frozen=True, slots=True)
class Release:
    """One version and all its files."""

    version: Version
    files: tuple[StoredFile, ...]

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def newest(self) -> datetime:
        return max(f.last_modified for f in self.files)


@dataclass(frozen=True, slots=True)
class Plan:
    project: str
    delete: tuple[Release, ...]
    keep: tuple[Release, ...]
    #: The newest final release, never deleted (None: the project has none).
    protected: Version | None

    @property
    def files(self) -> int:
        return sum(len(r.files) for r in self.delete)

    @property
    def size(self) -> int:
        return sum(r.size for r in self.delete)


def releases(files: Iterable[StoredFile]) -> list[Release]:
    """Files grouped by version (``1.0`` and ``1.0.0`` are one), newest version first."""
    by_version: dict[Version, list[StoredFile]] = defaultdict(list)
    for f in files:
        by_version[f.version].append(f)
    return [
        Release(version, tuple(sorted(found, key=lambda f: f.key)))
        for version, found in sorted(by_version.items(), key=lambda item: item[0], reverse=True)
    ]


def plan(project: str, files: Iterable[StoredFile], policy: Policy, now: datetime) -> Plan:
    """What a prune of ``project`` under ``policy`` deletes and keeps, as of ``now``."""
    found = releases(files)
    finals = [r.version for r in found if not r.version.is_prerelease]
    protected = max(finals) if finals else None
    considered = [r.version for r in found if r.version.is_devrelease or not policy.dev_only]
    kept_newest = set(considered[: policy.keep_last or 0])
    considered_set = set(considered)
    cutoff = now - policy.older_than if policy.older_than is not None else None
    delete: list[Release] = []
    keep: list[Release] = []
    for release in found:
        deleted = (
            release.version in considered_set
            and release.version != protected
            and release.version not in kept_newest
            and (cutoff is None or release.newest < cutoff)
        )
        (delete if deleted else keep).append(release)
    return Plan(project, tuple(delete), tuple(keep), protected)
