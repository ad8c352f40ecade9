# Over 300 lines: the bounded zip and tar readers serve only inspect() and share its limits.
"""What can be learned from a distribution's bytes: sha256, size, core metadata.

Nothing is copied: the sha256 is taken as the bytes stream past, a wheel's central directory
and METADATA are read by offset (``Ranges``: a local file, or an S3 object by ranged GETs, see
``reindex.objectfacts``), and an sdist's PKG-INFO is found in the same forward pass that hashes
it. So memory and ``/tmp`` stay the same whatever the file size. A broken archive is not an
error: the facts that could be derived are returned and the
rest is left out (``problem`` says why), so the file is still listed.

The work done to find the metadata is bounded, because uploads and every reindex run it on
files anyone with upload rights chose (``tarfile`` costs ~20 µs a member and ``zipfile`` ~4 µs
an entry, both in Python, and a gzip bomb expands a thousandfold):

- an sdist (``.tar.gz``) is walked by a small header reader over ``zlib`` (~1-2 µs a member,
  no member list) for at most ``MAX_SDIST_MEMBERS`` members and ``MAX_SDIST_INFLATED``
  decompressed bytes before its PKG-INFO. hatchling, flit, poetry-core and maturin write
  PKG-INFO *last*, so the bounds must hold a whole real sdist: 20,000 files and 64 MiB of
  sources are well past normal packages (setuptools puts PKG-INFO near the start anyway).
  Inflating is already C; its worst case is long runs of one byte (~400 MB/s on the
  benchmark machine), so the inflated bytes are what a bomb costs: ~170 ms for 64 MiB. So past
  ``INFLATED_ALLOWANCE`` (16 MiB, ~45 ms) an sdist may inflate to at most
  ``MAX_INFLATE_RATIO`` times the compressed bytes read: source code compresses 3-8x, a bomb
  a thousandfold, so a real 64 MiB sdist still passes and a bomb stops at 16 MiB.
- a wheel's entry count is read from the zip's end-of-central-directory record before
  anything else, at most ``MAX_WHEEL_ENTRIES`` (50,000; real wheels reach 10k-30k), its central
  directory is at most ``MAX_CENTRAL_DIRECTORY`` bytes (a real one is ~150 bytes an entry), and its
  ``*.dist-info/METADATA`` is found by a walk of the central directory of one ``struct`` call
  a record (~0.5 µs); only that member is read, at most ``MAX_METADATA_COMPRESSED`` bytes of it.
- METADATA and PKG-INFO are read to ``MAX_METADATA_BYTES`` + 1 at most, so a zip bomb there
  costs nothing.

Past a bound, ``problem`` names it; sha256 and size are always over the whole stream.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesHeaderParser
from typing import IO, Protocol

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

CHUNK = 1024 * 1024
SPOOL_IN_MEMORY = 8 * 1024 * 1024
#: Larger METADATA is not offered as a sidecar (still parsed for Requires-Python).
MAX_METADATA_BYTES = 1024 * 1024
#: Bounds on the work to find the metadata (see the module docstring for why these).
MAX_SDIST_MEMBERS = 20_000
MAX_SDIST_INFLATED = 64 * 1024 * 1024
INFLATED_ALLOWANCE = 16 * 1024 * 1024
MAX_INFLATE_RATIO = 10
MAX_WHEEL_ENTRIES = 50_000
MAX_CENTRAL_DIRECTORY = 32 * 1024 * 1024
#: Enough deflated input for ``MAX_METADATA_BYTES`` + 1 bytes out (stored blocks add 5 bytes in
#: 64 KiB); a member padded with empty blocks past this is refused, not read.
MAX_METADATA_COMPRESSED = 2 * MAX_METADATA_BYTES
ZIP_SUFFIXES = (".whl", ".zip")
#: The end of a zip that holds its end records: the end of central directory (22 bytes and a
#: comment of up to 64 KiB), the zip64 locator (20) and the zip64 end record before it (56).
TAIL = 22 + 65535 + 20 + 56
#: A member's local header may carry other extra fields than its central directory record.
_LOCAL_SLACK = 256
_INFLATE_STEP = 256 * 1024
_BLOCK = 512
_EMPTY_BLOCK = bytes(_BLOCK)
_DIST_INFO_METADATA = re.compile(rb"[^/]+\.dist-info/METADATA")
_ZIP_PKG_INFO = re.compile(rb"[^/]*/PKG-INFO")
_HINTS = (b"/METADATA", b"/PKG-INFO")
#: A central directory record: signature, then the name, extra and comment lengths.
_CD_RECORD = struct.Struct("<4s24xHHH")
#: Links, devices, directories, FIFOs: no data follows, whatever the size field says (as in
#: ``tarfile``); every other type's data is skipped.
_TYPES_WITHOUT_DATA = frozenset(b"123456")
_REGULAR_TYPES = frozenset(b"07\0")
_LOW_BYTES = bytes(range(128))
#: The two pax records that matter here; found by the regex engine, not a loop in Python.
_PAX_RECORD = re.compile(rb"(?m)^([0-9]{1,12}) (path|size)=")


@dataclass(frozen=True, slots=True)
class Facts:
    sha256: str
    size: int
    #: ``Name`` and ``Version`` from the core metadata (None when absent or unparseable).
    name: str | None = None
    version: Version | None = None
    requires_python: str | None = None
    #: The wheel's exact ``*.dist-info/METADATA`` bytes, when they can be offered.
    metadata: bytes | None = None
    problem: str | None = None


class _Unreadable(Exception):
    """The metadata cannot be found within bounds; the message is the ``problem``."""


class Ranges(Protocol):
    """Random access to a file's bytes, so a zip's end is read without its beginning."""

    @property
    def size(self) -> int: ...

    def read_at(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes at ``offset`` (fewer only past the end)."""
        ...


