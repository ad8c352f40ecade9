"""HTTP to the upstream index, with bounds on everything the upstream controls.

The upstream is not trusted: every fetch has a total deadline (well under API Gateway's 30 s),
a bound on the bytes read (after gzip, so a small bomb cannot grow), and follows redirects only
on the host it started from. Failures are ``errors.UpstreamUnavailable`` (``timeout`` for a
deadline), a 404 or 410 is ``None``. The standard library's ``urllib`` is enough and keeps the
API's cold start free of another HTTP stack; it is imported only when the upstream is asked.
"""

from __future__ import annotations

import ipaddress
import time
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from serverless_pypi.errors import UpstreamUnavailable

if TYPE_CHECKING:
    import urllib.request

#: A page fetch (connect, redirects, body) ends after this many seconds.
PAGE_TIMEOUT = 8.0
#: Bytes of a project page, after decompression (PyPI's largest are a few MB).
MAX_PAGE_BYTES = 32 * 1024 * 1024
#: Bytes of a wheel's METADATA file.
MAX_METADATA_BYTES = 4 * 1024 * 1024
MAX_URL_LENGTH = 2048
MAX_REDIRECTS = 5
CHUNK = 256 * 1024
USER_AGENT = "serverless-pypi (upstream proxy)"


@dataclass(frozen=True, slots=True)
class Fetched:
    """A 200 answer, or a 304 (``body`` empty) to a conditional request."""

    url: str
    status: int
    body: bytes
    content_type: str
    etag: str | None


def _host_is_internal(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host.lower() == "localhost"
    return not address.is_global


def file_url_allowed(url: str, upstream: str) -> bool:
    """Whether a file URL the upstream named may be fetched and given to clients.

    An https URL on any host (PyPI's files are on another host than its pages), or http when
    the upstream itself is http; no credentials in it; an internal address only when the
    upstream is on that same host.
    """
    if len(url) > MAX_URL_LENGTH or not url.isprintable() or any(c.isspace() for c in url):
        return False
    try:
        parts, base = urlsplit(url), urlsplit(upstream)
        host = parts.hostname or ""
        _ = parts.port
    except ValueError:
        return False
    allowed_schemes = ("https", "http") if base.scheme == "http" else ("https",)
    if parts.scheme not in allowed_schemes or not host or "@" in parts.netloc:
        return False
    return not _host_is_internal(host) or host == (base.hostname or "")


def _check_scheme(url: str) -> None:
    """urllib also opens ``file:`` and ``ftp:`` URLs; the upstream is only ever http(s)."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise UpstreamUnavailable("Refused a URL that is not http(s).")


def _opener(origin: str) -> urllib.request.OpenerDirector:
    import urllib.request

    netloc = urlsplit(origin).netloc

    class SameHost(urllib.request.HTTPRedirectHandler):
        """Redirects only on the host the fetch started on (PyPI's name redirects are)."""

        max_redirections = MAX_REDIRECTS

        def redirect_request(
            self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str
        ) -> Any:
            parts = urlsplit(newurl)
            if parts.netloc != netloc or parts.scheme not in ("http", "https"):
                raise UpstreamUnavailable(
                    f"The upstream index redirected to another host ({parts.netloc[:100]!r}); "
                    "refused."
                )
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    return urllib.request.build_opener(SameHost)


def _read_bounded(response: Any, limit: int, deadline: float, gzipped: bool) -> bytes:
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzipped else None
    out = bytearray()
    while True:
        if time.monotonic() > deadline:
            raise UpstreamUnavailable("The upstream index was too slow to answer.", timeout=True)
        chunk = response.read(CHUNK)
        if not chunk:
            break
        if inflate is not None:
            try:
                chunk = inflate.decompress(chunk, limit + 1 - len(out))
            except zlib.error:
                raise UpstreamUnavailable("The upstream index sent a corrupt gzip body.") from None
        out += chunk
        if len(out) > limit:
            raise UpstreamUnavailable(
                f"The upstream index sent more than {limit // (1024 * 1024)} MiB; refused."
            )
    return bytes(out)


def fetch(
    url: str,
    *,
    accept: str,
    max_bytes: int,
    timeout: float = PAGE_TIMEOUT,
    etag: str | None = None,
) -> Fetched | None:
    """GET ``url``; None for 404/410. Everything else but 200/304 is ``UpstreamUnavailable``."""
    import http.client
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    headers = {"Accept": accept, "Accept-Encoding": "gzip", "User-Agent": USER_AGENT}
    if etag:
        headers["If-None-Match"] = etag
    _check_scheme(url)
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (scheme checked)
    try:
        with _opener(url).open(request, timeout=timeout) as response:
            gzipped = (response.headers.get("Content-Encoding") or "").lower() == "gzip"
            body = _read_bounded(response, max_bytes, deadline, gzipped)
            return Fetched(
                url=response.geturl(),
                status=response.status,
                body=body,
                content_type=response.headers.get("Content-Type") or "",
                etag=response.headers.get("ETag"),
            )
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 304 and etag:
            return Fetched(url=url, status=304, body=b"", content_type="", etag=etag)
        if exc.code in (404, 410):
            return None
        raise UpstreamUnavailable(f"The upstream index answered {exc.code}.") from None
    except UpstreamUnavailable:
        raise
    except TimeoutError:
        raise UpstreamUnavailable(
            f"The upstream index did not answer within {timeout:g} s.", timeout=True
        ) from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise UpstreamUnavailable(
                f"The upstream index did not answer within {timeout:g} s.", timeout=True
            ) from None
        raise UpstreamUnavailable(
            f"The upstream index cannot be reached ({type(exc.reason).__name__})."
        ) from None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise UpstreamUnavailable(f"The upstream index failed ({type(exc).__name__}).") from None


def open_stream(url: str, *, timeout: float) -> Any:
    """A streaming response for a file (the copy reads it in parts); raises like ``fetch``,
    404 included."""
    import urllib.error
    import urllib.request

    _check_scheme(url)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})  # noqa: S310
    try:
        return _opener(url).open(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        raise UpstreamUnavailable(f"The upstream file answered {exc.code}.") from None
    except UpstreamUnavailable:
        raise
    except (OSError, ValueError) as exc:
        raise UpstreamUnavailable(
            f"The upstream file cannot be fetched ({type(exc).__name__}).",
            timeout=isinstance(exc, TimeoutError),
        ) from None
