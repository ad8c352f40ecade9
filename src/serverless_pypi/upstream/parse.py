"""An upstream project page (PEP 691 JSON, or PEP 503 HTML) → validated ``UpstreamFile`` s.

Nothing the upstream sends is used as it came: a filename must parse as a distribution of the
project asked for, a URL must pass ``client.file_url_allowed``, a hash must be 64 hex digits,
a time must be an ISO 8601 instant, a Requires-Python a valid specifier. A file that fails is
skipped (and counted, so the caller logs it); a page that is not a page is an
``UpstreamUnavailable``. What is kept is rendered by ``render`` (escaped there) as our own page.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urldefrag, urljoin

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from serverless_pypi import names
from serverless_pypi.errors import UpstreamUnavailable
from serverless_pypi.upstream.client import file_url_allowed

MAX_FILES = 50_000
MAX_YANK_REASON = 1000
MAX_REQUIRES_PYTHON = 200
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
JSON_TYPE = "application/vnd.pypi.simple.v1+json"
ACCEPT = f"{JSON_TYPE}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1"


@dataclass(frozen=True, slots=True)
class UpstreamFile:
    """One upstream file, validated; ``uploaded`` is ``upload_time`` in epoch seconds."""

    filename: str
    url: str
    sha256: str
    size: int | None = None
    upload_time: str | None = None
    requires_python: str | None = None
    yanked: bool | str = False
    metadata_sha256: str | None = None

    @property
    def uploaded(self) -> float | None:
        return None if self.upload_time is None else _instant(self.upload_time)

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None and v is not False}


@dataclass(slots=True)
class Parsed:
    files: list[UpstreamFile] = field(default_factory=list)
    #: Reasons files were skipped, counted.
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def _instant(text: str) -> float | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.timestamp()


def _upload_time(raw: Any) -> str | None:
    """PEP 700's ``yyyy-mm-ddThh:mm:ss.ffffffZ``, normalized to UTC; None if absent or bad."""
    if not isinstance(raw, str) or len(raw) > 40:
        return None
    seconds = _instant(raw)
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _sha256(raw: Any) -> str | None:
    return raw.lower() if isinstance(raw, str) and _SHA256.match(raw.lower()) else None


def _metadata_sha256(raw: Any) -> str | None:
    """``core-metadata`` / ``dist-info-metadata``: advertised (and so served by us) only with
    a sha256 to check the bytes against."""
    if isinstance(raw, Mapping):
        return _sha256(raw.get("sha256"))
    return None


def _yanked(raw: Any) -> bool | str | None:
    """False, True, or a reason; None for something else (the file is skipped)."""
    if raw is None or raw is False:
        return False
    if raw is True:
        return True
    if isinstance(raw, str):
        reason = " ".join(raw.split())[:MAX_YANK_REASON]
        return reason if reason.isprintable() and reason else True
    return None


def _requires_python(raw: Any) -> tuple[bool, str | None]:
    """(valid, value): an absent one is valid, an invalid one skips the file (dropping it
    would let a client install a file for the wrong Python)."""
    if raw is None or raw == "":
        return True, None
    if not isinstance(raw, str) or len(raw) > MAX_REQUIRES_PYTHON:
        return False, None
    try:
        return True, str(SpecifierSet(raw))
    except InvalidSpecifier:
        return False, None


