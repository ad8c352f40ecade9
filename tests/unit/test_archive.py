"""Facts from distribution bytes, including every kind of broken archive."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile

import pytest
from support.dists import sdist_bytes, wheel_bytes

from serverless_pypi import archive


def facts(data: bytes, filename: str) -> archive.Facts:
    return archive.inspect(io.BytesIO(data), filename)


def zip_with(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buffer.getvalue()


def test_wheel_metadata_is_exact_bytes() -> None:
    data = wheel_bytes("pkg", "1.0", requires_python=">=3.9, <4")
    result = facts(data, "pkg-1.0-py3-none-any.whl")
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.size == len(data)
    assert result.requires_python == ">=3.9, <4"
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert result.metadata == z.read("pkg-1.0.dist-info/METADATA")
    assert result.problem is None


def test_sdist_requires_python_from_pkg_info_but_no_sidecar() -> None:
    data = sdist_bytes("pkg", "1.0")
    result = facts(data, "pkg-1.0.tar.gz")
    assert result.metadata is None  # sdists are not offered (no static-metadata check)
    assert result.problem is None


@pytest.mark.parametrize(
    ("filename", "data", "problem"),
    [
        ("pkg-1.0-py3-none-any.whl", wheel_bytes("pkg", "1.0")[:200], "zip"),
        ("pkg-1.0-py3-none-any.whl", b"this is not a zip at all", "zip"),
        ("pkg-1.0-py3-none-any.whl", zip_with({"pkg/__init__.py": b""}), "METADATA"),
        (
            "pkg-1.0-py3-none-any.whl",
            zip_with({"a-1.dist-info/METADATA": b"x", "b-1.dist-info/METADATA": b"y"}),
            "METADATA",
        ),
        ("pkg-1.0.tar.gz", b"not a tarball", "archive"),
        ("pkg-1.0.tar.gz", sdist_bytes("pkg", "1.0")[:100], "archive"),
        ("pkg-1.0.zip", b"PK\x03\x04 broken", "archive"),
        ("pkg-1.0.tar.gz", b"", "archive"),
    ],
)
def test_broken_archives_still_hash(filename: str, data: bytes, problem: str) -> None:
    result = facts(data, filename)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.size == len(data)
    assert result.metadata is None
    assert result.problem is not None and problem in result.problem


def test_sdist_without_pkg_info() -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("pkg-1.0/setup.py")
        info.size = 0
        tar.addfile(info, io.BytesIO(b""))
    result = facts(buffer.getvalue(), "pkg-1.0.tar.gz")
    assert result.problem == "sdist has no PKG-INFO"


def test_huge_metadata_is_not_offered_but_requires_python_is_found() -> None:
    metadata = b"Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\nRequires-Python: >=3.8\n\n"
    metadata += b"x" * (archive.MAX_METADATA_BYTES + 10)
    data = zip_with({"pkg-1.0.dist-info/METADATA": metadata})
    result = facts(data, "pkg-1.0-py3-none-any.whl")
    assert result.requires_python == ">=3.8"
    assert result.metadata is None
    assert result.problem == "METADATA is too large to offer"


def test_invalid_requires_python_is_dropped() -> None:
    metadata = b"Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\nRequires-Python: >=three\n\n"
    data = zip_with({"pkg-1.0.dist-info/METADATA": metadata})
    result = facts(data, "pkg-1.0-py3-none-any.whl")
    assert result.requires_python is None
    assert result.metadata == metadata


def _watch_spools(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record each spool made and each rollover of one to disk."""
    events: list[str] = []
    original = archive.tempfile.SpooledTemporaryFile

    class Watching(original):  # type: ignore[misc, valid-type]
        def __init__(self, *args: object, **kwargs: object) -> None:
            events.append("spool")
            super().__init__(*args, **kwargs)

        def rollover(self) -> None:
            events.append("rollover")
            super().rollover()

    monkeypatch.setattr(archive.tempfile, "SpooledTemporaryFile", Watching)
    return events


def test_a_seekable_file_is_not_copied(monkeypatch: pytest.MonkeyPatch) -> None:
    """A local file (the CLI) or an upload's bytes are hashed and read in place: no spool."""
    events = _watch_spools(monkeypatch)
    data = wheel_bytes("pkg", "1.0", payload=bytes(range(256)) * 64)
    result = facts(data, "pkg-1.0-py3-none-any.whl")
    sdist = sdist_bytes("pkg", "1.0")
    assert facts(sdist, "pkg-1.0.tar.gz").sha256 == hashlib.sha256(sdist).hexdigest()
    assert events == []
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.size == len(data)
    assert result.metadata is not None


class Unseekable(io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_an_unseekable_zip_is_spooled_with_memory_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bytes past the spool threshold go to disk, not memory."""
    monkeypatch.setattr(archive, "SPOOL_IN_MEMORY", 1024)
    monkeypatch.setattr(archive, "CHUNK", 512)
    events = _watch_spools(monkeypatch)
    data = wheel_bytes("pkg", "1.0", payload=bytes(range(256)) * 64)
    result = archive.inspect(Unseekable(data), "pkg-1.0-py3-none-any.whl")  # type: ignore[arg-type]
    assert events == ["spool", "rollover"]
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.metadata is not None
    sdist = sdist_bytes("pkg", "1.0")
    events.clear()
    streamed = archive.inspect(Unseekable(sdist), "pkg-1.0.tar.gz")  # type: ignore[arg-type]
    assert events == []  # an sdist is read forward: never spooled
    assert streamed.sha256 == hashlib.sha256(sdist).hexdigest()
    assert streamed.name == "pkg"
