"""Reading a zip by offset (``archive.Ranges``): what is read, and that hostile zips stay cheap.

The reindexer reads a large wheel from S3 by ranged GETs, so every byte ``zip_metadata`` asks
for is a byte on the network: these tests count them.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import pytest
from support.bigwheel import BigWheel, Reader
from support.dists import wheel_bytes

from serverless_pypi import archive

GIB = 1024**3


class Counting:
    """``Ranges`` over a generated wheel or bytes, counting the reads and bytes asked for."""

    def __init__(self, source: BigWheel | bytes) -> None:
        self._source = source
        self.size = source.size if isinstance(source, BigWheel) else len(source)
        self.reads = 0
        self.bytes = 0

    def read_at(self, offset: int, length: int) -> bytes:
        if isinstance(self._source, BigWheel):
            data = self._source.read_at(offset, length)
        else:
            data = self._source[max(0, offset) : max(0, offset) + max(0, length)]
        self.reads += 1
        self.bytes += len(data)
        return data


def test_the_generated_wheel_is_a_zip64_that_zipfile_reads() -> None:
    wheel = BigWheel("pkg", "1.0", bulk=5 * GIB)
    with zipfile.ZipFile(Reader(wheel)) as z:
        info = z.getinfo("pkg-1.0.dist-info/METADATA")
        assert info.header_offset > 4 * GIB  # the zip64 extra field is what says where it is
        assert z.read(info) == wheel.metadata
        assert z.getinfo("pkg/bulk.bin").file_size == 5 * GIB


def test_a_5_gb_wheel_is_read_in_kilobytes() -> None:
    wheel = BigWheel("pkg", "1.0", bulk=5 * GIB)
    ranges = Counting(wheel)
    metadata, problem = archive.zip_metadata(ranges, wheel.filename)
    assert (metadata, problem) == (wheel.metadata, None)
    assert ranges.reads <= 4
    assert ranges.bytes < 80 * 1024  # the end records' window, the directory, the member


def test_a_real_wheel_is_read_by_offset_as_zipfile_reads_it() -> None:
    data = wheel_bytes("pkg", "1.0", requires_python=">=3.10", payload=bytes(range(256)) * 4096)
    ranges = Counting(data)
    metadata, problem = archive.zip_metadata(ranges, "pkg-1.0-py3-none-any.whl")
    assert problem is None
    assert metadata == zipfile.ZipFile(io.BytesIO(data)).read("pkg-1.0.dist-info/METADATA")
    assert ranges.reads == 3  # end window, central directory, member
    assert ranges.bytes < len(data)


def test_inspect_hashes_a_generated_wheel_and_reads_its_metadata() -> None:
    wheel = BigWheel("pkg", "1.0", bulk=3 * 1024 * 1024)
    facts = archive.inspect(Reader(wheel), wheel.filename)  # type: ignore[arg-type]
    assert facts.sha256 == wheel.sha256()
    assert facts.size == wheel.size
    assert facts.metadata == wheel.metadata
    assert facts.requires_python == ">=3.9"


class Sparse(Counting):
    """``size`` bytes: zeros, then ``tail``."""

    def __init__(self, size: int, tail: bytes) -> None:
        super().__init__(b"")
        self.size = size
        self._tail = tail

    def read_at(self, offset: int, length: int) -> bytes:
        start = self.size - len(self._tail)
        end = min(self.size, offset + length)
        data = (
            bytes(max(0, min(end, start) - offset))
            + self._tail[max(0, offset - start) : end - start]
        )
        self.reads += 1
        self.bytes += len(data)
        return data


def _end_record(entries: int, cd_size: int, cd_offset: int) -> bytes:
    return struct.pack("<4sHHHHLLH", b"PK\x05\x06", 0, 0, entries, entries, cd_size, cd_offset, 0)


def test_a_claimed_huge_central_directory_is_refused_before_it_is_read() -> None:
    cd_size = archive.MAX_CENTRAL_DIRECTORY + 1
    ranges = Sparse(2 * GIB, _end_record(3, cd_size, 2 * GIB - 22 - cd_size))
    metadata, problem = archive.zip_metadata(ranges, "pkg-1.0-py3-none-any.whl")
    assert metadata is None
    assert problem == "zip has a central directory of more than 32 MiB"
    assert ranges.reads == 1 and ranges.bytes <= archive.TAIL


def test_too_many_entries_are_refused_from_the_end_record_alone() -> None:
    ranges = Sparse(GIB, _end_record(0xFFFF, 100, 0))
    with_bound = archive.MAX_WHEEL_ENTRIES
    metadata, problem = archive.zip_metadata(ranges, "pkg-1.0-py3-none-any.whl")
    assert (metadata, problem) == (None, f"zip has more than {with_bound:,} entries")
    assert ranges.reads == 1


def test_metadata_padded_with_empty_deflate_blocks_is_refused_after_the_bound() -> None:
    """A member of gigabytes of empty blocks inflates to nothing: reading it all would cost
    what its author chose, so at most ``MAX_METADATA_COMPRESSED`` bytes of it are read."""
    empty_block = b"\x00\x00\x00\xff\xff"  # a stored block of no bytes, not the last
    padding = empty_block * ((archive.MAX_METADATA_COMPRESSED // len(empty_block)) + 1000)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("pkg-1.0.dist-info/METADATA", b"placeholder")
    data = buffer.getvalue()
    # Rebuild the member with the padding in front of a real deflate stream.
    real = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = padding + real.compress(b"Name: pkg\n") + real.flush()
    local = zipfile.ZipFile(io.BytesIO(data)).getinfo("pkg-1.0.dist-info/METADATA")
    name = local.filename.encode()
    header = struct.pack(
        "<4sHHHHHLLLHH", b"PK\x03\x04", 20, 0, 8, 0, 0x21, 0, len(body), 10, len(name), 0
    )
    central = struct.pack(
        "<4sHHHHHHLLLHHHHHLL",
        b"PK\x01\x02",
        20,
        20,
        0,
        8,
        0,
        0x21,
        0,
        len(body),
        10,
        len(name),
        0,
        0,
        0,
        0,
        0,
        0,
    )
    zipped = header + name + body
    end = struct.pack(
        "<4sHHHHLLH", b"PK\x05\x06", 0, 0, 1, 1, len(central) + len(name), len(zipped), 0
    )
    hostile = zipped + central + name + end
    ranges = Counting(hostile)
    metadata, problem = archive.zip_metadata(ranges, "pkg-1.0-py3-none-any.whl")
    assert metadata is None
    assert problem == "METADATA does not inflate within 2 MiB of its compressed data"
    assert ranges.bytes < archive.TAIL + archive.MAX_METADATA_COMPRESSED + 4096


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        (b"", "not a readable zip: bad zip64 extra field"),
        (struct.pack("<HHQ", 1, 8, 1), "not a readable zip: bad zip64 extra field"),
    ],
)
def test_a_zip64_entry_without_its_values_is_refused(extra: bytes, problem: str) -> None:
    name = b"pkg-1.0.dist-info/METADATA"
    central = (
        struct.pack(
            "<4sHHHHHHLLLHHHHHLL",
            b"PK\x01\x02",
            45,
            45,
            0,
            0,
            0,
            0x21,
            0,
            0xFFFFFFFF,
            0xFFFFFFFF,
            len(name),
            len(extra),
            0,
            0,
            0,
            0,
            0xFFFFFFFF,
        )
        + name
        + extra
    )
    end = struct.pack("<4sHHHHLLH", b"PK\x05\x06", 0, 0, 1, 1, len(central), 0, 0)
    metadata, found = archive.zip_metadata(Counting(central + end), "pkg-1.0-py3-none-any.whl")
    assert (metadata, found) == (None, problem)
