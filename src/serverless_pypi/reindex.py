"""The reindex Lambda: keeps the root index in step with the bucket.

Events are hints, not facts: for each prefix an event names, the bucket itself is asked whether
the prefix still holds a distribution. That makes duplicated, reordered and concurrent events
harmless. The root state is updated with conditional writes (``IfMatch``/``IfNoneMatch``) and
retried on 412, and the rendered pages record which state they show, so the last writer always
leaves pages that match the newest state.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import catalog, config, derived, logs, names, render
from .events import parse
from .storage import Bucket, PreconditionFailed, StorageError, make_client

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
HTML_TYPE = "text/html; charset=utf-8"
JSON_TYPE = "application/vnd.pypi.simple.v1+json"


@dataclass(slots=True)
class RebuildReport:
    projects: int = 0
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)


def _backoff(attempt: int) -> None:
    time.sleep(random.uniform(0, 0.05 * 2**attempt))  # noqa: S311 - jitter, not crypto


def _apply(projects: derived.Projects, presence: Mapping[str, bool]) -> bool:
    """Set each prefix's membership from ``presence``; True when anything changed."""
    changed = False
    for prefix, present in presence.items():
        project = names.canonical(prefix)
        assert project is not None
        spellings = projects.get(project, [])
        if present and prefix not in spellings:
            projects[project] = sorted([*spellings, prefix])
            changed = True
        elif not present and prefix in spellings:
            remaining = [p for p in spellings if p != prefix]
            if remaining:
                projects[project] = remaining
            else:
                del projects[project]
            changed = True
    return changed


def _diff(before: derived.Projects, after: derived.Projects) -> RebuildReport:
    return RebuildReport(
        projects=len(after),
        added=sorted(set(after) - set(before)),
        removed=sorted(set(before) - set(after)),
    )


class ReindexApp:
    """The reindex handler bound to one bucket."""

    def __init__(self, settings: config.Settings, bucket: Bucket | None = None) -> None:
        self.settings = settings
        self.bucket = bucket or Bucket(make_client(settings), settings.bucket)

    # -- entry point ---------------------------------------------------------------------
    def handle(self, event: Any, context: Any = None) -> dict[str, Any]:
        token = logs.request_id.set(getattr(context, "aws_request_id", None))
        try:
            parsed = parse(event)
            prefixes: set[str] = set()
            for change in parsed.changes:
                prefix = self._project_prefix(change.bucket, change.key)
                if prefix is None:
                    parsed.skipped += 1
                else:
                    prefixes.add(prefix)
            report = self.update(prefixes) if prefixes else RebuildReport()
            result = {
                "changes": len(parsed.changes),
                "skipped": parsed.skipped,
                "prefixes": len(prefixes),
                "added": report.added,
                "removed": report.removed,
            }
            log.info("reindexed", extra=result)
            return result
        finally:
            logs.request_id.reset(token)

    def _project_prefix(self, bucket: str, key: str) -> str | None:
        if bucket != self.settings.bucket:
            log.warning("event for another bucket", extra={"event_bucket": bucket[:100]})
            return None
        if names.is_index_key(key):
            log.debug("event about derived data", extra={"key": key})
            return None
        prefix, sep, _ = key.partition("/")
        if not sep or names.canonical(prefix) is None:
            catalog.report_ignored(key, "not under a valid project prefix")
            return None
        return prefix

    # -- incremental update --------------------------------------------------------------
    def update(self, prefixes: Iterable[str]) -> RebuildReport:
        """Bring the root state in line with what the bucket holds under ``prefixes``."""
        presence = {p: catalog.has_distribution(self.bucket, p) for p in prefixes}
        return self._commit(lambda projects: _apply(projects, presence))

    # -- full rebuild --------------------------------------------------------------------
    def rebuild_all(self) -> RebuildReport:
        """Recompute the root state from a listing of the whole bucket (one pass, streamed)."""
        scanned: derived.Projects = {}
        for obj in self.bucket.list_objects(""):
            if names.is_index_key(obj.key):
                continue
            location = names.parse_key(obj.key)
            if location is None:
                catalog.report_ignored(obj.key, "not a distribution of a valid project")
                continue
            spellings = scanned.setdefault(location.project, [])
            if location.prefix not in spellings:
                spellings.append(location.prefix)

        def replace(projects: derived.Projects) -> bool:
            # Prefixes where the stored state disagrees with the scan may have changed since
            # the scan (a concurrent event): ask the bucket again for just those.
            stored = {p for spellings in projects.values() for p in spellings}
            seen = {p for spellings in scanned.values() for p in spellings}
            presence = {p: catalog.has_distribution(self.bucket, p) for p in stored ^ seen}
            target = {name: list(spellings) for name, spellings in scanned.items()}
            _apply(target, presence)
            if target == projects:
                return False
            projects.clear()
            projects.update(target)
            return True

        report = self._commit(replace, force_publish=True)
        log.info(
            "full rebuild",
            extra={
                "projects": report.projects,
                "added": len(report.added),
                "removed": len(report.removed),
            },
        )
        return report

    # -- state and pages -----------------------------------------------------------------
    def _load_state(self) -> tuple[derived.Projects, str | None]:
        stored = self.bucket.get(derived.PROJECTS_STATE)
        if stored is None:
            return {}, None
        return derived.load_projects(stored[0]), stored[1]

    def _commit(
        self, mutate: Callable[[derived.Projects], bool], *, force_publish: bool = False
    ) -> RebuildReport:
        for attempt in range(MAX_ATTEMPTS):
            projects, etag = self._load_state()
            before = {k: list(v) for k, v in projects.items()}
            if mutate(projects) or (force_publish and etag is None):
                try:
                    etag = self.bucket.put(
                        derived.PROJECTS_STATE,
                        derived.dump_projects(projects),
                        "application/json",
                        if_match=etag,
                        if_none_match=etag is None,
                    )
                except PreconditionFailed:
                    _backoff(attempt)
                    continue
            if etag is not None:
                self._publish(projects, etag)
            return _diff(before, projects)
        raise StorageError(503, "root state: too many concurrent updates")

    def _publish(self, projects: derived.Projects, etag: str) -> None:
        """Write the root pages for state ``etag`` unless they already show it; repeat while
        the state moves on underneath, so the last writer leaves the newest pages."""
        for _ in range(MAX_ATTEMPTS):
            head = self.bucket.head(derived.ROOT_JSON)
            shown = (head or {}).get("Metadata", {}).get(derived.STATE_ETAG_META)
            if shown != etag:
                marker = {derived.STATE_ETAG_META: etag}
                self.bucket.put(
                    derived.ROOT_HTML,
                    render.root_html(projects).encode(),
                    HTML_TYPE,
                    metadata=marker,
                )
                self.bucket.put(
                    derived.ROOT_JSON,
                    render.root_json(projects).encode(),
                    JSON_TYPE,
                    metadata=marker,
                )
            latest = self.bucket.head(derived.PROJECTS_STATE)
            if latest is None or latest.get("ETag") == etag:
                return
            projects, new_etag = self._load_state()
            if new_etag is None:
                return
            etag = new_etag
        log.warning("root pages may lag the state; the next event will catch up")


_app: ReindexApp | None = None


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Lambda entry point (SNS-wrapped S3 events)."""
    global _app
    if _app is None:
        settings = config.load()
        logs.setup(settings.log_level)
        _app = ReindexApp(settings)
    return _app.handle(event, context)
