"""Status markers as the reindexer meets them: in events, and in a full rebuild's listing.

The document records the status a marker said when it was last read (see
``documents.ProjectFiles``); a marker is read when an event names it, when a project's
document is first created, and by every rebuild. A marker that cannot be read as a status is
logged and leaves the recorded status as it is (``None`` below).
"""

from __future__ import annotations

from collections.abc import Iterable

from packaging.utils import NormalizedName

from serverless_pypi import layout, names, status
from serverless_pypi.catalog import report_ignored
from serverless_pypi.status import ProjectStatus
from serverless_pypi.storage import Bucket, ObjectInfo


def project_of(key: str) -> NormalizedName | None:
    """The project whose status marker ``key`` is; None for any other key (a marker under a
    name that is not canonical is reported: the CLI writes only canonical ones)."""
    spelled = layout.status_target(key)
    if spelled is None:
        return None
    project = names.canonical(spelled)
    if project != spelled:
        report_ignored(key, "not the status marker of a canonical project name")
        return None
    return project


def split(bucket: Bucket, keys: Iterable[str]) -> tuple[list[str], ProjectStatus | None]:
    """An event's keys for one project: the distribution keys, and the status its marker
    says now when the marker is among them (else None: the recorded status stands)."""
    files: list[str] = []
    marker: str | None = None
    for key in keys:
        if project_of(key) is None:
            files.append(key)
        else:
            marker = key
    if marker is None:
        return files, None
    project = layout.status_target(marker) or ""
    return files, status.parse_marker(status.read_marker(bucket, project), marker)


def read_listed(bucket: Bucket, listed: Iterable[ObjectInfo]) -> dict[str, ProjectStatus | None]:
    """The status of each project with a listed marker (one bounded GET per marker)."""
    found: dict[str, ProjectStatus | None] = {}
    for marker in listed:
        project = project_of(marker.key)
        if project is not None:
            body = status.read_marker(bucket, project)
            found[project] = status.parse_marker(body, marker.key)
    return found
