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

from serverless_pypi import archive, documents, layout, names, render
from serverless_pypi.catalog import report_ignored, spelling_rank
from serverless_pypi.documents import FileRecord, ProjectFiles
from serverless_pypi.reindex.state import Page, StateObject
from serverless_pypi.storage import Bucket, ObjectInfo

log = logging.getLogger(__name__)

HTML_TYPE = "text/html; charset=utf-8"
JSON_TYPE = "application/vnd.pypi.simple.v1+json"
METADATA_TYPE = "application/octet-stream"


def upload_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def page_files(files: Mapping[str, FileRecord]) -> list[render.PageFile]:
    """One entry per filename (the canonical spelling wins), sorted by filename."""
    chosen: dict[str, tuple[names.DistributionKey, FileRecord]] = {}
    for key, record in files.items():
        location = names.parse_key(key)
        if location is None:
            continue
        other = chosen.get(location.dist.filename)
        if other is None or spelling_rank(location) < spelling_rank(other[0]):
            chosen[location.dist.filename] = (location, record)
    return [
        render.PageFile(
            filename=filename,
            url=render.file_url(location.key),
            version=str(location.dist.version),
            size=record.size,
            sha256=record.sha256,
            requires_python=record.requires_python,
            metadata_sha256=record.metadata_sha256,
            yanked=record.yanked,
            upload_time=record.upload_time,
        )
        for filename, (location, record) in sorted(chosen.items())
    ]


MAX_YANK_REASON = 1000


@dataclass(frozen=True, slots=True)
class Observed:
    """An object as it is now, with its yank state."""

    info: ObjectInfo
    yanked: bool | str = False


def yank_state(marker: bytes | None) -> bool | str:
    """A yank marker's body is the reason; an empty one means yanked without a reason."""
    if marker is None:
        return False
    reason = " ".join(marker.decode("utf-8", "replace").split())[:MAX_YANK_REASON]
    return reason or True


def yank_markers(bucket: Bucket, markers_listed: Iterable[ObjectInfo]) -> dict[str, bool | str]:
    """The yank state of the files that listed markers are about (one GET per marker)."""
    markers: dict[str, bool | str] = {}
    for marker in markers_listed:
        stored = bucket.get(marker.key)
        target = layout.yanked_target(marker.key)
        if stored is not None and target is not None:
            markers[target] = yank_state(stored[0])
    return markers


@dataclass(frozen=True, slots=True)
class Outcome:
    present: bool
    prefixes: tuple[str, ...]
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


class ProjectIndex:
    """Maintains ``.index/projects/<name>.json`` and what is rendered from it."""

    def __init__(self, bucket: Bucket, project: str) -> None:
        self.bucket = bucket
        self.project = project
        self.doc_key = layout.project_doc_key(project)
        self._facts: dict[tuple[str, str], tuple[FileRecord, bytes | None]] = {}
        self.state = StateObject(
            bucket,
            self.doc_key,
            self.load,
            lambda files: documents.dump_project(project, files),
            self.pages,
            marker_key=layout.project_page_key(project, "json"),
        )

    def load(self) -> tuple[ProjectFiles, str | None]:
        stored = self.bucket.get(self.doc_key)
        if stored is None:
            return {}, None
        return documents.load_project(stored[0], self.project), stored[1]

    def pages(self, files: ProjectFiles) -> list[Page]:
        html_key = layout.project_page_key(self.project, "html")
        json_key = layout.project_page_key(self.project, "json")
        if not files:
            return [Page(html_key, None), Page(json_key, None)]
        entries = page_files(files)
        return [
            Page(html_key, render.project_html(self.project, entries).encode(), HTML_TYPE),
            Page(json_key, render.project_json(self.project, entries).encode(), JSON_TYPE),
        ]

    # -- observing the bucket ---------------------------------------------------------------
    def observe(self, keys: Iterable[str]) -> dict[str, Observed | None]:
        observed: dict[str, Observed | None] = {}
        for key in keys:
            info = self.bucket.head(key)
            if info is None:
                observed[key] = None
                continue
            marker = self.bucket.get(layout.yank_key(key))
            observed[key] = Observed(info, yank_state(marker[0] if marker else None))
        return observed

    def _derive(
        self, key: str, previous: FileRecord | None, yanked: bool | str
    ) -> tuple[FileRecord, bytes | None] | None:
        """Download and inspect ``key``; None when it vanished meanwhile."""
        opened = self.bucket.open(key)
        if opened is None:
            return None
        stream, info = opened
        cached = self._facts.get((key, info.etag))
        if cached is not None:
            stream.close()
            return cached
        try:
            facts = archive.inspect(stream, key)
        finally:
            stream.close()
        if facts.problem:
            log.warning("derived what it could", extra={"key": key, "problem": facts.problem})
        record = FileRecord(
            etag=info.etag,
            size=facts.size,
            sha256=facts.sha256,
            upload_time=previous.upload_time if previous else upload_time(info.last_modified),
            requires_python=facts.requires_python,
            metadata_sha256=sha256(facts.metadata).hexdigest() if facts.metadata else None,
            yanked=yanked,
        )
        self._facts[(key, info.etag)] = (record, facts.metadata)
        return record, facts.metadata

    # -- updating ---------------------------------------------------------------------------
    def apply(
        self,
        observed: Mapping[str, Observed | None],
        *,
        authoritative_prefixes: Iterable[str] = (),
    ) -> Outcome:
        """Make the document agree with ``observed``; keys under an authoritative prefix that
        were not observed are gone."""
        authoritative = frozenset(authoritative_prefixes)

        def change(before: ProjectFiles) -> ProjectFiles:
            files = {
                key: record
                for key, record in before.items()
                if key.partition("/")[0] not in authoritative or key in observed
            }
            for key, seen in observed.items():
                previous = files.get(key)
                if seen is None:
                    files.pop(key, None)
                elif previous is None or previous.etag != seen.info.etag:
                    derived_file = self._derive(key, previous, seen.yanked)
                    if derived_file is None:
                        files.pop(key, None)
                        continue
                    record, metadata = derived_file
                    if metadata is not None:  # before the document that advertises it
                        self.bucket.put(layout.metadata_key(key), metadata, METADATA_TYPE)
                    files[key] = record
                elif previous.yanked != seen.yanked:
                    files[key] = replace(previous, yanked=seen.yanked)
            return files

        before, after = self.state.update(change)
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

    def update(self, keys: Iterable[str]) -> Outcome:
        """An event named ``keys``: look at each and bring the document in line."""
        return self.apply(self.observe(keys))


def observe_listing(
    objects: Iterable[ObjectInfo], yanked: Mapping[str, bool | str]
) -> dict[str, Observed]:
    """The distributions among listed ``objects``, with their yank state from ``yanked``
    (see ``yank_markers``); the rest is logged once."""
    kept: dict[str, Observed] = {}
    for obj in objects:
        if names.parse_key(obj.key) is None:
            report_ignored(obj.key, "not a distribution of this project")
            continue
        kept[obj.key] = Observed(obj, yanked.get(obj.key, False))
    return kept
