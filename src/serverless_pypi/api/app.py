"""The API Lambda: the simple repository API (PEP 503/691) and file downloads.

Routes (paths relative to the API's base): ``/simple/`` root index, ``/simple/<project>/``
project page, ``/files/<prefix>/<filename>`` file download (redirect to a presigned S3 URL),
``<file>.metadata`` (PEP 658), ``POST /`` and ``/legacy/`` uploads. See ``docs/architecture.md``.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import time
from typing import TYPE_CHECKING, Any

from packaging.utils import NormalizedName

from serverless_pypi import (
    audit,
    catalog,
    config,
    documents,
    errors,
    layout,
    logs,
    names,
    render,
    status,
)
from serverless_pypi.api import auth, gateway, negotiation, web
from serverless_pypi.api.gateway import HttpError, Request, Response
from serverless_pypi.api.negotiation import Format, choose, choose_from_query
from serverless_pypi.errors import StoreUnavailable, TooLarge
from serverless_pypi.storage import Bucket, make_client
from serverless_pypi.upstream import pages as upstream_pages

if TYPE_CHECKING:
    from serverless_pypi.api.oidc import OidcRoutes
    from serverless_pypi.publish import Candidate, Stored
    from serverless_pypi.upstream.proxy import Upstream

log = logging.getLogger(__name__)

READ_METHODS = ("GET", "HEAD")
#: Pages hold only stable URLs, so they may be stored, but must be revalidated (ETag → 304)
#: so that a new upload is visible at once.
PAGE_CACHE = "no-cache"
#: Canonical-name and trailing-slash redirects never change.
PERMANENT_CACHE = "max-age=86400"
#: Files are immutable, and so is the METADATA extracted from them.
METADATA_CACHE = "max-age=86400"
METADATA_SUFFIX = ".metadata"
#: ``POST /`` and ``POST /legacy/`` (twine's default URL shape), with or without the slash.
UPLOAD_PATHS = ((), ("legacy",))
#: A Lambda request carries at most 6 MB of event; the body arrives base64-encoded in it.
MAX_UPLOAD_BYTES = 4_400_000
#: How long a warm container trusts a status marker it read for file requests.
STATUS_CACHE_SECONDS = 5.0
STATUS_CACHE_ENTRIES = 4096


def _with_query(location: str, request: Request) -> str:
    return f"{location}?{request.query}" if request.query else location


class ApiApp:
    """The API handler bound to one bucket and configuration."""

    def __init__(self, settings: config.Settings, bucket: Bucket | None = None) -> None:
        self.settings = settings
        self.bucket = bucket or Bucket(make_client(settings), settings.bucket)
        self._root_html_cache: tuple[str, bytes] | None = None
        self._upstream: Upstream | None = None
        self._oidc: OidcRoutes | None = None  # made on the first /_/oidc/ request or token
        #: Project → (monotonic expiry, status), for file and ``.metadata`` requests.
        self._status_cache: dict[str, tuple[float, status.ProjectStatus]] = {}
        self.status_cache_seconds = STATUS_CACHE_SECONDS

    # -- entry point ---------------------------------------------------------------------
    def handle(self, event: Any, context: Any = None) -> dict[str, Any]:
        request_id = getattr(context, "aws_request_id", None)
        request_context = event.get("requestContext") if isinstance(event, dict) else None
        if request_id is None and isinstance(request_context, dict):
            request_id = request_context.get("requestId")
        with logs.request_scope(request_id):
            response, method = self._respond(event)
        return response.to_event(head=method == "HEAD")

    def _respond(self, event: Any) -> tuple[Response, str | None]:
        method = path = None
        request: Request | None = None
        try:
            request = gateway.parse_event(event)
            method, path = request.method, "/" + "/".join(request.segments)
            response = self.route(request)
        except HttpError as exc:
            response = gateway.text(exc.status, exc.message, exc.headers)
            if exc.status == 404 and request is not None:
                response = web.not_found(request, exc.message) or response
        except StoreUnavailable as exc:
            status = gateway.status_for(exc)
            log.error("storage error", extra={"reason": exc.message, "status": status})
            response = gateway.text(status, "The package store is unavailable; try again.")
        except errors.PackageIndexError as exc:
            response = gateway.text(gateway.status_for(exc), exc.message)
        except Exception:
            log.exception("unhandled error")
            response = gateway.text(500, "Internal error.")
        log.info("request", extra={"method": method, "path": path, "status": response.status})
        return response, method

    # -- routing -------------------------------------------------------------------------
    def route(self, request: Request) -> Response:
        segments = request.segments
        if request.method == "POST" and segments in UPLOAD_PATHS:
            return self.upload(request)
        if segments[:2] == ("_", "oidc") and len(segments) == 3:  # no Basic auth: CI jobs
            return self._oidc_routes().handle(request, segments[2])
        if self.settings.auth == "basic":
            auth.require_reader(request.authorizer)
        if not segments:
            self._require_read(request)
            if web.wants_page(request):
                return web.welcome(self.bucket, request, basic_auth=self.settings.auth == "basic")
            return gateway.redirect(302, _with_query("simple/", request))
        head, *rest = segments
        if head == "simple":
            self._require_read(request)
            if not rest:
                if not request.trailing_slash:
                    return gateway.redirect(301, _with_query("simple/", request), PERMANENT_CACHE)
                return self.root_page(request)
            if len(rest) == 1:
                return self.project_page(request, rest[0])
        elif head == "files" and len(rest) == 2 and not request.trailing_slash:
            self._require_read(request)
            return self.file(request, rest[0], rest[1])
        elif head == "project" and 1 <= len(rest) <= 2:
            self._require_read(request)
            return web.project_page(self.bucket, request, tuple(rest))
        elif head == "pypi" and 2 <= len(rest) <= 3 and rest[-1] == "json":
            self._require_read(request)
            return web.pypi_json(self.bucket, request, tuple(rest[:-1]))
        raise HttpError(404, "Not found.")

    def _oidc_routes(self) -> OidcRoutes:
        """Trusted publishing; PyJWT and cryptography load here, never on the read path."""
        if self._oidc is None:
            from serverless_pypi.api.oidc import OidcRoutes

            self._oidc = OidcRoutes(self.settings)
        return self._oidc

    @staticmethod
    def _require_read(request: Request) -> None:
        if request.method not in READ_METHODS:
            raise HttpError(405, "Method not allowed.", {"Allow": ", ".join(READ_METHODS)})

    def _negotiate(self, request: Request) -> tuple[Format, str]:
        override = request.query_value("format")
        chosen = choose_from_query(override) if override else choose(request.header("accept"))
        if chosen is None:
            raise HttpError(
                406,
                "Not acceptable: this index serves application/vnd.pypi.simple.v1+json, "
                "application/vnd.pypi.simple.v1+html and text/html.",
                {"Vary": "Accept"},
            )
        return chosen

    # -- pages ---------------------------------------------------------------------------
    def root_page(self, request: Request) -> Response:
        """The root JSON page is stored (gzipped) as the reindexer wrote it; the HTML page is
        rendered from it here, because browsers ask for it and pip and uv never do."""
        fmt, media_type = self._negotiate(request)
        content_type = negotiation.content_type(fmt, media_type)
        stored = self.bucket.get(layout.ROOT_JSON)
        if fmt is Format.JSON and stored is not None:
            return gateway.page(request, stored[0], content_type, PAGE_CACHE, gzipped=True)
        if stored is None:  # never indexed: a valid, empty index
            text = render.root_json(()) if fmt is Format.JSON else render.root_html(())
            return gateway.page(request, text.encode(), content_type, PAGE_CACHE)
        return gateway.page(request, self._root_html(*stored), content_type, PAGE_CACHE)

    def _root_html(self, stored: bytes, etag: str) -> bytes:
        """Rendered once per root version in a warm container (4-6 ms at 10,000 projects)."""
        if self._root_html_cache is None or self._root_html_cache[0] != etag:
            html = render.root_html(documents.load_root(stored)).encode()
            self._root_html_cache = (etag, html)
        return self._root_html_cache[1]

    def project_page(self, request: Request, name: str) -> Response:
        project = names.canonical(name)
        if project is None:
            raise HttpError(404, "Not found: invalid project name.")
        if name != project or not request.trailing_slash:
            location = f"{project}/" if not request.trailing_slash else f"../{project}/"
            return gateway.redirect(301, _with_query(location, request), PERMANENT_CACHE)
        fmt, media_type = self._negotiate(request)
        extension = "json" if fmt is Format.JSON else "html"
        content_type = negotiation.content_type(fmt, media_type)
        stored = self.bucket.read(layout.project_page_key(project, extension))
        upstream_page = None if stored is None else upstream_pages.stored_page(stored[1].metadata)
        if stored is not None and upstream_page is None:  # a private page
            return gateway.page(request, stored[0], content_type, PAGE_CACHE, gzipped=True)
        if self.settings.upstream_index_url:  # else an upstream page left over is not served
            cached = None if stored is None or upstream_page is None else (stored[0], upstream_page)
            proxied = self.upstream().page(request, project, fmt, content_type, cached)
            if proxied is not None:
                return proxied
        listed = self._listed_page(project, fmt)
        if isinstance(listed, Response):
            return listed
        return gateway.page(request, listed, content_type, PAGE_CACHE)

    def _listed_page(self, project: NormalizedName, fmt: Format) -> bytes | Response:
        """A page from a listing, for a project the reindex Lambda has not indexed yet."""
        prefixes = catalog.spellings(self.bucket, project)
        files = catalog.project_files(self.bucket, prefixes)
        if not files:
            return self._missing_project(project, private=bool(prefixes))
        page_files = [
            render.PageFile(
                filename=f.filename,
                url=render.file_url(f.location.key),
                version=str(f.location.dist.version),
                size=f.size,
            )
            for f in files
        ]
        shown = status.read(self.bucket, project)
        if fmt is Format.JSON:
            return render.project_json(project, page_files, shown).encode()
        return render.project_html(project, page_files, shown).encode()

    def _missing_project(self, project: str, *, private: bool) -> Response:
        """404, or the fallback index when no private project exists under any spelling."""
        fallback = self.settings.fallback_index_url
        if fallback is None or private:
            return gateway.text(404, f"Not found: no project named {project!r}.")
        return gateway.redirect(302, f"{fallback}{project}/")

    def upstream(self) -> Upstream:
        """The upstream proxy (``serverless_pypi.upstream``), imported on first use."""
        if self._upstream is None:
            from serverless_pypi.upstream.proxy import Upstream

            self._upstream = Upstream(self.settings, self.bucket)
        return self._upstream

    # -- files ---------------------------------------------------------------------------
    def file(self, request: Request, prefix: str, filename: str) -> Response:
        if prefix == layout.UPSTREAM_PREFIX.rstrip("/") and self.settings.upstream_index_url:
            return self.upstream().file(request, filename)
        if filename.endswith(METADATA_SUFFIX):
            return self.core_metadata(request, prefix, filename.removesuffix(METADATA_SUFFIX))
        location = names.parse_key(f"{prefix}/{filename}")
        if location is None or self.bucket.head(location.key) is None:
            raise HttpError(404, "Not found: no such file.")
        self._require_offered(location.project)
        url = self.bucket.presign(
            location.key, method=request.method, expires_in=self.settings.url_ttl
        )
        return gateway.redirect(302, url)

    def core_metadata(self, request: Request, prefix: str, filename: str) -> Response:
        """PEP 658: the wheel's METADATA, served directly (one S3 read, no second round trip
        for the client). The sidecar exists exactly when a page advertises it."""
        location = names.parse_key(f"{prefix}/{filename}")
        stored = None
        if location is not None and location.dist.is_wheel:
            stored = self.bucket.get(layout.metadata_key(location.key))
        if stored is None:
            raise HttpError(404, "Not found: no metadata for this file.")
        assert location is not None
        self._require_offered(location.project)
        body = stored[0]
        headers = {
            "Content-Type": "application/octet-stream",
            "ETag": gateway.etag_for(body),
            "Cache-Control": METADATA_CACHE,
        }
        return gateway.conditional(request, body, headers)

    def _require_offered(self, project: str) -> None:
        """PEP 792: a quarantined project's files are not offered, not even to a client that
        knows their URLs (a lock file); 404, as for a file that is not there.

        The marker read is remembered for ``STATUS_CACHE_SECONDS`` per warm container (an
        install asks for a project's ``.metadata`` and file in a row), so a quarantine reaches
        file URLs within that long, about as soon as the reindexer updates the pages."""
        now = time.monotonic()
        cached = self._status_cache.get(project)
        if cached is None or cached[0] <= now:
            if len(self._status_cache) >= STATUS_CACHE_ENTRIES:
                self._status_cache.clear()
            cached = (now + self.status_cache_seconds, status.read(self.bucket, project))
            self._status_cache[project] = cached
        current = cached[1]
        if not current.offers_files:
            raise HttpError(404, f"Not found: project {project!r} is {current.describe()}.")

    # -- uploads -------------------------------------------------------------------------
    def upload(self, request: Request) -> Response:
        """twine's legacy upload: checked completely before anything is written, and never
        answered with a redirect (twine treats one as a failure)."""
        # Archive and multipart parsing (in _store_upload): not on the read path.
        facts: dict[str, Any] = {}
        try:
            stored, candidate = self._store_upload(request, facts)
        except (HttpError, errors.PackageIndexError) as exc:
            status = exc.status if isinstance(exc, HttpError) else gateway.status_for(exc)
            log.info("upload refused", extra={"status": status, "reason": exc.message})
            audit.upload(accepted=False, status=status, reason=exc.message, **facts)
            raise
        log.info("upload", extra={"key": stored.key, "new_file": stored.created})
        audit.upload(
            accepted=True,
            key=stored.key,
            new_file=stored.created,
            size=candidate.size,
            **facts,
        )
        return gateway.text(
            200, "Uploaded." if stored.created else "Identical file already present."
        )

    def _store_upload(self, request: Request, facts: dict[str, Any]) -> tuple[Stored, Candidate]:
        """Check and store an upload; ``facts`` collects what the audit line says about it
        (who, which file, its sha256) as each becomes known."""
        from serverless_pypi import publish
        from serverless_pypi.api import upload
        from serverless_pypi.api.multipart import parse_form
        from serverless_pypi.publishing import tokens

        facts["user"] = None
        mode = self.settings.uploads
        if mode == "off":
            raise HttpError(403, "Uploads are disabled on this index.")
        grant = None  # None: anyone, any project (uploads = "unauthenticated-insecure")
        token = tokens.token_password(request.header("authorization"))
        if token is not None:  # user __token__: an upload token, checked here (not Cognito)
            grant = self._oidc_routes().upload_grant(token)
            facts["publisher"] = grant.name
        elif mode == "authenticated" or self.settings.auth == "basic":
            grant = auth.require_uploader(request.authorizer, self.settings.upload_permissions)
            facts["user"] = grant.name
        if grant is not None:
            log.info("upload by", extra={"uploader": grant.who})
        if len(request.body) > MAX_UPLOAD_BYTES:
            raise TooLarge(
                f"Upload too large: the API accepts uploads of up to {MAX_UPLOAD_BYTES / 1e6:.1f} "
                "MB (Lambda's request limit). Publish larger files with: "
                "serverless-pypi upload FILE --bucket BUCKET",
                limit=MAX_UPLOAD_BYTES,
            )
        fields, content = parse_form(request.header("content-type") or "", request.body)
        if content is not None:
            facts["filename"] = content[0][:300]
            facts["sha256"] = hashlib.sha256(content[1]).hexdigest()
        form = upload.check_fields(fields, content)
        facts["project"] = form.candidate.dist.project
        if grant is not None:
            grant.check(form.candidate.dist.project)
        stored = publish.store(self.bucket, form.candidate, lambda: io.BytesIO(form.data))
        return stored, form.candidate


@functools.cache
def _container_app() -> ApiApp:
    """Settings and the S3 client, made once per container."""
    settings = config.load()
    logs.setup(settings.log_level)
    return ApiApp(settings)


def handler(event: Any, context: Any) -> dict[str, Any]:
    """The Lambda entry point."""
    return _container_app().handle(event, context)
