"""Derived data of one project: its document, METADATA sidecars and rendered pages.

The document maps each source key to what was derived from it. Updates are conditional writes
(``IfMatch`` / ``IfNoneMatch``) retried on 412; bytes are only downloaded when a key is new or its
ETag changed, and the derived facts are cached across retries. Sidecars are written before the
document that advertises them and deleted after the document that stops advertising them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from hashlib import sha256

from serverless_pypi import audit, documents, layout, names, render, status
from serverless_pypi.catalog import report_ignored, spelling_rank
from serverless_pypi.documents import FileRecord, ProjectFiles
from serverless_pypi.reindex import status_marks, verify
from serverless_pypi.reindex.objectfacts import open_object
from serverless_pypi.reindex.observe import Observed, observe_keys
from serverless_pypi.reindex.state import Page, RenderedState
from serverless_pypi.storage import Bucket
from serverless_pypi.upstream.pages import stored_page
from serverless_pypi.web import index as web_index

log = logging.getLogger(__name__)

#: A page of this many files takes long enough to render (about 50 ms per 1,000) that a HEAD
#: first, to see whether a newer document made it moot, is worth it (``state.RenderedState``).
COSTLY_PAGE_FILES = 1000
#: Writers of one document: a batch per project, a few batches at once (see ``batch``).
DOCUMENT_MAX_ATTEMPTS = 20
HTML_TYPE = "text/html; charset=utf-8"
JSON_TYPE = "application/vnd.pypi.simple.v1+json"
METADATA_TYPE = "application/octet-stream"


def upload_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def page_files(files: Mapping[str, FileRecord]) -> list[render.PageFile]:
    """One entry per file (``names.Distribution.identity``), sorted by filename.

    Files dropped into the bucket by hand can be one file under several spellings
    (``Dup-1.0-…``, ``dup-01.0-…``, or one filename under two project spellings); the first
    indexed is served (earliest upload time, then the canonical spelling) and the others are
    logged as left out.
    """
    chosen: dict[names.Identity, tuple[names.DistributionKey, FileRecord]] = {}

    def first_indexed(entry: tuple[names.DistributionKey, FileRecord]) -> tuple[object, ...]:
        location, record = entry
        return (record.upload_time, spelling_rank(location), location.key)

    for key, record in files.items():
        location = names.parse_key(key)
        if location is None:
            continue
        entry = (location, record)
        other = chosen.get(location.dist.identity)
        if other is not None:
            entry, left_out = sorted((entry, other), key=first_indexed)
            report_ignored(left_out[0].key, f"the same file as {entry[0].key}")
        chosen[location.dist.identity] = entry
    served = sorted(chosen.values(), key=lambda entry: entry[0].dist.filename)
    return [
        render.PageFile(
            filename=location.dist.filename,
            url=render.file_url(location.key),
            version=str(location.dist.version),
            size=record.size,
            sha256=record.sha256,
            requires_python=record.requires_python,
            metadata_sha256=record.metadata_sha256,
            yanked=record.yanked,
            upload_time=record.upload_time,
        )
        for location, record in served
    ]


class ProjectDocument(RenderedState[ProjectFiles]):
    """``.index/projects/<name>.json`` and the two pages rendered from it."""

    max_attempts = DOCUMENT_MAX_ATTEMPTS

    def __init__(self, bucket: Bucket, project: str) -> None:
        super().__init__(
            bucket,
            layout.project_doc_key(project),
            marker_key=layout.web_state_key(project),
        )
        self.project = project

    def load(self) -> tuple[ProjectFiles, str | None]:
        stored = self.bucket.get(self.key)
        if stored is None:  # a new document starts with the status its marker says
            return ProjectFiles(status=status.read(self.bucket, self.project)), None
        return documents.load_project(stored[0], self.project), stored[1]

    def dump(self, state: ProjectFiles) -> bytes:
        return documents.dump_project(self.project, state)

    def costly(self, state: ProjectFiles) -> bool:
        return len(state) >= COSTLY_PAGE_FILES

    def render(self, state: ProjectFiles) -> list[Page]:
        """The project's pages: where other page kinds (web pages, status) hook in."""
        html_key = layout.project_page_key(self.project, "html")
        json_key = layout.project_page_key(self.project, "json")
        entries = page_files(state) if state else []
        # The human pages and the PyPI JSON API; their state is the marker, written last. A
        # quarantined project has none (as if it had no files), so neither a person nor a
        # Renovate-style bot is offered a version that cannot be installed.
        offered = entries if state.status.offers_files else []
        web = web_index.pages(self.bucket, self.project, state, offered)
        if not state:
            return [*web.pages, Page(html_key, None), Page(json_key, None), web.state]
        shown = state.status
        return [
            *web.pages,
            Page(html_key, render.project_html(self.project, entries, shown).encode(), HTML_TYPE),
            Page(json_key, render.project_json(self.project, entries, shown).encode(), JSON_TYPE),
            web.state,
        ]


