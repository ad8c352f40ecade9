"""Checks that a verifying rebuild makes: each difference between the derived data and what
the objects say, described for the operator.

A verifying rebuild re-reads every object instead of trusting a recorded ETag, so it finds
derived data that was changed by hand or by a bug. A recorded upload time cannot be checked
against the bytes: it is reset to the object's ``LastModified`` when it differs (which also
resets the first upload time a copy in place had kept).
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterable
from dataclasses import fields

from serverless_pypi import layout
from serverless_pypi.documents import FileRecord
from serverless_pypi.reindex.state import Page
from serverless_pypi.storage import Bucket
from serverless_pypi.upstream.pages import stored_page

METADATA_TYPE = "application/octet-stream"


def record_differences(key: str, recorded: FileRecord | None, actual: FileRecord) -> list[str]:
    """Each field of ``recorded`` that the object does not bear out."""
    if recorded is None:
        return [f"{key}: not recorded"]
    return [
        f"{key}: {field.name} recorded as {getattr(recorded, field.name)!r}, "
        f"the object says {getattr(actual, field.name)!r}"
        for field in fields(FileRecord)
        if field.name != "etag" and getattr(recorded, field.name) != getattr(actual, field.name)
    ]


def repair_sidecar(bucket: Bucket, key: str, metadata: bytes | None) -> str | None:
    """Make the METADATA sidecar of ``key`` hold ``metadata`` (or not exist, for None); says
    what was wrong, or None when nothing was."""
    sidecar = layout.metadata_key(key)
    stored = bucket.get(sidecar)
    if metadata is None:
        if stored is None:
            return None
        bucket.delete(sidecar)
        return f"{sidecar}: no METADATA in the wheel, sidecar removed"
    if stored is not None and stored[0] == metadata:
        return None
    bucket.put(sidecar, metadata, METADATA_TYPE)
    return f"{sidecar}: {'missing' if stored is None else 'differed from the wheel'}, rewritten"


def _shows(stored: bytes, body: bytes) -> bool:
    try:
        return gzip.decompress(stored) == body
    except (OSError, EOFError, zlib.error):
        return False


def page_differences(bucket: Bucket, pages: Iterable[Page]) -> list[str]:
    """The pages whose stored objects do not show what ``pages`` render."""
    found: list[str] = []
    for page in pages:
        read = bucket.read(page.key)
        stored = None if read is None else (read[0], read[1].etag)
        if page.body is None:
            # A project without private files may be served from the upstream proxy, whose
            # pages live at the same keys (``upstream.pages``): those are not the document's.
            if read is not None and stored_page(read[1].metadata) is None:
                found.append(f"{page.key}: exists for a project without files")
        elif stored is None:
            found.append(f"{page.key}: missing")
        elif not _shows(stored[0], page.body):
            found.append(f"{page.key}: differed from its document")
    return found
