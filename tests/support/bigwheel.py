"""Wheels of any size that cost nothing to hold: a zip64 wheel whose bulk is one stored member of
zeros, generated on read (``read_at``), so a 5 GB wheel is ~1 KB of real bytes.

The layout is a real wheel's: the bulk member first, the ``.dist-info`` members last, then the
central directory (zip64 records, since offsets pass 4 GiB) and the end records; ``zipfile``
reads it (tests/unit/test_archive_ranges.py checks that). The bulk member's CRC is not computed
(it would cost a pass over gigabytes): nothing here extracts that member.
"""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from dataclasses import dataclass, field

from support.dists import metadata_text

_ZIP64 = 0xFFFFFFFF
_VERSION = 45  # zip64
_MIB = 1024 * 1024
_ZEROS = bytes(_MIB)


@dataclass(frozen=True, slots=True)
class _Member:
    name: bytes
    data: bytes  # as stored (deflated or not)
    size: int  # uncompressed
    crc: int
    method: int
    offset: int


def _zip64_extra(*values: int) -> bytes:
    return struct.pack(f"<HH{len(values)}Q", 1, 8 * len(values), *values)


def _local_header(m: _Member, stored_size: int) -> bytes:
    extra = _zip64_extra(m.size, stored_size)
    return (
        struct.pack(
            "<4sHHHHHLLLHH",
            b"PK\x03\x04",
            _VERSION,
            0,
            m.method,
            0,
            0x21,
            m.crc,
            _ZIP64,
            _ZIP64,
            len(m.name),
            len(extra),
        )
        + m.name
        + extra
    )


def _central_record(m: _Member, stored_size: int) -> bytes:
    big = m.offset > _ZIP64 - 1 or stored_size > _ZIP64 - 1
    values = [m.size, stored_size] if big else []
    if m.offset > _ZIP64 - 1:
        values.append(m.offset)
    extra = _zip64_extra(*values) if values else b""
    return (
        struct.pack(
            "<4sHHHHHHLLLHHHHHLL",
            b"PK\x01\x02",
            _VERSION | (3 << 8),
            _VERSION,
            0,
            m.method,
            0,
            0x21,
            m.crc,
            _ZIP64 if big else stored_size,
            _ZIP64 if big else m.size,
            len(m.name),
            len(extra),
            0,
            0,
            0,
            0o644 << 16,
            _ZIP64 if m.offset > _ZIP64 - 1 else m.offset,
        )
        + m.name
        + extra
    )


@dataclass
class BigWheel:
    """A wheel ``pkg-1.0-py3-none-any.whl`` (name and version as given) of about ``bulk``
    bytes more than its small members."""

    name: str
    version: str
    bulk: int
    requires_python: str = ">=3.9"
    head: bytes = field(init=False)
    tail: bytes = field(init=False)
    metadata: bytes = field(init=False)

    def __post_init__(self) -> None:
        dist = self.name.replace("-", "_")
        info = f"{dist}-{self.version}.dist-info"
        self.metadata = metadata_text(
            self.name, self.version, requires_python=self.requires_python
        ).encode()
        bulk = _Member(f"{dist}/bulk.bin".encode(), b"", self.bulk, 0, 0, 0)
        self.head = _local_header(bulk, self.bulk)
        offset = len(self.head) + self.bulk
        members, tail = [bulk], io.BytesIO()
        small = {
            f"{info}/METADATA": self.metadata,
            f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\n"
            b"Tag: py3-none-any\n",
            f"{info}/RECORD": b"",
        }
        for name, data in small.items():
            compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
            stored = compressor.compress(data) + compressor.flush()
            member = _Member(name.encode(), stored, len(data), zlib.crc32(data), 8, offset)
            header = _local_header(member, len(stored))
            tail.write(header + stored)
            offset += len(header) + len(stored)
            members.append(member)
        cd_offset = offset
        central = b"".join(_central_record(m, len(m.data) or m.size) for m in members)
        tail.write(central)
        zip64_end = offset + len(central)
        count = len(members)
        tail.write(
            struct.pack(
                "<4sQHHLLQQQQ",
                b"PK\x06\x06",
                44,
                _VERSION,
                _VERSION,
                0,
                0,
                count,
                count,
                len(central),
                cd_offset,
            )
        )
        tail.write(struct.pack("<4sLQL", b"PK\x06\x07", 0, zip64_end, 1))
        tail.write(
            struct.pack(
                "<4sHHHHLLH",
                b"PK\x05\x06",
                0,
                0,
                count,
                count,
                len(central),
                min(cd_offset, _ZIP64),
                0,
            )
        )
        self.tail = tail.getvalue()

    @property
    def filename(self) -> str:
        return f"{self.name.replace('-', '_')}-{self.version}-py3-none-any.whl"

    @property
    def size(self) -> int:
        return len(self.head) + self.bulk + len(self.tail)

    def read_at(self, offset: int, length: int) -> bytes:
        """The wheel's bytes ``[offset, offset + length)`` (fewer past its end)."""
        end = min(self.size, offset + max(0, length))
        out = bytearray()
        bulk_end = len(self.head) + self.bulk
        pos = max(0, offset)
        while pos < end:
            if pos < len(self.head):
                piece = self.head[pos : min(end, len(self.head))]
            elif pos < bulk_end:
                piece = _ZEROS[: min(end, bulk_end) - pos]
            else:
                piece = self.tail[pos - bulk_end : end - bulk_end]
            out += piece
            pos += len(piece)
        return bytes(out)

    def sha256(self) -> str:
        """The wheel's SHA-256, by one pass over it (about a second a gigabyte)."""
        digest = hashlib.sha256(self.head)
        left = self.bulk
        while left:
            step = min(left, _MIB)
            digest.update(_ZEROS[:step])
            left -= step
        digest.update(self.tail)
        return digest.hexdigest()


class Reader(io.RawIOBase):
    """The wheel as a read-only seekable file (for ``zipfile`` and ``archive.inspect``)."""

    def __init__(self, wheel: BigWheel) -> None:
        self._wheel = wheel
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        base = (0, self._pos, self._wheel.size)[whence]
        self._pos = base + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        data = self._wheel.read_at(self._pos, len(buffer))
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)
