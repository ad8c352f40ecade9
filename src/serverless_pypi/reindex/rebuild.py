"""Rebuilding derived data from listings: one project, or the whole bucket on a thread pool.

Upload times already recorded are kept (for bytes that did not change), so a rebuild can be
run at any time.
"""

from __future__ import annotations

import itertools
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace

from packaging.utils import NormalizedName

from serverless_pypi import catalog, layout, names, status
from serverless_pypi.reindex import status_marks
from serverless_pypi.reindex.observe import Observed, observe_listing, yank_markers
from serverless_pypi.reindex.project import Outcome, ProjectIndex
from serverless_pypi.reindex.root import RebuildReport, RootIndex
from serverless_pypi.storage import Bucket, ObjectInfo

log = logging.getLogger(__name__)

#: Prefixes a full rebuild applies at once (threads waiting on S3; see ``rebuild_all``).
REBUILD_WORKERS = 16
#: Called with the objects listed and the projects applied so far.
Progress = Callable[[int, int], None]


def _runs_by_prefix(objects: Iterable[ObjectInfo]) -> Iterator[tuple[str, list[ObjectInfo]]]:
    """Group a listing into runs of one top-level prefix (a listing is sorted, so the keys of
    one prefix are contiguous): memory is bounded by the largest prefix, not the bucket."""
    for prefix, run in itertools.groupby(objects, key=lambda o: o.key.partition("/")[0]):
        yield prefix, list(run)


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


def rebuild_outcome(
    bucket: Bucket, project: str, *, verify: bool = False, spellings: Iterable[str] | None = None
) -> tuple[ProjectIndex, Outcome]:
    """Bring one project's document and pages in line with a listing of all its spellings
    (found by listing unless given: a fan-out message names them), leaving the root to the
    caller (a batch updates it once for all its projects)."""
    index = ProjectIndex(bucket, project, verify=verify)
    if spellings is None:
        spellings = catalog.spellings(bucket, NormalizedName(project))
    spellings = sorted(spellings)
    observed: dict[str, Observed | None] = {}
    for prefix in spellings:
        markers = bucket.list_objects(layout.yank_key(prefix + "/"))
        observed.update(
            observe_listing(bucket.list_objects(prefix + "/"), yank_markers(bucket, markers))
        )
    if verify:
        index.check_pages(repair=False)
    known, _ = index.load()
    stale = {k.partition("/")[0] for k in known} - set(spellings)
    marked = status.parse_marker(status.read_marker(bucket, project), project)
    outcome = index.apply(
        observed, authoritative_prefixes={*spellings, *stale}, project_status=marked
    )
    if verify:
        index.check_pages(repair=True)
    return index, outcome


def rebuild_project(
    bucket: Bucket, root: RootIndex, project: str, *, verify: bool = False
) -> RebuildReport:
    """Rebuild one project's derived data from a listing of all its spellings (``verify``:
    re-reading every object, see ``verify``)."""
    index, outcome = rebuild_outcome(bucket, project, verify=verify)
    report = root.reconcile({project: outcome})
    if verify:
        report.differences = _differences(root, report, index.differences, {project: outcome})
    return report


def _differences(
    root: RootIndex,
    report: RebuildReport,
    found_in_projects: Mapping[str, None],
    outcomes: Mapping[str, Outcome],
) -> list[str]:
    """Everything a verifying rebuild found and repaired, for the operator."""
    found = dict(found_in_projects)
    for outcome in outcomes.values():
        found.update(
            dict.fromkeys(f"{key}: recorded, but no such object" for key in outcome.removed)
        )
    found.update(dict.fromkeys(f"{root.key}: did not list {name}" for name in report.added))
    found.update(
        dict.fromkeys(f"{root.key}: listed {name}, which has no files" for name in report.removed)
    )
    stored = root.repair_stored_bytes()
    if stored:
        found[stored] = None
    return list(found)


def _apply_prefix(
    bucket: Bucket,
    project: str,
    prefix: str,
    observed: Mapping[str, Observed | None],
    verify: bool,
    marked: status.ProjectStatus | None = status.ACTIVE,
) -> tuple[ProjectIndex, Outcome]:
    index = ProjectIndex(bucket, project, verify=verify)
    return index, index.apply(observed, authoritative_prefixes={prefix}, project_status=marked)


