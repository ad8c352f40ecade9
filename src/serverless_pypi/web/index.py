"""The reindexer's side of the web pages: what ``ProjectDocument.render`` adds to the simple
pages of a project.

Per version, a page and a PyPI JSON document are rendered only when the version's files
changed (a signature of what they show is kept in ``layout.web_state_key``), because each needs
that version's core metadata (one read of the wheel's METADATA sidecar, or of an sdist) and a
description rendered by docutils or comrak. The project page and its JSON, which show every
version, are rendered on every change, from what the state kept. The returned pages come
before the simple pages, and the web state after them: it is the marker that says the pages
show a state, so a project indexed before the web pages existed renders them on its next
event or reindex. The project's catalog card is updated here too.
"""

from __future__ import annotations

import gzip
import json
import logging
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from hashlib import sha256
from typing import Any

from serverless_pypi import archive, layout, render
from serverless_pypi.documents import ProjectFiles
from serverless_pypi.reindex.state import Page
from serverless_pypi.storage import Bucket
from serverless_pypi.web import cards, catalog, project_page, pypi_json, readme, releases
from serverless_pypi.web.metadata import Parsed, ReleaseInfo, parse
from serverless_pypi.web.releases import Release

log = logging.getLogger(__name__)

HTML_TYPE = "text/html; charset=utf-8"
JSON_TYPE = "application/json"
#: Bumped when the pages' look or content changes, so every version is rendered again.
RENDERING = 1
#: Versions rendered in one event at most (each costs a metadata read, a description render
#: and two writes, ~0.1 s): a project indexed before the web pages existed, or after a change
#: of ``RENDERING``, gets its newest versions' pages at once and the rest over later events.
MAX_VERSIONS_RENDERED = 25
#: A release without a wheel's METADATA sidecar is read again for its PKG-INFO only up to this
#: size: indexing already read the file once, and a large sdist is not read twice.
MAX_READ_FOR_METADATA = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Known:
    """What the state keeps of a rendered version."""

    signature: str
    info: ReleaseInfo


@dataclass(slots=True)
class WebState:
    releases: dict[str, Known] = field(default_factory=dict)
    #: The project page's description: (version, signature, sanitized HTML).
    description: tuple[str, str, str] | None = None

    def dump(self) -> bytes:
        body = {
            "rendering": RENDERING,
            "releases": {
                v: {"signature": k.signature, "info": k.info.to_json()}
                for v, k in sorted(self.releases.items())
            },
            "description": list(self.description) if self.description else None,
        }
        return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


def _load_state(bucket: Bucket, project: str) -> WebState:
    stored = bucket.get(layout.web_state_key(project))
    if stored is None:
        return WebState()
    try:
        raw: Any = json.loads(gzip.decompress(stored[0]))
    except (OSError, EOFError, zlib.error, ValueError, UnicodeDecodeError):
        return WebState()
    if not isinstance(raw, dict) or raw.get("rendering") != RENDERING:
        return WebState()
    state = WebState()
    entries = raw.get("releases")
    for version, entry in (entries if isinstance(entries, dict) else {}).items():
        if isinstance(entry, dict) and isinstance(entry.get("signature"), str):
            state.releases[version] = Known(
                entry["signature"], ReleaseInfo.from_json(entry.get("info"))
            )
    description = raw.get("description")
    if (
        isinstance(description, list)
        and len(description) == 3
        and all(isinstance(v, str) for v in description)
    ):
        state.description = (description[0], description[1], description[2])
    return state


def signature(release: Release) -> str:
    """Everything a version's own page shows that comes from the document."""
    shown = [
        [
            f.filename,
            f.sha256,
            f.size,
            f.upload_time,
            f.yanked,
            f.requires_python,
            f.metadata_sha256,
        ]
        for f in release.files
    ]
    return sha256(json.dumps([RENDERING, shown]).encode()).hexdigest()


def _source_keys(state: ProjectFiles) -> dict[str, str]:
    """Page URL → the object it points at."""
    return {render.file_url(key): key for key in state}


