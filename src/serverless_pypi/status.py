"""Project status markers (PEP 792): active, archived, quarantined, deprecated.

A project's status is a marker object, ``layout.status_key(<canonical name>)``, holding JSON
``{"status": ..., "reason": ...}``; no marker means ``active``. Like a yank marker it is the
source of truth (``serverless-pypi status`` writes it, the reindexer copies it into the
project's document and pages), and it is read back bounded and defensively: a marker that is
too large, not JSON or names an unknown status is ignored (the project stays as it was indexed
before it, or active) and logged.

What a status means here, as PEP 792 says: archived and quarantined projects take no uploads;
a quarantined project's pages list no files and its file URLs and ``.metadata`` answer 404
(within ``api.app.STATUS_CACHE_SECONDS`` of the marker being written).
"""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from serverless_pypi import layout
from serverless_pypi.errors import Forbidden, Refused
from serverless_pypi.storage import Bucket

log = logging.getLogger(__name__)

#: A reason is one line of at most this many characters.
MAX_REASON = 1000
#: At most this much of a marker is read: a reason of ``MAX_REASON`` characters, each escaped
#: by JSON as ``\\uXXXX`` (or a surrogate pair, 12 bytes for two characters), fits.
MAX_MARKER_BYTES = 8 * 1024
MARKER_TYPE = "application/json"


class Status(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"
    QUARANTINED = "quarantined"
    DEPRECATED = "deprecated"


@dataclass(frozen=True, slots=True)
class ProjectStatus:
    status: Status = Status.ACTIVE
    reason: str | None = None

    @property
    def accepts_uploads(self) -> bool:
        return self.status not in (Status.ARCHIVED, Status.QUARANTINED)

    @property
    def offers_files(self) -> bool:
        return self.status is not Status.QUARANTINED

    def describe(self) -> str:
        return f"{self.status}" + (f" ({self.reason})" if self.reason else "")

    def to_json(self) -> dict[str, str]:
        """PEP 792's ``project-status`` object (and the marker's body)."""
        body = {"status": str(self.status)}
        if self.reason:
            body["reason"] = self.reason
        return body


ACTIVE = ProjectStatus()
_KNOWN = frozenset(s.value for s in Status)


def clean_reason(reason: str | None) -> str | None:
    """A reason on one line; ``Refused`` when longer than is kept."""
    cleaned = " ".join((reason or "").split())
    if len(cleaned) > MAX_REASON:
        raise Refused(f"--reason is longer than {MAX_REASON} characters")
    return cleaned or None


def from_json(raw: Any) -> ProjectStatus | None:
    """A status from its JSON form; None for anything else (an unknown status included)."""
    if not isinstance(raw, dict):
        return None
    value = raw.get("status")
    if not isinstance(value, str) or value not in _KNOWN:
        return None
    status = Status(value)
    reason = raw.get("reason")
    if not isinstance(reason, str):
        reason = None
    cleaned = " ".join(reason.split())[:MAX_REASON] if reason else ""
    return ProjectStatus(status, cleaned or None)


def parse_marker(body: bytes | None, key: str = "") -> ProjectStatus | None:
    """A marker's status: ACTIVE when there is none, None (ignored, logged) when it cannot
    be read as one."""
    if body is None:
        return ACTIVE
    parsed = None
    if len(body) < MAX_MARKER_BYTES:
        with contextlib.suppress(ValueError, UnicodeDecodeError, RecursionError):
            parsed = from_json(json.loads(body))
    if parsed is None:
        problem = "too large" if len(body) >= MAX_MARKER_BYTES else "not a known status"
        log.warning("ignored status marker", extra={"key": key[:300], "reason": problem})
    return parsed


def read_marker(bucket: Bucket, project: str) -> bytes | None:
    """The first ``MAX_MARKER_BYTES`` of ``project``'s marker; None when there is none."""
    return bucket.read_at_most(layout.status_key(project), MAX_MARKER_BYTES)


def read(bucket: Bucket, project: str) -> ProjectStatus:
    """``project``'s status as its marker says now (an unreadable marker: active)."""
    key = layout.status_key(project)
    return parse_marker(read_marker(bucket, project), key) or ACTIVE


def write(bucket: Bucket, project: str, status: ProjectStatus) -> None:
    """Set ``project``'s status: ``active`` is no marker at all."""
    key = layout.status_key(project)
    if status.status is Status.ACTIVE:
        bucket.delete(key)
        return
    body = json.dumps(status.to_json(), ensure_ascii=False, sort_keys=True).encode()
    bucket.put(key, body, MARKER_TYPE)


def require_uploads(bucket: Bucket, project: str) -> None:
    """``Forbidden`` when ``project`` takes no uploads (archived or quarantined)."""
    current = read(bucket, project)
    if not current.accepts_uploads:
        raise Forbidden(
            f"Project {project!r} is {current.describe()}: it takes no new uploads. "
            f"Reopen it with: serverless-pypi status {project} active"
        )
