"""SQS batches: the messages of one batch applied as one unit.

The event source mapping hands the function up to its batch size of messages at once. Each
message is an SNS envelope of one S3 event (or a fan-out message of a full rebuild, see
``fanout``). The keys of every message are grouped by project first, so a project touched by
many messages costs one document update and one render of its pages, and the whole batch one
root update. A message fails (is reported in ``batchItemFailures``, so SQS redelivers it alone
and, after the queue's receive count, moves it to the dead-letter queue) only when a project it
named could not be brought up to date; a message that cannot be parsed is logged and dropped,
never retried. Nothing here raises on input.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from serverless_pypi import names
from serverless_pypi.reindex import events, rebuild, upstream_pages
from serverless_pypi.reindex.project import Outcome, ProjectIndex
from serverless_pypi.reindex.root import RebuildReport, RootIndex
from serverless_pypi.storage import Bucket

log = logging.getLogger(__name__)
Result = TypeVar("Result")

SQS_SOURCE = "aws:sqs"
#: Projects of one batch brought up to date at once (threads waiting on S3).
PROJECT_WORKERS = 8
#: A fan-out message: ``{"rebuild": {"<project>": ["<prefix>", ...], ...}}``.
REBUILD_KEY = "rebuild"
#: Bounds on a fan-out message (``fanout`` sends far fewer): projects, spellings of each.
MAX_REBUILD_PROJECTS = 1000
MAX_SPELLINGS = 64


def is_sqs(event: Any) -> bool:
    """Whether ``event`` is an SQS batch (as opposed to SNS, direct S3 or a manual call)."""
    records = event.get("Records") if isinstance(event, Mapping) else None
    return (
        isinstance(records, list)
        and bool(records)
        and isinstance(records[0], Mapping)
        and records[0].get("eventSource") == SQS_SOURCE
    )


@dataclass(slots=True)
class Work:
    """What a batch asks for, by project, and which messages asked."""

    keys: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    #: Projects to rebuild from a listing, with the spellings the fan-out found.
    rebuild: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    owners: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    #: Projects whose cached upstream documents were written (``upstream_pages``).
    upstream: set[str] = field(default_factory=set)
    changes: int = 0
    skipped: int = 0

    def projects(self) -> list[str]:
        return sorted(self.keys.keys() | self.rebuild.keys())


def _rebuild_request(value: Any, parsed: events.Parsed) -> dict[str, list[str]]:
    """The projects (and spellings) a fan-out message names; each entry checked."""
    if not isinstance(value, Mapping) or len(value) > MAX_REBUILD_PROJECTS:
        parsed.skip("rebuild message is not a bounded object")
        return {}
    wanted: dict[str, list[str]] = {}
    for project, spellings in value.items():
        valid = (
            isinstance(project, str)
            and names.canonical(project) == project
            and isinstance(spellings, list)
            and len(spellings) <= MAX_SPELLINGS
            and all(isinstance(s, str) and names.canonical(s) == project for s in spellings)
        )
        if valid:
            wanted[project] = spellings
        else:
            parsed.skip("rebuild entry is not a project and its spellings")
    return wanted


def collect(records: Iterable[Any], bucket: str) -> Work:
    """Group the keys of every message by project; remember which messages named each."""
    work = Work()
    for record in records:
        parsed = events.Parsed()
        message_id = record.get("messageId") if isinstance(record, Mapping) else None
        if not isinstance(message_id, str) or not message_id:
            parsed.skip("SQS record without a messageId")
            work.skipped += parsed.skipped
            continue
        body = events.decode_body(record.get("body"), parsed)
        if isinstance(body, Mapping) and REBUILD_KEY in body:
            for project, spellings in _rebuild_request(body[REBUILD_KEY], parsed).items():
                work.rebuild[project].update(spellings)
                work.owners[project].add(message_id)
        elif body is not None:
            parsed = events.parse_body(body)
            work.changes += len(parsed.changes)
            for project in upstream_pages.take_documents(parsed, bucket):
                work.upstream.add(project)
                work.owners[project].add(message_id)
            for project, keys in events.keys_by_project(parsed, bucket).items():
                work.keys[project] |= keys
                work.owners[project].add(message_id)
        work.skipped += parsed.skipped
    return work


@dataclass(slots=True)
class BatchReport:
    failed_messages: list[str]
    projects: list[str]
    failed_projects: list[str]
    root: RebuildReport


def _each_project(
    projects: list[str], apply: Callable[[str], Result], workers: int
) -> tuple[dict[str, Result], list[str]]:
    outcomes: dict[str, Result] = {}
    failed: list[str] = []

    def one(project: str) -> tuple[str, Result | None]:
        try:
            return project, apply(project)
        except Exception:  # one project's failure must not fail the others' messages
            log.exception("could not reindex a project", extra={"project": project})
            return project, None

    if not projects:
        return outcomes, failed
    with ThreadPoolExecutor(max(1, min(workers, len(projects))), "batch") as pool:
        for project, outcome in pool.map(one, projects):
            if outcome is None:
                failed.append(project)
            else:
                outcomes[project] = outcome
    return outcomes, failed


def apply(
    bucket: Bucket,
    root: RootIndex,
    work: Work,
    *,
    workers: int = PROJECT_WORKERS,
    upstream: upstream_pages.UpstreamPages | None = None,
) -> BatchReport:
    """One document update per project (a few at once), then one root update for all; then
    the upstream pages of the batch (after the private pages, which they never replace)."""

    def bring_up_to_date(project: str) -> Outcome:
        if project in work.rebuild:  # a listing sees every key an event could name
            spellings = work.rebuild[project]
            return rebuild.rebuild_outcome(bucket, project, spellings=spellings)[1]
        return ProjectIndex(bucket, project).update(work.keys[project])

    outcomes, failed = _each_project(work.projects(), bring_up_to_date, workers)
    report = RebuildReport()
    if outcomes:
        try:
            report = root.reconcile(outcomes)
        except Exception:  # the documents are current: a redelivery only redoes the root
            log.exception("could not update the root index", extra={"projects": len(outcomes)})
            failed.extend(outcomes)
    if upstream is not None:
        _, failed_upstream = _each_project(sorted(work.upstream), upstream.render, workers)
        failed.extend(failed_upstream)
    failed_messages = sorted({m for project in failed for m in work.owners[project]})
    return BatchReport(failed_messages, work.projects(), sorted(failed), report)


def _receipt_handles(records: Iterable[Any], message_ids: Iterable[str]) -> list[str]:
    wanted = set(message_ids)
    return [
        r["receiptHandle"]
        for r in records
        if isinstance(r, Mapping)
        and r.get("messageId") in wanted
        and isinstance(r.get("receiptHandle"), str)
    ]


def handle(
    bucket: Bucket,
    root: RootIndex,
    event: Mapping[str, Any],
    retry_soon: Callable[[list[str]], None] | None = None,
    upstream: upstream_pages.UpstreamPages | None = None,
) -> dict[str, Any]:
    """An SQS batch → the response the event source mapping reads (``ReportBatchItemFailures``:
    only the messages listed are retried, after ``retry_soon`` shortened their wait)."""
    work = collect(event["Records"], bucket.name)
    report = apply(bucket, root, work, upstream=upstream)
    if report.failed_messages and retry_soon is not None:
        retry_soon(_receipt_handles(event["Records"], report.failed_messages))
    log.info(
        "reindexed a batch",
        extra={
            "messages": len(event["Records"]),
            "changes": work.changes,
            "skipped": work.skipped,
            "projects": len(report.projects),
            "failed_projects": report.failed_projects[:20],
            "failed_messages": len(report.failed_messages),
            "added": len(report.root.added),
            "removed": len(report.root.removed),
        },
    )
    return {"batchItemFailures": [{"itemIdentifier": m} for m in report.failed_messages]}
