"""The upstream cache in the bucket, under ``layout.UPSTREAM_PREFIX`` (never a project prefix):

- ``projects/<name>.json``: every validated file of the upstream page (before the cooldown), the
  time it was fetched and the upstream's ETag, gzipped: what file downloads are served from,
  and what the reindex function renders the project's pages from (into the served keys, see
  ``upstream.pages``);
- ``files/<name>/<filename>``: copies of upstream files, sha256-checked (``copy``);
- ``metadata/<name>/<filename>.metadata``: the wheels' METADATA, sha256-checked.
"""

from __future__ import annotations

import gzip
import json
import zlib
from dataclasses import dataclass

from serverless_pypi import names
from serverless_pypi.layout import UPSTREAM_PREFIX
from serverless_pypi.storage import Bucket
from serverless_pypi.upstream.parse import UpstreamFile, files_from_json


def doc_key(project: str) -> str:
    return f"{UPSTREAM_PREFIX}projects/{project}.json"


def file_key(project: str, filename: str) -> str:
    return f"{UPSTREAM_PREFIX}files/{project}/{filename}"


def metadata_key(project: str, filename: str) -> str:
    return f"{UPSTREAM_PREFIX}metadata/{project}/{filename}.metadata"


def project_of_doc_key(key: str) -> str | None:
    """The project whose document ``key`` is (an event names it), else None."""
    prefix = doc_key("")[: -len(".json")]
    if not key.startswith(prefix) or not key.endswith(".json"):
        return None
    project = key[len(prefix) : -len(".json")]
    return project if project and names.canonical(project) == project else None


@dataclass(frozen=True, slots=True)
class Document:
    project: str
    fetched: float
    etag: str | None
    files: tuple[UpstreamFile, ...]

    def find(self, filename: str) -> UpstreamFile | None:
        return next((f for f in self.files if f.filename == filename), None)


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def store_document(bucket: Bucket, document: Document) -> None:
    body = {
        "version": 1,
        "project": document.project,
        "fetched": document.fetched,
        "etag": document.etag,
        "files": [f.to_json() for f in document.files],
    }
    data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    bucket.put(doc_key(document.project), _gzip(data), "application/json")


def load_document(bucket: Bucket, project: str, upstream: str) -> Document | None:
    """The cached document, re-validated; None when absent or unreadable."""
    stored = bucket.get(doc_key(project))
    if stored is None:
        return None
    try:
        raw = json.loads(gzip.decompress(stored[0]))
    except (OSError, EOFError, zlib.error, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(raw, dict) or raw.get("project") != project:
        return None
    fetched = raw.get("fetched")
    etag = raw.get("etag")
    return Document(
        project=project,
        fetched=float(fetched) if isinstance(fetched, int | float) else 0.0,
        etag=etag if isinstance(etag, str) and etag.isprintable() and len(etag) < 200 else None,
        files=tuple(files_from_json(raw.get("files"), project, upstream)),
    )
