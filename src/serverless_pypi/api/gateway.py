"""API Gateway v2 (payload format 2.0) requests and responses.

Parsing is strict: anything malformed becomes an ``HttpError`` with a 4xx status before any
routing happens, so handlers only ever see a clean, decoded path.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote_to_bytes

from serverless_pypi import errors
from serverless_pypi.api import negotiation
from serverless_pypi.limits import MAX_RESPONSE_BODY, serialized_size

MAX_PATH_LENGTH = 2048
MAX_SEGMENT_LENGTH = 255
#: Rendered bodies up to this size go out uncompressed (gzip would not save a packet).
COMPRESS_ABOVE = 1400
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
log = logging.getLogger(__name__)
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


class HttpError(Exception):
    """A request that cannot be served; ``message`` goes to the client as is."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


#: How the index's errors read over HTTP; the first matching class decides.
_STATUS_FOR: tuple[tuple[type[errors.PackageIndexError], int], ...] = (
    (errors.TooLarge, 413),
    (errors.Refused, 400),
    (errors.Conflict, 409),
    (errors.NotFound, 404),
    (errors.Forbidden, 403),
)


def status_for(exc: errors.PackageIndexError) -> int:
    if isinstance(exc, errors.StoreUnavailable):
        return 503 if exc.transient else 502
    if isinstance(exc, errors.UpstreamUnavailable):
        return 504 if exc.timeout else 502
    return next((status for kind, status in _STATUS_FOR if isinstance(exc, kind)), 500)


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    segments: tuple[str, ...]
    trailing_slash: bool
    query: str
    headers: Mapping[str, str]
    body: bytes
    authorizer: Mapping[str, Any]

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def query_value(self, name: str) -> str | None:
        values = parse_qs(self.query, keep_blank_values=True).get(name)
        return values[-1] if values else None


def _decode_segment(raw: str) -> str:
    if _BAD_PERCENT.search(raw):
        raise HttpError(400, "Bad request: malformed percent-encoding in path.")
    try:
        text = unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise HttpError(400, "Bad request: path is not valid UTF-8.") from None
    if text in (".", ".."):
        raise HttpError(400, "Bad request: relative path segments are not allowed.")
    if "/" in text or "\\" in text or not text.isprintable():
        raise HttpError(400, "Bad request: path segment contains a forbidden character.")
    if len(text) > MAX_SEGMENT_LENGTH:
        raise HttpError(400, "Bad request: path segment is too long.")
    return text


def _split_path(raw_path: str, stage: str | None) -> tuple[tuple[str, ...], bool]:
    if not raw_path.startswith("/"):
        raise HttpError(400, "Bad request: path must start with '/'.")
    if len(raw_path) > MAX_PATH_LENGTH:
        raise HttpError(414, "Path too long.")
    if (
        stage
        and stage != "$default"
        and (raw_path == f"/{stage}" or raw_path.startswith(f"/{stage}/"))
    ):
        raw_path = raw_path[len(stage) + 1 :] or "/"
    if "//" in raw_path:
        raise HttpError(400, "Bad request: empty path segment ('//').")
    trailing = raw_path.endswith("/")
    inner = raw_path.strip("/")
    segments = tuple(_decode_segment(s) for s in inner.split("/")) if inner else ()
    return segments, trailing


def _body(event: Mapping[str, Any]) -> bytes:
    body = event.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise HttpError(400, "Bad request: malformed body.")
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except ValueError:
            raise HttpError(400, "Bad request: body is not valid base64.") from None
    return body.encode("utf-8")


def parse_event(event: Any) -> Request:
    """Turn a payload-2.0 event into a ``Request``, or raise a 4xx ``HttpError``."""
    if not isinstance(event, Mapping):
        raise HttpError(400, "Bad request: event is not an object.")
    context = event.get("requestContext")
    http = context.get("http") if isinstance(context, Mapping) else None
    method = http.get("method") if isinstance(http, Mapping) else None
    raw_path = event.get("rawPath")
    if not isinstance(method, str) or not isinstance(raw_path, str):
        raise HttpError(400, "Bad request: missing method or path.")
    if not _TOKEN.match(method):
        raise HttpError(400, "Bad request: malformed method.")
    assert isinstance(context, Mapping)
    stage = context.get("stage")
    segments, trailing = _split_path(raw_path, stage if isinstance(stage, str) else None)
    query = event.get("rawQueryString") or ""
    if not isinstance(query, str):
        raise HttpError(400, "Bad request: malformed query string.")
    raw_headers = event.get("headers")
    raw_headers = {} if raw_headers is None else raw_headers
    if not isinstance(raw_headers, Mapping):
        raise HttpError(400, "Bad request: malformed headers.")
    headers = {str(k).lower(): str(v) for k, v in raw_headers.items()}
    authorizer = context.get("authorizer")
    return Request(
        method=method,
        segments=segments,
        trailing_slash=trailing,
        query=query,
        headers=headers,
        body=_body(event),
        authorizer=authorizer if isinstance(authorizer, Mapping) else {},
    )


