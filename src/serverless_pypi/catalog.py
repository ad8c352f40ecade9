"""What the bucket holds: projects under any spelling of their name, and their files.

The objects under ``<project>/`` are the source of truth. This module reads them by listing;
derived data written by the reindex Lambda is a cache of what these functions compute.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from packaging.utils import NormalizedName

from serverless_pypi import names
from serverless_pypi.storage import Bucket, ObjectInfo

log = logging.getLogger(__name__)

_MAX_REPORTED = 10_000
_reported: set[str] = set()


def report_ignored(key: str, reason: str) -> None:
    """Log a key that is not served, once per process, so listings do not flood the log."""
    if key in _reported or len(_reported) >= _MAX_REPORTED:
        return
    _reported.add(key)
    log.warning("ignored object", extra={"key": key, "reason": reason})


@dataclass(frozen=True, slots=True)
class ListedFile:
    """A distribution found in the bucket."""

    location: names.DistributionKey
    size: int
    last_modified: datetime

    @property
    def filename(self) -> str:
        return self.location.dist.filename


def spellings(bucket: Bucket, project: NormalizedName) -> list[str]:
    """Every top-level prefix whose name canonicalizes to ``project``.

    Any spelling starts with the canonical name's first character in one of its cases, so at
    most two delimiter listings over that slice of the bucket find them all.
    """
    first = project[0]
    found = [
        prefix
        for start in sorted({first, first.upper()})
        for prefix in bucket.list_prefixes(start)
        if names.canonical(prefix) == project
    ]
    return sorted(found)


def _distributions(objects: Iterable[ObjectInfo]) -> Iterator[ListedFile]:
    for obj in objects:
        location = names.parse_key(obj.key)
        if location is None:
            report_ignored(obj.key, "not a distribution of this project")
            continue
        yield ListedFile(location=location, size=obj.size, last_modified=obj.last_modified)


def spelling_rank(location: names.DistributionKey) -> tuple[bool, str]:
    """Of two files with one filename under different spellings, the lower rank is served:
    the canonical spelling first, then the first in sort order."""
    return (location.prefix != location.project, location.prefix)


def _first(listed: ListedFile) -> tuple[datetime, tuple[bool, str], str]:
    """Of two files of one identity, the one stored first is served (as the indexer does)."""
    return (listed.last_modified, spelling_rank(listed.location), listed.location.key)


def project_files(bucket: Bucket, prefixes: Iterable[str]) -> list[ListedFile]:
    """The project's files from every spelling, one per file identity, sorted by filename."""
    by_identity: dict[names.Identity, ListedFile] = {}
    for prefix in prefixes:
        for listed in _distributions(bucket.list_objects(prefix + "/")):
            identity = listed.location.dist.identity
            other = by_identity.get(identity)
            if other is not None:
                kept = min(listed, other, key=_first)
                dropped = other if kept is listed else listed
                report_ignored(dropped.location.key, "another file of the same identity")
                listed = kept
            by_identity[identity] = listed
    return sorted(by_identity.values(), key=lambda listed: listed.filename)
