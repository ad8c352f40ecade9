"""Upstream pages at the served keys: rendered here, from the documents the API caches.

When the API fetches an upstream project page it stores the validated document under
``.upstream/projects/``; that write's event reaches this function, which renders both pages to
the keys private pages use (``layout.project_page_key``), so the API serves a cached upstream
page in one read. Only this function writes ``.index/``: the internet-facing API cannot put a
page where a private one is served.

Private always wins, in every order of events: a project with a file under any spelling gets no
upstream page, a page without upstream metadata (a private page) is never replaced, and each
write is conditional on the page this function saw (``IfMatch`` its ETag, or ``IfNoneMatch``
when there was none), so a private page written meanwhile makes the write fail, not vanish. The
private path writes its pages unconditionally and so replaces an upstream page.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from packaging.utils import NormalizedName

from serverless_pypi import catalog, layout
from serverless_pypi.errors import PreconditionFailed
from serverless_pypi.reindex import events
from serverless_pypi.reindex.project import HTML_TYPE, JSON_TYPE
from serverless_pypi.reindex.state import compress
from serverless_pypi.storage import Bucket
from serverless_pypi.upstream import cache, pages, policy

log = logging.getLogger(__name__)

#: Conditional writes of one page tried before leaving it to the next refresh.
MAX_ATTEMPTS = 3
_TYPES = {"json": JSON_TYPE, "html": HTML_TYPE}


def take_documents(parsed: events.Parsed, bucket: str) -> set[str]:
    """The projects whose upstream documents were written, taken out of ``parsed`` (the
    private path skips everything under ``.upstream/``)."""
    projects: set[str] = set()
    kept: list[events.Change] = []
    for change in parsed.changes:
        project = cache.project_of_doc_key(change.key) if change.bucket == bucket else None
        if project is None:
            kept.append(change)
        elif change.event_name.startswith("ObjectCreated:"):
            projects.add(project)
    parsed.changes = kept
    return projects


class UpstreamPages:
    """Renders the upstream pages of one bucket, with the proxy's cooldown."""

    def __init__(
        self,
        bucket: Bucket,
        upstream_url: str,
        min_age: int,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.bucket = bucket
        self.upstream_url = upstream_url
        self.min_age = min_age
        self.fingerprint = pages.fingerprint(min_age)
        self.clock = clock

    def render(self, project: str) -> bool:
        """Bring ``project``'s upstream pages in line with its cached document; False when
        it has none to show (private, no document), True otherwise."""
        if catalog.spellings(self.bucket, NormalizedName(project)):  # canonical: see events
            return False
        document = cache.load_document(self.bucket, project, self.upstream_url)
        if document is None:
            return False
        visible = policy.cooled(document.files, self.min_age, self.clock())
        for extension in pages.EXTENSIONS:
            body = compress(pages.render_page(project, visible, extension).encode())
            if not self._write(layout.project_page_key(project, extension), body, document):
                return False
        return True

    def _write(self, key: str, body: bytes, document: cache.Document) -> bool:
        """One page, unless a private page or a newer upstream page is there; False when a
        private page is."""
        for _ in range(MAX_ATTEMPTS):
            head = self.bucket.head(key)
            stored = None if head is None else pages.stored_page(head.metadata)
            if head is not None and stored is None:
                return False  # a private page: it wins
            if (
                stored is not None
                and stored.fingerprint == self.fingerprint
                and stored.fetched >= int(document.fetched)
            ):
                return True  # as new as ours already
            try:
                self.bucket.put(
                    key,
                    body,
                    _TYPES[key.rpartition(".")[2]],
                    if_match=head.etag if head is not None else None,
                    if_none_match=head is None,
                    metadata=pages.page_metadata(document.fetched, self.fingerprint),
                    content_encoding="gzip",
                )
                return True
            except PreconditionFailed:
                continue  # someone wrote it meanwhile: look again
        log.warning("upstream page kept changing; left to the next refresh", extra={"key": key})
        return True
