"""Where things live in the bucket: the keys of distributions' neighbours and of derived data.

``<project>/<filename>`` holds distributions (any spelling of the project; see ``names``).
Everything else is under a prefix starting with ".", which no project name can: yank markers
(source of truth, written by ``serverless-pypi yank``) and ``.index/`` (derived data, written
by the reindex function, rebuildable from the rest).
"""

from __future__ import annotations

#: Derived data; no project name can start with ".".
INDEX_PREFIX = ".index/"
#: Yank markers: ``.yanked/<key>`` holds the reason for yanking ``<key>``. Not derived data:
#: it is the only record of a yank, so a full reindex reads it.
YANK_PREFIX = ".yanked/"
#: The upstream proxy's cache (``serverless_pypi.upstream.cache``): documents, METADATA and
#: copies of upstream files (the pages are rendered to the served keys under ``.index/``).
#: Never a project (no name starts with "."), so a cached upstream file can never make a
#: project private; written by the API and the copy function.
UPSTREAM_PREFIX = ".upstream/"
#: A yank marker's body is the reason, on one line, at most this many characters.
MAX_YANK_REASON = 1000
#: Project status markers (PEP 792): ``.status/<canonical name>`` holds a project's status and
#: its reason as JSON. Source of truth like yank markers, shared by every spelling; no marker
#: means ``active``.
STATUS_PREFIX = ".status/"

#: The root page in JSON (PEP 691), stored gzipped. It is also the root *state*: the reindexer
#: updates it with conditional writes, and the API renders the root HTML page from it, so a
#: project appearing costs one write rather than a state and two pages.
ROOT_JSON = INDEX_PREFIX + "root.json"
#: Root objects of an earlier layout (a separate state and a prerendered HTML page); a full
#: rebuild removes them.
LEGACY_ROOT_KEYS = (INDEX_PREFIX + "projects.json", INDEX_PREFIX + "root.html")
#: Object metadata on rendered pages naming the state ETag they were rendered from.
STATE_ETAG_META = "state-etag"
PROJECT_DOCS_PREFIX = INDEX_PREFIX + "projects/"


def project_doc_key(project: str) -> str:
    return f"{PROJECT_DOCS_PREFIX}{project}.json"


def project_page_key(project: str, extension: str) -> str:
    return f"{INDEX_PREFIX}pages/{project}.{extension}"


def metadata_key(key: str) -> str:
    """The METADATA sidecar of the wheel stored at ``key``."""
    return f"{INDEX_PREFIX}metadata/{key}.metadata"


#: Pages for people and the PyPI JSON API (``serverless_pypi.web``), rendered by the reindexer.
WEB_PREFIX = INDEX_PREFIX + "web/"
#: The welcome page's project list is split into this many shards by name, so that events for
#: different projects rarely write the same object (see ``web.cards``).
CATALOG_SHARDS = 16


def web_project_key(project: str, extension: str) -> str:
    """The project's page (``html``) or its PyPI JSON (``json``), showing the latest version."""
    return f"{WEB_PREFIX}latest/{project}.{extension}"


def web_version_key(project: str, version: str, extension: str) -> str:
    return f"{WEB_PREFIX}versions/{project}/{version}.{extension}"


def web_state_key(project: str) -> str:
    """What the web pages of ``project`` were rendered from (per-version signatures)."""
    return f"{WEB_PREFIX}state/{project}.json"


def catalog_key(shard: int) -> str:
    return f"{WEB_PREFIX}catalog/{shard:02d}.json"


def is_index_key(key: str) -> bool:
    """Whether ``key`` is derived data written by the reindex Lambda."""
    return key.startswith(INDEX_PREFIX)


def is_reserved_key(key: str) -> bool:
    """Whether ``key`` is under a prefix of ours rather than a project's."""
    return key.startswith((INDEX_PREFIX, YANK_PREFIX, UPSTREAM_PREFIX, STATUS_PREFIX))


def yank_key(key: str) -> str:
    return YANK_PREFIX + key


def yanked_target(key: str) -> str | None:
    """The distribution key a yank marker is about, or None for any other key."""
    return key.removeprefix(YANK_PREFIX) if key.startswith(YANK_PREFIX) else None


def status_key(project: str) -> str:
    """The status marker of ``project`` (its canonical name)."""
    return STATUS_PREFIX + project


def status_target(key: str) -> str | None:
    """The project a status marker is about (as spelled in the key), or None for any other
    key."""
    return key.removeprefix(STATUS_PREFIX) if key.startswith(STATUS_PREFIX) else None
