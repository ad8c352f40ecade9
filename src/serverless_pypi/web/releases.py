"""A project's files grouped by version, and which version counts as the latest."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

from serverless_pypi.render import PageFile


@dataclass(frozen=True, slots=True)
class Release:
    version: str
    files: tuple[PageFile, ...]

    @property
    def yanked(self) -> bool:
        """PEP 592: a release is yanked when every one of its files is."""
        return all(f.yanked for f in self.files)

    @property
    def yanked_reason(self) -> str | None:
        reasons = [f.yanked for f in self.files if isinstance(f.yanked, str) and f.yanked]
        return reasons[0] if reasons else None

    @property
    def released(self) -> str:
        """When the release's first file was uploaded."""
        return min((f.upload_time or "" for f in self.files), default="")


def sort_key(version: str) -> tuple[int, Version | str]:
    try:
        return (1, Version(version))
    except InvalidVersion:
        return (0, version)


def group(files: Iterable[PageFile]) -> list[Release]:
    """Releases, newest version first; files within a release by filename."""
    by_version: dict[str, list[PageFile]] = {}
    for f in files:
        by_version.setdefault(f.version, []).append(f)
    return [
        Release(v, tuple(sorted(by_version[v], key=lambda f: f.filename)))
        for v in sorted(by_version, key=sort_key, reverse=True)
    ]


def _is_final(version: str) -> bool:
    try:
        parsed = Version(version)
    except InvalidVersion:
        return False
    return not (parsed.is_prerelease or parsed.is_devrelease)


def latest(releases: Sequence[Release]) -> Release:
    """The highest non-yanked final release, else the highest (``releases``: newest first)."""
    return next((r for r in releases if not r.yanked and _is_final(r.version)), releases[0])
