# Over 300 lines: the bounded zip and tar readers serve only inspect() and share its limits.
"""What can be learned from a distribution's bytes: sha256, size, core metadata.

Files are streamed through a spooled temporary file, so memory stays bounded whatever the file
size. A broken archive is not an error: the facts that could be derived are returned and the
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
  anything else, at most ``MAX_WHEEL_ENTRIES`` (50,000; real wheels reach 10k-30k), and its
  ``*.dist-info/METADATA`` is found by a walk of the central directory of one ``struct`` call
  a record (~0.5 µs); only that member is decompressed.
- METADATA and PKG-INFO are read to ``MAX_METADATA_BYTES`` + 1 at most, so a zip bomb there
  costs nothing.

Past a bound, ``problem`` names it; sha256 and size are always over the whole stream.
"""

from __future__ import annotations

import hashlib
import re
import struct
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesHeaderParser
from typing import IO, BinaryIO

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


def _central_directory(spool: BinaryIO) -> tuple[bytes, int]:
    """(central directory bytes, offset of prepended data), read from the end record, which
    says how many entries there are before any is parsed."""
    spool.seek(0, 2)
    size = spool.tell()
    tail_start = max(0, size - (22 + 65535))
    spool.seek(tail_start)
    tail = spool.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise _Unreadable("not a readable zip: no end of central directory")
    entries, cd_size, cd_offset = struct.unpack_from("<xxxxxxxxxxHLL", tail, at)
    end_record = tail_start + at
    zip64_at = at - 20
    if zip64_at >= 0 and tail[zip64_at : zip64_at + 4] == b"PK\x06\x07":
        (record,) = struct.unpack_from("<8xQ", tail, zip64_at)
        spool.seek(record)
        raw = spool.read(56)
        if len(raw) < 56 or raw[:4] != b"PK\x06\x06":
            raise _Unreadable("not a readable zip: bad zip64 end record")
        entries, cd_size, cd_offset = struct.unpack_from("<32xQQQ", raw)
        end_record = record
    if entries > MAX_WHEEL_ENTRIES:
        raise _Unreadable(f"zip has more than {MAX_WHEEL_ENTRIES:,} entries")
    concat = end_record - cd_size - cd_offset
    if concat < 0 or cd_size > end_record:
        raise _Unreadable("not a readable zip: bad central directory")
    spool.seek(end_record - cd_size)
    return spool.read(cd_size), concat


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


def _zip_read(spool: BinaryIO, cd: bytes, entry: int, concat: int) -> bytes:
    """The first ``MAX_METADATA_BYTES`` + 1 bytes of one member, decompressed."""
    method, compressed, _, n, _, _, offset = struct.unpack_from("<10xH8xLLHHH8xL", cd, entry)
    if 0xFFFFFFFF in (compressed, offset):  # the real values are in the zip64 extra field
        with zipfile.ZipFile(spool) as archive:  # rare: let zipfile decode it
            name = cd[entry + 46 : entry + 46 + n].decode("utf-8", "replace")
            with archive.open(name) as member:
                return member.read(MAX_METADATA_BYTES + 1)
    spool.seek(concat + offset)
    local = spool.read(30)
    if len(local) < 30 or local[:4] != b"PK\x03\x04":
        raise _Unreadable("not a readable zip: bad local header")
    ln, lm = struct.unpack_from("<HH", local, 26)
    spool.seek(concat + offset + 30 + ln + lm)
    if method == zipfile.ZIP_STORED:
        return spool.read(min(compressed, MAX_METADATA_BYTES + 1))
    if method != zipfile.ZIP_DEFLATED:
        raise _Unreadable(f"not a readable zip: unsupported compression {method}")
    inflater, out, left = zlib.decompressobj(-15), b"", compressed
    while len(out) <= MAX_METADATA_BYTES and left > 0 and not inflater.eof:
        data = inflater.unconsumed_tail or spool.read(min(left, CHUNK))
        if not data:
            break
        if not inflater.unconsumed_tail:
            left -= len(data)
        out += inflater.decompress(data, MAX_METADATA_BYTES + 1 - len(out))
    return out[: MAX_METADATA_BYTES + 1]


def _zip_metadata(spool: BinaryIO, *, wheel: bool) -> bytes:
    cd, concat = _central_directory(spool)
    found = _zip_find(cd, _DIST_INFO_METADATA if wheel else _ZIP_PKG_INFO)
    if wheel and len(found) != 1:
        raise _Unreadable("wheel has no single .dist-info/METADATA")
    if not found:
        raise _Unreadable("sdist has no PKG-INFO")
    return _zip_read(spool, cd, found[0], concat)


# -- sdists (.tar.gz) --------------------------------------------------------------------------


class _Inflated:
    """A gzip stream's decompressed bytes, read forward only and counted against a bound."""

    def __init__(self, source: BinaryIO) -> None:
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


def _metadata(spool: BinaryIO, filename: str) -> bytes:
    if filename.endswith(".whl"):
        return _zip_metadata(spool, wheel=True)
    if filename.endswith(".zip"):
        return _zip_metadata(spool, wheel=False)
    return _tar_pkg_info(_Inflated(spool))


def _read_metadata(spool: BinaryIO, filename: str) -> tuple[bytes | None, str | None]:
    kind = "zip" if filename.endswith(".whl") else "archive"
    try:
        return _metadata(spool, filename), None
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


def inspect(stream: IO[bytes], filename: str) -> Facts:
    """Hash ``stream`` and read its core metadata; ``filename`` says which kind it is.

    Metadata is read up to one byte past the limit: headers come first, so Requires-Python is
    still found in an oversized file, which is then simply not offered as a sidecar.
    """
    digest = hashlib.sha256()
    size = 0
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            spool.write(chunk)
        spool.seek(0)
        metadata, problem = _read_metadata(spool, filename)  # type: ignore[arg-type]
    is_wheel = filename.endswith(".whl")
    headers = _headers(metadata) if metadata else None
    requires_python = _requires_python(headers) if headers else None
    name, version = _name_and_version(headers) if headers else (None, None)
    offered = metadata if is_wheel and metadata and len(metadata) <= MAX_METADATA_BYTES else None
    if is_wheel and metadata and offered is None:
        problem = "METADATA is too large to offer"
    return Facts(
        sha256=digest.hexdigest(),
        size=size,
        name=name,
        version=version,
        requires_python=requires_python,
        metadata=offered,
        problem=problem,
    )


def core_metadata(stream: IO[bytes], filename: str) -> bytes | None:
    """The core metadata of any distribution (a wheel's METADATA, an sdist's PKG-INFO), read
    within the same bounds as ``inspect``; None when it cannot be found. For the web pages,
    which need a description that only an sdist may carry."""
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
        while chunk := stream.read(CHUNK):
            spool.write(chunk)
        spool.seek(0)
        metadata, _ = _read_metadata(spool, filename)  # type: ignore[arg-type]
    return metadata