class FileRanges:
    """``Ranges`` over a seekable stream (a local file, a ``BytesIO``)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.size = stream.seek(0, 2)

    def read_at(self, offset: int, length: int) -> bytes:
        self._stream.seek(offset)
        return self._stream.read(max(0, length))


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class Hashing:
    """A stream's bytes as they are read, hashed and counted on the way (no copy kept)."""

    def __init__(self, stream: Readable) -> None:
        self._stream = stream
        self._digest = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._stream.read(size)
        self._digest.update(chunk)
        self.size += len(chunk)
        return chunk

    def drain(self) -> None:
        """Read (and hash) the rest of the stream."""
        while self.read(CHUNK):
            pass

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()


def _headers(metadata: bytes) -> Message:
    return BytesHeaderParser().parsebytes(metadata[:MAX_METADATA_BYTES])


def _name_and_version(headers: Message) -> tuple[str | None, Version | None]:
    name = headers.get("Name")
    raw_version = headers.get("Version")
    try:
        version = Version(str(raw_version)) if raw_version is not None else None
    except InvalidVersion:
        version = None
    return (" ".join(str(name).split()) or None) if name is not None else None, version


def _requires_python(headers: Message) -> str | None:
    value = headers.get("Requires-Python")
    if value is None:
        return None
    text = " ".join(str(value).split())
    try:
        SpecifierSet(text)
    except InvalidSpecifier:
        return None
    return text or None


# -- wheels (and .zip sdists) ------------------------------------------------------------------


def _central_directory(ranges: Ranges) -> tuple[bytes, int]:
    """(central directory bytes, offset of prepended data), read from the end record, which
    says how many entries there are and how large they are before any is read."""
    size = ranges.size
    tail_start = max(0, size - (22 + 65535))
    tail = ranges.read_at(tail_start, size - tail_start)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise _Unreadable("not a readable zip: no end of central directory")
    entries, cd_size, cd_offset = struct.unpack_from("<xxxxxxxxxxHLL", tail, at)
    end_record = tail_start + at
    zip64_at = at - 20
    if zip64_at >= 0 and tail[zip64_at : zip64_at + 4] == b"PK\x06\x07":
        (record,) = struct.unpack_from("<8xQ", tail, zip64_at)
        raw = ranges.read_at(record, 56)
        if len(raw) < 56 or raw[:4] != b"PK\x06\x06":
            raise _Unreadable("not a readable zip: bad zip64 end record")
        entries, cd_size, cd_offset = struct.unpack_from("<32xQQQ", raw)
        end_record = record
    if entries > MAX_WHEEL_ENTRIES:
        raise _Unreadable(f"zip has more than {MAX_WHEEL_ENTRIES:,} entries")
    concat = end_record - cd_size - cd_offset
    if concat < 0 or cd_size > end_record:
        raise _Unreadable("not a readable zip: bad central directory")
    if cd_size > MAX_CENTRAL_DIRECTORY:
        limit = MAX_CENTRAL_DIRECTORY // (1024 * 1024)
        raise _Unreadable(f"zip has a central directory of more than {limit} MiB")
    return ranges.read_at(end_record - cd_size, cd_size), concat