def check_file(
    raw: Mapping[str, Any], project: str, page_url: str, upstream: str
) -> UpstreamFile | str:
    """One file entry in PEP 691 shape (``url`` may be relative to ``page_url``), or the
    reason it is skipped."""
    filename = raw.get("filename")
    if not isinstance(filename, str):
        return "no filename"
    dist = names.parse_filename(filename)
    if dist is None:
        return "not a distribution filename"
    if dist.project != project:
        return "a file of another project"
    url = raw.get("url")
    if not isinstance(url, str):
        return "no URL"
    url, _ = urldefrag(urljoin(page_url, url))
    if not file_url_allowed(url, upstream):
        return "URL refused"
    hashes = raw.get("hashes")
    sha256 = _sha256(hashes.get("sha256")) if isinstance(hashes, Mapping) else None
    if sha256 is None:
        return "no sha256"
    size = raw.get("size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        return "bad size"
    valid, requires_python = _requires_python(raw.get("requires-python"))
    if not valid:
        return "bad requires-python"
    yanked = _yanked(raw.get("yanked"))
    if yanked is None:
        return "bad yanked"
    metadata = raw.get("core-metadata", raw.get("dist-info-metadata"))
    return UpstreamFile(
        filename=filename,
        url=url,
        sha256=sha256,
        size=size,
        upload_time=_upload_time(raw.get("upload-time")),
        requires_python=requires_python,
        yanked=yanked,
        metadata_sha256=_metadata_sha256(metadata) if dist.is_wheel else None,
    )


def _collect(entries: Iterable[Any], project: str, page_url: str, upstream: str) -> Parsed:
    parsed = Parsed()
    seen: set[str] = set()
    for count, raw in enumerate(entries):
        if count >= MAX_FILES:
            parsed.skip("over the file limit")
            break
        checked = (
            check_file(raw, project, page_url, upstream)
            if isinstance(raw, Mapping)
            else ("not an object")
        )
        if isinstance(checked, str):
            parsed.skip(checked)
        elif checked.filename in seen:
            parsed.skip("duplicate filename")
        else:
            seen.add(checked.filename)
            parsed.files.append(checked)
    parsed.files.sort(key=lambda f: f.filename)
    return parsed


def parse_json(body: bytes, project: str, page_url: str, upstream: str) -> Parsed:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise UpstreamUnavailable("The upstream index sent a page that is not JSON.") from None
    meta = document.get("meta") if isinstance(document, Mapping) else None
    version = meta.get("api-version") if isinstance(meta, Mapping) else None
    files = document.get("files") if isinstance(document, Mapping) else None
    if not isinstance(version, str) or not version.startswith("1.") or not isinstance(files, list):
        raise UpstreamUnavailable("The upstream index sent JSON that is not a PEP 691 page.")
    return _collect(files, project, page_url, upstream)


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.entries: list[dict[str, Any]] = []
        self._open: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "a" or len(self.entries) > MAX_FILES:
            return
        values = dict(attrs)
        href = values.get("href") or ""
        url, fragment = urldefrag(href)
        algorithm, _, digest = fragment.partition("=")
        metadata = values.get("data-core-metadata") or values.get("data-dist-info-metadata")
        entry: dict[str, Any] = {
            "url": url,
            "hashes": {algorithm: digest} if algorithm == "sha256" else {},
            "requires-python": values.get("data-requires-python"),
            "yanked": values["data-yanked"] or True if "data-yanked" in values else False,
            "filename_text": "",
        }
        if metadata and metadata.startswith("sha256="):
            entry["core-metadata"] = {"sha256": metadata.removeprefix("sha256=")}
        self._open = entry

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open["filename_text"] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open is not None:
            entry, self._open = self._open, None
            entry["filename"] = entry.pop("filename_text").strip()
            self.entries.append(entry)


def parse_html(body: bytes, project: str, page_url: str, upstream: str) -> Parsed:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise UpstreamUnavailable("The upstream index sent a page that is not UTF-8.") from None
    anchors = _Anchors()
    anchors.feed(text)
    anchors.close()
    return _collect(anchors.entries, project, page_url, upstream)


def parse_page(
    body: bytes, content_type: str, project: str, page_url: str, upstream: str
) -> Parsed:
    """By the answer's Content-Type: PEP 691 JSON, else HTML."""
    if content_type.split(";")[0].strip().lower() == JSON_TYPE:
        return parse_json(body, project, page_url, upstream)
    return parse_html(body, project, page_url, upstream)


def files_from_json(entries: Any, project: str, upstream: str) -> list[UpstreamFile]:
    """Files back from our own cache document, checked again (cheap, and nothing read from
    the bucket is trusted as markup)."""
    if not isinstance(entries, list):
        return []
    as_pep691 = [
        {
            **e,
            "hashes": {"sha256": e.get("sha256")},
            "upload-time": e.get("upload_time"),
            "requires-python": e.get("requires_python"),
            "core-metadata": {"sha256": e["metadata_sha256"]} if e.get("metadata_sha256") else None,
        }
        for e in entries
        if isinstance(e, Mapping)
    ]
    return _collect(as_pep691, project, upstream, upstream).files
