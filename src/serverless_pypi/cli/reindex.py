"""``serverless-pypi reindex``: rebuild (or verify) the derived data of a bucket."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from serverless_pypi import config, names


def _progress(objects: int, projects: int) -> None:
    print(f"\r  {objects} objects, {projects} projects", end="", file=sys.stderr, flush=True)


def add_parser(commands: Any) -> None:
    """Register the command on ``build_parser()``'s subparsers."""
    reindex = commands.add_parser(
        "reindex", help="rebuild derived index data from the objects in a bucket"
    )
    reindex.add_argument("--bucket", required=True, help="bucket name")
    scope = reindex.add_mutually_exclusive_group()
    scope.add_argument("--full", action="store_true", help="every project (the default)")
    scope.add_argument("--project", help="only this project")
    reindex.add_argument(
        "--verify",
        action="store_true",
        help="re-read every object, repair and list each difference (upload times that "
        "differ from the object's LastModified are reset to it)",
    )
    reindex.add_argument("--endpoint-url", help="S3 endpoint (S3-compatible stores, local mode)")
    reindex.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from serverless_pypi.reindex.app import ReindexApp

    settings = config.Settings(
        bucket=args.bucket, s3_endpoint_url=args.endpoint_url, region=config.load_region()
    )
    app = ReindexApp(settings)
    if args.project:
        project = names.canonical(args.project)
        if project is None:
            print(f"serverless-pypi: invalid project name {args.project!r}", file=sys.stderr)
            return 2
        report = app.rebuild_project(project, verify=args.verify)
    else:
        interactive = sys.stderr.isatty()
        report = app.rebuild_all(_progress if interactive else None, verify=args.verify)
        if interactive:
            print(file=sys.stderr)
    verified = f" differences={len(report.differences)}" if args.verify else ""
    print(
        f"reindexed bucket={args.bucket} projects={report.projects} "
        f"files_added={report.files_added} files_removed={report.files_removed} "
        f"projects_added={len(report.added)} projects_removed={len(report.removed)}{verified}"
    )
    for name in report.added:
        print(f"  + {name}")
    for name in report.removed:
        print(f"  - {name}")
    for difference in report.differences:
        print(f"  ! {difference}")
    return 0
