"""``serverless-pypi upload / yank / unyank / delete``: publishing straight to the bucket.

These commands use the caller's AWS credentials and talk to S3 only; the reindex Lambda picks up
the resulting S3 events as it does for any other write, so nothing here touches derived data.

``upload`` applies the upload API's checks (a distribution filename, a real archive, immutable
filenames under any spelling of the project) but streams the file, so any size works: small
files go in one conditional ``PutObject``, larger ones in a multipart upload whose completion is
conditional (``IfNoneMatch``), so a concurrent upload of the same filename cannot be overwritten.

Exit codes: 0 when everything asked for was done, 1 when a file was refused, not found or not
deleted, or S3 failed; 2 for usage errors (argparse's own).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from botocore.exceptions import BotoCoreError, NoCredentialsError

from serverless_pypi import archive, catalog, config, layout, names, storage
from serverless_pypi.api import upload
from serverless_pypi.errors import PreconditionFailed, StoreUnavailable
from serverless_pypi.reindex.project import MAX_YANK_REASON
from serverless_pypi.storage import Bucket

#: Files smaller than this go in one PutObject; larger ones in parts of (at least) this size.
PART_SIZE = 8 * 1024 * 1024
#: S3's limit on the number of parts of one upload.
MAX_PARTS = 10_000
PROG = "serverless-pypi"


class Refused(Exception):
    """A file was refused or not found: reported in one line, and the exit code becomes 1."""


def _error(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr)


def _bucket(args: argparse.Namespace) -> Bucket:
    settings = config.Settings(
        bucket=args.bucket, s3_endpoint_url=args.endpoint_url, region=config.load_region()
    )
    return Bucket(storage.make_client(settings), args.bucket)


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


class Progress:
    """A one-line ``\\r`` percentage on stderr, only when stderr is a terminal."""

    def __init__(self, label: str, total: int) -> None:
        self.label = label
        self.total = max(total, 1)
        self.enabled = sys.stderr.isatty()
        self.shown = -1

    def update(self, done: int) -> None:
        percent = min(100, done * 100 // self.total)
        if self.enabled and percent != self.shown:
            self.shown = percent
            print(f"\r  {self.label} {percent:3d}%", end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.enabled and self.shown >= 0:
            print(file=sys.stderr, flush=True)


def _locate(bucket: Bucket, dist: names.Distribution) -> list[str]:
    """Every key holding this filename, under any spelling of its project (usually one)."""
    keys = []
    for prefix in catalog.spellings(bucket, dist.project):
        key = f"{prefix}/{dist.filename}"
        if bucket.head(key) is not None:
            keys.append(key)
    return keys


def _parse_dist(argument: str) -> names.Distribution:
    """A distribution filename; a path or bucket key is reduced to its last component."""
    filename = argument.replace("\\", "/").rsplit("/", 1)[-1]
    dist = names.parse_filename(filename)
    if dist is None:
        raise Refused(f"Invalid distribution filename: {filename[:200]!r}.")
    return dist


# -- upload ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LocalFile:
    """A local file that passed the upload API's checks."""

    path: Path
    dist: names.Distribution
    size: int
    sha256: str

    @property
    def key(self) -> str:
        return self.dist.key


def check_file(path: Path) -> LocalFile:
    """The checks of :func:`upload.check_distribution`, streaming the file from disk."""
    dist = names.parse_filename(path.name)
    if dist is None:
        raise Refused(f"Invalid distribution filename: {path.name[:200]!r}.")
    try:
        with path.open("rb") as stream:
            facts = archive.inspect(stream, path.name)
    except OSError as exc:
        raise Refused(f"cannot read {path}: {exc.strerror or exc}") from None
    if facts.problem is not None:
        raise Refused(f"{path.name} is not a valid distribution: {facts.problem}.")
    return LocalFile(path=path, dist=dist, size=facts.size, sha256=facts.sha256)


def _identical_or_refuse(bucket: Bucket, key: str, local: LocalFile) -> str:
    if bucket.sha256(key) == local.sha256:
        return f"{local.dist.filename}: already present at s3://{bucket.name}/{key} (identical)"
    raise Refused(
        f"{local.dist.filename} already exists with different content at "
        f"s3://{bucket.name}/{key}; files are immutable, upload a new version instead."
    )


