"""Upstream project pages: how they are rendered and how a stored one is recognised.

An upstream page is stored at the same key as a private page (``layout.project_page_key``), so
that the API serves either with one S3 read. Only the reindex function writes it
(``reindex.upstream_pages``), from the document the API cached, and never over a private page;
its user metadata says it is an upstream page, when its document was fetched and what it was
rendered with. Imported by the API's read path and by the reindexer, so it imports neither,
nor the upstream client.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from serverless_pypi import layout, names, render

if TYPE_CHECKING:
    from serverless_pypi.upstream.parse import UpstreamFile

#: User metadata of an upstream page: when its document was fetched (epoch seconds), and
#: what it was rendered with (``fingerprint``). Private pages carry neither.
FETCHED_META = "upstream-fetched"
FINGERPRINT_META = "upstream-fingerprint"
#: Bumped when the rendering changes, so pages of the older kind are re-rendered.
RENDER_VERSION = 2
#: The path segment of upstream file URLs: ``/files/.upstream/<filename>``.
URL_SEGMENT = layout.UPSTREAM_PREFIX.rstrip("/")
EXTENSIONS = ("json", "html")


def fingerprint(min_age: int) -> str:
    """What a rendered page depends on besides the upstream's answer."""
    return f"v{RENDER_VERSION}:min-age={min_age}"


def file_url(filename: str) -> str:
    """Our URL of an upstream file, relative to ``/simple/<project>/``."""
    return f"../../files/{URL_SEGMENT}/{quote(filename)}"


def _page_files(files: Sequence[UpstreamFile]) -> list[render.PageFile]:
    page = []
    for f in files:
        dist = names.parse_filename(f.filename)
        assert dist is not None  # checked by parse
        page.append(
            render.PageFile(
                filename=f.filename,
                url=file_url(f.filename),
                version=str(dist.version),
                size=f.size,
                sha256=f.sha256,
                requires_python=f.requires_python,
                metadata_sha256=f.metadata_sha256,
                yanked=f.yanked,
                upload_time=f.upload_time,
            )
        )
    return page


def render_page(project: str, files: Sequence[UpstreamFile], extension: str) -> str:
    """The ``json`` (PEP 691) or ``html`` (PEP 503) page of ``files``, already cooled."""
    page_files = _page_files(files)
    if extension == "json":
        return render.project_json(project, page_files)
    return render.project_html(project, page_files)


def page_metadata(fetched: float, rendered_with: str) -> dict[str, str]:
    return {FETCHED_META: str(int(fetched)), FINGERPRINT_META: rendered_with}


@dataclass(frozen=True, slots=True)
class StoredPage:
    """What a stored upstream page's metadata says."""

    fetched: float
    fingerprint: str

    def fresh(self, now: float, ttl: int, wanted: str) -> bool:
        return self.fingerprint == wanted and 0 <= now - self.fetched < ttl


def stored_page(metadata: Mapping[str, str]) -> StoredPage | None:
    """The upstream page's facts, or None for a private page (no upstream metadata)."""
    raw = metadata.get(FETCHED_META)
    if raw is None:
        return None
    try:
        fetched = float(raw)
    except ValueError:
        fetched = 0.0  # an upstream page, however unreadable: stale, never private
    return StoredPage(fetched, metadata.get(FINGERPRINT_META, ""))
