"""The API's side of the human pages and the PyPI JSON API: stored pages served with one S3
read, names and versions redirected to their canonical spelling, HTML 404s for browsers.

The welcome page is assembled per request by ``web.home`` (imported here only when a
browser asks for ``/``); nothing of the rendering libraries is ever imported by the API.
"""

from __future__ import annotations

from packaging.version import InvalidVersion, Version

from serverless_pypi import layout, names
from serverless_pypi.api import gateway, negotiation
from serverless_pypi.api.gateway import HttpError, Request, Response
from serverless_pypi.storage import Bucket

HTML_TYPE = "text/html; charset=utf-8"
JSON_TYPE = "application/json"
#: Like the simple pages: storable, revalidated (ETag → 304) so a new upload shows at once.
PAGE_CACHE = "no-cache"
PERMANENT_CACHE = "max-age=86400"
MAX_PAGE = 10_000


def wants_page(request: Request) -> bool:
    """A browser asking ``/`` gets the welcome page; ``?format=`` and clients keep the
    redirect to ``simple/``."""
    return request.query_value("format") is None and negotiation.is_browser(
        request.header("accept")
    )


def _to_base(request: Request) -> str:
    """The relative path from the requested URL to the API's base."""
    depth = len(request.segments) - (0 if request.trailing_slash else 1)
    return "../" * max(depth, 0) or "./"


def welcome(bucket: Bucket, request: Request, *, basic_auth: bool) -> Response:
    from serverless_pypi.web import home

    raw_page = request.query_value("page") or "1"
    page = int(raw_page) if raw_page.isdigit() and len(raw_page) < 6 else 1
    body = home.welcome(
        home.load_cards(bucket),
        query=request.query_value("q") or "",
        page=min(page, MAX_PAGE),
        basic_auth=basic_auth,
    )
    return gateway.page(request, body, HTML_TYPE, PAGE_CACHE)


def _canonical_version(text: str) -> str:
    try:
        return str(Version(text))
    except InvalidVersion:
        raise HttpError(404, f"Not found: {text!r} is not a valid version.") from None


def _canonical(
    request: Request, name: str, version: str | None, tail: tuple[str, ...] = ()
) -> tuple[str, str | None] | Response:
    """(project, version) in their canonical forms, or the redirect to them (``tail``: the
    segments after them, kept)."""
    project = names.canonical(name)
    if project is None:
        raise HttpError(404, f"Not found: {name!r} is not a valid project name.")
    canonical_version = _canonical_version(version) if version is not None else None
    if (project, canonical_version) != (name, version):
        target = (request.segments[0], project, *([canonical_version] if canonical_version else []))
        location = _to_base(request) + "/".join((*target, *tail))
        suffix = "/" if request.trailing_slash else ""
        return gateway.redirect(301, location + suffix, PERMANENT_CACHE)
    return project, canonical_version


def _stored(
    bucket: Bucket,
    request: Request,
    found: tuple[str, str | None],
    extension: str,
    content_type: str,
) -> Response:
    """The stored page of a project (latest) or of one of its versions; 404 when none."""
    project, version = found
    key = (
        layout.web_project_key(project, extension)
        if version is None
        else layout.web_version_key(project, version, extension)
    )
    stored = bucket.get(key)
    if stored is None:
        what = f"version {version} of {project!r}" if version else f"a project named {project!r}"
        raise HttpError(404, f"Not found: there is no {what} on this index.")
    return gateway.page(request, stored[0], content_type, PAGE_CACHE, gzipped=True)


def project_page(bucket: Bucket, request: Request, rest: tuple[str, ...]) -> Response:
    """``/project/<name>/`` and ``/project/<name>/<version>/``."""
    if not request.trailing_slash:
        return gateway.redirect(301, f"{request.segments[-1]}/", PERMANENT_CACHE)
    found = _canonical(request, rest[0], rest[1] if len(rest) > 1 else None)
    if isinstance(found, Response):
        return found
    return _stored(bucket, request, found, "html", HTML_TYPE)


def pypi_json(bucket: Bucket, request: Request, rest: tuple[str, ...]) -> Response:
    """``/pypi/<name>/json`` and ``/pypi/<name>/<version>/json`` (``rest`` without ``json``)."""
    found = _canonical(request, rest[0], rest[1] if len(rest) > 1 else None, ("json",))
    if isinstance(found, Response):
        return found
    return _stored(bucket, request, found, "json", JSON_TYPE)


def not_found(request: Request, message: str) -> Response | None:
    """An HTML 404 for a browser (None for every other client: they keep the plain text)."""
    if request.method not in ("GET", "HEAD") or not negotiation.is_browser(
        request.header("accept")
    ):
        return None
    from serverless_pypi.web import home

    body = home.not_found(message, home=_to_base(request))
    headers = {"Content-Type": HTML_TYPE, "Cache-Control": gateway.NO_STORE}
    return Response(404, body, headers)
