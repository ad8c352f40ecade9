"""Where the reindex Lambda keeps derived data, and the shape of that data.

Everything here lives under ``names.INDEX_PREFIX`` and can be rebuilt from the objects, except
that a rebuild keeps the upload times it finds (they record when a file was first seen).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from .names import INDEX_PREFIX, parse_key

ROOT_HTML = INDEX_PREFIX + "root.html"
ROOT_JSON = INDEX_PREFIX + "root.json"
#: Canonical project name → the prefixes (spellings) that hold its files.
PROJECTS_STATE = INDEX_PREFIX + "projects.json"
#: Object metadata on rendered pages naming the state ETag they were rendered from.
STATE_ETAG_META = "state-etag"

Projects = dict[str, list[str]]
_CANONICAL_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


PROJECT_DOCS_PREFIX = INDEX_PREFIX + "projects/"


def project_doc_key(project: str) -> str:
    return f"{PROJECT_DOCS_PREFIX}{project}.json"


def project_page_key(project: str, extension: str) -> str:
    return f"{INDEX_PREFIX}pages/{project}.{extension}"


def metadata_key(key: str) -> str:
    """The METADATA sidecar of the wheel stored at ``key``."""
    return f"{INDEX_PREFIX}metadata/{key}.metadata"


def load_projects(body: bytes) -> Projects:
    """Parse the root state, dropping anything malformed rather than failing the index."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}
    raw = document.get("projects") if isinstance(document, Mapping) else None
    if not isinstance(raw, Mapping):
        return {}
    projects: Projects = {}
    for name, prefixes in raw.items():
        # Only the reindexer writes this object (IAM), so a shape check is enough; a full
        # canonicalization of every spelling would cost more than the rest of an event.
        if not isinstance(prefixes, list) or not _CANONICAL_NAME.match(name):
            continue
        valid = sorted({p for p in prefixes if isinstance(p, str) and p})
        if valid:
            projects[name] = valid
    return projects


def dump_projects(projects: Projects) -> bytes:
    ordered = {name: sorted(projects[name]) for name in sorted(projects) if projects[name]}
    return json.dumps({"version": 1, "projects": ordered}, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class FileRecord:
    """What the index knows about one distribution object."""

    etag: str
    size: int
    sha256: str
    upload_time: str
    requires_python: str | None = None
    metadata_sha256: str | None = None
    yanked: bool | str = False

    @classmethod
    def from_json(cls, raw: Any) -> FileRecord | None:
        if not isinstance(raw, Mapping):
            return None
        try:
            record = cls(**{k: raw[k] for k in cls.__slots__ if k in raw})  # type: ignore[attr-defined]
        except TypeError:
            return None
        fields_ok = (
            isinstance(record.etag, str)
            and isinstance(record.size, int)
            and isinstance(record.sha256, str)
            and isinstance(record.upload_time, str)
        )
        return record if fields_ok else None


_RECORD_FIELDS = tuple(f.name for f in fields(FileRecord))
#: Source key → record, for one project across all its spellings.
ProjectFiles = dict[str, FileRecord]


def load_project(body: bytes, project: str) -> ProjectFiles:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}
    raw = document.get("files") if isinstance(document, Mapping) else None
    if not isinstance(raw, Mapping):
        return {}
    files: ProjectFiles = {}
    for key, value in raw.items():
        location = parse_key(key) if isinstance(key, str) else None
        record = FileRecord.from_json(value)
        if location is not None and location.project == project and record is not None:
            files[key] = record
    return files


def dump_project(project: str, files: ProjectFiles) -> bytes:
    body = {
        "version": 1,
        "project": project,
        "files": {
            key: {f: getattr(files[key], f) for f in _RECORD_FIELDS} for key in sorted(files)
        },
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
