"""What a distribution object's bytes say, read from S3 at a cost that does not grow with it.

One GET finds the object (with its SHA-256 when S3 guarantees one, see
``storage.full_object_sha256``). Then, by size and kind:

- up to ``WHOLE`` bytes: the body is read into memory and inspected there (one request, as
  small files always were);
- a larger wheel: with S3's SHA-256 the body is not read at all; the zip's end, central
  directory and METADATA are ranged GETs (``ObjectRanges``; usually one, of ``TAIL_FETCH``
  bytes, as a wheel ends with its ``.dist-info``). Without it the body is streamed through
  the hash once, its last ``TAIL_KEPT`` bytes kept for the zip reader;
- a larger sdist: PKG-INFO is found in the forward pass over the body (hashing it on the way
  unless S3's SHA-256 is known, when the rest is left unread).

Nothing goes to ``/tmp`` and memory stays a few MiB whatever the object's size. Ranged GETs are
conditional on the ETag the first GET saw, so a file overwritten meanwhile is never read half
old, half new.
"""

from __future__ import annotations

import io
from typing import Any

from botocore.exceptions import BotoCoreError

from serverless_pypi import archive
from serverless_pypi.storage import Bucket, ObjectInfo, translate

#: Objects up to this size are read whole (the most a small file's inspection holds).
WHOLE = archive.SPOOL_IN_MEMORY
#: The end of a streamed zip kept in memory: its end records, central directory and last
#: members are usually in it, so they need no further request.
TAIL_KEPT = 1024 * 1024
#: The end of a zip fetched by the first ranged read: end records (``archive.TAIL``) and room
#: for the central directory and METADATA of a wheel of a thousand files or so.
TAIL_FETCH = 256 * 1024


class _Body:
    """An S3 body whose read failures are ``StoreUnavailable``, never a broken archive."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def read(self, size: int = -1) -> bytes:
        try:
            return bytes(self._body.read(None if size < 0 else size))
        except (BotoCoreError, OSError) as exc:
            raise translate(exc, "GetObject") from exc

    def close(self) -> None:
        self._body.close()


class ObjectRanges:
    """``archive.Ranges`` over one version of an S3 object: reads inside its known end are
    served from memory, others are ranged GETs; ``requests`` and ``bytes_read`` count them."""

    def __init__(self, bucket: Bucket, info: ObjectInfo, tail: bytes = b"") -> None:
        self._bucket = bucket
        self._info = info
        self.size = info.size
        self._tail = tail
        self._tail_start = info.size - len(tail)
        self.requests = 0
        self.bytes_read = 0

    def _get(self, offset: int, end: int) -> bytes:
        data = self._bucket.read_range(self._info.key, offset, end - offset, etag=self._info.etag)
        self.requests += 1
        self.bytes_read += len(data)
        if end == self.size and offset < self._tail_start:
            self._tail, self._tail_start = data, offset
        return data

    def read_at(self, offset: int, length: int) -> bytes:
        offset, end = max(0, offset), min(self.size, offset + max(0, length))
        if offset >= end:
            return b""
        if offset < self._tail_start and not self._tail and offset >= self.size - TAIL_FETCH:
            self._get(max(0, self.size - TAIL_FETCH), self.size)
        if offset >= self._tail_start:
            return self._tail[offset - self._tail_start : end - self._tail_start]
        return self._get(offset, end)


class Opened:
    """A distribution object as one GET found it; ``inspect`` reads what it must of it."""

    def __init__(self, bucket: Bucket, body: Any, info: ObjectInfo) -> None:
        self._bucket = bucket
        self._body = _Body(body)
        self.info = info
        #: The ranged reads of the last ``inspect`` of a large zip (None: there were none).
        self.ranges: ObjectRanges | None = None

    def close(self) -> None:
        self._body.close()

    def inspect(self) -> archive.Facts:
        info, key = self.info, self.info.key
        if info.size <= WHOLE:
            return archive.inspect(io.BytesIO(self._body.read()), key)
        if not key.endswith(archive.ZIP_SUFFIXES):
            hashing = archive.Hashing(self._body)
            metadata, problem = archive.tar_metadata(hashing, key)
            if info.sha256 is None:
                hashing.drain()
            return self._summarize(hashing, key, metadata, problem)
        hashing = archive.Hashing(self._body)
        if info.sha256 is not None:
            self._body.close()  # not needed: its connection is free for the ranged reads
        tail = b"" if info.sha256 is not None else _stream_keeping_tail(hashing)
        self.ranges = ObjectRanges(self._bucket, info, tail)
        metadata, problem = archive.zip_metadata(self.ranges, key)
        return self._summarize(hashing, key, metadata, problem)

    def _summarize(
        self, hashing: archive.Hashing, key: str, metadata: bytes | None, problem: str | None
    ) -> archive.Facts:
        if self.info.sha256 is not None:
            return archive.summarize(self.info.sha256, self.info.size, key, metadata, problem)
        return archive.summarize(hashing.sha256, hashing.size, key, metadata, problem)


def _stream_keeping_tail(hashing: archive.Hashing) -> bytes:
    """Read (and so hash) the whole stream; its last ``TAIL_KEPT`` bytes."""
    tail = bytearray()
    while chunk := hashing.read(archive.CHUNK):
        tail += chunk
        if len(tail) > 2 * TAIL_KEPT:
            del tail[:-TAIL_KEPT]
    return bytes(tail[-TAIL_KEPT:])


def open_object(bucket: Bucket, key: str) -> tuple[Opened, ObjectInfo] | None:
    """The object at ``key`` found by one GET (its body not read yet); None when it is gone."""
    opened = bucket.open(key)
    if opened is None:
        return None
    body, info = opened
    return Opened(bucket, body, info), info
