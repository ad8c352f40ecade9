"""Content negotiation: PEP 691's HTML and JSON forms of the simple API, and gzip."""

from __future__ import annotations

from enum import Enum


class Format(Enum):
    HTML = "html"
    JSON = "json"


JSON_V1 = "application/vnd.pypi.simple.v1+json"
HTML_V1 = "application/vnd.pypi.simple.v1+html"
TEXT_HTML = "text/html"

#: Media type → (format, Content-Type to answer with, specificity used to break q ties).
_OFFERS: dict[str, tuple[Format, str, int]] = {
    JSON_V1: (Format.JSON, JSON_V1, 3),
    "application/vnd.pypi.simple.latest+json": (Format.JSON, JSON_V1, 3),
    HTML_V1: (Format.HTML, HTML_V1, 3),
    "application/vnd.pypi.simple.latest+html": (Format.HTML, HTML_V1, 3),
    TEXT_HTML: (Format.HTML, TEXT_HTML, 2),
    "text/*": (Format.HTML, TEXT_HTML, 1),
    "*/*": (Format.HTML, TEXT_HTML, 0),
}
MAX_ACCEPT_LENGTH = 4096


def _quality(params: list[str]) -> float | None:
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "q":
            try:
                q = float(value.strip())
            except ValueError:
                return None
            return q if 0.0 <= q <= 1.0 else None
    return 1.0


def choose(accept: str | None) -> tuple[Format, str] | None:
    """Pick the format and Content-Type for an ``Accept`` header; None means 406.

    Highest q wins; ties go to the more specific media type, then to JSON, which is what
    clients that list both at the same q (pip, uv) can parse fastest. ``q=0`` is never chosen.
    """
    if accept is None or not accept.strip():
        return Format.HTML, TEXT_HTML
    best: tuple[float, int, int, Format, str] | None = None
    for item in accept[:MAX_ACCEPT_LENGTH].split(","):
        media, *params = item.split(";")
        offer = _OFFERS.get(media.strip().lower())
        q = _quality(params)
        if offer is None or q is None or q <= 0.0:
            continue
        fmt, content_type, specificity = offer
        rank = (q, specificity, 1 if fmt is Format.JSON else 0, fmt, content_type)
        if best is None or rank[:3] > best[:3]:
            best = rank
    return None if best is None else (best[3], best[4])


_BROWSER_TYPES = ("text/html", "application/xhtml+xml")
_SIMPLE_PREFIX = "application/vnd.pypi.simple."


def is_browser(accept: str | None) -> bool:
    """Whether ``Accept`` is a browser's: it names text/html (or XHTML) with q > 0 and no
    simple-API media type. pip, uv, poetry and pdm name the simple types; curl sends ``*/*``;
    both keep the protocol answers."""
    named = False
    for item in (accept or "")[:MAX_ACCEPT_LENGTH].split(","):
        media, *params = item.split(";")
        media = media.strip().lower()
        if media.startswith(_SIMPLE_PREFIX):
            return False
        q = _quality(params)
        named = named or (media in _BROWSER_TYPES and q is not None and q > 0.0)
    return named


def choose_from_query(value: str) -> tuple[Format, str] | None:
    """``?format=<media type>`` overrides ``Accept`` (handy in a browser).

    A ``+`` typed into a browser's address bar arrives as a space after form decoding.
    """
    offer = _OFFERS.get(value.strip().lower().replace(" ", "+"))
    return None if offer is None else (offer[0], offer[1])


def content_type(fmt: Format, media_type: str) -> str:
    """The Content-Type to answer with: HTML forms say their charset."""
    return f"{media_type}; charset=utf-8" if fmt is Format.HTML else media_type


def accepts_gzip(header: str | None) -> bool:
    """Whether ``Accept-Encoding`` admits gzip (``gzip`` or ``*`` with q > 0)."""
    for item in (header or "").split(","):
        coding, _, params = item.partition(";")
        if coding.strip().lower() in ("gzip", "*"):
            q = params.strip().lower().removeprefix("q=")
            try:
                return not params.strip() or float(q) > 0
            except ValueError:
                return False
    return False
