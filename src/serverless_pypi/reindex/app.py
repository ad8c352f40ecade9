"""The reindex Lambda: keeps derived data in step with the bucket.

Events are hints, not facts: for each key an event names, the bucket itself is asked what is
there now. That makes duplicated, reordered and concurrent events converge. Each project's
document and the root state are updated with conditional writes retried on 412, and rendered
pages record which state they show (see ``pages``), so the last writer leaves the newest pages.
"""

from __future__ import annotations

import itertools
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import Any

from serverless_pypi import catalog, config, documents, layout, logs, names, render
from serverless_pypi.reindex.events import parse
from serverless_pypi.reindex.project import (
    JSON_TYPE,
    Observed,
    Outcome,
    ProjectIndex,
    observe_listing,
    yank_markers,
)
from serverless_pypi.reindex.state import MAX_ATTEMPTS, StateObject, compress
from serverless_pypi.storage import Bucket, ObjectInfo, make_client

log = logging.getLogger(__name__)

#: A manual invocation: ``{"reindex": "*"}`` rebuilds everything, ``{"reindex": "<name>"}``
#: one project.
MANUAL_KEY = "reindex"
#: Prefixes a full rebuild applies at once (threads waiting on S3; see ``rebuild_all``).
REBUILD_WORKERS = 16
#: Above this many documents to check, one listing is cheaper than a HEAD each.
LIST_INSTEAD_OF_HEAD = 20
Progress = Callable[[int, int], None]


@dataclass(slots=True)
class RebuildReport:
    projects: int = 0
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    files_added: int = 0
    files_removed: int = 0


def _runs_by_prefix(objects: Iterable[ObjectInfo]) -> Iterator[tuple[str, list[ObjectInfo]]]:
    """Group a listing into runs of one top-level prefix (a listing is sorted, so the keys of
    one prefix are contiguous): memory is bounded by the largest prefix, not the bucket."""
    for prefix, run in itertools.groupby(objects, key=lambda o: o.key.partition("/")[0]):
        yield prefix, list(run)


