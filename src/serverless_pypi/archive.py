"""What can be learned from a distribution's bytes: sha256, size, core metadata.

Files are streamed through a spooled temporary file, so memory stays bounded whatever the file
size. A broken archive is not an error: the facts that could be derived are returned and the
rest is left out (``problem`` says why), so the file is still listed.
"""

from __future__ import annotations

import hashlib
import re
import tarfile
import tempfile
import zipfile
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
_DIST_INFO_METADATA = re.compile(r"^[^/]+\.dist-info/METADATA$")


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


def _wheel_metadata(spool: BinaryIO) -> tuple[bytes | None, str | None]:
    try:
        with zipfile.ZipFile(spool) as archive:
            members = [i for i in archive.infolist() if _DIST_INFO_METADATA.match(i.filename)]
            if len(members) != 1:
                return None, "wheel has no single .dist-info/METADATA"
            with archive.open(members[0]) as member:
                return member.read(MAX_METADATA_BYTES + 1), None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        return None, f"not a readable zip: {type(exc).__name__}"


def _sdist_pkg_info(spool: BinaryIO, filename: str) -> tuple[bytes | None, str | None]:
    try:
        if filename.endswith(".zip"):
            with zipfile.ZipFile(spool) as archive:
                for info in archive.infolist():
                    if info.filename.count("/") == 1 and info.filename.endswith("/PKG-INFO"):
                        with archive.open(info) as member:
                            return member.read(MAX_METADATA_BYTES + 1), None
        else:
            with tarfile.open(fileobj=spool, mode="r:gz") as archive:
                for member in archive:
                    if (
                        member.isfile()
                        and member.name.count("/") == 1
                        and member.name.endswith("/PKG-INFO")
                    ):
                        extracted = archive.extractfile(member)
                        if extracted is not None:
                            return extracted.read(MAX_METADATA_BYTES + 1), None
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        return None, f"not a readable archive: {type(exc).__name__}"
    return None, "sdist has no PKG-INFO"


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
        is_wheel = filename.endswith(".whl")
        if is_wheel:
            metadata, problem = _wheel_metadata(spool)  # type: ignore[arg-type]
        else:
            metadata, problem = _sdist_pkg_info(spool, filename)  # type: ignore[arg-type]
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
