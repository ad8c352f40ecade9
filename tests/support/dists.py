"""Build real wheels and sdists inside the tests, with no network and no build tools.

The sdists carry an in-tree PEP 517 backend written with the standard library only, so pip and
uv can build them offline without fetching setuptools from any index.
"""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

from packaging.utils import canonicalize_name


def _dist_name(name: str) -> str:
    return canonicalize_name(name).replace("-", "_")


def metadata_text(
    name: str,
    version: str,
    requires: tuple[str, ...] = (),
    requires_python: str | None = None,
    *,
    headers: tuple[str, ...] = (),
    description: str = "",
) -> str:
    """Core metadata; ``headers`` are extra lines (``Summary: …``), ``description`` the body."""
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Requires-Dist: {r}" for r in requires]
    lines += headers
    return "\n".join(lines) + "\n\n" + description


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def wheel_bytes(
    name: str,
    version: str,
    *,
    requires: tuple[str, ...] = (),
    requires_python: str | None = None,
    payload: bytes = b"",
    modules: dict[str, bytes] | None = None,
    headers: tuple[str, ...] = (),
    description: str = "",
) -> bytes:
    """A pure-Python wheel whose module ``<name>`` has ``VERSION`` (and ``modules``: more
    top-level files, path → source)."""
    dist = _dist_name(name)
    info = f"{dist}-{version}.dist-info"
    files = {
        **(modules or {}),
        f"{dist}/__init__.py": f"VERSION = {version!r}\n".encode(),
        f"{info}/METADATA": metadata_text(
            name, version, requires, requires_python, headers=headers, description=description
        ).encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n",
    }
    if payload:
        files[f"{dist}/payload.bin"] = payload
    record = [_record_line(p, d) for p, d in files.items()] + [f"{info}/RECORD,,"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            archive.writestr(zipfile.ZipInfo(path, date_time=(2024, 1, 1, 0, 0, 0)), data)
        # A ZipInfo with a fixed date, like the others: a bare name would stamp the current
        # time, and two builds of "the same" wheel a second apart would differ.
        record_info = zipfile.ZipInfo(f"{info}/RECORD", date_time=(2024, 1, 1, 0, 0, 0))
        archive.writestr(record_info, "\n".join(record) + "\n")
    return buffer.getvalue()


def wheel_filename(name: str, version: str) -> str:
    return f"{_dist_name(name)}-{version}-py3-none-any.whl"


_BACKEND = '''
"""A tiny PEP 517 backend: builds a pure-Python wheel from ./src with the stdlib only."""
import base64, hashlib, os, zipfile

NAME, VERSION, REQUIRES = {name!r}, {version!r}, {requires!r}
DIST = NAME.lower().replace("-", "_").replace(".", "_")
WHEEL = b"Wheel-Version: 1.0\\nGenerator: tests\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"

def _metadata():
    lines = ["Metadata-Version: 2.1", "Name: " + NAME, "Version: " + VERSION]
    lines += ["Requires-Dist: " + r for r in REQUIRES]
    return "\\n".join(lines) + "\\n\\n"

def get_requires_for_build_wheel(config_settings=None):
    return []

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    info = DIST + "-" + VERSION + ".dist-info"
    files = {{DIST + "/__init__.py": ("VERSION = %r\\n" % VERSION).encode(),
             info + "/METADATA": _metadata().encode(),
             info + "/WHEEL": WHEEL}}
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append("%s,sha256=%s,%d" % (path, digest, len(data)))
    record.append(info + "/RECORD,,")
    filename = DIST + "-" + VERSION + "-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
        archive.writestr(info + "/RECORD", "\\n".join(record) + "\\n")
    return filename
'''


def backend_source(name: str, version: str, requires: tuple[str, ...] = ()) -> str:
    """The source of the tiny PEP 517 backend that builds ``name`` ``version``."""
    return _BACKEND.format(name=name, version=version, requires=requires)


def sdist_bytes(
    name: str,
    version: str,
    *,
    requires: tuple[str, ...] = (),
    backend: str | None = None,
    headers: tuple[str, ...] = (),
    description: str = "",
) -> bytes:
    """A PEP 625 sdist (``.tar.gz``) that builds offline through its in-tree backend, or with
    ``backend``: through that installed backend module, which the build must fetch."""
    dist = _dist_name(name)
    root = f"{dist}-{version}"
    build_system = (
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
        if backend is None
        else f'[build-system]\nrequires = ["{backend}"]\nbuild-backend = "{backend}"\n'
    )
    files = {
        "PKG-INFO": metadata_text(
            name, version, requires, headers=headers, description=description
        ).encode(),
        "pyproject.toml": build_system.encode(),
    }
    if backend is None:
        files["backend.py"] = backend_source(name, version, requires).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as archive:
        for path, data in files.items():
            info = tarfile.TarInfo(f"{root}/{path}")
            info.size = len(data)
            info.mtime = 1_700_000_000
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def sdist_filename(name: str, version: str) -> str:
    return f"{_dist_name(name)}-{version}.tar.gz"


def write(directory: Path, filename: str, data: bytes) -> Path:
    path = directory / filename
    path.write_bytes(data)
    return path