def _zip_find(cd: bytes, wanted: re.Pattern[bytes]) -> list[int]:
    """Offsets in ``cd`` of the entries whose name matches ``wanted``: one small step a record
    (``zipfile`` builds a ZipInfo for each), and no more records than the bound."""
    found: list[int] = []
    unpack, size, pos = _CD_RECORD.unpack_from, len(cd), 0
    for _ in range(MAX_WHEEL_ENTRIES):
        if pos >= size:
            return found
        signature, n, m, k = unpack(cd, pos)
        if signature != b"PK\x01\x02":
            raise _Unreadable("not a readable zip: bad central directory")
        name = pos + 46
        pos = name + n + m + k
        if cd.endswith(_HINTS, name, name + n) and wanted.fullmatch(cd, name, name + n):
            found.append(name - 46)
    if pos < size:
        raise _Unreadable(f"zip has more than {MAX_WHEEL_ENTRIES:,} entries")
    return found


def _zip64_values(extra: bytes, compressed: int, uncompressed: int, offset: int) -> tuple[int, int]:
    """(compressed size, local header offset) from a zip64 extra field: it holds, in this
    order, the 64-bit values of those of the uncompressed size, compressed size and offset
    whose 32-bit fields are 0xFFFFFFFF."""
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, pos)
        if tag == 1:
            field = extra[pos + 4 : pos + 4 + length]
            values = list(struct.unpack_from(f"<{len(field) // 8}Q", field))
            if uncompressed == 0xFFFFFFFF and values:
                values.pop(0)
            if compressed == 0xFFFFFFFF:
                compressed = values.pop(0) if values else -1
            if offset == 0xFFFFFFFF:
                offset = values.pop(0) if values else -1
            if min(compressed, offset) < 0:
                break
            return compressed, offset
        pos += 4 + length
    raise _Unreadable("not a readable zip: bad zip64 extra field")


def _zip_read(ranges: Ranges, cd: bytes, entry: int, concat: int) -> bytes:
    """The first ``MAX_METADATA_BYTES`` + 1 bytes of one member, decompressed: one read of its
    local header and (at most ``MAX_METADATA_COMPRESSED`` of) its data."""
    method, compressed, uncompressed, n, m, _, offset = struct.unpack_from(
        "<10xH8xLLHHH8xL", cd, entry
    )
    if 0xFFFFFFFF in (compressed, offset):  # the real values are in the zip64 extra field
        extra = cd[entry + 46 + n : entry + 46 + n + m]
        compressed, offset = _zip64_values(extra, compressed, uncompressed, offset)
    if method not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _Unreadable(f"not a readable zip: unsupported compression {method}")
    stored = method == zipfile.ZIP_STORED
    wanted = min(compressed, MAX_METADATA_BYTES + 1 if stored else MAX_METADATA_COMPRESSED)
    start = concat + offset
    head = ranges.read_at(start, 30 + n + m + _LOCAL_SLACK + wanted)
    if len(head) < 30 or head[:4] != b"PK\x03\x04":
        raise _Unreadable("not a readable zip: bad local header")
    ln, lm = struct.unpack_from("<HH", head, 26)
    data = head[30 + ln + lm : 30 + ln + lm + wanted]
    if len(data) < wanted:  # a local extra field larger than the slack
        data += ranges.read_at(start + 30 + ln + lm + len(data), wanted - len(data))
    if stored:
        return data
    inflater = zlib.decompressobj(-15)
    out = inflater.decompress(data, MAX_METADATA_BYTES + 1)
    if len(out) <= MAX_METADATA_BYTES and not inflater.eof and compressed > wanted:
        limit = MAX_METADATA_COMPRESSED // (1024 * 1024)
        raise _Unreadable(f"METADATA does not inflate within {limit} MiB of its compressed data")
    return out


def _zip_metadata(ranges: Ranges, *, wheel: bool) -> bytes:
    cd, concat = _central_directory(ranges)
    found = _zip_find(cd, _DIST_INFO_METADATA if wheel else _ZIP_PKG_INFO)
    if wheel and len(found) != 1:
        raise _Unreadable("wheel has no single .dist-info/METADATA")
    if not found:
        raise _Unreadable("sdist has no PKG-INFO")
    return _zip_read(ranges, cd, found[0], concat)


# -- sdists (.tar.gz) --------------------------------------------------------------------------


