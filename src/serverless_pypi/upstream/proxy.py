"""The upstream proxy: project pages and files of projects that have no private file.

The API reads one key per project page (``layout.project_page_key``); it asks this module when
there is none, or when the one there is an upstream page (``upstream.pages``). A fresh upstream
page is served as it is: one S3 read, like a private page. Private always wins, on the whole
name: before the upstream is asked (no page, or one older than ``upstream_page_ttl``), every
spelling of the name in the bucket is listed, and any prefix makes the project private (the
caller then serves it from the bucket only). A fetched page is served from memory, and its
validated document stored under ``.upstream/``; the reindex function renders the stored pages
from it (``reindex.upstream_pages``), never over a private page, since only it writes ``.index/``.

Pages carry our own file URLs (``/files/.upstream/<filename>``): a first download is redirected
to the upstream's URL and a copy is started (``copy``); once kept, a download is a presigned
URL into the bucket, whether the upstream is up or not.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from packaging.utils import NormalizedName

from serverless_pypi import catalog, config, layout, names
from serverless_pypi.api import gateway
from serverless_pypi.api.gateway import HttpError, Request, Response
from serverless_pypi.api.negotiation import Format
from serverless_pypi.errors import UpstreamUnavailable
from serverless_pypi.storage import Bucket
from serverless_pypi.upstream import cache, client, pages, parse, policy
from serverless_pypi.upstream.copy import CopyJob, Dispatcher, dispatcher_for

log = logging.getLogger(__name__)

#: Marks a page served from the cache because the upstream failed; its value is when the page
#: was fetched.
STALE_HEADER = "X-Upstream-Stale"
PAGE_CACHE = "no-cache"
METADATA_CACHE = "max-age=86400"
_EXTENSIONS = {Format.JSON: "json", Format.HTML: "html"}


class Upstream:
    """The proxy of one upstream index for one bucket."""

    def __init__(
        self,
        settings: config.Settings,
        bucket: Bucket,
        *,
        dispatch: Dispatcher | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        assert settings.upstream_index_url is not None
        self.settings = settings
        self.url = settings.upstream_index_url
        self.bucket = bucket
        self.dispatch = dispatch or dispatcher_for(settings, bucket)
        self.clock = clock
        self.fingerprint = pages.fingerprint(settings.upstream_min_age)

    # -- decisions ------------------------------------------------------------------------
    def _check_not_blocked(self, project: str) -> None:
        if policy.blocked(project, self.settings.upstream_block):
            raise HttpError(
                404,
                f"Not found: no project named {project!r} (the name is reserved for private "
                "projects and never taken from the upstream index).",
            )

    def _visible(self, files: Sequence[parse.UpstreamFile]) -> list[parse.UpstreamFile]:
        return policy.cooled(files, self.settings.upstream_min_age, self.clock())

    # -- pages ----------------------------------------------------------------------------
    def page(
        self,
        request: Request,
        project: NormalizedName,
        fmt: Format,
        content_type: str,
        stored: tuple[bytes, pages.StoredPage] | None = None,
    ) -> Response | None:
        """The upstream page of ``project``; ``stored``: the upstream page at its key (gzipped,
        and what its metadata says), None when there is none. None when the bucket holds the
        project under some spelling (the caller serves it as private)."""
        self._check_not_blocked(project)
        if stored is not None and stored[1].fresh(
            self.clock(), self.settings.upstream_page_ttl, self.fingerprint
        ):
            return gateway.page(request, stored[0], content_type, PAGE_CACHE, gzipped=True)
        if catalog.spellings(self.bucket, project):
            return None
        previous = cache.load_document(self.bucket, project, self.url)
        try:
            document = self._fetch(project, previous)
        except UpstreamUnavailable as exc:
            return self._stale(request, project, stored, previous, fmt, content_type, exc)
        if document is None:
            return gateway.text(404, f"Not found: no project named {project!r} here or upstream.")
        cache.store_document(self.bucket, document)  # the reindexer renders the stored pages
        body = pages.render_page(project, self._visible(document.files), _EXTENSIONS[fmt])
        return gateway.page(request, body.encode(), content_type, PAGE_CACHE)

    def _fetch(self, project: str, previous: cache.Document | None) -> cache.Document | None:
        page_url = f"{self.url}{project}/"
        answer = client.fetch(
            page_url,
            accept=parse.ACCEPT,
            max_bytes=client.MAX_PAGE_BYTES,
            timeout=client.PAGE_TIMEOUT,
            etag=previous.etag if previous else None,
        )
        now = self.clock()
        if answer is None:
            return None
        if answer.status == 304 and previous is not None:
            return cache.Document(project, now, previous.etag, previous.files)
        if answer.status != 200:
            raise UpstreamUnavailable(f"The upstream index answered {answer.status}.")
        parsed = parse.parse_page(answer.body, answer.content_type, project, answer.url, self.url)
        if parsed.skipped:
            log.warning(
                "upstream files skipped", extra={"project": project, "skipped": parsed.skipped}
            )
        return cache.Document(project, now, answer.etag, tuple(parsed.files))

    def _stale(
        self,
        request: Request,
        project: str,
        stored: tuple[bytes, pages.StoredPage] | None,
        previous: cache.Document | None,
        fmt: Format,
        content_type: str,
        exc: UpstreamUnavailable,
    ) -> Response:
        """The last good page, marked stale: the stored page as it is, else one rendered from
        the cached document with the cooldown as of now; no page ever seen is the error."""
        if stored is not None:
            fetched_at = stored[1].fetched
            response = gateway.page(request, stored[0], content_type, PAGE_CACHE, gzipped=True)
        elif previous is not None:
            fetched_at = previous.fetched
            text = pages.render_page(project, self._visible(previous.files), _EXTENSIONS[fmt])
            response = gateway.page(request, text.encode(), content_type, PAGE_CACHE)
        else:
            log.warning("upstream failed", extra={"project": project, "reason": exc.message})
            raise exc
        fetched = datetime.fromtimestamp(fetched_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        log.warning(
            "upstream failed; serving the last good page",
            extra={"project": project, "reason": exc.message, "fetched": fetched},
        )
        response.headers[STALE_HEADER] = fetched
        return response

    # -- files ----------------------------------------------------------------------------
    def file(self, request: Request, filename: str) -> Response:
        """``/files/.upstream/<filename>`` and its ``.metadata``."""
        wants_metadata = filename.endswith(".metadata")
        filename = filename.removesuffix(".metadata")
        dist = names.parse_filename(filename)
        if dist is None:
            raise HttpError(404, "Not found: no such file.")
        project = dist.project
        self._check_not_blocked(project)
        page = self.bucket.head(layout.project_page_key(project, "json"))
        if page is not None and pages.stored_page(page.metadata) is None:
            raise HttpError(404, "Not found: this project is private; no upstream files.")
        if wants_metadata:
            return self._metadata(request, project, filename)
        key = cache.file_key(project, filename)
        if self.bucket.head(key) is not None:
            url = self.bucket.presign(key, method=request.method, expires_in=self.settings.url_ttl)
            return gateway.redirect(302, url)
        entry = self._entry(project, filename)
        if request.method == "GET":
            self.dispatch(CopyJob(project, filename, entry.url, entry.sha256, entry.size))
        return gateway.redirect(302, entry.url)

    def _entry(self, project: str, filename: str) -> parse.UpstreamFile:
        document = cache.load_document(self.bucket, project, self.url)
        entry = document.find(filename) if document else None
        if entry is None or not self._visible([entry]):
            raise HttpError(404, "Not found: no such file.")
        return entry

    def _metadata(self, request: Request, project: str, filename: str) -> Response:
        """PEP 658 METADATA of an upstream wheel: kept in the bucket after the first request,
        fetched from the upstream (bounded, sha256-checked) before that."""
        key = cache.metadata_key(project, filename)
        stored = self.bucket.get(key)
        if stored is not None:
            body = stored[0]
        else:
            entry = self._entry(project, filename)
            if entry.metadata_sha256 is None:
                raise HttpError(404, "Not found: no metadata for this file.")
            body = self._fetch_metadata(entry, entry.metadata_sha256)
            self.bucket.put(key, body, "application/octet-stream")
        headers = {
            "Content-Type": "application/octet-stream",
            "ETag": gateway.etag_for(body),
            "Cache-Control": METADATA_CACHE,
        }
        return gateway.conditional(request, body, headers)

    @staticmethod
    def _fetch_metadata(entry: parse.UpstreamFile, sha256: str) -> bytes:
        import hashlib

        answer = client.fetch(
            entry.url + ".metadata",
            accept="*/*",
            max_bytes=client.MAX_METADATA_BYTES,
            timeout=client.PAGE_TIMEOUT,
        )
        if answer is None or answer.status != 200:
            raise UpstreamUnavailable("The upstream index has no metadata for this file.")
        if hashlib.sha256(answer.body).hexdigest() != sha256:
            log.warning("upstream metadata sha256 mismatch", extra={"file": entry.filename})
            raise UpstreamUnavailable(
                "The upstream index sent metadata whose sha256 does not match its page."
            )
        return answer.body
