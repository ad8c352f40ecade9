"""Legacy upload forms, encoded the way twine sends them."""

from __future__ import annotations

import hashlib
import uuid


def multipart(fields: list[tuple[str, str]], file: tuple[str, bytes] | None) -> tuple[str, bytes]:
    """(Content-Type, body) of a multipart/form-data request."""
    boundary = uuid.uuid4().hex
    chunks: list[bytes] = []
    for name, value in fields:
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
        )
    if file is not None:
        filename, data = file
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="content"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
            + data
            + b"\r\n"
        )
    chunks.append(f"--{boundary}--\r\n".encode())
    return f"multipart/form-data; boundary={boundary}", b"".join(chunks)


def upload_fields(name: str, version: str, filename: str, data: bytes) -> list[tuple[str, str]]:
    filetype = "bdist_wheel" if filename.endswith(".whl") else "sdist"
    return [
        (":action", "file_upload"),
        ("protocol_version", "1"),
        ("name", name),
        ("version", version),
        ("filetype", filetype),
        ("pyversion", "py3" if filetype == "bdist_wheel" else "source"),
        ("metadata_version", "2.1"),
        ("sha256_digest", hashlib.sha256(data).hexdigest()),
        ("blake2_256_digest", hashlib.blake2b(data, digest_size=32).hexdigest()),
        ("classifiers", "Programming Language :: Python :: 3"),
        ("classifiers", "Operating System :: OS Independent"),
    ]