class ReindexApp:
    """The reindex handler bound to one bucket."""

    def __init__(self, settings: config.Settings, bucket: Bucket | None = None) -> None:
        self.settings = settings
        self.bucket = bucket or Bucket(make_client(settings), settings.bucket)
        self.root = StateObject(
            self.bucket,
            layout.ROOT_JSON,
            self._load_root,
            lambda projects: compress(render.root_json(projects).encode()),
            content_type=JSON_TYPE,
            content_encoding="gzip",
        )

    # -- entry point ---------------------------------------------------------------------
    def handle(self, event: Any, context: Any = None) -> dict[str, Any]:
        token = logs.request_id.set(getattr(context, "aws_request_id", None))
        try:
            if isinstance(event, Mapping) and MANUAL_KEY in event:
                return self._manual(event[MANUAL_KEY])
            parsed = parse(event)
            by_project: dict[str, set[str]] = defaultdict(set)
            for change in parsed.changes:
                location = self._distribution(change.bucket, change.key)
                if location is None:
                    parsed.skipped += 1
                else:
                    by_project[location.project].add(location.key)
            outcomes = {
                p: ProjectIndex(self.bucket, p).update(keys)
                for p, keys in sorted(by_project.items())
            }
            report = self._update_root(outcomes) if outcomes else RebuildReport()
            result = {
                "changes": len(parsed.changes),
                "skipped": parsed.skipped,
                "projects": sorted(by_project),
                "added": report.added,
                "removed": report.removed,
            }
            log.info("reindexed", extra=result)
            return result
        finally:
            logs.request_id.reset(token)

    def _distribution(self, bucket: str, key: str) -> names.DistributionKey | None:
        if bucket != self.settings.bucket:
            log.warning("event for another bucket", extra={"event_bucket": bucket[:100]})
            return None
        yanked = layout.yanked_target(key)
        if yanked is not None:
            key = yanked  # a yank marker changed: look at the file it is about
        elif layout.is_index_key(key):
            log.debug("event about derived data", extra={"key": key})
            return None
        location = names.parse_key(key)
        if location is None:
            catalog.report_ignored(key, "not a distribution of a valid project")
        return location

    def _manual(self, target: Any) -> dict[str, Any]:
        if target == "*":
            report = self.rebuild_all()
        elif isinstance(target, str) and names.canonical(target) is not None:
            report = self.rebuild_project(names.canonical(target) or "")
        else:
            log.warning("manual reindex needs a project name or '*'")
            return {"error": "manual reindex needs a project name or '*'"}
        return {
            "projects": report.projects,
            "added": report.added,
            "removed": report.removed,
            "files_added": report.files_added,
            "files_removed": report.files_removed,
        }

    # -- root ----------------------------------------------------------------------------
    def _load_root(self) -> tuple[documents.RootProjects, str | None]:
        stored = self.bucket.get(layout.ROOT_JSON)
        if stored is None:
            return (), None
        return documents.load_root(stored[0]), stored[1]

    def _update_root(
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

        def change(listed: documents.RootProjects) -> documents.RootProjects:
            read.clear()
            listed_set = set(listed)
            candidates = set(outcomes) | (listed_set if replace_all else set())
            target = set(listed_set)
            for name in candidates:
                outcome = outcomes.get(name)
                agrees = bool(outcome and outcome.present) == (name in listed_set)
                if agrees and name not in stale:
                    continue
                files, read[name] = ProjectIndex(self.bucket, name).load()
                if files:
                    target.add(name)
                else:
                    target.discard(name)
            return listed if target == listed_set else tuple(sorted(target))

        first: documents.RootProjects | None = None
        for _ in range(MAX_ATTEMPTS):
            before, after = self.root.update(change)
            first = before if first is None else first
            changed = self._changed_documents(read) if after != before else set()
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

    def _changed_documents(self, read: Mapping[str, str | None]) -> set[str]:
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

    # -- full rebuild --------------------------------------------------------------------
    def _apply_prefix(
        self, project: str, prefix: str, observed: Mapping[str, Observed | None]
    ) -> tuple[str, Outcome]:
        index = ProjectIndex(self.bucket, project)
        return project, index.apply(observed, authoritative_prefixes={prefix})

    def rebuild_project(self, project: str) -> RebuildReport:
        """Rebuild one project's derived data from a listing of all its spellings."""
        index = ProjectIndex(self.bucket, project)
        spellings = catalog.spellings(self.bucket, project)
        observed: dict[str, Observed | None] = {}
        for prefix in spellings:
            observed.update(
                observe_listing(
                    self.bucket.list_objects(prefix + "/"),
                    yank_markers(
                        self.bucket, self.bucket.list_objects(layout.yank_key(prefix + "/"))
                    ),
                )
            )
        known, _ = index.load()
        stale = {k.partition("/")[0] for k in known} - set(spellings)
        outcome = index.apply(observed, authoritative_prefixes={*spellings, *stale})
        return self._update_root({project: outcome})

    def rebuild_all(
        self, progress: Progress | None = None, *, workers: int = REBUILD_WORKERS
    ) -> RebuildReport:
        """Rebuild all derived data from one streamed listing of the bucket.

        Each prefix is applied as soon as its run of the listing ends, by a pool of
        ``workers`` threads: a prefix costs about ten S3 round trips, so one at a time a
        10,000-project bucket would outlast the Lambda's 15 minutes against real S3. At most
        two runs per worker wait, so memory holds that many prefixes' objects plus one entry
        per project. Two spellings of one project may be applied at once; their document's
        conditional writes keep both. Upload times already recorded are kept.
        """
        outcomes: dict[str, Outcome] = {}
        seen_prefixes: dict[str, set[str]] = defaultdict(set)
        # ".yanked/" sorts before every project name ("." < digits and letters), so its run
        # arrives first: its markers (few: one per yanked file) are kept for the whole pass.
        yanked: dict[str, bool | str] = {}
        objects = 0
        pending: set[Future[tuple[str, Outcome]]] = set()

        def collect(at_most: int) -> None:
            while len(pending) > at_most:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    pending.discard(future)
                    project, outcome = future.result()
                    outcomes[project] = _merge(outcomes.get(project), outcome)
                if progress:
                    progress(objects, len(outcomes))

        with ThreadPoolExecutor(max(1, workers), thread_name_prefix="rebuild") as pool:
            for prefix, run in _runs_by_prefix(self.bucket.list_objects("")):
                objects += len(run)
                if prefix + "/" == layout.YANK_PREFIX:
                    yanked = yank_markers(self.bucket, run)
                    continue
                project = names.canonical(prefix)
                if project is None:
                    if not layout.is_reserved_key(prefix + "/"):
                        for obj in run:
                            catalog.report_ignored(obj.key, "not under a valid project prefix")
                    continue
                observed: Mapping[str, Observed | None] = observe_listing(run, yanked)
                if not observed:
                    continue
                seen_prefixes[project].add(prefix)
                pending.add(pool.submit(self._apply_prefix, project, prefix, observed))
                collect(at_most=2 * workers)
            collect(at_most=0)
        # Documents of projects (or spellings) that no longer have any object.
        for doc in self.bucket.list_objects(layout.PROJECT_DOCS_PREFIX):
            project = doc.key.removeprefix(layout.PROJECT_DOCS_PREFIX).removesuffix(".json")
            if names.canonical(project) != project:
                continue
            index = ProjectIndex(self.bucket, project)
            if project in outcomes:
                known_prefixes = set(outcomes[project].prefixes)
            else:
                known_prefixes = {k.partition("/")[0] for k in index.load()[0]}
            stale = known_prefixes - seen_prefixes[project]
            if stale or project not in outcomes:
                outcome = index.apply({}, authoritative_prefixes=stale)
                merged = _merge(outcomes.get(project), outcome)
                # Applied after every other prefix of the project: this is the final state.
                outcomes[project] = replace(
                    merged, present=outcome.present, prefixes=outcome.prefixes
                )
        report = self._update_root(outcomes, replace_all=True)
        for key in layout.LEGACY_ROOT_KEYS:
            self.bucket.delete(key)
        log.info("full rebuild", extra={"projects": report.projects, "objects": objects})
        return report


def _merge(first: Outcome | None, second: Outcome) -> Outcome:
    """Outcomes of one project applied prefix by prefix, maybe concurrently (so either may
    hold the final state): present if either is, and every prefix either saw."""
    if first is None:
        return second
    return Outcome(
        present=first.present or second.present,
        prefixes=tuple(sorted({*first.prefixes, *second.prefixes})),
        added=first.added + second.added,
        removed=first.removed + second.removed,
    )


_app: ReindexApp | None = None


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Lambda entry point (SNS-wrapped S3 events, or a manual ``{"reindex": ...}``)."""
    global _app
    if _app is None:
        settings = config.load()
        logs.setup(settings.log_level)
        _app = ReindexApp(settings)
    return _app.handle(event, context)
