"""Hostile uploads, built in memory in well under a second: the worst inputs we know for
``archive.inspect`` and the multipart parser, and real-sized packages that must still pass.

Decompression bombs are made by repeating one deflate segment that follows a full flush (it
does not refer to what came before), so gigabytes of zeros cost a few megabytes to build; their
trailers are not valid, which no bounded reader ever reaches.
"""

from __future__ import annotations

import io
import struct
import tarfile
import zipfile
import zlib

PKG_INFO = b"Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\nRequires-Python: >=3.9\n\n"
_MIB = 1024 * 1024


def _tar_header(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = 1_700_000_000
    return info.tobuf(tarfile.GNU_FORMAT)


def _padded(data: bytes) -> bytes:
    return data + bytes(-len(data) % 512)


def _repeated_zeros(compressor: zlib._Compress, total: int) -> list[bytes]:  # type: ignore[name-defined]
    """Deflate segments for ``total`` zero bytes (a multiple of 1 MiB)."""
    segment = compressor.compress(bytes(_MIB)) + compressor.flush(zlib.Z_FULL_FLUSH)
    return [segment] * (total // _MIB)


def _gzip(header: bytes, middle: bytes, repeats: int, tail: bytes) -> bytes:
    """``header``, ``middle`` ``repeats`` times, ``tail``, gzipped by repeating one deflate
    segment; the trailer is valid up to 256 MiB (past that no bounded reader gets there)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    start = compressor.compress(header) + compressor.flush(zlib.Z_FULL_FLUSH)
    segment = compressor.compress(middle) + compressor.flush(zlib.Z_FULL_FLUSH)
    end = compressor.compress(tail) + compressor.flush()
    size = len(header) + len(middle) * repeats + len(tail)
    crc = 0
    if size <= 256 * _MIB:
        crc = zlib.crc32(header)
        for _ in range(repeats):
            crc = zlib.crc32(middle, crc)
        crc = zlib.crc32(tail, crc)
    gzip_header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<LL", crc, size & 0xFFFFFFFF)
    return gzip_header + start + segment * repeats + end + trailer


def _pkg_info_and_end() -> bytes:
    return _tar_header("pkg-1.0/PKG-INFO", len(PKG_INFO)) + _padded(PKG_INFO) + bytes(1024)


def tar_many_members(members: int = 700_000) -> bytes:
    """A ``.tar.gz`` of ``members`` empty files, then PKG-INFO (the issue's 36 s input)."""
    header = _tar_header("pkg-1.0/empty.py", 0)
    rest = header * (members % 1_000)
    return _gzip(b"", header * 1_000, members // 1_000, rest + _pkg_info_and_end())


def tar_bomb(inflated: int = 4096 * _MIB) -> bytes:
    """A ``.tar.gz`` whose first member is ``inflated`` zero bytes (a multiple of 1 MiB),
    PKG-INFO after it."""
    header = _tar_header("pkg-1.0/big.bin", inflated)
    return _gzip(header, bytes(_MIB), inflated // _MIB, _pkg_info_and_end())


def _central_record(name: bytes, offset: int, compressed: int, method: int = 0) -> bytes:
    return (
        struct.pack(
            "<4sHHHHHHLLLHHHHHLL",
            b"PK\x01\x02",
            20,
            20,
            0,
            method,
            0,
            0x21,
            0,
            compressed,
            compressed,
            len(name),
            0,
            0,
            0,
            0,
            0,
            offset,
        )
        + name
    )


def _local_header(name: bytes, compressed: int, method: int = 0) -> bytes:
    return (
        struct.pack(
            "<4sHHHHHLLLHH",
            b"PK\x03\x04",
            20,
            0,
            method,
            0,
            0x21,
            0,
            compressed,
            compressed,
            len(name),
            0,
        )
        + name
    )


def _end_record(entries: int, cd_size: int, cd_offset: int) -> bytes:
    count = min(entries, 0xFFFF)
    return struct.pack("<4sHHHHLLH", b"PK\x05\x06", 0, 0, count, count, cd_size, cd_offset, 0)


def zip_many_entries(entries: int) -> bytes:
    """A wheel of ``entries`` empty files, METADATA last, built record by record."""
    names = [f"pkg/m{i}.py".encode() for i in range(entries - 1)]
    names.append(b"pkg-1.0.dist-info/METADATA")
    local, central, offset = [], [], 0
    for name in names:
        data = PKG_INFO if name.endswith(b"METADATA") else b""
        record = _local_header(name, len(data)) + data
        local.append(record)
        central.append(_central_record(name, offset, len(data)))
        offset += len(record)
    cd = b"".join(central)
    return b"".join(local) + cd + _end_record(entries, len(cd), offset)


def zip_metadata_bomb(inflated: int = 4096 * _MIB) -> bytes:
    """A wheel whose METADATA deflates to ``inflated`` bytes: its headers, then zeros."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = compressor.compress(PKG_INFO) + compressor.flush(zlib.Z_FULL_FLUSH)
    data += b"".join(_repeated_zeros(compressor, inflated)) + compressor.flush()
    name = b"pkg-1.0.dist-info/METADATA"
    local = _local_header(name, len(data), zipfile.ZIP_DEFLATED) + data
    cd = _central_record(name, 0, len(data), zipfile.ZIP_DEFLATED)
    return local + cd + _end_record(1, len(cd), len(local))


def real_sdist(files: int = 5_000, file_bytes: int = 2_000) -> bytes:
    """A hatchling-shaped sdist: ``files`` source files, PKG-INFO last."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as archive:
        for i in range(files):
            data = (f"def function_{i}(value):\n    return value * {i}\n" * 60)[:file_bytes]
            info = tarfile.TarInfo(f"pkg-1.0/src/pkg/sub{i % 40}/module_{i}.py")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data.encode()))
        info = tarfile.TarInfo("pkg-1.0/PKG-INFO")
        info.size = len(PKG_INFO)
        archive.addfile(info, io.BytesIO(PKG_INFO))
    return buffer.getvalue()


def real_wheel(entries: int = 20_000) -> bytes:
    """A wheel of ``entries`` small modules written by ``zipfile``, METADATA last."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(entries - 1):
            archive.writestr(f"pkg/sub{i % 40}/module_{i}.py", f"VALUE = {i}\n")
        archive.writestr("pkg-1.0.dist-info/METADATA", PKG_INFO)
    return buffer.getvalue()


BOUNDARY = "b0undary"
FORM_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def form_long_disposition(size: int = 500_000) -> bytes:
    """One part whose Content-Disposition line is ``size`` bytes long (the issue's 10.8 s)."""
    name = "n" * size
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\nv\r\n'
        f"--{BOUNDARY}--\r\n"
    ).encode()


def form_many_fields(fields: int = 70_000) -> bytes:
    """``fields`` tiny fields (the issue's 4 MB body, 23.5 s)."""
    part = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="f"\r\n\r\nv\r\n'.encode()
    return part * fields + f"--{BOUNDARY}--\r\n".encode()


def form_many_headers(headers: int = 100_000) -> bytes:
    """One part with ``headers`` short header lines."""
    return (
        f"--{BOUNDARY}\r\n".encode()
        + b"X-A: b\r\n" * headers
        + f'Content-Disposition: form-data; name="f"\r\n\r\nv\r\n--{BOUNDARY}--\r\n'.encode()
    )


def form_false_delimiters(size: int = 4_000_000) -> bytes:
    """A field whose value is line after line that starts like the delimiter but is not one."""
    line = f"\r\n--{BOUNDARY}x".encode()
    value = line * (size // len(line))
    return (
        (
            f"--{BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="content"; filename="a.whl"\r\n\r\n'
        ).encode()
        + value
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
