"""The audit trail: one JSON log line per change, with a stable ``event`` field.

The API logs each upload it accepts or refuses (who, which file, its sha256); the reindexer
logs each change it observes in a project (a file added, replaced, removed, yanked or
unyanked, the project's status changed). ``docs/audit.md`` lists the fields and how to query
them. Lines carry only the fields named here: never a header, a credential or a presigned URL.

The logger's level is INFO whatever the function's log level, so turning the other logs down
keeps the trail; the CLI sets it to its own ``--log-level``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from serverless_pypi.documents import FileRecord, ProjectFiles

LOGGER = "serverless_pypi.audit"
log = logging.getLogger(LOGGER)
log.setLevel(logging.INFO)

UPLOAD_ACCEPTED = "upload.accepted"
UPLOAD_REFUSED = "upload.refused"
FILE_ADDED = "file.added"
FILE_REPLACED = "file.replaced"
FILE_REMOVED = "file.removed"
FILE_YANKED = "file.yanked"
FILE_UNYANKED = "file.unyanked"
STATUS_CHANGED = "project.status"
Field = str | int | bool | None


def record(event: str, **fields: Field) -> None:
    """One audit line; fields that are None are left out."""
    log.info(event, extra={"event": event, **{k: v for k, v in fields.items() if v is not None}})


def upload(
    *,
    accepted: bool,
    user: str | None,
    publisher: str | None = None,
    project: str | None = None,
    filename: str | None = None,
    sha256: str | None = None,
    size: int | None = None,
    key: str | None = None,
    new_file: bool | None = None,
    status: int | None = None,
    reason: str | None = None,
) -> None:
    """An upload through the API. ``user``: who the authorizer vouched for (None when
    uploads are open); ``publisher``: the trusted publisher a token was minted for."""
    record(
        UPLOAD_ACCEPTED if accepted else UPLOAD_REFUSED,
        user=user,
        publisher=publisher,
        project=project,
        file=filename,
        sha256=sha256,
        size=size,
        key=key,
        new_file=new_file,
        status=status,
        reason=reason[:500] if reason else None,
    )


def _yank_reason(yanked: bool | str) -> str | None:
    return yanked if isinstance(yanked, str) else None


def _file_changes(project: str, key: str, old: FileRecord | None, new: FileRecord | None) -> None:
    if new is None:
        if old is not None:
            record(FILE_REMOVED, project=project, key=key, sha256=old.sha256)
        return
    if old is None:
        record(
            FILE_ADDED,
            project=project,
            key=key,
            sha256=new.sha256,
            size=new.size,
            upload_time=new.upload_time,
            yanked=bool(new.yanked) or None,
        )
        return
    if old.sha256 != new.sha256:
        record(
            FILE_REPLACED,
            project=project,
            key=key,
            sha256=new.sha256,
            previous_sha256=old.sha256,
            size=new.size,
        )
    if old.yanked != new.yanked:
        if new.yanked:
            record(FILE_YANKED, project=project, key=key, reason=_yank_reason(new.yanked))
        else:
            record(FILE_UNYANKED, project=project, key=key)


def observed(project: str, before: ProjectFiles, after: ProjectFiles) -> None:
    """Every change between two states of a project's document, as the writer that made it
    saw them (a writer whose conditional write lost logs nothing for that attempt)."""
    if before is after:
        return
    records: Mapping[str, FileRecord] = before
    # Unchanged records are the same objects in both states, so this is one pass with no
    # comparisons beyond identity for a large project that gained one file.
    changed = [key for key, new in after.items() if records.get(key) is not new]
    changed += [key for key in records if key not in after]
    for key in sorted(changed):
        _file_changes(project, key, records.get(key), after.get(key))
    if before.status != after.status:
        record(
            STATUS_CHANGED,
            project=project,
            status=str(after.status.status),
            reason=after.status.reason,
            previous_status=str(before.status.status),
        )