def _read_metadata(bucket: Bucket, release: Release, keys: Mapping[str, str]) -> Parsed | None:
    """The core metadata of ``release``: a wheel's sidecar when there is one (one read), else
    the metadata inside one of its files of at most ``MAX_READ_FOR_METADATA`` bytes."""
    ordered = sorted(
        release.files, key=lambda f: (not f.metadata_sha256, not f.filename.endswith(".whl"))
    )
    for f in ordered:
        key = keys.get(f.url)
        if key is None:
            continue
        if f.metadata_sha256:
            stored = bucket.get(layout.metadata_key(key))
            if stored is not None:
                return parse(stored[0])
            continue
        if f.size is None or f.size > MAX_READ_FOR_METADATA:
            continue
        opened = bucket.open(key)
        if opened is None:
            continue
        stream, _ = opened
        try:
            metadata = archive.core_metadata(stream, f.filename)
        finally:
            stream.close()
        if metadata is not None:
            return parse(metadata)
    return None


def _described(
    bucket: Bucket, release: Release, keys: Mapping[str, str]
) -> tuple[ReleaseInfo, str]:
    parsed = _read_metadata(bucket, release, keys)
    if parsed is None:
        requires = next((f.requires_python for f in release.files if f.requires_python), None)
        return ReleaseInfo(requires_python=requires), ""
    return parsed.info, readme.render(parsed.description, parsed.info.description_content_type)


@dataclass(frozen=True, slots=True)
class WebPages:
    #: Pages to write (or delete) before the simple pages.
    pages: list[Page]
    #: The web state, written after every page (it is the project's marker page: a project
    #: indexed before the web pages existed has none, so its next event renders them).
    state: Page


def pages(
    bucket: Bucket, project: str, state: ProjectFiles, entries: Sequence[render.PageFile]
) -> WebPages:
    """The web pages of ``project`` that must change, deletions included."""
    previous = _load_state(bucket, project)
    project_keys = [
        layout.web_project_key(project, "html"),
        layout.web_project_key(project, "json"),
    ]
    if not entries:
        catalog.put_card(bucket, project, None)
        gone = [
            layout.web_version_key(project, version, extension)
            for version in previous.releases
            for extension in ("html", "json")
        ]
        deleted = [Page(key, None) for key in [*gone, *project_keys]]
        return WebPages(deleted, Page(layout.web_state_key(project), None))
    shown = releases.group(entries)
    top = releases.latest(shown)
    keys = _source_keys(state)
    current = WebState()
    out: list[Page] = []
    rendered: dict[str, str] = {}
    #: Changed versions left for a later event (their pages, if any, stay as they are).
    pending: set[str] = set()
    # The latest first: the project page needs its description.
    for release in sorted(shown, key=lambda r: r is not top):
        sig = signature(release)
        known = previous.releases.get(release.version)
        if known is not None and known.signature == sig:
            current.releases[release.version] = known
            continue
        if len(rendered) >= MAX_VERSIONS_RENDERED:
            # Kept with no signature: rendered by a later event, deleted if it goes first.
            pending.add(release.version)
            current.releases[release.version] = Known("", known.info if known else ReleaseInfo())
            continue
        info, description_html = _described(bucket, release, keys)
        rendered[release.version] = description_html
        current.releases[release.version] = Known(sig, info)
        out.append(
            Page(
                layout.web_version_key(project, release.version, "html"),
                project_page.render_page(
                    project, release, info, description_html, [release], latest=False
                ),
                HTML_TYPE,
            )
        )
        out.append(
            Page(
                layout.web_version_key(project, release.version, "json"),
                pypi_json.version_document(project, release, info),
                JSON_TYPE,
            )
        )
    if pending:
        log.info(
            "web pages of some versions left for later events",
            extra={"project": project, "pending": len(pending)},
        )
    for version in sorted(set(previous.releases) - set(current.releases)):
        out += [Page(layout.web_version_key(project, version, e), None) for e in ("html", "json")]
    top_known = current.releases[top.version]
    if top.version in rendered:
        description_html = rendered[top.version]
    elif previous.description and previous.description[:2] == (top.version, top_known.signature):
        description_html = previous.description[2]
    else:
        description_html = _described(bucket, top, keys)[1]
    current.description = (top.version, top_known.signature, description_html)
    info = top_known.info
    out.append(
        Page(
            project_keys[0],
            project_page.render_page(project, top, info, description_html, shown, latest=True),
            HTML_TYPE,
        )
    )
    out.append(
        Page(project_keys[1], pypi_json.project_document(project, shown, top, info), JSON_TYPE)
    )
    catalog.put_card(
        bucket,
        project,
        cards.Card(project, top.version, (info.summary or "")[: cards.MAX_SUMMARY], top.released),
    )
    return WebPages(out, Page(layout.web_state_key(project), current.dump(), JSON_TYPE))