def _read_verified(stream: IO[bytes], size: int, local: LocalFile) -> Iterator[bytes]:
    """The file's bytes in parts, refusing at the end if they are not what was checked."""
    digest = hashlib.sha256()
    while chunk := stream.read(size):
        digest.update(chunk)
        yield chunk
    if digest.hexdigest() != local.sha256:
        raise Refused(f"{local.path} changed while it was being uploaded; nothing was stored.")


def part_size_for(size: int) -> int:
    """PART_SIZE, or larger when the file would need more than S3's 10,000 parts."""
    if size <= PART_SIZE * MAX_PARTS:
        return PART_SIZE
    mib = 1024 * 1024
    return -(-size // (MAX_PARTS * mib)) * mib


def _put_small(bucket: Bucket, local: LocalFile) -> None:
    with local.path.open("rb") as stream:
        data = b"".join(_read_verified(stream, PART_SIZE, local))
    bucket.put(local.key, data, upload.content_type(local.dist), if_none_match=True)


def _put_multipart(bucket: Bucket, local: LocalFile, progress: Progress) -> None:
    with local.path.open("rb") as stream:
        bucket.put_parts(
            local.key,
            _read_verified(stream, part_size_for(local.size), local),
            upload.content_type(local.dist),
            if_none_match=True,
            on_part=progress.update,
        )


def upload_one(bucket: Bucket, path: Path, *, dry_run: bool) -> str:
    """Upload one file; returns what happened, raises Refused / StoreUnavailable otherwise."""
    if not path.is_file():
        raise Refused(f"{path}: no such file")
    local = check_file(path)
    found = upload.existing_key(bucket, local.dist)
    if found is not None:
        return _identical_or_refuse(bucket, found, local)
    target = f"s3://{bucket.name}/{local.key} ({_human(local.size)}, sha256 {local.sha256})"
    if dry_run:
        return f"{local.dist.filename}: would upload to {target}"
    progress = Progress(local.dist.filename, local.size)
    try:
        if local.size < PART_SIZE:
            _put_small(bucket, local)
        else:
            _put_multipart(bucket, local, progress)
    except PreconditionFailed:
        # Someone stored this filename between our check and our write.
        return _identical_or_refuse(bucket, local.key, local)
    finally:
        progress.close()
    return f"{local.dist.filename}: uploaded to {target}"


def _explain(exc: StoreUnavailable) -> str:
    """The one-line reason, with botocore's own words for local failures (no credentials,
    endpoint unreachable), which say more than their class name."""
    cause = exc.__cause__
    if isinstance(cause, NoCredentialsError):
        return "no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID/SECRET_ACCESS_KEY)"
    if isinstance(cause, BotoCoreError):
        return f"{exc.message} ({cause})"
    return exc.message


def _each(items: list[str], action: Callable[[str], str]) -> int:
    """Run ``action`` on every item; report each outcome; 1 if any was refused or failed."""
    status = 0
    for item in items:
        try:
            print(action(item), flush=True)
        except Refused as exc:
            _error(str(exc))
            status = 1
        except StoreUnavailable as exc:
            _error(f"{item}: {_explain(exc)}")
            status = 1
        except OSError as exc:
            _error(f"{item}: {exc.strerror or exc}")
            status = 1
    return status


def run_upload(args: argparse.Namespace) -> int:
    bucket = _bucket(args)
    return _each(args.files, lambda item: upload_one(bucket, Path(item), dry_run=args.dry_run))


# -- yank / unyank ----------------------------------------------------------------------------


def _keys_of(bucket: Bucket, argument: str) -> tuple[names.Distribution, list[str]]:
    dist = _parse_dist(argument)
    keys = _locate(bucket, dist)
    if not keys:
        raise Refused(f"{dist.filename} not found in bucket {bucket.name}.")
    return dist, keys


def yank_one(bucket: Bucket, argument: str, reason: str) -> str:
    _, keys = _keys_of(bucket, argument)
    for key in keys:
        bucket.put(layout.yank_key(key), reason.encode(), "text/plain; charset=utf-8")
    why = f" (reason: {reason})" if reason else ""
    return "\n".join(f"yanked {key}{why}" for key in keys)


def unyank_one(bucket: Bucket, argument: str) -> str:
    _, keys = _keys_of(bucket, argument)
    lines = []
    for key in keys:
        marker = layout.yank_key(key)
        if bucket.head(marker) is None:
            lines.append(f"{key} was not yanked")
            continue
        bucket.delete(marker)
        lines.append(f"unyanked {key}")
    return "\n".join(lines)


def run_yank(args: argparse.Namespace) -> int:
    reason = " ".join((args.reason or "").split())
    if len(reason) > MAX_YANK_REASON:
        _error(f"--reason is longer than {MAX_YANK_REASON} characters")
        return 2
    bucket = _bucket(args)
    return _each([args.filename], lambda item: yank_one(bucket, item, reason))


def run_unyank(args: argparse.Namespace) -> int:
    bucket = _bucket(args)
    return _each([args.filename], lambda item: unyank_one(bucket, item))


# -- delete -----------------------------------------------------------------------------------


def _confirm(question: str) -> bool:
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
    try:
        answer = sys.stdin.readline()
    except (OSError, ValueError):  # no usable stdin
        answer = ""
    if not answer.endswith("\n") or not sys.stdin.isatty():  # a terminal echoes the newline
        print(file=sys.stderr)
    return answer.strip().lower() in ("y", "yes")


def delete_one(bucket: Bucket, argument: str, *, assume_yes: bool) -> str:
    _, keys = _keys_of(bucket, argument)
    lines = []
    for key in keys:
        if not assume_yes and not _confirm(f"Delete {key} from bucket {bucket.name}?"):
            raise Refused(f"{key} not deleted.")
        # The file first: were the marker deleted first and the file not, it would reappear
        # as not yanked.
        bucket.delete(key)
        marker = layout.yank_key(key)
        if bucket.head(marker) is not None:
            bucket.delete(marker)
        lines.append(f"deleted {key}")
    return "\n".join(lines)


def run_delete(args: argparse.Namespace) -> int:
    bucket = _bucket(args)
    return _each(args.files, lambda item: delete_one(bucket, item, assume_yes=args.yes))


# -- parser -----------------------------------------------------------------------------------


def _bucket_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bucket", required=True, help="bucket name")
    parser.add_argument("--endpoint-url", help="S3 endpoint (S3-compatible stores, local mode)")


def add_parsers(commands: Any) -> None:
    """Register the commands on ``build_parser()``'s subparsers."""
    up = commands.add_parser(
        "upload",
        help="upload distributions to a bucket (any size)",
        description="Check and upload wheels and sdists with your AWS credentials. A filename "
        "that is already in the bucket with the same bytes is success; with different bytes "
        "it is refused (files are immutable).",
    )
    up.add_argument("files", nargs="+", metavar="FILE", help="wheel or sdist to upload")
    _bucket_options(up)
    up.add_argument("--dry-run", action="store_true", help="check only; write nothing")
    up.set_defaults(func=run_upload)

    yank = commands.add_parser(
        "yank",
        help="mark a file as yanked (PEP 592)",
        description="Yank a file: installers skip it unless it is pinned with ==. The file "
        "itself is not touched.",
    )
    yank.add_argument("filename", metavar="FILENAME", help="e.g. pkg-1.1.0-py3-none-any.whl")
    yank.add_argument("--reason", default="", help="why, shown by installers")
    _bucket_options(yank)
    yank.set_defaults(func=run_yank)

    unyank = commands.add_parser("unyank", help="undo a yank")
    unyank.add_argument("filename", metavar="FILENAME", help="e.g. pkg-1.1.0-py3-none-any.whl")
    _bucket_options(unyank)
    unyank.set_defaults(func=run_unyank)

    delete = commands.add_parser(
        "delete",
        help="delete files from a bucket",
        description="Delete files (and their yank markers). On a versioned bucket, as the "
        "Terraform module creates, deleted files stay recoverable.",
    )
    delete.add_argument("files", nargs="+", metavar="FILE", help="distribution filename")
    _bucket_options(delete)
    delete.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    delete.set_defaults(func=run_delete)


__all__ = ["PART_SIZE", "Refused", "add_parsers", "check_file", "part_size_for", "upload_one"]