@dataclass(frozen=True, slots=True)
class DerivedFile:
    """What one object's bytes say, whatever the document recorded before."""

    size: int
    sha256: str
    first_seen: str  # the object's LastModified
    requires_python: str | None
    metadata: bytes | None

    def record(
        self,
        etag: str,
        previous: FileRecord | None,
        yanked: bool | str,
        *,
        keep_upload_time: bool = True,
    ) -> FileRecord:
        """The record for these bytes. The upload time recorded first is kept while the
        bytes are the same (a copy in place, a multipart re-upload with another ETag); new
        bytes under a known key are a new upload."""
        same_bytes = keep_upload_time and previous is not None and previous.sha256 == self.sha256
        return FileRecord(
            etag=etag,
            size=self.size,
            sha256=self.sha256,
            upload_time=previous.upload_time if previous and same_bytes else self.first_seen,
            requires_python=self.requires_python,
            metadata_sha256=sha256(self.metadata).hexdigest() if self.metadata else None,
            yanked=yanked,
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    present: bool
    prefixes: tuple[str, ...]
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


class ProjectIndex:
    """Keeps one project's document, sidecars and pages in line with its objects."""

    def __init__(self, bucket: Bucket, project: str, *, verify: bool = False) -> None:
        self.bucket = bucket
        self.project = project
        self.document = ProjectDocument(bucket, project)
        #: Re-read every object, trusting no recorded ETag, and note each difference found.
        self.verify = verify
        #: What verifying found, in order and without repeats (a retry finds it again).
        self.differences: dict[str, None] = {}
        #: Derived facts by (key, ETag), kept across the retries of one update.
        self._derived: dict[tuple[str, str], DerivedFile] = {}

    def load(self) -> tuple[ProjectFiles, str | None]:
        return self.document.load()

    def _derive(self, key: str) -> tuple[str, DerivedFile] | None:
        """Download and inspect ``key``: its ETag and facts; None when it vanished meanwhile."""
        opened = open_object(self.bucket, key)
        if opened is None:
            return None
        stream, info = opened
        cached = self._derived.get((key, info.etag))
        if cached is not None:
            stream.close()
            return info.etag, cached
        try:
            facts = stream.inspect()
        finally:
            stream.close()
        if facts.problem:
            log.warning("derived what it could", extra={"key": key, "problem": facts.problem})
        derived = DerivedFile(
            size=facts.size,
            sha256=facts.sha256,
            first_seen=upload_time(info.last_modified),
            requires_python=facts.requires_python,
            metadata=facts.metadata,
        )
        self._derived[(key, info.etag)] = derived
        return info.etag, derived

    def _record_new_bytes(
        self, key: str, previous: FileRecord | None, yanked: bool | str
    ) -> FileRecord | None:
        """The record of ``key`` as its bytes are now (its sidecar stored first); None when
        it is gone."""
        derived = self._derive(key)
        if derived is None:
            return None
        etag, facts = derived
        record = facts.record(etag, previous, yanked, keep_upload_time=not self.verify)
        if self.verify:
            found = verify.record_differences(key, previous, record)
            if key.endswith(".whl"):  # before the document that advertises it
                sidecar = verify.repair_sidecar(self.bucket, key, facts.metadata)
                found += [sidecar] if sidecar else []
            self.differences.update(dict.fromkeys(found))
            return record
        if previous is not None and record.upload_time != previous.upload_time:
            log.warning(
                "file overwritten with other bytes: indexed as a new upload",
                extra={"key": key, "upload_time": record.upload_time},
            )
        if facts.metadata is not None:  # before the document that advertises it
            self.bucket.put(layout.metadata_key(key), facts.metadata, METADATA_TYPE)
        return record

    def apply(
        self,
        observed: Mapping[str, Observed | None],
        *,
        authoritative_prefixes: Iterable[str] = (),
        project_status: status.ProjectStatus | None = None,
    ) -> Outcome:
        """Make the document agree with ``observed``; keys under an authoritative prefix that
        were not observed are gone. ``project_status``: what the status marker says now
        (None: the recorded status stands)."""
        authoritative = frozenset(authoritative_prefixes)

        def bring_in_line_with_observed(before: ProjectFiles) -> ProjectFiles:
            files = ProjectFiles(
                {
                    key: record
                    for key, record in before.items()
                    if key.partition("/")[0] not in authoritative or key in observed
                },
                status=before.status if project_status is None else project_status,
            )
            if self.verify and files.status != before.status:
                found = f"{self.document.key}: status recorded as {before.status.describe()!r}"
                self.differences[f"{found}, the marker says {files.status.describe()!r}"] = None
            for key, seen in observed.items():
                previous = files.get(key)
                if seen is None:
                    files.pop(key, None)
                elif self.verify or previous is None or previous.etag != seen.info.etag:
                    record = self._record_new_bytes(key, previous, seen.yanked)
                    if record is None:
                        files.pop(key, None)
                    else:
                        files[key] = record
                elif previous.yanked != seen.yanked:
                    files[key] = replace(previous, yanked=seen.yanked)
            return files

        before, after = self.document.update(bring_in_line_with_observed)
        audit.observed(self.project, before, after)
        removed = sorted(set(before) - set(after))
        # After the document that stopped advertising them. Keys seen gone are included even
        # when this update had nothing to remove: a concurrent writer may have stored a
        # sidecar after the removal, and S3 delivers every delete event at least once.
        seen_gone = [key for key, seen in observed.items() if seen is None]
        self._drop_sidecars(sorted({*removed, *seen_gone}))
        return Outcome(
            present=bool(after),
            prefixes=tuple(sorted({k.partition("/")[0] for k in after})),
            added=tuple(sorted(set(after) - set(before))),
            removed=tuple(removed),
        )

    def _drop_sidecars(self, removed: Iterable[str]) -> None:
        """Delete the sidecars of removed wheels, whatever their entries said: a deletion is
        idempotent, and a sidecar left behind would be served for a file that is gone."""
        for key in removed:
            if key.endswith(".whl") and self.bucket.head(key) is None:
                self.bucket.delete(layout.metadata_key(key))

    def check_pages(self, *, repair: bool) -> None:
        """Verifying: note each stored page that does not show the stored document, and
        with ``repair`` rewrite them. (Checked before repairing the document too, so a page
        changed by hand is reported even when repairing its document rewrites it anyway.)"""
        state, etag = self.document.load()
        pages = self.document.render(state)
        found = verify.page_differences(self.bucket, pages)
        self.differences.update(dict.fromkeys(found))
        if not (found and repair):
            return
        if etag is not None:
            self.document.publish(state, etag, just_written=True)
        else:  # no document: the pages must not exist (upstream pages are not its pages)
            for page in pages:
                head = self.bucket.head(page.key)
                if head is not None and stored_page(head.metadata) is None:
                    self.bucket.delete(page.key)

    def update(self, keys: Iterable[str]) -> Outcome:
        """An event named ``keys``: look at each and bring the document in line (a status
        marker among them is read too)."""
        files, marked = status_marks.split(self.bucket, keys)
        return self.apply(observe_keys(self.bucket, files), project_status=marked)
