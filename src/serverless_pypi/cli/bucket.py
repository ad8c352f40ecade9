"""``serverless-pypi upload / yank / unyank / delete``: publishing straight to the bucket.

These commands use the caller's AWS credentials and talk to S3 only; the reindex Lambda picks up
the resulting S3 events as it does for any other write, so nothing here touches derived data.

Every command goes through ``publish``, as the upload API does: the same checks, the same
immutability (by file identity, under any spelling), the same words. ``upload`` streams the
file, so any size works (large files go as a multipart upload, see ``publish.store``).

Exit codes: 0 when everything asked for was done, 1 when a file was refused, not found or not
deleted, or S3 failed; 2 for usage errors (argparse's own). A failure about the whole bucket
(``failures.explain``) stops the command at once, in one line.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from serverless_pypi import catalog, config, names, publish, storage
from serverless_pypi.cli import failures, parsing
from serverless_pypi.cli.progress import Progress
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


# -- upload ---------------------------------------------------------------------------------


#: What ``upload_outcome`` did, as the final summary counts it.
UPLOADED, PRESENT, WOULD_UPLOAD = "uploaded", "already present", "would upload"


def upload_one(bucket: Bucket, path: Path, *, dry_run: bool) -> str:
    """Upload one file; returns what happened, raises the index's errors otherwise."""
    return upload_outcome(bucket, path, dry_run=dry_run)[1]


def upload_outcome(
    bucket: Bucket, path: Path, *, dry_run: bool, progress: Progress | None = None
) -> tuple[str, str]:
    """``upload_one``, with what happened (``UPLOADED``...) besides its line. A multipart
    upload shows bytes, rate and ETA on ``progress``."""
    if not path.is_file():
        raise NotFound(f"{path}: no such file")
    candidate = publish.check_file(path)
    target = f"s3://{bucket.name}/{{key}}"
    if dry_run:
        found = publish.existing(bucket, candidate)
        if found is None:
            where = target.format(key=candidate.key)
            line = f"{candidate.dist.filename}: would upload to {where} ({_facts(candidate)})"
            return WOULD_UPLOAD, line
        return PRESENT, _identical(candidate, target.format(key=found.key))
    progress = progress or Progress(quiet=True)
    multipart = candidate.size >= publish.PART_SIZE  # one PutObject is over before a bar helps
    name = candidate.dist.filename
    with progress.bar(name, candidate.size, unit="B", in_bytes=True, show=multipart) as bar:
        stored = publish.store(bucket, candidate, lambda: path.open("rb"), on_progress=bar.to)
    where = target.format(key=stored.key)
    if not stored.created:
        return PRESENT, _identical(candidate, where)
    return UPLOADED, f"{candidate.dist.filename}: uploaded to {where} ({_facts(candidate)})"


def _facts(candidate: publish.Candidate) -> str:
    return f"{_human(candidate.size)}, sha256 {candidate.sha256}"


def _identical(candidate: publish.Candidate, where: str) -> str:
    return f"{candidate.dist.filename}: already present at {where} (identical)"


def _each(
    items: list[str],
    action: Callable[[str], str],
    target: failures.Target,
    progress: Progress | None = None,
) -> int:
    """Run ``action`` on every item; report each outcome; 1 if any was refused or failed.

    A failure about the whole bucket (``failures.explain``'s fatal ones) stops the command:
    every other item would fail the same way.
    """
    progress = progress or Progress(quiet=True)
    status = 0
    for item in items:
        try:
            progress.line(action(item))
        except StoreUnavailable as exc:
            explained = failures.explain(exc, target)
            if explained.fatal:
                raise failures.CommandFailed(explained.message) from exc
            progress.line(f"{PROG}: {item}: {explained.message}", error=True)
            status = 1
        except PackageIndexError as exc:
            progress.line(f"{PROG}: {exc.message}", error=True)
            status = 1
        except OSError as exc:
            progress.line(f"{PROG}: {item}: {exc.strerror or exc}", error=True)
            status = 1
    return status


def run_upload(args: argparse.Namespace) -> int:
    bucket = _bucket(args)
    target = failures.Target.of(args)
    progress = Progress(quiet=args.quiet)
    done: Counter[str] = Counter()

    def upload(item: str) -> str:
        outcome, line = upload_outcome(bucket, Path(item), dry_run=args.dry_run, progress=progress)
        done[outcome] += 1
        return line

    total = len(args.files)
    status = 0
    with progress.bar("files", total, unit="files", show=total > 1) as bar:
        for number, item in enumerate(args.files, start=1):
            status |= _each([item], upload, target, progress)
            bar.to(number)
    if total > 1:
        print(summary(total, done), flush=True)
    return status


def summary(total: int, done: Counter[str]) -> str:
    """``5 files: 3 uploaded, 1 already present, 1 failed``."""
    counts = [f"{done[kind]} {kind}" for kind in (UPLOADED, WOULD_UPLOAD, PRESENT) if done[kind]]
    return f"{total} files: {', '.join([*counts, f'{total - done.total()} failed'])}"


# -- yank / unyank ----------------------------------------------------------------------------


