"""Where the reindex Lambda keeps derived data, and the shape of its root state.

Everything here lives under ``names.INDEX_PREFIX`` and can be rebuilt from the objects.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from .names import INDEX_PREFIX, canonical

ROOT_HTML = INDEX_PREFIX + "root.html"
ROOT_JSON = INDEX_PREFIX + "root.json"
#: Canonical project name → the prefixes (spellings) that hold its files.
PROJECTS_STATE = INDEX_PREFIX + "projects.json"
#: Object metadata on the root pages naming the state ETag they were rendered from.
STATE_ETAG_META = "state-etag"

Projects = dict[str, list[str]]


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
        if not isinstance(prefixes, list):
            continue
        valid = sorted({p for p in prefixes if isinstance(p, str) and canonical(p) == name})
        if valid:
            projects[name] = valid
    return projects


def dump_projects(projects: Projects) -> bytes:
    ordered = {name: sorted(projects[name]) for name in sorted(projects) if projects[name]}
    return json.dumps({"version": 1, "projects": ordered}, separators=(",", ":")).encode()
