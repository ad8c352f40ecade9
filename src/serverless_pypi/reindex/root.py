"""The root index: which projects have files, kept consistent with their documents.

The root JSON (``layout.ROOT_JSON``) is both the root state and the root page. An update
lists exactly the projects whose documents have files, among those an update names.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from serverless_pypi import documents, layout, render
from serverless_pypi.reindex.project import JSON_TYPE, Outcome, ProjectDocument
from serverless_pypi.reindex.state import MAX_ATTEMPTS, ConditionalState, compress
from serverless_pypi.storage import Bucket

log = logging.getLogger(__name__)

#: Above this many documents to check, one listing may be cheaper than a HEAD each.
LIST_INSTEAD_OF_HEAD = 20
#: Documents a root update reads or checks at once (threads waiting on S3).
READ_WORKERS = 16
#: Root writes tried before giving up: every batch writes this one object, and with the
#: documents' reads kept across attempts a round is just the root's GET and PUT, so many
#: short rounds fit in a few seconds of backoff (see docs/architecture.md, "Event bursts").
ROOT_MAX_ATTEMPTS = 40
_Item = TypeVar("_Item")
_Result = TypeVar("_Result")


def _each(function: Callable[[_Item], _Result], items: Iterable[_Item]) -> list[_Result]:
    """``function`` over ``items``, on a few threads when there are several (S3 round trips)."""
    todo = list(items)
    if len(todo) <= 2:
        return [function(item) for item in todo]
    with ThreadPoolExecutor(min(READ_WORKERS, len(todo)), thread_name_prefix="root") as pool:
        return list(pool.map(function, todo))


@dataclass(slots=True)
class RebuildReport:
    """What an update changed: projects listed, added to and removed from the root, and
    files added to and removed from documents."""

    projects: int = 0
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    files_added: int = 0
    files_removed: int = 0
    #: With verifying: each difference found between derived data and the objects.
    differences: list[str] = field(default_factory=list)


class RootIndex(ConditionalState[documents.RootProjects]):
    """The root state, stored as the gzipped PEP 691 root page."""

    content_type = JSON_TYPE
    content_encoding = "gzip"
    max_attempts = ROOT_MAX_ATTEMPTS

    def __init__(self, bucket: Bucket) -> None:
        super().__init__(bucket, layout.ROOT_JSON)

    def load(self) -> tuple[documents.RootProjects, str | None]:
        stored = self.bucket.get(self.key)
        if stored is None:
            return (), None
        return documents.load_root(stored[0]), stored[1]

    def dump(self, state: documents.RootProjects) -> bytes:
        return compress(render.root_json(state).encode())

    def reconcile(
        self, outcomes: Mapping[str, Outcome], *, replace_all: bool = False
    ) -> RebuildReport:
        """List exactly the projects among ``outcomes`` (with ``replace_all``: among all
        projects) whose documents have files.

        An outcome that agrees with the root changes nothing, so most events cost one read.
        Where they disagree, the project's document decides, read after the root state: a
        document written before a newer root state is then always seen. A writer that did
        change the root checks afterwards that the documents it read are still current and
        goes again if not, so a slow writer cannot leave an entry that a document written
        meanwhile contradicts (its own writer may have seen the root agree and written nothing).
        """
        #: What each document read said (has files, ETag), kept across attempts: a lost race
        #: costs one more GET and PUT of the root, not another read of every document. The
        #: check after a write finds the documents that changed since they were read.
        read: dict[str, tuple[bool, str | None]] = {}
        #: Projects whose documents changed after we read them: our outcome for them is stale.
        stale: set[str] = set()

        def read_document(name: str) -> tuple[str, tuple[bool, str | None]]:
            files, etag = ProjectDocument(self.bucket, name).load()
            return name, (bool(files), etag)

        def list_projects_whose_documents_have_files(
            listed: documents.RootProjects,
        ) -> documents.RootProjects:
            listed_set = set(listed)
            candidates = set(outcomes) | (listed_set if replace_all else set())
            unread = set(stale)
            for name in candidates - read.keys():
                outcome = outcomes.get(name)
                if bool(outcome and outcome.present) != (name in listed_set):
                    unread.add(name)  # disagrees with the root: its document decides
            read.update(_each(read_document, sorted(unread)))
            stale.clear()
            target = set(listed_set)
            for name in candidates & read.keys():
                if read[name][0]:
                    target.add(name)
                else:
                    target.discard(name)
            return listed if target == listed_set else tuple(sorted(target))

        first: documents.RootProjects | None = None
        for _ in range(MAX_ATTEMPTS):
            before, after = self.update(list_projects_whose_documents_have_files)
            first = before if first is None else first
            etags = {name: etag for name, (_, etag) in read.items()}
            changed = self.changed_documents(etags, listed=len(after)) if after != before else set()
            if not changed:
                break
            stale |= changed
        else:
            log.warning("root index may lag; the next event will catch up")
        return RebuildReport(
            projects=len(after),
            added=sorted(set(after) - set(first or ())),
            removed=sorted(set(first or ()) - set(after)),
            files_added=sum(len(o.added) for o in outcomes.values()),
            files_removed=sum(len(o.removed) for o in outcomes.values()),
        )

    def repair_stored_bytes(self) -> str | None:
        """Verifying: rewrite the stored root if its bytes are not exactly what its state
        dumps to (names the reader dropped as junk, another order, other JSON)."""
        stored = self.bucket.get(self.key)
        if stored is None:
            return None
        expected = self.dump(documents.load_root(stored[0]))
        if stored[0] == expected:
            return None
        self.bucket.put(
            self.key,
            expected,
            self.content_type,
            if_match=stored[1],
            content_encoding=self.content_encoding,
        )
        return f"{self.key}: stored bytes differed from its project list, rewritten"

    def changed_documents(self, read: Mapping[str, str | None], *, listed: int = 0) -> set[str]:
        """The projects whose documents no longer have the ETags in ``read``: one HEAD each
        (a few at once), or when that is more requests than listing all ``listed`` documents
        (1,000 per request; a full rebuild), one listing."""
        listing_requests = listed // 1000 + 1
        if len(read) <= LIST_INSTEAD_OF_HEAD or len(read) <= listing_requests:

            def moved(item: tuple[str, str | None]) -> str | None:
                name, etag = item
                return name if self.bucket.etag(layout.project_doc_key(name)) != etag else None

            return {name for name in _each(moved, read.items()) if name is not None}
        current: dict[str, str | None] = dict.fromkeys(read)
        for doc in self.bucket.list_objects(layout.PROJECT_DOCS_PREFIX):
            name = doc.key.removeprefix(layout.PROJECT_DOCS_PREFIX).removesuffix(".json")
            if name in current:
                current[name] = doc.etag
        return {name for name, etag in read.items() if current[name] != etag}
