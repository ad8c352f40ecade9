"""The reindex Lambda: keeps derived data in step with the bucket.

Events are hints, not facts: for each key an event names, the bucket itself is asked what is
there now. That makes duplicated, reordered and concurrent events converge. Each project's
document and the root state are updated with conditional writes retried on 412, and rendered
pages record which state they show (see ``state``), so the last writer leaves the newest pages.

This module only routes: SQS batches go to ``batch``; SNS (or direct S3) events go to
``events`` then ``project`` and ``root``; manual invocations go to ``rebuild``, or with a
queue, a full rebuild to ``fanout``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from typing import Any

from serverless_pypi import config, logs, names
from serverless_pypi.reindex import batch, events, fanout, rebuild, upstream_pages
from serverless_pypi.reindex.project import ProjectIndex
from serverless_pypi.reindex.root import RebuildReport, RootIndex
from serverless_pypi.storage import Bucket, make_client
from serverless_pypi.web import readme

log = logging.getLogger(__name__)

#: A manual invocation: ``{"reindex": "*"}`` rebuilds everything, ``{"reindex": "<name>"}``
#: one project; with ``"verify": true`` every object is re-read and each difference between
#: the derived data and the objects is repaired and reported (see ``reindex.verify``).
MANUAL_KEY = "reindex"
VERIFY_KEY = "verify"


class ReindexApp:
    """The reindex handler bound to one bucket."""

    def __init__(
        self,
        settings: config.Settings,
        bucket: Bucket | None = None,
        queue: fanout.Queue | None = None,
    ) -> None:
        self.settings = settings
        self.bucket = bucket or Bucket(make_client(settings), settings.bucket)
        self.root = RootIndex(self.bucket)
        readme.allow_image_hosts(settings.web_image_hosts)
        if queue is None and settings.queue_url:
            queue = fanout.make_queue(settings.queue_url, settings.region)
        #: Where ``{"reindex": "*"}`` sends its batches of projects (None: rebuild here).
        self.queue = queue
        #: Renders the upstream proxy's pages (``upstream_index_url``), None without a proxy.
        self.upstream = (
            upstream_pages.UpstreamPages(
                self.bucket, settings.upstream_index_url, settings.upstream_min_age
            )
            if settings.upstream_index_url
            else None
        )

    def handle(self, event: Any, context: Any = None) -> dict[str, Any]:
        with logs.request_scope(getattr(context, "aws_request_id", None)):
            if isinstance(event, Mapping) and MANUAL_KEY in event:
                return self._manual(event[MANUAL_KEY], verify=event.get(VERIFY_KEY) is True)
            if batch.is_sqs(event):
                retry_soon = self.queue.retry_soon if self.queue is not None else None
                return batch.handle(self.bucket, self.root, event, retry_soon, self.upstream)
            return self._events(event)

    def _events(self, event: Any) -> dict[str, Any]:
        parsed = events.parse(event)
        upstream = upstream_pages.take_documents(parsed, self.settings.bucket)
        by_project = events.keys_by_project(parsed, self.settings.bucket)
        outcomes = {
            project: ProjectIndex(self.bucket, project).update(keys)
            for project, keys in sorted(by_project.items())
        }
        report = self.root.reconcile(outcomes) if outcomes else RebuildReport()
        if self.upstream is not None:
            for project in sorted(upstream):
                self.upstream.render(project)
        result = {
            "changes": len(parsed.changes),
            "skipped": parsed.skipped,
            "projects": sorted(by_project),
            "added": report.added,
            "removed": report.removed,
        }
        log.info("reindexed", extra=result)
        return result

    def _manual(self, target: Any, *, verify: bool) -> dict[str, Any]:
        project = names.canonical(target) if isinstance(target, str) else None
        if target == "*" and self.queue is not None and not verify:
            return fanout.fan_out(self.bucket, self.root, self.queue)
        if target == "*":
            report = self.rebuild_all(verify=verify)
        elif project is not None:
            report = self.rebuild_project(project, verify=verify)
        else:
            log.warning("manual reindex needs a project name or '*'")
            return {"error": "manual reindex needs a project name or '*'"}
        result: dict[str, Any] = {
            "projects": report.projects,
            "added": report.added,
            "removed": report.removed,
            "files_added": report.files_added,
            "files_removed": report.files_removed,
        }
        if verify:
            result["differences"] = report.differences
            log.info("verified", extra={"differences": len(report.differences)})
        return result

    def rebuild_project(self, project: str, *, verify: bool = False) -> RebuildReport:
        """Rebuild one project's derived data from a listing of all its spellings."""
        return rebuild.rebuild_project(self.bucket, self.root, project, verify=verify)

    def rebuild_all(
        self,
        progress: rebuild.Progress | None = None,
        *,
        workers: int = rebuild.REBUILD_WORKERS,
        verify: bool = False,
    ) -> RebuildReport:
        """Rebuild all derived data from one streamed listing of the bucket."""
        return rebuild.rebuild_all(self.bucket, self.root, progress, workers=workers, verify=verify)


@functools.cache
def _container_app() -> ReindexApp:
    """Settings and the S3 client, made once per container."""
    settings = config.load_reindex()
    logs.setup(settings.log_level)
    return ReindexApp(settings)


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Lambda entry point (SQS batches, SNS-wrapped S3 events, or ``{"reindex": ...}``)."""
    return _container_app().handle(event, context)
