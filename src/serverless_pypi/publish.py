"""Publishing: how a distribution enters and leaves the index, the same way from every door.

The upload API (``api.upload``) and the CLI (``cli.bucket``) both go through here, so a file is
refused for the same reasons, in the same words, whichever way it arrives:

- ``check``: a filename in the canonical form new uploads must have, and a real archive whose
  metadata names the same project and version;
- ``locate``: every object holding a file of the same identity (project, version, build tag,
  wheel tags or sdist), under any spelling of the project or the filename;
- ``store``: write unless present; identical bytes are success, different bytes are a
  ``Conflict`` (a published version is immutable); an archived or quarantined project takes
  nothing (``Forbidden``, see ``status``);
- ``yank``, ``unyank``, ``delete``.

Errors are ``errors.Refused``, ``Conflict``, ``Forbidden``, ``NotFound`` and
``StoreUnavailable``; callers map them to HTTP statuses or exit codes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from serverless_pypi import archive, catalog, layout, names, status
from serverless_pypi.errors import Conflict, NotFound, PreconditionFailed, Refused
from serverless_pypi.storage import Bucket

#: Files smaller than this go in one PutObject; larger ones in parts of (at least) this size.
PART_SIZE = 8 * 1024 * 1024
#: S3's limit on the number of parts of one upload.
MAX_PARTS = 10_000
Opener = Callable[[], IO[bytes]]


@dataclass(frozen=True, slots=True)
class Candidate:
    """A distribution that passed every check, and where it belongs."""

    dist: names.Distribution
    size: int
    sha256: str

    @property
    def key(self) -> str:
        return self.dist.key


@dataclass(frozen=True, slots=True)
class Stored:
    key: str
    created: bool  # False: an identical file was already there


def parse_filename(filename: str) -> names.Distribution:
    dist = names.parse_filename(filename)
    if dist is None:
        raise Refused(f"Invalid distribution filename: {filename[:200]!r}.")
    return dist


def check(filename: str, stream: IO[bytes]) -> Candidate:
    """Everything that decides whether a file may be uploaded, from its name and bytes."""
    dist = parse_filename(filename)
    if dist.filename != dist.canonical_filename:
        raise Refused(
            f"{filename!r} is not a canonical distribution filename (normalized name and "
            f"version, sdists as .tar.gz); rename it {dist.canonical_filename!r}."
        )
    facts = archive.inspect(stream, filename)
    if facts.problem is not None:
        raise Refused(f"{filename} is not a valid distribution: {facts.problem}.")
    _check_metadata_agrees(dist, facts)
    return Candidate(dist=dist, size=facts.size, sha256=facts.sha256)


def _check_metadata_agrees(dist: names.Distribution, facts: archive.Facts) -> None:
    """pip refuses a file whose metadata names another project or version ("inconsistent
    Name"), so the index does too, before anyone downloads it."""
    if facts.name is None or facts.version is None:
        raise Refused(
            f"{dist.filename} is not a valid distribution: no Name and Version in its metadata."
        )
    if names.canonical(facts.name) != dist.project:
        raise Refused(
            f"{dist.filename}: its metadata names project {facts.name[:100]!r}, "
            f"its filename {dist.project!r}."
        )
    if facts.version != dist.version:
        raise Refused(
            f"{dist.filename}: its metadata names version {str(facts.version)[:100]!r}, "
            f"its filename {str(dist.version)!r}."
        )


def check_file(path: Path) -> Candidate:
    """``check`` for a local file, streamed from disk."""
    try:
        with path.open("rb") as stream:
            return check(path.name, stream)
    except OSError as exc:
        raise Refused(f"cannot read {path}: {exc.strerror or exc}") from None


def locate(bucket: Bucket, dist: names.Distribution) -> list[str]:
    """Every key holding a file of ``dist``'s identity, under any spelling of its project or
    its filename (one listing per spelling; a bucket written only by uploads has one)."""
    found = []
    for prefix in catalog.spellings(bucket, dist.project):
        for obj in bucket.list_objects(prefix + "/"):
            location = names.parse_key(obj.key)
            if location is not None and location.dist.identity == dist.identity:
                found.append(obj.key)
    return sorted(found)


def _identical_or_conflict(bucket: Bucket, key: str, candidate: Candidate) -> Stored:
    if bucket.sha256(key) == candidate.sha256:
        return Stored(key, created=False)
    existing = key.rpartition("/")[2]
    spelled = "" if existing == candidate.dist.filename else f" (as {existing!r})"
    raise Conflict(
        f"File {candidate.dist.filename!r} already exists with different content{spelled}; "
        "files are immutable, upload a new version instead."
    )


def existing(bucket: Bucket, candidate: Candidate) -> Stored | None:
    """What is already stored under ``candidate``'s identity: None, or the identical file
    (a ``Conflict`` when any file of that identity has other bytes)."""
    identical = None
    for key in locate(bucket, candidate.dist):
        identical = _identical_or_conflict(bucket, key, candidate)
    return identical


def _verified(stream: IO[bytes], size: int, candidate: Candidate) -> Iterator[bytes]:
    """The file's bytes in parts, refusing at the end if they are not what was checked."""
    digest = hashlib.sha256()
    while chunk := stream.read(size):
        digest.update(chunk)
        yield chunk
    if digest.hexdigest() != candidate.sha256:
        raise Refused(
            f"{candidate.dist.filename} changed while it was being stored; nothing was stored."
        )


def part_size_for(size: int) -> int:
    """PART_SIZE, or larger when the file would need more than S3's 10,000 parts."""
    if size <= PART_SIZE * MAX_PARTS:
        return PART_SIZE
    mib = 1024 * 1024
    return -(-size // (MAX_PARTS * mib)) * mib


def content_type(dist: names.Distribution) -> str:
    return "application/zip" if dist.is_wheel else "application/octet-stream"


def store(
    bucket: Bucket,
    candidate: Candidate,
    open_file: Opener,
    *,
    on_progress: Callable[[int], object] | None = None,
) -> Stored:
    """Write a checked file unless a file of its identity is already there.

    The write is conditional (``IfNoneMatch``), so two concurrent uploads of one filename
    cannot both win; the loser is told whether the winner's bytes equal its own. It carries
    the checked SHA-256 (each part's, for a multipart upload), so S3 refuses bytes that changed
    on the way, and the reindexer can take a single-part file's hash from S3.
    """
    status.require_uploads(bucket, candidate.dist.project)
    found = existing(bucket, candidate)
    if found is not None:
        return found
    kind = content_type(candidate.dist)
    try:
        with open_file() as stream:
            if candidate.size < PART_SIZE:
                data = b"".join(_verified(stream, PART_SIZE, candidate))
                bucket.put(candidate.key, data, kind, if_none_match=True, sha256=candidate.sha256)
            else:
                parts = _verified(stream, part_size_for(candidate.size), candidate)
                bucket.put_parts(
                    candidate.key, parts, kind, if_none_match=True, on_part=on_progress
                )
    except PreconditionFailed:
        # Someone stored this filename between our check and our write.
        return _identical_or_conflict(bucket, candidate.key, candidate)
    return Stored(candidate.key, created=True)


# -- yank / unyank / delete -------------------------------------------------------------------


def published(bucket: Bucket, filename: str) -> list[str]:
    """The keys of the file ``filename`` names (by identity); ``NotFound`` when none."""
    dist = parse_filename(filename.replace("\\", "/").rsplit("/", 1)[-1])
    keys = locate(bucket, dist)
    if not keys:
        raise NotFound(f"{dist.filename} not found in bucket {bucket.name}.")
    return keys


def clean_reason(reason: str) -> str:
    """A yank reason on one line; ``Refused`` when longer than is kept."""
    cleaned = " ".join(reason.split())
    if len(cleaned) > layout.MAX_YANK_REASON:
        raise Refused(f"--reason is longer than {layout.MAX_YANK_REASON} characters")
    return cleaned


def yank(bucket: Bucket, key: str, reason: str) -> None:
    """Mark ``key`` yanked (PEP 592): a marker object next to, not in, the file, so its bytes
    and upload time do not change."""
    bucket.put(layout.yank_key(key), reason.encode(), "text/plain; charset=utf-8")


def unyank(bucket: Bucket, key: str) -> bool:
    """Remove ``key``'s yank mark; False when it was not yanked."""
    marker = layout.yank_key(key)
    if bucket.head(marker) is None:
        return False
    bucket.delete(marker)
    return True


def delete(bucket: Bucket, key: str) -> None:
    """Delete a file and its yank mark. The file first: were the marker deleted first and
    the file not, it would reappear as not yanked."""
    bucket.delete(key)
    marker = layout.yank_key(key)
    if bucket.head(marker) is not None:
        bucket.delete(marker)