def _release_keys(bucket: Bucket, project: str, raw_version: str) -> list[str]:
    """Every file of one version of a project, under any spelling; ``NotFound`` when none."""
    canonical = names.canonical(project)
    if canonical is None:
        raise Refused(f"invalid project name {project!r}")
    try:
        version = Version(raw_version)
    except InvalidVersion:
        raise Refused(f"invalid version {raw_version!r} (expected PROJECT==VERSION)") from None
    keys = []
    for prefix in catalog.spellings(bucket, canonical):
        for obj in bucket.list_objects(prefix + "/"):
            location = names.parse_key(obj.key)
            if location is not None and location.dist.version == version:
                keys.append(obj.key)
    if not keys:
        raise NotFound(f"no files of {canonical} {version} in bucket {bucket.name}.")
    return sorted(keys)


def files_named(bucket: Bucket, argument: str) -> list[str]:
    """The keys ``argument`` names: a file (name, path or key), or ``PROJECT==VERSION`` for
    every file of that version."""
    project, separator, version = argument.partition("==")
    if separator:
        return _release_keys(bucket, project.strip(), version.strip())
    return publish.published(bucket, argument)


def yank_one(bucket: Bucket, argument: str, reason: str) -> str:
    keys = files_named(bucket, argument)
    for key in keys:
        publish.yank(bucket, key, reason)
    why = f" (reason: {reason})" if reason else ""
    return "\n".join(f"yanked {key}{why}" for key in keys)


def unyank_one(bucket: Bucket, argument: str) -> str:
    return "\n".join(
        f"unyanked {key}" if publish.unyank(bucket, key) else f"{key} was not yanked"
        for key in files_named(bucket, argument)
    )


def run_yank(args: argparse.Namespace) -> int:
    try:
        reason = publish.clean_reason(args.reason or "")
    except Refused as exc:
        _error(exc.message)
        return 2
    bucket = _bucket(args)
    return _each(
        [args.filename], lambda item: yank_one(bucket, item, reason), failures.Target.of(args)
    )


def run_unyank(args: argparse.Namespace) -> int:
    bucket = _bucket(args)
    return _each([args.filename], lambda item: unyank_one(bucket, item), failures.Target.of(args))


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
    return _each(
        args.files,
        lambda item: delete_one(bucket, item, assume_yes=args.yes),
        failures.Target.of(args),
    )


# -- parser -----------------------------------------------------------------------------------

#: What yank and unyank take.
FILE_OR_RELEASE = "a filename (pkg-1.1.0-py3-none-any.whl), or PROJECT==VERSION for all its files"


def add_parsers(commands: Any) -> None:
    """Register the commands on ``build_parser()``'s subparsers."""
    up = commands.add_parser(
        "upload",
        help="upload distributions to a bucket (any size)",
        description="Check and upload wheels and sdists with your AWS credentials. A filename "
        "that is already in the bucket with the same bytes is success; with different bytes "
        "it is refused (files are immutable). On a terminal, several files show n/total and "
        "large files (multipart uploads) their bytes, rate and ETA.",
        epilog=parsing.examples(
            "serverless-pypi upload dist/* --bucket NAME",
            "serverless-pypi upload dist/* --bucket pypi --endpoint-url http://127.0.0.1:9000",
            "serverless-pypi upload --dry-run big-1.0.tar.gz --bucket NAME",
        ),
    )
    up.add_argument("files", nargs="+", metavar="FILE", help="wheel or sdist to upload")
    parsing.bucket_options(up)
    up.add_argument("--dry-run", action="store_true", help="check only; write nothing")
    parsing.quiet_option(up)
    up.set_defaults(func=run_upload)

    yank = commands.add_parser(
        "yank",
        help="mark a file, or every file of a version, as yanked (PEP 592)",
        description="Yank files: installers skip them unless pinned with ==. The files "
        "themselves are not touched.",
        epilog=parsing.examples(
            'serverless-pypi yank pkg-1.1.0-py3-none-any.whl --reason "broken import" '
            "--bucket NAME",
            "serverless-pypi yank pkg==1.1.0 --bucket NAME",
        ),
    )
    yank.add_argument("filename", metavar="FILE|PROJECT==VERSION", help=FILE_OR_RELEASE)
    yank.add_argument("--reason", default="", help="why, shown by installers")
    parsing.bucket_options(yank)
    yank.set_defaults(func=run_yank)

    unyank = commands.add_parser(
        "unyank",
        help="undo a yank",
        description="Remove the yank mark of a file, or of every file of a version.",
        epilog=parsing.examples(
            "serverless-pypi unyank pkg-1.1.0-py3-none-any.whl --bucket NAME",
            "serverless-pypi unyank pkg==1.1.0 --bucket NAME",
        ),
    )
    unyank.add_argument("filename", metavar="FILE|PROJECT==VERSION", help=FILE_OR_RELEASE)
    parsing.bucket_options(unyank)
    unyank.set_defaults(func=run_unyank)

    delete = commands.add_parser(
        "delete",
        help="delete files from a bucket",
        description="Delete files (and their yank markers). On a versioned bucket, as the "
        "Terraform module creates, deleted files stay recoverable.",
        epilog=parsing.examples(
            "serverless-pypi delete pkg-1.0.tar.gz --bucket NAME",
            "serverless-pypi delete --yes pkg-1.0.tar.gz pkg-1.0-py3-none-any.whl --bucket NAME",
        ),
    )
    delete.add_argument("files", nargs="+", metavar="FILE", help="distribution filename")
    parsing.bucket_options(delete)
    delete.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    delete.set_defaults(func=run_delete)
