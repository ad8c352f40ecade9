"""A release's long description as safe HTML, rendered when the file is indexed.

readme-renderer is what PyPI itself renders descriptions with (and what ``twine check``
checks), so a description looks here as it would on pypi.org: reStructuredText through
docutils, Markdown (GFM or CommonMark, per ``Description-Content-Type``) through comrak, plain
text escaped, and every result sanitized by nh3 (an allowlist: no script, no event handlers, no
``javascript:`` links). A second nh3 pass drops the source of remote images: a private index is
often offline, and an image fetched from elsewhere tells that host who reads the page, unless
the deployment allows its host (``web_image_hosts``, e.g. a badge service). Imported only by
the reindexer; the API never loads these libraries.
"""

from __future__ import annotations

import html
import logging
import urllib.parse

log = logging.getLogger(__name__)

#: Longer descriptions are shown as plain text (rendering cost grows with size).
MAX_RENDERED = 512 * 1024
_REMOTE = ("http:", "https:", "//")
#: Hosts whose images may stay (the reindexer's ``web_image_hosts``). Set once per container by
#: ``allow_image_hosts``, like the log setup, so the renderer needs no setting threaded through
#: every layer of the index between the handler and here.
_allowed_hosts: frozenset[str] = frozenset()


def allow_image_hosts(hosts: tuple[str, ...]) -> None:
    global _allowed_hosts
    _allowed_hosts = frozenset(hosts)


def _allowed(url: str) -> bool:
    """Whether an image URL may stay: local, or https on an allowed host."""
    url = url.strip()
    if not url.lower().startswith(_REMOTE):
        return True
    parts = urllib.parse.urlsplit(url if not url.startswith("//") else "https:" + url)
    return parts.scheme == "https" and parts.hostname in _allowed_hosts and not parts.username


def _keep_local_images(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src" and not _allowed(value):
        return None
    if tag == "img" and attribute == "srcset":
        candidates = [c.strip().split(" ")[0] for c in value.split(",") if c.strip()]
        return value if all(_allowed(c) for c in candidates) else None
    return value


def _plain(text: str) -> str:
    return f"<pre>{html.escape(text)}</pre>"


def render(description: str, content_type: str | None) -> str:
    """Sanitized HTML for ``description``; never raises (a description that cannot be
    rendered is shown as escaped text)."""
    if not description.strip():
        return ""
    if len(description) > MAX_RENDERED:
        return _plain(description)
    import nh3
    from readme_renderer import clean, markdown, rst, txt

    mime, _, params = (content_type or "text/x-rst").partition(";")
    mime = mime.strip().lower()
    variant = "GFM"
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "variant" and value.strip():
            variant = value.strip()
    try:
        if mime == "text/markdown":
            rendered = markdown.render(description, variant=variant)
        elif mime == "text/plain":
            rendered = txt.render(description)
        else:
            rendered = rst.render(description)
    except Exception:  # a renderer bug must not stop indexing; the text is still shown
        log.warning("description could not be rendered", exc_info=True)
        rendered = None
    if rendered is None:
        return _plain(description)
    return nh3.clean(
        rendered,
        tags=clean.ALLOWED_TAGS,
        attributes=clean.ALLOWED_ATTRIBUTES,
        attribute_filter=_keep_local_images,
        link_rel="nofollow noopener noreferrer",
        url_schemes={"http", "https", "mailto"},
    )
