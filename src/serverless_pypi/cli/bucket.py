"""``serverless-pypi upload / yank / unyank / delete``: publishing straight to the bucket.

These commands use the caller's AWS credentials and talk to S3 only; the reindex Lambda picks up
the resulting S3 events as it does for any other write, so nothing here touches derived data.

Every command goes through ``publish``, as the upload API does: the same checks, the same
immutability (by file identity, under any spelling), the same words. ``upload`` streams the
file, so any size works (large files go as a multipart upload, see ``publish.store``).

Exit codes: 0 when everything asked for was done, 1 when a file was refused, not found or not
deleted, or S3 failed; 2 for usage errors (argparse's own).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, NoCredentialsError

from serverless_pypi import config, publish, storage
from serverless_pypi.errors import NotFound, PackageIndexError, Refused, StoreUnavailable
from serverless_pypi.storage import Bucket

PROG = "serverless-pypi"


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


# -- upload ---------------------------------------------------------------------------------


def upload_one(bucket: Bucket, path: Path, *, dry_run: bool) -> str:
    """Upload one file; returns what happened, raises the index's errors otherwise."""
    if not path.is_file():
        raise NotFound(f"{path}: no such file")
    candidate = publish.check_file(path)
    target = f"s3://{bucket.name}/{{key}}"
    if dry_run:
        found = publish.existing(bucket, candidate)
        if found is None:
            where = target.format(key=candidate.key)
            return f"{candidate.dist.filename}: would upload to {where} ({_facts(candidate)})"
        return _identical(candidate, target.format(key=found.key))
    progress = Progress(candidate.dist.filename, candidate.size)
    try:
        stored = publish.store(
            bucket, candidate, lambda: path.open("rb"), on_progress=progress.update
        )
    finally:
        progress.close()
    where = target.format(key=stored.key)
    if not stored.created:
        return _identical(candidate, where)
    return f"{candidate.dist.filename}: uploaded to {where} ({_facts(candidate)})"


def _facts(candidate: publish.Candidate) -> str:
    return f"{_human(candidate.size)}, sha256 {candidate.sha256}"


def _identical(candidate: publish.Candidate, where: str) -> str:
    return f"{candidate.dist.filename}: already present at {where} (identical)"


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
        except StoreUnavailable as exc:
            _error(f"{item}: {_explain(exc)}")
            status = 1
        except PackageIndexError as exc:
            _error(exc.message)
            status = 1
        except OSError as exc:
            _error(f"{item}: {exc.strerror or exc}")
            status = 1
    return status


def run_upload(args: argparse.Namespace) -> int:
    bucket = _bucket(args)
    return _each(args.files, lambda item: upload_one(bucket, Path(item), dry_run=args.dry_run))


# -- yank / unyank ----------------------------------------------------------------------------


def yank_one(bucket: Bucket, argument: str, reason: str) -> str:
    keys = publish.published(bucket, argument)
    for key in keys:
        publish.yank(bucket, key, reason)
    why = f" (reason: {reason})" if reason else ""
    return "\n".join(f"yanked {key}{why}" for key in keys)


def unyank_one(bucket: Bucket, argument: str) -> str:
    return "\n".join(
        f"unyanked {key}" if publish.unyank(bucket, key) else f"{key} was not yanked"
        for key in publish.published(bucket, argument)
    )


def run_yank(args: argparse.Namespace) -> int:
    try:
        reason = publish.clean_reason(args.reason or "")
    except Refused as exc:
        _error(exc.message)
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
    lines = []
    for key in publish.published(bucket, argument):
        if not assume_yes and not _confirm(f"Delete {key} from bucket {bucket.name}?"):
            raise Refused(f"{key} not deleted.")
        publish.delete(bucket, key)
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
