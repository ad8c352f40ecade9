"""The root index: which projects have files, kept consistent with their documents.

The root JSON (``layout.ROOT_JSON``) is both the root state and the root page. An update
lists exactly the projects whose documents have files, among those an update names.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from serverless_pypi import documents, layout, render
from serverless_pypi.reindex.project import JSON_TYPE, Outcome, ProjectDocument
from serverless_pypi.reindex.state import MAX_ATTEMPTS, ConditionalState, compress
from serverless_pypi.storage import Bucket

log = logging.getLogger(__name__)

#: Above this many documents to check, one listing is cheaper than a HEAD each.
LIST_INSTEAD_OF_HEAD = 20


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
        read: dict[str, str | None] = {}
        #: Projects whose documents changed after we read them: our outcome for them is stale.
        stale: set[str] = set()

        def list_projects_whose_documents_have_files(
            listed: documents.RootProjects,
        ) -> documents.RootProjects:
            read.clear()
            listed_set = set(listed)
            candidates = set(outcomes) | (listed_set if replace_all else set())
            target = set(listed_set)
            for name in candidates:
                outcome = outcomes.get(name)
                agrees = bool(outcome and outcome.present) == (name in listed_set)
                if agrees and name not in stale:
                    continue
                files, read[name] = ProjectDocument(self.bucket, name).load()
                if files:
                    target.add(name)
                else:
                    target.discard(name)
            return listed if target == listed_set else tuple(sorted(target))

        first: documents.RootProjects | None = None
        for _ in range(MAX_ATTEMPTS):
            before, after = self.update(list_projects_whose_documents_have_files)
            first = before if first is None else first
            changed = self.changed_documents(read) if after != before else set()
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

    def changed_documents(self, read: Mapping[str, str | None]) -> set[str]:
        """The projects whose documents no longer have the ETags in ``read``: one HEAD each,
        or for many (a full rebuild) one listing of all documents, 1,000 per request."""
        if len(read) <= LIST_INSTEAD_OF_HEAD:
            return {
                name
                for name, etag in read.items()
                if self.bucket.etag(layout.project_doc_key(name)) != etag
            }
        current: dict[str, str | None] = dict.fromkeys(read)
        for doc in self.bucket.list_objects(layout.PROJECT_DOCS_PREFIX):
            name = doc.key.removeprefix(layout.PROJECT_DOCS_PREFIX).removesuffix(".json")
            if name in current:
                current[name] = doc.etag
        return {name for name, etag in read.items() if current[name] != etag}