class _Inflated:
    """A gzip stream's decompressed bytes, read forward only and counted against a bound."""

    def __init__(self, source: Readable) -> None:
        self._source = source
        self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._input = b""
        self._buffer = b""
        self._pos = 0
        self.total = 0
        self._pulled = 0  # compressed bytes read from the source

    def _more(self) -> bool:
        """Decompress one more step into the buffer; False at the end of the stream."""
        while True:
            if self._inflater.eof:
                rest = self._inflater.unused_data or self._pull()
                if not rest.startswith(b"\x1f\x8b"):  # not another gzip member: the end
                    return False
                self._inflater, self._input = zlib.decompressobj(16 + zlib.MAX_WBITS), rest
            elif not self._input:
                self._input = self._pull()
                if not self._input:
                    return False
            out = self._inflater.decompress(self._input, _INFLATE_STEP)
            self._input = self._inflater.unconsumed_tail
            self.total += len(out)
            self._check_bounds()
            if out:
                self._buffer = self._buffer[self._pos :] + out
                self._pos = 0
                return True

    def _pull(self) -> bytes:
        chunk = self._source.read(CHUNK)
        self._pulled += len(chunk)
        return chunk

    def _check_bounds(self) -> None:
        if self.total > MAX_SDIST_INFLATED:
            limit = MAX_SDIST_INFLATED // (1024 * 1024)
            raise _Unreadable(f"sdist has more than {limit} MiB decompressed before PKG-INFO")
        consumed = self._pulled - len(self._input)
        if self.total > max(INFLATED_ALLOWANCE, MAX_INFLATE_RATIO * consumed):
            raise _Unreadable(
                f"sdist inflates more than {MAX_INFLATE_RATIO}x past "
                f"{INFLATED_ALLOWANCE // (1024 * 1024)} MiB before PKG-INFO (a compression bomb)"
            )

    @property
    def complete(self) -> bool:
        """Whether the compressed stream ended properly (not cut short)."""
        return self._inflater.eof

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes (fewer only at the end of the stream)."""
        while len(self._buffer) - self._pos < size and self._more():
            pass
        data = self._buffer[self._pos : self._pos + size]
        self._pos += len(data)
        return data

    def skip(self, size: int) -> None:
        while size > 0:
            available = len(self._buffer) - self._pos
            if available >= size:
                self._pos += size
                return
            size -= available
            self._buffer, self._pos = b"", 0
            if not self._more():
                return


def _checksum_ok(header: bytes) -> bool:
    try:
        stored = int(header[148:156].split(b"\0", 1)[0].strip() or b"0", 8)
    except ValueError:
        return False
    unsigned = sum(header) - sum(header[148:156]) + 256
    high = len(header[:148].translate(None, _LOW_BYTES)) + len(
        header[156:].translate(None, _LOW_BYTES)
    )
    signed = unsigned - 256 * high  # old tars summed signed bytes
    return stored in (unsigned, signed)


def _number(field: bytes) -> int:
    if field[0] & 0x80:  # base-256, for sizes past 8 GiB
        return int.from_bytes(field[1:], "big")
    return int(field.split(b"\0", 1)[0].strip() or b"0", 8)


def _pax_records(data: bytes) -> dict[bytes, bytes]:
    """``path`` and ``size`` from a pax header (later records win, as in ``tarfile``)."""
    records = {}
    for match in _PAX_RECORD.finditer(data):
        records[match.group(2)] = data[match.end() : match.start() + int(match.group(1)) - 1]
    return records


def _tar_pkg_info(stream: _Inflated) -> bytes:
    """PKG-INFO of the first member named ``<dir>/PKG-INFO``, walking headers as ``tarfile``
    does but without building a member list; a bad header ends the walk as it ends tarfile's.
    Only the first header's and PKG-INFO's checksums are checked (each costs a sum of 512
    bytes), and a pax or GNU long-name header counts as a member of its own."""
    members = 0
    long_name: bytes | None = None
    pax: dict[bytes, bytes] = {}
    while True:
        header = stream.read(_BLOCK)
        if 0 < len(header) < _BLOCK or not (header or (members and stream.complete)):
            raise _Unreadable("not a readable archive: truncated")
        if not header or header == _EMPTY_BLOCK:
            break
        if members == 0 and not _checksum_ok(header):
            raise _Unreadable("not a readable archive: bad tar header")
        members += 1
        if members > MAX_SDIST_MEMBERS:
            raise _Unreadable(f"sdist has more than {MAX_SDIST_MEMBERS:,} members before PKG-INFO")
        try:
            size = _number(header[124:136])
        except ValueError:
            break
        kind = header[156]
        if kind in b"xXLK":  # extended headers: bounded, they describe the next member
            if size > MAX_METADATA_BYTES:
                break
            data = stream.read(size)
            stream.skip(-size % _BLOCK)
            if kind in b"xX":
                pax = _pax_records(data)
            elif kind == ord("L"):
                long_name = data.split(b"\0", 1)[0]
            continue
        if kind in _REGULAR_TYPES and b"size" in pax:
            size = int(pax[b"size"])
        name = pax.get(b"path", long_name)
        if name is None and b"PKG-INFO" in header:
            name = header[:100].split(b"\0", 1)[0]
            prefix = header[345:500].split(b"\0", 1)[0] if header[257:263] == b"ustar\0" else b""
            if prefix:
                name = prefix + b"/" + name
        long_name, pax = None, {}
        if (
            name is not None
            and kind in _REGULAR_TYPES
            and name.count(b"/") == 1
            and name.endswith(b"/PKG-INFO")
            and _checksum_ok(header)
        ):
            return stream.read(min(size, MAX_METADATA_BYTES + 1))
        if kind not in _TYPES_WITHOUT_DATA:
            stream.skip(size + (-size % _BLOCK))
    raise _Unreadable("sdist has no PKG-INFO")


def _guarded(read: Callable[[], bytes], filename: str) -> tuple[bytes | None, str | None]:
    """``read()``'s metadata, or None and the problem that stopped it."""
    kind = "zip" if filename.endswith(".whl") else "archive"
    try:
        return read(), None
    except _Unreadable as exc:
        return None, str(exc).replace("readable zip", f"readable {kind}")
    except zlib.error:
        return None, f"not a readable {kind}: bad compressed data"
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        struct.error,
        OSError,
        EOFError,
        ValueError,
    ) as exc:
        return None, f"not a readable {kind}: {type(exc).__name__}"