def rebuild_all(
    bucket: Bucket,
    root: RootIndex,
    progress: Progress | None = None,
    *,
    workers: int = REBUILD_WORKERS,
    verify: bool = False,
) -> RebuildReport:
    """Rebuild all derived data from one streamed listing of the bucket.

    Each prefix is applied as soon as its run of the listing ends, by a pool of ``workers``
    threads: a prefix costs about ten S3 round trips, so one at a time a 10,000-project bucket
    would outlast the Lambda's 15 minutes against real S3. At most two runs per worker wait,
    so memory holds that many prefixes' objects plus one entry per project. Two spellings of
    one project may be applied at once; their document's conditional writes keep both.
    ``verify`` re-reads every object and checks every page (see ``verify``).
    """
    outcomes: dict[str, Outcome] = {}
    seen_prefixes: dict[str, set[str]] = defaultdict(set)
    # ".yanked/" sorts before every project name ("." < digits and letters), so its run
    # arrives first: its markers (few: one per yanked file) are kept for the whole pass.
    yanked: dict[str, bool | str] = {}
    # ".status/" too (after ".index/", before ".yanked/"): one marker per project with a status.
    statuses: dict[str, status.ProjectStatus | None] = {}
    objects = 0
    pending: set[Future[tuple[ProjectIndex, Outcome]]] = set()
    #: What verifying found (only the messages are kept: an index caches what it read).
    found: dict[str, None] = _check_pages_as_stored(bucket) if verify else {}

    def wait_until_at_most(at_most: int) -> None:
        while len(pending) > at_most:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                pending.discard(future)
                index, outcome = future.result()
                outcomes[index.project] = _merge(outcomes.get(index.project), outcome)
                if verify:
                    found.update(index.differences)
            if progress:
                progress(objects, len(outcomes))

    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="rebuild") as pool:
        for prefix, run in _runs_by_prefix(bucket.list_objects("")):
            objects += len(run)
            if prefix + "/" == layout.YANK_PREFIX:
                yanked = yank_markers(bucket, run)
                continue
            if prefix + "/" == layout.STATUS_PREFIX:
                statuses = status_marks.read_listed(bucket, run)
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
            marked = statuses.get(project, status.ACTIVE)
            pending.add(
                pool.submit(_apply_prefix, bucket, project, prefix, observed, verify, marked)
            )
            wait_until_at_most(2 * workers)
        wait_until_at_most(0)
    _drop_vanished(bucket, outcomes, seen_prefixes)
    if verify:  # after every prefix of a project is applied: its pages are final
        for name in sorted(outcomes):
            index = ProjectIndex(bucket, name, verify=True)
            index.check_pages(repair=True)
            found.update(index.differences)
    report = root.reconcile(outcomes, replace_all=True)
    if verify:
        report.differences = _differences(root, report, found, outcomes)
    for key in layout.LEGACY_ROOT_KEYS:
        bucket.delete(key)
    log.info("full rebuild", extra={"projects": report.projects, "objects": objects})
    return report


def _check_pages_as_stored(bucket: Bucket) -> dict[str, None]:
    """Verifying, before anything is repaired: the pages that do not show their documents."""
    found: dict[str, None] = {}
    for doc in bucket.list_objects(layout.PROJECT_DOCS_PREFIX):
        project = doc.key.removeprefix(layout.PROJECT_DOCS_PREFIX).removesuffix(".json")
        if names.canonical(project) == project:
            index = ProjectIndex(bucket, project, verify=True)
            index.check_pages(repair=False)
            found.update(index.differences)
    return found


def _drop_vanished(
    bucket: Bucket, outcomes: dict[str, Outcome], seen_prefixes: Mapping[str, set[str]]
) -> None:
    """Empty the documents of projects (or spellings) that no longer have any object."""
    for doc in bucket.list_objects(layout.PROJECT_DOCS_PREFIX):
        project = doc.key.removeprefix(layout.PROJECT_DOCS_PREFIX).removesuffix(".json")
        if names.canonical(project) != project:
            continue
        index = ProjectIndex(bucket, project)
        if project in outcomes:
            known_prefixes = set(outcomes[project].prefixes)
        else:
            known_prefixes = {k.partition("/")[0] for k in index.load()[0]}
        stale = known_prefixes - seen_prefixes.get(project, set())
        if stale or project not in outcomes:
            outcome = index.apply({}, authoritative_prefixes=stale)
            merged = _merge(outcomes.get(project), outcome)
            # Applied after every other prefix of the project: this is the final state.
            outcomes[project] = replace(merged, present=outcome.present, prefixes=outcome.prefixes)
