"""The upload endpoint's form: twine's legacy upload, as uv, poetry and pdm send it too.

This module reads and checks the form (its fields must agree with the file); the file itself
is checked and stored by ``publish``, as the CLI's files are. Imported only for uploads, so the
read path never pays for it.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from serverless_pypi import publish
from serverless_pypi.api.multipart import parse_form
from serverless_pypi.errors import Refused

FILETYPES = {"bdist_wheel": (".whl",), "sdist": (".tar.gz", ".zip")}
#: Optional digests of the file that, when sent, must match (``sha256_digest`` is required).
DIGESTS: dict[str, Callable[[bytes], Any]] = {
    "md5_digest": lambda data: hashlib.md5(data, usedforsecurity=False),
    "blake2_256_digest": lambda data: hashlib.blake2b(data, digest_size=32),
}


@dataclass(frozen=True, slots=True)
class Upload:
    """A form whose fields agree with its file, and the file."""

    candidate: publish.Candidate
    data: bytes


def _require(fields: dict[str, str], name: str) -> str:
    value = fields.get(name, "").strip()
    if not value:
        raise Refused(f"Missing required field {name!r}.")
    return value


def check_form(content_type: str, body: bytes) -> Upload:
    """A legacy upload, checked completely before anything is written."""
    return check_fields(*parse_form(content_type, body))


def check_fields(fields: dict[str, str], content: tuple[str, bytes] | None) -> Upload:
    """``check_form`` of a parsed form (the API audits the file of a refused form)."""
    if _require(fields, ":action") != "file_upload":
        raise Refused("Unsupported :action; only 'file_upload' is accepted.")
    if _require(fields, "protocol_version") != "1":
        raise Refused("Unsupported protocol_version; only '1' is accepted.")
    name = _require(fields, "name")
    version = _require(fields, "version")
    filetype = _require(fields, "filetype")
    expected_sha256 = _require(fields, "sha256_digest").lower()
    if content is None:
        raise Refused("Missing the file ('content' part).")
    filename, data = content
    checked = publish.check(filename, io.BytesIO(data))
    if checked.dist.project != canonicalize_name(name):
        raise Refused(f"Filename {filename!r} does not belong to project {name!r}.")
    try:
        same_version = checked.dist.version == Version(version)
    except InvalidVersion:
        raise Refused(f"Invalid version {version[:100]!r}.") from None
    if not same_version:
        raise Refused(f"Filename {filename!r} does not match version {version!r}.")
    if not filename.endswith(FILETYPES.get(filetype, ())):
        raise Refused(f"filetype {filetype[:50]!r} does not match {filename!r}.")
    if checked.sha256 != expected_sha256:
        raise Refused("sha256_digest does not match the uploaded file.")
    for field_name, digest in DIGESTS.items():
        expected = fields.get(field_name, "").strip().lower()
        if expected and digest(data).hexdigest() != expected:
            raise Refused(f"{field_name} does not match the uploaded file.")
    return Upload(candidate=checked, data=data)