def zip_metadata(ranges: Ranges, filename: str) -> tuple[bytes | None, str | None]:
    """A wheel's METADATA (or a .zip sdist's PKG-INFO), read by offset; or the problem."""
    return _guarded(lambda: _zip_metadata(ranges, wheel=filename.endswith(".whl")), filename)


def tar_metadata(stream: Readable, filename: str) -> tuple[bytes | None, str | None]:
    """A .tar.gz sdist's PKG-INFO, read forward from ``stream`` as far as it is; or the
    problem. The rest of the stream is left unread."""
    return _guarded(lambda: _tar_pkg_info(_Inflated(stream)), filename)


def summarize(
    sha256: str, size: int, filename: str, metadata: bytes | None, problem: str | None
) -> Facts:
    """The facts about a file from its hash, size and the metadata read from it.

    Metadata is read up to one byte past the limit: headers come first, so Requires-Python is
    still found in an oversized file, which is then simply not offered as a sidecar.
    """
    is_wheel = filename.endswith(".whl")
    headers = _headers(metadata) if metadata else None
    requires_python = _requires_python(headers) if headers else None
    name, version = _name_and_version(headers) if headers else (None, None)
    offered = metadata if is_wheel and metadata and len(metadata) <= MAX_METADATA_BYTES else None
    if is_wheel and metadata and offered is None:
        problem = "METADATA is too large to offer"
    return Facts(
        sha256=sha256,
        size=size,
        name=name,
        version=version,
        requires_python=requires_python,
        metadata=offered,
        problem=problem,
    )


def _seekable(stream: IO[bytes]) -> bool:
    try:
        return stream.seekable() and stream.tell() == 0
    except (AttributeError, OSError, ValueError):
        return False


def inspect(stream: IO[bytes], filename: str) -> Facts:
    """Hash ``stream`` (read from its start) and read its core metadata; ``filename`` says
    which kind it is. A zip is hashed first and then read by offset, which needs a seekable
    stream (a local file, a ``BytesIO``); an unseekable one is spooled (the reindexer reads
    S3 objects by ranges instead, see ``reindex.objectfacts``)."""
    hashing = Hashing(stream)
    if not filename.endswith(ZIP_SUFFIXES):
        metadata, problem = tar_metadata(hashing, filename)
        hashing.drain()
    elif _seekable(stream):
        hashing.drain()
        metadata, problem = zip_metadata(FileRanges(stream), filename)
    else:
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
            shutil.copyfileobj(hashing, spool, CHUNK)
            metadata, problem = zip_metadata(FileRanges(spool), filename)
    return summarize(hashing.sha256, hashing.size, filename, metadata, problem)


def core_metadata(stream: IO[bytes], filename: str) -> bytes | None:
    """The core metadata of any distribution (a wheel's METADATA, an sdist's PKG-INFO), read
    within the same bounds as ``inspect``; None when it cannot be found. For the web pages,
    which need a description that only an sdist may carry."""
    if not filename.endswith(ZIP_SUFFIXES):
        return tar_metadata(stream, filename)[0]
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
        shutil.copyfileobj(stream, spool, CHUNK)
        return zip_metadata(FileRanges(spool), filename)[0]
