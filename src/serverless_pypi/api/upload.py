"""Checks that decide whether a distribution may enter the index.

Shared by the upload API (legacy form, as twine sends it) and the ``upload`` command, so a file
is refused for the same reasons whichever way it arrives. Nothing here writes anything.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from serverless_pypi import archive, catalog, names
from serverless_pypi.errors import PreconditionFailed
from serverless_pypi.storage import Bucket

FILETYPES = {"bdist_wheel": (".whl",), "sdist": (".tar.gz", ".zip")}


class UploadError(ValueError):
    """A refused upload; ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class Checked:
    """A distribution that passed every check, and where it belongs."""

    dist: names.Distribution
    data: bytes
    sha256: str

    @property
    def key(self) -> str:
        return self.dist.key


def check_distribution(filename: str, data: bytes) -> Checked:
    """The checks every upload path applies: a parseable filename and a real archive."""
    dist = names.parse_filename(filename)
    if dist is None:
        raise UploadError(f"Invalid distribution filename: {filename[:200]!r}.")
    facts = archive.inspect(io.BytesIO(data), filename)
    if facts.problem is not None:
        raise UploadError(f"{filename} is not a valid distribution: {facts.problem}.")
    return Checked(dist=dist, data=data, sha256=facts.sha256)


def _fields(content_type: str, body: bytes) -> tuple[dict[str, str], tuple[str, bytes] | None]:
    """Parse ``multipart/form-data`` strictly: a truncated or malformed body is refused."""
    if not content_type.lower().startswith("multipart/form-data") or "boundary=" not in (
        content_type.lower()
    ):
        raise UploadError("Expected a multipart/form-data upload.")
    header = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=HTTP).parsebytes(header + body)
    if message.defects or not message.is_multipart():
        raise UploadError("Malformed multipart body (truncated or invalid).")
    fields: dict[str, str] = {}
    content: tuple[str, bytes] | None = None
    for part in message.iter_parts():
        assert isinstance(part, Message)
        if part.defects:
            raise UploadError("Malformed multipart body (truncated or invalid).")
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if name == "content":
            filename = part.get_filename()
            if not filename:
                raise UploadError("The content part has no filename.")
            content = (filename, data)
        else:
            fields.setdefault(name, data.decode("utf-8", "replace"))
    return fields, content


def _require(fields: dict[str, str], name: str) -> str:
    value = fields.get(name, "").strip()
    if not value:
        raise UploadError(f"Missing required field {name!r}.")
    return value


def check_form(content_type: str, body: bytes) -> Checked:
    """Validate a legacy upload (protocol rules §8) before anything is written."""
    fields, content = _fields(content_type, body)
    if _require(fields, ":action") != "file_upload":
        raise UploadError("Unsupported :action; only 'file_upload' is accepted.")
    if _require(fields, "protocol_version") != "1":
        raise UploadError("Unsupported protocol_version; only '1' is accepted.")
    name = _require(fields, "name")
    version = _require(fields, "version")
    filetype = _require(fields, "filetype")
    expected_sha256 = _require(fields, "sha256_digest").lower()
    if content is None:
        raise UploadError("Missing the file ('content' part).")
    filename, data = content
    checked = check_distribution(filename, data)
    if checked.dist.project != canonicalize_name(name):
        raise UploadError(f"Filename {filename!r} does not belong to project {name!r}.")
    try:
        same_version = checked.dist.version == Version(version)
    except InvalidVersion:
        raise UploadError(f"Invalid version {version[:100]!r}.") from None
    if not same_version:
        raise UploadError(f"Filename {filename!r} does not match version {version!r}.")
    if not filename.endswith(FILETYPES.get(filetype, ())):
        raise UploadError(f"filetype {filetype[:50]!r} does not match {filename!r}.")
    if checked.sha256 != expected_sha256:
        raise UploadError("sha256_digest does not match the uploaded file.")
    blake2 = fields.get("blake2_256_digest", "").strip().lower()
    if blake2 and hashlib.blake2b(data, digest_size=32).hexdigest() != blake2:
        raise UploadError("blake2_256_digest does not match the uploaded file.")
    return checked


def content_type(dist: names.Distribution) -> str:
    return "application/zip" if dist.is_wheel else "application/octet-stream"


def existing_key(bucket: Bucket, dist: names.Distribution) -> str | None:
    """Where a file of this name already is, under any spelling of its project."""
    for prefix in catalog.spellings(bucket, dist.project):
        key = f"{prefix}/{dist.filename}"
        if bucket.head(key) is not None:
            return key
    return None


def _same_or_conflict(bucket: Bucket, key: str, checked: Checked) -> bool:
    if bucket.sha256(key) == checked.sha256:
        return False
    raise UploadError(
        f"File {checked.dist.filename!r} already exists with different content; "
        "files are immutable, upload a new version instead.",
        status=409,
    )


def store(bucket: Bucket, checked: Checked) -> bool:
    """Write a checked file unless it is already there; True when it was written.

    An identical file is success (re-running a publish job is safe); different bytes under an
    existing filename are refused. The write itself is conditional (``IfNoneMatch``), so two
    concurrent uploads of one filename cannot both win.
    """
    found = existing_key(bucket, checked.dist)
    if found is not None:
        return _same_or_conflict(bucket, found, checked)
    try:
        bucket.put(checked.key, checked.data, content_type(checked.dist), if_none_match=True)
    except PreconditionFailed:
        return _same_or_conflict(bucket, checked.key, checked)
    return True