@dataclass(slots=True)
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    def to_event(self, *, head: bool = False) -> dict[str, Any]:
        headers = dict(self.headers)
        if self.body or self.status == 200:
            headers.setdefault("Content-Length", str(len(self.body)))
        payload = b"" if head or self.status == 304 else self.body
        try:
            body, encoded = payload.decode("utf-8"), False
        except UnicodeDecodeError:
            body, encoded = base64.b64encode(payload).decode("ascii"), True
        return {
            "statusCode": self.status,
            "headers": headers,
            "body": body,
            "isBase64Encoded": encoded,
        }


NO_STORE = "no-store"


def text(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    merged = {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": NO_STORE}
    merged.update(headers or {})
    return Response(status, (message.rstrip("\n") + "\n").encode("utf-8"), merged)


def redirect(status: int, location: str, cache_control: str = NO_STORE) -> Response:
    return Response(status, b"", {"Location": location, "Cache-Control": cache_control})


def etag_for(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def _etag_matches(header: str | None, etag: str) -> bool:
    if header is None:
        return False
    if header.strip() == "*":
        return True
    wanted = {t.strip().removeprefix("W/") for t in header.split(",")}
    return etag in wanted


def page(
    request: Request, body: bytes, content_type: str, cache_control: str, *, gzipped: bool = False
) -> Response:
    """A negotiated index page with an ETag; 304 when the client already has it.

    ``gzipped`` bodies (stored pages) go out as they are to clients that accept gzip and are
    decompressed for the others; pages rendered here are compressed for gzip clients when that
    saves a packet or more. Each representation has its own ETag.
    """
    wants_gzip = negotiation.accepts_gzip(request.header("accept-encoding"))
    if gzipped and not wants_gzip:
        body, gzipped = gzip.decompress(body), False
    elif wants_gzip and not gzipped and len(body) > COMPRESS_ABOVE:
        # Level 1: for a 450 KB root page 0.7 ms against 6.5 ms at the default, and no larger.
        body, gzipped = gzip.compress(body, compresslevel=1, mtime=0), True
    etag = etag_for(body)
    headers = {
        "Content-Type": content_type,
        "Vary": "Accept, Accept-Encoding",
        "ETag": etag,
        "Cache-Control": cache_control,
    }
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    _check_fits(body, gzipped=gzipped)
    return conditional(request, body, headers)


def conditional(request: Request, body: bytes, headers: dict[str, str]) -> Response:
    """200 with ``body``, or 304 when the client already has this ``ETag`` (If-None-Match)."""
    if _etag_matches(request.header("if-none-match"), headers["ETag"]):
        return Response(304, b"", headers)
    return Response(200, body, headers)


def _check_fits(body: bytes, *, gzipped: bool) -> None:
    """A page too large for a Lambda response is a clear error rather than API Gateway's 502:
    for a client without gzip, a 406 that says how to get it (gzip makes pages 3-4x smaller)."""
    size = serialized_size(body, binary=gzipped)
    if size <= MAX_RESPONSE_BODY:
        return
    if not gzipped:
        raise HttpError(
            406,
            f"Not acceptable: this page is {len(body) / 1e6:.1f} MB uncompressed, more than "
            "the index can send. Ask for it compressed (Accept-Encoding: gzip; curl --compressed).",
            {"Vary": "Accept, Accept-Encoding"},
        )
    log.error("page too large for a Lambda response", extra={"bytes": len(body)})
    raise HttpError(
        500, f"This page is {len(body) / 1e6:.1f} MB compressed, more than the index can send."
    )
